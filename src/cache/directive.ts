/**
 * Cache hints, published in the schema as Apollo's `@cacheControl(maxAge, scope)`, the form Apollo Server, Apollo
 * Router and GraphQL Hive read: a root field says how long its answer may be kept (seconds) and whether it is
 * the same for everyone (PUBLIC) or only for the viewer who asked (PRIVATE); a field or type deeper down may
 * shorten the time or make the answer private. The response cache (src/cache/policy.ts) reads the hints from the
 * fields' `extensions.directives`, as the cost estimator reads `@cost`, so the printed schema and the cache
 * cannot disagree.
 */
import { DirectiveLocation, GraphQLDirective, GraphQLEnumType, GraphQLInt } from 'graphql';

export type CacheScope = 'PUBLIC' | 'PRIVATE';

export type CacheHint = {
  readonly maxAge?: number;
  readonly scope?: CacheScope;
};

export const cacheControlScope = new GraphQLEnumType({
  name: 'CacheControlScope',
  description: 'Who may share a cached answer: everyone (PUBLIC), or only the viewer who asked (PRIVATE).',
  values: { PUBLIC: { value: 'PUBLIC' }, PRIVATE: { value: 'PRIVATE' } },
});

export const cacheControlDirective = new GraphQLDirective({
  name: 'cacheControl',
  description: 'How long an answer with this field may be cached (seconds), and by whom.',
  args: { maxAge: { type: GraphQLInt }, scope: { type: cacheControlScope } },
  locations: [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT, DirectiveLocation.INTERFACE],
});

/** The directive arguments Pothos' builder accepts (see the `Directives` of src/schema/builder.ts). */
export type CacheDirectives = {
  cacheControl: { locations: 'FIELD_DEFINITION' | 'OBJECT' | 'INTERFACE'; args: CacheHint };
};

/** How long Tally's public reads may be kept: mutations invalidate what they change, so this bounds only what a write on another path (a migration, a manual fix) leaves stale. */
export const PUBLIC_MAX_AGE = 60;
/** A viewer's own reads: invalidated by their writes and by those that reach them (a followee's post). */
export const PRIVATE_MAX_AGE = 30;

export const publicHint = { cacheControl: { maxAge: PUBLIC_MAX_AGE, scope: 'PUBLIC' } } as const;
export const privateHint = { cacheControl: { maxAge: PRIVATE_MAX_AGE, scope: 'PRIVATE' } } as const;
/** A private field in a public answer: it makes the whole answer private. */
export const privateField = { cacheControl: { scope: 'PRIVATE' } } as const;
