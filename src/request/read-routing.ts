/**
 * Read replicas (DATABASE_REPLICA_URLS): a query operation runs on a replica, everything else on the primary.
 * The whole operation is routed, not each statement, so a mutation reads back what it wrote from the primary
 * it wrote to. A viewer's queries within REPLICA_AFTER_WRITE_MS of their own mutation go to the primary as well
 * (src/store/recent-writers.ts): a client that creates a post and then loads its feed sees the post, whatever
 * the replicas' lag. Other clients may see a write a replica's lag later, as with any replica.
 *
 * One rule for both ways an operation runs: yoga's stage (src/plugins/use-read-routing.ts) and the prepared lane
 * (src/http/prepared-lane.ts), which knows each trusted operation's type from start.
 */
import { OperationTypeNode } from 'graphql';
import type { Viewer } from '../auth/jwt.js';
import type { RecentWriters } from '../store/recent-writers.js';
import type { Target } from '../db/client.js';

export interface ReadRouting {
  /** Where an operation's statements go; a promise only when a signed-in viewer's recent writes must be asked. */
  targetOf(type: OperationTypeNode | undefined, viewer: Viewer | null): Target | Promise<Target>;
  /**
   * Called before an operation runs. A mutation marks its viewer first: its commit can never be visible before
   * the mark that routes the viewer's next reads to it, and one that fails keeps its viewer on the primary too.
   */
  beforeExecution(type: OperationTypeNode | undefined, viewer: Viewer | null): Promise<void> | undefined;
}

/** `writers` undefined: REPLICA_AFTER_WRITE_MS=0, every query to a replica. */
export function readRouting(writers: RecentWriters | undefined): ReadRouting {
  return {
    targetOf(type, viewer) {
      if (type !== OperationTypeNode.QUERY) return 'primary';
      if (!viewer || !writers) return 'replica';
      return writers.has(viewer.id).then((wrote) => (wrote ? 'primary' : 'replica'));
    },
    beforeExecution(type, viewer) {
      return writers && viewer && type === OperationTypeNode.MUTATION ? writers.mark(viewer.id) : undefined;
    },
  };
}
