/**
 * Coerces variables with graphql-js before graphql-jit executes. graphql-jit's own coercion reports a bad
 * variable as only "Expected type DateTime." and drops the scalar's explanation (what format it wants); graphql-js
 * keeps it. Operations without variables, most of them, skip this entirely.
 */
import { getOperationAST, getVariableValues, GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function useVariableCoercion(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | undefined);
      if (!operation?.variableDefinitions?.length) return;
      const coerced = getVariableValues(
        args.schema as GraphQLSchema,
        operation.variableDefinitions,
        (args.variableValues ?? {}) as Record<string, unknown>,
        { maxErrors: 25 },
      );
      // A request error, answered before execution: 400 for application/graphql-response+json, 200 for legacy
      // JSON (GraphQL over HTTP). Set here because a result set before execution bypasses the error mask.
      if (coerced.errors) {
        setResultAndStopExecution({
          errors: coerced.errors.map(
            (error) =>
              new GraphQLError(error.message, {
                nodes: error.nodes,
                extensions: { code: 'BAD_USER_INPUT', http: { status: 400, spec: true } },
              }),
          ),
        });
      }
    },
  };
}
