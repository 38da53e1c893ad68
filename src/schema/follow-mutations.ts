/**
 * followUser, unfollowUser: idempotent by nature (following twice is following), so they need no key. The payload
 * returns the other user and the viewer, for a client to update both in its cache.
 */
import { deleteFollow, insertFollow } from '../db/queries/follows.js';
import { usersByIds } from '../db/queries/users.js';
import type { Context } from '../context.js';
import { failed, problem, succeeded, type Outcome } from '../problems.js';
import { builder } from './builder.js';
import { ERRORS_LIST, MutationError, rejected, toPayload, type Payload } from './mutation-errors.js';
import { User } from './user.js';
import { existingViewer, viewerRow } from './existing-viewer.js';
import { userIdInput } from './user-ids.js';

const FollowInput = builder.inputType('FollowInput', {
  description: 'The user to follow or stop following.',
  fields: (t) => ({ userId: t.id({ required: true, description: 'The global ID of the User.' }) }),
});

/** The payload's value: the other user's id. */
type Followed = Payload<number>;

function followPayload(name: string, what: string) {
  return builder.objectRef<Followed>(name).implement({
    description: `The user ${what} and the viewer, or why nothing changed.`,
    fields: (t) => ({
      user: t.field({
        type: User,
        nullable: true,
        description: `The user ${what}; null on error.`,
        resolve: (payload, _args, context) => (payload.value === null ? null : context.loaders.user.load(payload.value)),
      }),
      viewer: t.field({
        type: User,
        nullable: true,
        description: 'The viewer, to update a client cache.',
        resolve: (_payload, _args, context) => viewerRow(context),
      }),
      errors: t.field({ type: [MutationError], ...ERRORS_LIST, description: 'Why nothing changed; empty on success.', resolve: (payload) => [...payload.errors] }),
    }),
  });
}

/** The other user's row id, when it names an existing user other than the viewer. */
async function followee(context: Context, globalId: string): Promise<Outcome<number>> {
  const viewer = await existingViewer(context);
  const id = userIdInput(globalId, ['input', 'userId']);
  if (!id.ok) return id;
  if (id.value === viewer.id) return failed(problem('SELF_FOLLOW', 'A user cannot follow themselves.', ['input', 'userId']));
  const [user] = await usersByIds(context.db, [id.value]);
  if (!user) return failed(problem('NOT_FOUND', 'No user has this ID.', ['input', 'userId']));
  context.loaders.user.prime(user.id, user);
  return succeeded(user.id);
}

/** followUser and unfollowUser: the same checks, then one write each, told to the bus only when it changed something. */
function followMutation(
  name: 'followUser' | 'unfollowUser',
  change: typeof insertFollow,
  event: 'follow.created' | 'follow.removed',
  what: string,
  description: string,
) {
  const Payload = followPayload(`${name[0]!.toUpperCase()}${name.slice(1)}Payload`, what);
  builder.mutationField(name, (t) =>
    t.field({
      type: Payload,
      description,
      authScopes: { viewer: true },
      args: { input: t.arg({ type: FollowInput, required: true }) },
      resolve: async (_root, { input }, context) => {
        const target = await followee(context, String(input.userId));
        if (!target.ok) return rejected(target.problems);
        const viewerId = context.viewer!.id;
        if (await change(context.db, viewerId, target.value)) {
          await context.events.publish({ type: event, followerId: viewerId, followeeId: target.value });
        }
        return toPayload(target);
      },
    }),
  );
}

followMutation('followUser', insertFollow, 'follow.created', 'now followed', 'Follows a user; following them already changes nothing.');
followMutation('unfollowUser', deleteFollow, 'follow.removed', 'no longer followed', 'Stops following a user; not following them changes nothing.');
