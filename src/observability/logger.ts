/**
 * Structured JSON logs (pino): one object per line, for machines first.
 *
 * No line may carry a query's parameters or a client's values, whichever library wrote the error. pino's own error
 * serializer prints every enumerable property of an error and appends each cause's message, and that is where
 * libraries put the client's data: drizzle's message ends "params: <every parameter>" (usernames, emails, lists of
 * thousands of ids), PGlite attaches `params` to its error, PostgreSQL's `detail` quotes the key of a unique
 * violation ("Key (name)=(…) already exists") and its `where` can quote a parameter, a data exception's message
 * quotes the value it could not take, and a GraphQL error written for the client quotes the client's input
 * ("Invalid global ID: …"). yoga itself logs each error the mask replaces, as `logger.error(error)`.
 *
 * So every error this logger is handed (under `err` or any other field, or as the only argument, yoga's way) is
 * written as a `LoggedError`: its type, its message without those values, the SQL text, the few properties that
 * name what failed (SQLSTATE, constraint, table, GraphQL path) and the stack frames, and its cause chain the same
 * way. A property not on that list stays out, so a library's new property is left out until someone decides it is
 * safe. The line's `msg`, which pino would take from the error's message, gets the cleaned message too.
 */
import { types } from 'node:util';
import { GraphQLError } from 'graphql';
import { pino, type DestinationStream, type LogFn, type Logger } from 'pino';
import type { Config } from '../config.js';

export type { Logger };

/** An error as a log line shows it. */
export interface LoggedError {
  type: string;
  message: string;
  /** `type: message` and then only the frames: the stack's own header repeats the raw message. */
  stack: string;
  /** A SQLSTATE ("23505"), an app error's code ("BAD_USER_INPUT"), a system error's ("ECONNREFUSED"). */
  code?: string | number;
  /** The failed statement's SQL text, with its $1 placeholders: never the parameters. */
  sql?: string;
  /** A GraphQL error's response path and document locations. */
  path?: (string | number)[];
  locations?: { line: number; column: number }[];
  cause?: LoggedError;
  aggregateErrors?: LoggedError[];
  /** The other properties of NAMING_PROPERTIES. */
  [property: string]: unknown;
}

/** Properties that name what failed and never hold a value: PostgreSQL's (as pg and PGlite copy them) and Node's. */
const NAMING_PROPERTIES = ['code', 'constraint', 'table', 'column', 'schema', 'dataType', 'routine', 'syscall', 'errno', 'address', 'port'];

/** What a client's error says instead of its message. */
export const WITHHELD_MESSAGE = 'withheld: a message for the client, which may quote its request';

const MAX_CAUSES = 8;

/** LoggedErrors already made, so pino's err serializer passes them through. */
const made = new WeakSet<object>();

const isError = (value: unknown): value is Error => value instanceof Error || types.isNativeError(value);

