/**
 * Read replicas in yoga (src/request/read-routing.ts has the rule). The operation's type is known once its document is
 * parsed, before the context picks its database handle (src/context.ts); it is kept per operation (its params),
 * since one request may batch several.
 */
import { getOperationAST, type DocumentNode, type OperationTypeNode } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { ReadRouting } from '../request/read-routing.js';
import { scopeOf } from '../request/scope.js';

export interface YogaReadRouting {
  readonly plugin: Plugin;
  readonly rule: ReadRouting;
  /** The parsed operation's type, for the context; undefined before parsing or for a document without one. */
  typeOf(params: GraphQLParams): OperationTypeNode | undefined;
}

export function useReadRouting(routing: ReadRouting): YogaReadRouting {
  const types = new WeakMap<GraphQLParams, OperationTypeNode>();
  return {
    plugin: {
      onParse({ context }) {
        return ({ result }) => {
          const { params } = context as { params: GraphQLParams };
          const type = result instanceof Error ? undefined : getOperationAST(result as DocumentNode, params.operationName)?.operation;
          if (type) types.set(params, type);
        };
      },
      async onExecute({ args }) {
        const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | undefined);
        await routing.beforeExecution(operation?.operation, scopeOf(args.contextValue.request).viewer);
      },
    },
    rule: routing,
    typeOf: (params) => types.get(params),
  };
}
