/**
 * The Pothos builder: plugins, context, auth scopes and scalars. Types live in their own files (one per type)
 * and register themselves on this builder; schema/index.ts imports them all.
 */
import SchemaBuilder from '@pothos/core';
import DirectivesPlugin from '@pothos/plugin-directives';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { Kind } from 'graphql';
import type { Context } from '../context.js';
import type { CacheDirectives } from '../cache/directive.js';
import { privateHint } from '../cache/directive.js';
import type { CostDirectives } from '../cost/directives.js';
import { AppError, badInput } from '../errors.js';
import { storableInstant } from './instant.js';

/** The most IDs one nodes(ids:) call takes: its description and its check both say this number. */
export const MAX_NODE_IDS = 100;

/** The types that implement Node (test/unit/schema.test.ts checks this list against the schema). */
export const NODE_TYPES: ReadonlySet<string> = new Set(['User', 'Post', 'Transaction']);

export const builder = new SchemaBuilder<{
  Context: Context;
  Directives: CostDirectives & CacheDirectives;
  AuthScopes: {
    /** Any signed-in viewer. */
    viewer: boolean;
    /** The viewer is the user with this id: the owner of private fields. */
    self: number;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string | number };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, DirectivesPlugin],
  defaultFieldNullability: false,
  // Directives kept as { name: args } in extensions: the form @graphql-tools' printer (schema.graphql) and the
  // cost estimator (src/cost/directives.ts) read.
  directives: { useGraphQLToolsUnorderedDirectives: true },
  scopeAuth: {
    authScopes: (context) => ({
      viewer: context.viewer !== null,
      self: (userId) => context.viewer?.id === userId,
    }),
    // An anonymous client is told to sign in; a signed-in one that it is not theirs to see.
    unauthorizedError: (_parent, context, info) =>
      context.viewer
        ? new AppError('FORBIDDEN', `"${info.parentType.name}.${info.fieldName}" is visible only to its owner.`)
        : new AppError('UNAUTHENTICATED', `"${info.parentType.name}.${info.fieldName}" needs a signed-in viewer: send "Authorization: Bearer <token>".`),
  },
  relay: {
    clientMutationId: 'omit',
    // A well-formed ID naming no type of ours is the client's mistake, said as such (Pothos would say the type
    // "has not been implemented", which speaks of the server's internals).
    decodeGlobalID: (globalID) => {
      const decoded = decodeGlobalID(globalID);
      if (!NODE_TYPES.has(decoded.typename)) {
        throw badInput(`"${globalID}" is not a valid global ID: it names no type of Tally object.`);
      }
      return decoded;
    },
    cursorType: 'String',
    nodeFieldOptions: { nullable: false },
    nodeTypeOptions: { description: 'An object with a globally unique, opaque ID (the Relay Global Object Identification spec).' },
    pageInfoTypeOptions: { description: 'Where a page sits in its connection, and the cursors to page on from it.' },
    // Private: the same ID answers its owner and others differently (a transaction is visible only to its owner).
    nodeQueryOptions: { directives: privateHint, description: 'Fetches any object by its global ID; null when it does not exist or is not visible to the viewer.' },
    nodesQueryOptions: {
      // Priced as if every ID were found (`ids` is not a number, so it cannot be a slicing argument).
      directives: { listSize: { assumedSize: MAX_NODE_IDS }, ...privateHint },
      description: `Fetches up to ${MAX_NODE_IDS} objects by their global IDs, in the order given; null for each that does not exist or is not visible.`,
      resolve: (_root, { ids }, _context, _info, resolveNodes) => {
        if (ids.length > MAX_NODE_IDS) throw badInput(`"ids" holds ${ids.length} IDs, above the maximum of ${MAX_NODE_IDS}.`, 'ids');
        return resolveNodes(ids);
      },
    },
    firstArgOptions: { description: 'Returns the first n edges (at most 100; 20 when neither first nor last is given).' },
    lastArgOptions: { description: 'Returns the last n edges (at most 100).' },
    afterArgOptions: { description: 'Returns the edges after this cursor.' },
    beforeArgOptions: { description: 'Returns the edges before this cursor.' },
    cursorFieldOptions: { description: 'An opaque cursor for this edge, to pass as after or before.' },
    edgesFieldOptions: { nullable: false, description: 'The edges of this page, in the connection\'s order.' },
    // Free: it is computed from the page already fetched. Every other field of a connection but its edges
    // costs 0, which is what lets the estimator price @listSize(sizedFields: ["edges"]) (src/cost/estimate.ts).
    pageInfoFieldOptions: { description: 'Information to page on from here.', directives: { cost: { weight: 0 } } },
    idFieldOptions: { description: 'The opaque global ID of this object.' },
  },
});

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * An ISO 8601 timestamp with a zone, whose fields name a real wall-clock time: `Date` rolls "2025-02-30" over
 * to March 2 and "24:00" to the next day, so the parsed instant, moved back to the string's offset, must show
 * exactly the year, month, day, hour, minute and second written.
 */
function parseDateTime(value: unknown): Date {
  const match = typeof value === 'string' ? ISO_DATE_TIME.exec(value) : null;
  const date = match ? new Date(value as string) : undefined;
  if (!match || !date || Number.isNaN(date.getTime()) || !showsFields(date, match)) {
    throw badInput(`DateTime must be an ISO 8601 timestamp with a time zone, such as "2026-01-31T12:00:00Z"; got ${JSON.stringify(value)}.`);
  }
  return storableInstant(date, 'DateTime');
}

function showsFields(date: Date, match: RegExpExecArray): boolean {
  const [, year, month, day, hour, minute, second = '00', zone, sign, offsetHours, offsetMinutes] = match;
  const offset = zone === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  const local = new Date(date.getTime() + offset * 60_000);
  return (
    local.getUTCFullYear() === Number(year) &&
    local.getUTCMonth() + 1 === Number(month) &&
    local.getUTCDate() === Number(day) &&
    local.getUTCHours() === Number(hour) &&
    local.getUTCMinutes() === Number(minute) &&
    local.getUTCSeconds() === Number(second)
  );
}

builder.scalarType('DateTime', {
  description: 'An instant as an ISO 8601 string in UTC with milliseconds, such as "2026-01-31T12:00:00.000Z".',
  serialize: (value) => (value).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

builder.queryType({ description: 'The root of every read.' });

builder.mutationType({
  description: 'Every write. Expected failures come back as typed `errors` in the payload, never as a partial write.',
});