/** pino's notion of an error under `err`: anything with a string message (a thrown plain object included). */
const isErrorLike = (value: unknown): value is Error =>
  isError(value) || (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' && !made.has(value));

/**
 * A GraphQL error graphql-js, Pothos or our schema wrote for the client: no error of ours or of a library's
 * (a failed statement) beneath it. Its message is the client's to read and quotes what the client sent
 * (`Variable "$x" got invalid value …`, "Invalid global ID: …"), so the log keeps its code and path instead.
 */
function writtenForTheClient(error: GraphQLError): boolean {
  let origin: unknown = error.originalError;
  for (let depth = 0; isError(origin) && depth < MAX_CAUSES; depth += 1) {
    if (!(origin instanceof GraphQLError)) return false;
    origin = origin.originalError;
  }
  return true;
}

/** The error beneath a GraphQL error that wraps one (graphql-js' located errors take its message). */
function originOf(error: GraphQLError): Error | undefined {
  let origin: unknown = error.originalError;
  for (let depth = 0; origin instanceof GraphQLError && depth < MAX_CAUSES; depth += 1) origin = origin.originalError;
  return isError(origin) ? origin : undefined;
}

/** PostgreSQL's data exceptions (SQLSTATE class 22) quote the value they could not take. */
const isDataException = (error: Error) => {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
};

/** The message of an error, without the values libraries put into it. */
export function loggedMessage(error: Error): string {
  if (error instanceof GraphQLError) {
    if (writtenForTheClient(error)) return WITHHELD_MESSAGE;
    const origin = originOf(error);
    if (origin && origin.message === error.message) return loggedMessage(origin);
  }
  let message = String(error.message);
  // drizzle's DrizzleQueryError: `Failed query: <sql>\nparams: <the parameters>`. The SQL is the useful half.
  const failed = message.indexOf('Failed query: ');
  const params = failed === -1 ? -1 : message.indexOf('\nparams: ', failed);
  if (params !== -1) message = message.slice(0, params);
  // `invalid input syntax for type integer: "…"`, `value "…" is out of range for type integer`, and the bytes of
  // `invalid byte sequence for encoding "UTF8": 0x00`. (Other classes quote names: constraints, relations.)
  if (isDataException(error)) message = message.replace(/"[\s\S]*"/, '"…"').replace(/0x[0-9a-f]{2}(?: 0x[0-9a-f]{2})*/gi, '0x…');
  return message;
}

const isPrimitive = (value: unknown): value is string | number => typeof value === 'string' || typeof value === 'number';

function toLogged(error: Error, seen: Set<Error>, outerSql: string | undefined): LoggedError {
  seen.add(error);
  const fields = error as unknown as Record<string, unknown>;
  const constructorName = (error.constructor as { name?: unknown } | undefined)?.name;
  const type = typeof constructorName === 'string' && constructorName !== 'Object' ? constructorName : String(error.name ?? 'Error');
  const message = loggedMessage(error);
  const frames = String(error.stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line));
  const logged: LoggedError = { type, message, stack: [`${type}: ${message}`, ...frames].join('\n') };

  for (const property of NAMING_PROPERTIES) {
    const value = fields[property];
    if (isPrimitive(value)) logged[property] = value;
  }
  if (error instanceof GraphQLError) {
    const code = error.extensions?.['code'];
    if (logged.code === undefined && isPrimitive(code)) logged.code = code;
    if (error.path) logged.path = error.path.filter(isPrimitive);
    if (error.locations) logged.locations = error.locations.map(({ line, column }) => ({ line, column }));
  }
  // drizzle's `query` and PGlite's are the statement's text; a cause repeating its wrapper's text is left out.
  const sql = typeof fields['query'] === 'string' ? fields['query'] : undefined;
  if (sql !== undefined && sql !== outerSql) logged.sql = sql;

  const cause = error.cause ?? (error instanceof GraphQLError ? error.originalError : undefined);
  if (isErrorLike(cause) && !seen.has(cause) && seen.size < MAX_CAUSES) logged.cause = toLogged(cause, seen, sql ?? outerSql);
  const inner: unknown = fields['errors'];
  if (Array.isArray(inner)) {
    logged.aggregateErrors = (inner as unknown[]).filter(isError).slice(0, MAX_CAUSES).map((member) => toLogged(member, new Set(seen), sql ?? outerSql));
  }
  made.add(logged);
  return logged;
}

/** An error as the log writes it: see the top of this file. */
export function toLoggedError(error: Error): LoggedError {
  return toLogged(error, new Set(), undefined);
}

/** A log object with each error-valued field (or array of errors) replaced by its LoggedError. */
function withLoggedErrors(object: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const value = object[key];
    let logged = value;
    if (key === 'err' ? isErrorLike(value) : isError(value)) logged = toLoggedError(value as Error);
    else if (Array.isArray(value) && value.some(isError)) logged = (value as unknown[]).map((item) => (isError(item) ? toLoggedError(item) : item));
    if (logged !== value) (copy ??= { ...object })[key] = logged;
  }
  return copy ?? object;
}

/**
 * pino takes a line's `msg` from the error's raw message when none is given: `logger.error(error)` (yoga's way)
 * and `logger.error({ err })`. This gives it the cleaned one instead.
 */
function logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const [first, message, ...rest] = args as unknown[];
  const object = first as { err?: unknown; msg?: unknown } | null;
  let error: Error | undefined;
  if (isError(first)) error = first;
  else if (typeof object === 'object' && object !== null && isErrorLike(object.err) && object.msg === undefined) error = object.err;
  if (!error) {
    method.apply(this, args);
    return;
  }
  const withMessage = [error === first ? { err: first } : first, message ?? loggedMessage(error), ...rest];
  method.apply(this, withMessage as unknown as Parameters<LogFn>);
}

/**
 * The process's logger; also the one yoga is handed (`logging` in server.ts), so yoga's own error lines go through
 * the same cleaning. `destination` defaults to stdout; tests pass an in-memory stream.
 */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  destination?: DestinationStream,
  { mixin }: { mixin?: () => Record<string, unknown> } = {},
): Logger {
  const options = {
    // With tracing on: the trace and span ids of the request being served (src/observability/tracing.ts).
    ...(mixin ? { mixin } : {}),
    level: config.logLevel,
    base: { service: 'tally' },
    serializers: { err: (value: unknown) => (isErrorLike(value) ? toLoggedError(value) : value) },
    formatters: { log: withLoggedErrors, bindings: withLoggedErrors },
    hooks: { logMethod },
  };
  return destination ? pino(options, destination) : pino(options);
}
