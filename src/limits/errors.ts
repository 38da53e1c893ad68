/**
 * The refusals of the limits stages: GraphQL errors with a stable `extensions.code`, HTTP 400 whatever the
 * Accept header (`spec: false`: these are Tally's policy, not GraphQL validation, so the legacy-JSON rule of
 * answering 200 does not apply), and the measured value beside the limit. In production those two figures are
 * left out for the shape limits, as graphql-armor does, so a client cannot probe for the exact thresholds;
 * cost keeps them, as GitHub and Shopify show a query's cost and the maximum.
 */
import { GraphQLError } from 'graphql';

export const LIMIT_CODES = {
  DOCUMENT_TOO_LARGE: 'The document has more characters than one operation may have (checked before parsing).',
  TOKEN_LIMIT_EXCEEDED: 'The document has more tokens than one operation may have (parsing stops there).',
  DEPTH_LIMIT_EXCEEDED: 'Selections are nested deeper than allowed (fragments expanded, introspection included).',
  ALIAS_LIMIT_EXCEEDED: 'More fields have aliases than allowed (`__typename` included).',
  DIRECTIVE_LIMIT_EXCEEDED: 'More directives are used than allowed.',
  ROOT_FIELD_LIMIT_EXCEEDED: 'More fields are selected at the root of the operation than allowed.',
  SELECTION_LIMIT_EXCEEDED: 'One selection set holds more fields than allowed (fragments expanded).',
  BATCH_LIMIT_EXCEEDED: 'The request holds more operations than one request may batch (batching is off by default).',
  VARIABLE_TOO_LARGE: 'A variable holds a longer string than any input takes.',
  INTROSPECTION_DISABLED: 'Introspection (`__schema`, `__type`) is turned off on this server.',
  COST_LIMIT_EXCEEDED: 'The requested cost of the operation is above what one operation may cost for this client.',
} as const;

export type LimitCode = keyof typeof LIMIT_CODES;

export interface Measured {
  readonly value: number;
  readonly limit: number;
}

export function limitError(code: LimitCode, message: string, measured?: Measured, showFigures = true): GraphQLError {
  const figures = measured && showFigures ? ` (${measured.value}, the limit is ${measured.limit})` : '';
  return new GraphQLError(`${message}${figures}.`, {
    extensions: {
      code,
      ...(measured && showFigures ? { value: measured.value, limit: measured.limit } : {}),
      http: { status: 400, spec: false },
    },
  });
}
