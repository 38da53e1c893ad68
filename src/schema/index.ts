/** The schema: every type file registers itself on the builder when imported. */
import { lexicographicSortSchema } from 'graphql';
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

export const schema = builder.toSchema();

/** The schema as committed in schema.graphql: sorted, so a diff shows only what changed. */
export const sortedSchema = lexicographicSortSchema(schema);
