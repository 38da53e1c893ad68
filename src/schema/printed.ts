/**
 * The schema as committed in schema.graphql: sorted, so a diff shows only what changed, and printed with the
 * directives its fields carry (graphql-js' printer drops them), so `@cost` and `@listSize` are published.
 */
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { sortedSchema } from './index.js';

export const printedSchema = (): string => `${printSchemaWithDirectives(sortedSchema)}\n`;
