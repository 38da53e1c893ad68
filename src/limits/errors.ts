/**
 * The refusals of the limits stages: GraphQL errors with a stable `extensions.code`, HTTP 400 whatever the
 * Accept header (`spec: false`: these are Tally's policy, not GraphQL validation, so the legacy-JSON rule of
 * answering 200 does not apply), and the measured value beside the limit. In production those two figures are
 * left out for the shape limits, as graphql-armor does, so a client cannot probe for the exact thresholds;
 * cost keeps them, as GitHub and Shopify show a query's cost and the maximum.
 */
import { GraphQLError } from 'graphql';

/** The codes a limit refusal carries (README "Limits and the cost budget" says what each means). */
export type LimitCode =
  | 'DOCUMENT_TOO_LARGE'
  | 'TOKEN_LIMIT_EXCEEDED'
  | 'DEPTH_LIMIT_EXCEEDED'
  | 'ALIAS_LIMIT_EXCEEDED'
  | 'DIRECTIVE_LIMIT_EXCEEDED'
  | 'ROOT_FIELD_LIMIT_EXCEEDED'
  | 'SELECTION_LIMIT_EXCEEDED'
  | 'BATCH_LIMIT_EXCEEDED'
  | 'VARIABLE_TOO_LARGE'
  | 'VARIABLES_TOO_DEEP'
  | 'INTROSPECTION_DISABLED'
  | 'INTROSPECTION_LIMIT_EXCEEDED'
  | 'COST_LIMIT_EXCEEDED';

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
