/**
 * The trusted operations, prepared at start: every document of the manifests parsed, validated against the schema,
 * held to the static limits, and compiled by graphql-jit once, with its name and type for the log line, the
 * metrics and the read routing. A trusted document that does not validate or is over a limit stops the start,
 * naming it, instead of failing a request at 3 a.m.
 *
 * The prepared lane (src/http/prepared-lane.ts) runs these; its price is the cost model's, remembered per value
 * of the variables it depends on (src/cost/estimate.ts), so no request walks the document.
 */
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { Kind, parse, validate, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type OperationTypeNode } from 'graphql';
import { documentLimitErrors, type DocumentLimitOptions } from '../limits/document.js';
import type { TrustedDocuments } from './trusted-documents.js';

export interface PreparedOperation {
  readonly text: string;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly name: string | undefined;
  readonly type: OperationTypeNode;
  readonly compiled: CompiledQuery;
}

/** Prepared operations by every id their document has (its manifest's, and the sha256 of its text). */
export type PreparedOperations = ReadonlyMap<string, PreparedOperation>;

export class TrustedOperationError extends Error {
  override name = 'TrustedOperationError';
}

/**
 * Prepares each trusted document that holds one operation. A document of several operations needs the request's
 * `operationName` to choose: yoga runs those.
 */
export function prepareTrustedOperations(trusted: TrustedDocuments, schema: GraphQLSchema, limits: DocumentLimitOptions): PreparedOperations {
  const byText = new Map<string, PreparedOperation | undefined>();
  const prepared = new Map<string, PreparedOperation>();
  for (const [id, text] of trusted) {
    if (!byText.has(text)) byText.set(text, prepare(text, schema, limits));
    const operation = byText.get(text);
    if (operation) prepared.set(id, operation);
  }
  return prepared;
}

function prepare(text: string, schema: GraphQLSchema, limits: DocumentLimitOptions): PreparedOperation | undefined {
  let document: DocumentNode;
  try {
    document = parse(text, { maxTokens: limits.limits.maxTokens });
  } catch (error) {
    throw new TrustedOperationError(`a trusted document does not parse within MAX_TOKENS: ${(error as Error).message}`);
  }
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  const label = operations.map((operation) => operation.name?.value ?? '(anonymous)').join(', ');
  const problems = [...validate(schema, document), ...documentLimitErrors(document, limits)].map((error) => error.message);
  if (text.length > limits.limits.maxDocumentLength) problems.push(`it is ${text.length} characters long, above MAX_DOCUMENT_LENGTH (${limits.limits.maxDocumentLength})`);
  if (problems.length > 0) throw new TrustedOperationError(`trusted operation ${label} cannot run on this server: ${problems.join('; ')}`);
  if (operations.length !== 1) return undefined;
  const operation = operations[0]!;
  const compiled = compileQuery(schema, document, operation.name?.value);
  if (!isCompiledQuery(compiled)) throw new TrustedOperationError(`trusted operation ${label} does not compile: ${compiled.errors?.map((error) => error.message).join('; ')}`);
  return { text, document, operation, name: operation.name?.value, type: operation.operation, compiled };
}
