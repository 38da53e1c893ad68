/** The schema: every type file registers itself on the builder when imported. */
import { lexicographicSortSchema, specifiedDirectives } from 'graphql';
import { cacheControlDirective } from '../cache/directive.js';
import { costDirective, listSizeDirective } from '../cost/directives.js';
import { builder } from './builder.js';
import './money.js';
import './user.js';
import './post.js';
import './follow.js';
import './transaction.js';
import './user-mutations.js';
import './post-mutations.js';
import './follow-mutations.js';
import './money-mutations.js';
import './rate-limit.js';

// The cost and cache directives' definitions, so the printed schema declares what its fields use. The list replaces
// graphql-js' own, so @include, @skip, @deprecated and @specifiedBy are named again.
export const schema = builder.toSchema({ directives: [...specifiedDirectives, costDirective, listSizeDirective, cacheControlDirective] });

/** The schema as committed in schema.graphql: sorted, so a diff shows only what changed. */
export const sortedSchema = lexicographicSortSchema(schema);
