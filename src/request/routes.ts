/**
 * What Tally serves: each path and the methods it answers. The node:http front decides a request's route by this
 * table from the request target's path alone (src/http/route.ts), and yoga's known-paths stage by the same table
 * for requests that reach yoga another way (yoga.fetch): one rule, so admission, the penalty box and yoga never
 * disagree about where a request goes.
 */

export const GRAPHQL_PATH = '/graphql';
/** Answered however busy the server is (see src/http/admission.ts), and never held in the penalty box. */
export const UNQUEUED_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

const ROUTES: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  // GraphiQL and queries by id over GET, everything over POST.
  [GRAPHQL_PATH, ['GET', 'POST']],
  ...UNQUEUED_PATHS.map((path) => [path, ['GET', 'HEAD']] as [string, readonly string[]]),
]);

export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Why a request for `path` by `method` is not served, or undefined when it is. The path is matched exactly. */
export function routeRefusal(method: string | undefined, path: string): Refusal | undefined {
  const methods = ROUTES.get(path);
  if (!methods) {
    // Only the path's first characters, JSON-escaped like everything in the body: it is the client's text.
    return { status: 404, code: 'NOT_FOUND', message: `Nothing is served at ${path.slice(0, 100)}: GraphQL is at ${GRAPHQL_PATH}.`, headers: {} };
  }
  if (method === undefined || !methods.includes(method)) {
    return { status: 405, code: 'METHOD_NOT_ALLOWED', message: `${path} answers ${methods.join(' and ')} only.`, headers: { allow: methods.join(', ') } };
  }
  return undefined;
}
