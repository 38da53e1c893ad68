/**
 * The prepared lane: a trusted operation named by its id (POST or GET, every id form the persisted stage reads)
 * runs here, on node:http, without yoga's fetch-API machinery: the operation was parsed, validated, held to the
 * limits and compiled at start (src/persisted/prepared.ts), so a request costs only what varies with it. The
 * request id, the viewer, the limits on its variables, their coercion, the price and the charge, the read routing,
 * the execution and its span, the mask, the error limit, the answer with its headers, the log line and the
 * metrics: each is the same rule yoga's stages call, so the answer is the same bytes yoga would send
 * (test/integration/prepared-lane.test.ts holds them to that, request by request).
 *
 * What is not a trusted id, or is one asked in a way the lane does not take, goes on to yoga untouched: a whole
 * document, a batch, a document of several operations, an operationName that names another operation, a mutation
 * over GET, an Accept header asking for something other than JSON, and a query over GET whose answer the response
 * cache keeps (the cached-GET front answers its hits; yoga's stage keeps its misses).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context as otelContext } from '@opentelemetry/api';
import { OperationTypeNode, type ExecutionResult, type GraphQLError, type GraphQLSchema } from 'graphql';
import { processRegularResult, type GraphQLParams } from 'graphql-yoga';
import type { VerifyToken } from '../auth/jwt.js';
import { viewerOf } from '../auth/viewer.js';
import type { Limits } from '../config.js';
import type { ContextFactory } from '../context.js';
import { chargeOperation, rateLimitHeaders, settleOperation, type Budget, type Client } from '../cost/charge.js';
import type { CostModel } from '../cost/estimate.js';
import type { ReadRouting } from '../request/read-routing.js';
import { capErrors } from '../limits/error-limit.js';
import { variablesRefusal } from '../limits/document.js';
import { startExecutionSpan } from '../observability/execution-span.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { noteErrorCodes, recordRequest } from '../request/request-log.js';
import { isPersistedId, persistedIdOf } from '../persisted/operation-id.js';
import type { PreparedOperation, PreparedOperations } from '../persisted/prepared.js';
import { forwardedFor } from '../request/client.js';
import { reportMaskedErrors } from '../request/mask-error.js';
import { answerMediaType, type AnswerMediaType } from '../request/media-type.js';
import { getParams } from '../request/params.js';
import { requestIdFor } from '../request/request-id.js';
import { createRequestScope, type CostReport, type RequestScope } from '../request/scope.js';
import { variableErrors } from '../request/variables.js';
import type { Handler } from './admission.js';

export interface PreparedLaneOptions {
  readonly graphqlEndpoint: string;
  readonly prepared: PreparedOperations;
  readonly schema: GraphQLSchema;
  readonly verifyToken: VerifyToken;
  readonly limits: Limits;
  /** Whether the variables are held to the limits stage's bounds (off only with DISABLE_STAGES=limits). */
  readonly variableLimits: boolean;
  /** Whether refusals say the measured value and the limit (LIMIT_DETAILS). */
  readonly limitDetails: boolean;
  /** The client's budget; undefined only with the budget stage off (a load-test switch). */
  readonly budget: Budget | undefined;
  readonly costModel: CostModel;
  readonly buildContext: ContextFactory;
  readonly routing: ReadRouting | undefined;
  /** yoga's mask (src/request/mask-error.ts), the same function yoga is given. */
  readonly maskError: (error: unknown, message: string) => Error;
  /** Whether a query over GET may be answered from the response cache: such GETs stay with its stages. */
  readonly cached: (operation: PreparedOperation) => boolean;
  readonly tracing: boolean;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** yoga's words for an error its mask replaces. */
const UNEXPECTED = 'Unexpected error.';

type WithBody = IncomingMessage & { body?: unknown };

