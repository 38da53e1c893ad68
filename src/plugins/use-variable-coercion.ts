/** Variables coerced by graphql-js in yoga (src/request/variables.ts has the rule); most operations have none. */
import { getOperationAST, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { variableErrors } from '../request/variables.js';

export function useVariableCoercion(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | undefined);
      if (!operation) return;
      const errors = variableErrors(args.schema as GraphQLSchema, operation, (args.variableValues ?? {}) as Record<string, unknown>);
      // Set here, a result bypasses the error mask: these are the client's to fix, shown as they are.
      if (errors) setResultAndStopExecution({ errors });
    },
  };
}
