/**
 * Variables coerced with graphql-js before graphql-jit executes. graphql-jit's own coercion reports a bad variable
 * as only "Expected type DateTime." and drops the scalar's explanation (what format it wants); graphql-js keeps
 * it. One rule for yoga's stage (src/plugins/use-variable-coercion.ts) and the prepared lane.
 */
import { getVariableValues, GraphQLError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';

/**
 * The request errors of variables that do not fit the operation, or undefined. They are answered before
 * execution: 400 for application/graphql-response+json, 200 for legacy JSON (GraphQL over HTTP).
 */
export function variableErrors(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>): GraphQLError[] | undefined {
  if (!operation.variableDefinitions?.length) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions, variables, { maxErrors: 25 });
  return coerced.errors?.map(
    (error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'BAD_USER_INPUT', http: { status: 400, spec: true } } }),
  );
}
