/**
 * Read replicas (DATABASE_REPLICA_URLS): a query operation runs on a replica, everything else on the primary.
 * The whole operation is routed, not each statement, so a mutation reads back what it wrote from the primary
 * it wrote to. A viewer's queries within REPLICA_AFTER_WRITE_MS of their own mutation go to the primary as well
 * (src/store/recent-writers.ts): a client that creates a post and then loads its feed sees the post, whatever
 * the replicas' lag. Other clients may see a write a replica's lag later, as with any replica.
 *
 * The operation's type is known once its document is parsed, before the context picks its database handle
 * (src/context.ts); it is kept per operation (its params), since one request may batch several.
 */
import { getOperationAST, OperationTypeNode, type DocumentNode } from 'graphql';
import type { GraphQLParams, Plugin, YogaInitialContext } from 'graphql-yoga';
import type { Target } from '../db/client.js';
import { scopeOf, type RequestScope } from '../request-scope.js';
import type { RecentWriters } from '../store/recent-writers.js';

const queries = new WeakSet<GraphQLParams>();

export interface ReadRouting {
  readonly plugin: Plugin;
  /** Where this operation's statements go; a promise only when a signed-in viewer's recent writes must be asked. */
  targetOf(context: YogaInitialContext, scope: RequestScope): Target | Promise<Target>;
}

/** `writers` undefined: REPLICA_AFTER_WRITE_MS=0, every query to a replica. */
export function readRouting(writers: RecentWriters | undefined): ReadRouting {
  return {
    plugin: {
      onParse({ context }) {
        return ({ result }) => {
          const { params } = context as YogaInitialContext;
          if (!(result instanceof Error) && getOperationAST(result as DocumentNode, params.operationName)?.operation === OperationTypeNode.QUERY) queries.add(params);
        };
      },
      // Marked before the mutation runs: its commit can never be visible before the mark that routes the
      // viewer's next reads to it. A mutation that fails keeps its viewer on the primary for the window too.
      async onExecute({ args }) {
        const viewer = scopeOf(args.contextValue.request).viewer;
        const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | undefined);
        if (writers && viewer && operation?.operation === OperationTypeNode.MUTATION) await writers.mark(viewer.id);
      },
    },
    targetOf({ params }, { viewer }) {
      if (!queries.has(params)) return 'primary';
      if (!viewer || !writers) return 'replica';
      return writers.has(viewer.id).then((wrote) => (wrote ? 'primary' : 'replica'));
    },
  };
}