interface Asked {
  readonly operation: PreparedOperation;
  readonly variables: Record<string, unknown>;
  readonly extensions: unknown;
  readonly mediaType: AnswerMediaType;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** What yoga's regular result processor builds, captured instead of made a fetch Response. */
class Captured {
  constructor(
    readonly body: string,
    readonly init: { status: number; headers: Record<string, string> },
  ) {}
}
const CAPTURE = { Response: Captured } as unknown as Parameters<typeof processRegularResult>[1];

export function withPreparedLane(next: Handler, options: PreparedLaneOptions): Handler {
  const { graphqlEndpoint, prepared, budget, costModel, limits, logger, metrics } = options;
  const maxCost = limits.maxCost;

  /** The trusted operation this request asks for in a way the lane takes; undefined to leave it to yoga. */
  function askedOf(request: WithBody): Asked | undefined {
    const url = request.url!;
    const query = url.indexOf('?');
    if ((query < 0 ? url : url.slice(0, query)) !== graphqlEndpoint) return undefined;
    let params: Partial<GraphQLParams> & Record<string, unknown>;
    let search: URLSearchParams | undefined;
    if (request.method === 'POST') {
      // Only a JSON body the front read (src/http/body.ts) is here; a batch is an array.
      if (!isObject(request.body)) return undefined;
      params = request.body;
    } else if (request.method === 'GET') {
      search = new URLSearchParams(query < 0 ? '' : url.slice(query + 1));
      // A malformed parameter throws: yoga answers it.
      params = getParams(search) as GraphQLParams & Record<string, unknown>;
    } else {
      return undefined;
    }
    if (params.query !== undefined && params.query !== null) return undefined;
    const { variables = {}, extensions, operationName } = params;
    if (!isObject(variables ?? {}) || (extensions !== undefined && extensions !== null && !isObject(extensions))) return undefined;
    const persisted = persistedIdOf(params, search);
    if (!persisted || !isPersistedId(persisted.id)) return undefined;
    const operation = prepared.get(persisted.id);
    if (!operation) return undefined;
    if (operationName !== undefined && operationName !== null && operationName !== operation.name) return undefined;
    if (request.method === 'GET' && (operation.type !== OperationTypeNode.QUERY || options.cached(operation))) return undefined;
    const mediaType = answerMediaType(request.headers.accept);
    if (!mediaType) return undefined;
    return { operation, variables: (variables ?? {}) as Record<string, unknown>, extensions, mediaType };
  }

  /** The final result, masked and capped, as yoga answers it: status, headers and body. */
  function answer(response: ServerResponse, scope: RequestScope, asked: Asked, result: ExecutionResult): void {
    const masked = result.errors ? { ...result, errors: result.errors.map((error) => options.maskError(error, UNEXPECTED) as GraphQLError) } : result;
    const final = capErrors(reportMaskedErrors(masked, scope.requestId, logger), limits.maxErrors);
    noteErrorCodes(scope, final);
    const { body, init } = processRegularResult(final, CAPTURE, asked.mediaType) as unknown as Captured;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(init.headers)) headers[name.toLowerCase()] = value;
    headers['content-length'] = String(Buffer.byteLength(body));
    headers['x-request-id'] = scope.requestId;
    if (scope.cost) for (const [name, value] of Object.entries(rateLimitHeaders(scope.cost.budget))) headers[name.toLowerCase()] = value;
    response.writeHead(init.status, headers).end(body);
    recordRequest(metrics, logger, scope, init.status);
    metrics.preparedLane(scope.operationName ?? 'anonymous');
  }

  async function run(request: IncomingMessage, scope: RequestScope, asked: Asked): Promise<ExecutionResult> {
    const { operation, variables } = asked;
    try {
      scope.viewer = await viewerOf(request.headers.authorization, options.verifyToken);
    } catch (error) {
      return { errors: [error as GraphQLError] };
    }
    const refused = options.variableLimits ? variablesRefusal(variables, asked.extensions, limits, options.limitDetails) : undefined;
    if (refused) return { errors: [refused] };
    const invalid = variableErrors(options.schema, operation.operation, variables);
    if (invalid) return { errors: invalid };

    let charged: CostReport | undefined;
    let client: Client | undefined;
    if (budget) {
      client = budget.clientOf(scope.viewer?.id, request.socket.remoteAddress, forwardedFor(request));
      const priced = await chargeOperation(budget, { model: costModel, maxCost }, client, scope.viewer !== null, { ...operation, variables });
      if (priced.refused) return priced.refused;
      charged = priced.report;
    }

    const { routing } = options;
    await routing?.beforeExecution(operation.type, scope.viewer);
    const target = routing ? await routing.targetOf(operation.type, scope.viewer) : 'primary';
    const context = options.buildContext(scope, headerOf(request, 'idempotency-key'), target);
    if (charged) {
      context.cost = charged;
      scope.cost = charged;
    }
    const span = options.tracing ? startExecutionSpan(operation.type, operation.name) : undefined;
    const execute = () => operation.compiled.query(undefined, context, variables);
    let result: ExecutionResult;
    try {
      result = await (span ? otelContext.with(span.context, execute) : execute());
    } catch (error) {
      span?.end(undefined);
      throw error;
    }
    span?.end(result);
    if (!budget || !charged || !client) return result;
    const settled = await settleOperation(budget, costModel, client, charged, operation, result);
    scope.cost = settled.report;
    context.cost = settled.report;
    return settled.result;
  }

  return (request, response) => {
    let asked: Asked | undefined;
    try {
      asked = askedOf(request);
    } catch {
      asked = undefined;
    }
    if (!asked) return next(request, response);
    const scope = createRequestScope(requestIdFor(headerOf(request, 'x-request-id')));
    scope.operationName = asked.operation.name;
    const taken = asked;
    return run(request, scope, taken)
      .then(
        (result) => answer(response, scope, taken, result),
        (error: unknown) => answer(response, scope, taken, { errors: [options.maskError(error, UNEXPECTED) as GraphQLError] }),
      )
      .catch((error: unknown) => {
        // Writing the answer itself failed (a bug): the client is cut off, not left waiting for its timeout.
        logger.error({ err: error, requestId: scope.requestId }, 'the prepared lane could not write its answer');
        response.destroy();
      });
  };
}

/** A header node joined or repeated, as the fetch API reads it: one string, or null when absent. */
function headerOf(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}
