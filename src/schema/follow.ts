import type { FollowListRow } from '../db/queries/follows.js';
import { builder } from './builder.js';
import { PAGED, parsePageArgs, toConnection } from './pagination.js';
import { User } from './user.js';

const FollowConnection = builder.connectionObject(
  { type: User, name: 'FollowConnection', description: 'A page of a follow list, most recent follow first.' },
  {
    name: 'FollowEdge',
    description: 'A user in a follow list and when the follow began.',
    fields: (t) => ({
      followedAt: t.field({
        type: 'DateTime',
        description: 'When the follow began.',
        // Follow lists resolve their nodes to FollowListRow: a user row plus the follow's timestamp.
        resolve: (edge) => (edge.node as FollowListRow).followedAt,
      }),
    }),
  },
);

const followKey = (row: FollowListRow) => ({ at: row.followedAt, id: row.id });

function followList(side: 'followers' | 'following', description: string) {
  builder.objectField(User, side, (t) =>
    t.connection(
      {
        type: User,
        ...PAGED,
        description,
        resolve: async (user, args, context) => {
          const connection = `User.${side}`;
          const page = parsePageArgs(connection, args);
          const loader = side === 'followers' ? context.loaders.followersOf : context.loaders.followingOf;
          const rows = await loader(page).load(user.id);
          return toConnection(connection, page, rows, followKey, (row) => row);
        },
      },
      FollowConnection,
    ),
  );
}

followList('followers', 'The users who follow this user, most recent follow first.');
followList('following', 'The users this user follows, most recent follow first.');
