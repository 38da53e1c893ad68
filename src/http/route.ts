/**
 * The first stage of the node:http front: the request's route, decided once, from the request target's path alone
 * (src/request/routes.ts), before anything else reads the request. Every stage after it (body, penalty box, cached
 * GET, admission, yoga) sees that decision: the request's `url` becomes the origin-form target the route was
 * decided on, and the Host header one that cannot change it.
 *
 * Before, the front decided from node's raw path and yoga routed on a URL it built from Host and path, so
 * `GET /healthz` with `Host: 127.0.0.1:4000/graphql?documentId=…` ran the operation past admission and the
 * penalty box, and a Host that is no host (`a b`, `[::1`, `x:99999`) made yoga's URL throw: a 500 with a stack
 * trace, on every path. Now:
 *
 * - The target is origin-form (`/path?query`) or absolute-form (`http://host/path?query`, which a server must
 *   accept; its authority is held to the Host rules); anything else, or a target with a fragment, is 400.
 * - Host: at most one, and a host name, IPv4 or bracketed IPv6 address with an optional port that a URL parser
 *   takes as it is (RFC 9112 3.2: a server answers an invalid or repeated Host with 400). Empty is allowed.
 * - The path is matched exactly: no percent-decoding, no dot segments, no trailing slash. An unknown path is 404,
 *   a method the path does not answer 405 (with Allow).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Handler } from './admission.js';
import type { Refuse } from './errors.js';
import { routeRefusal } from '../request/routes.js';

/** `/path` and an optional `?query`, without a fragment. */
const ORIGIN_FORM = /^\/[^?#]*(?:\?[^#]*)?$/;
/** `http://authority/path?query`; the authority is held to the Host rules. */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i;
/** A host name (labels of letters, digits, `-` and `_`), an IPv4 address or a bracketed IPv6 one, and a port. */
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/**
 * Whether `host` is a Host value Tally takes. The grammar keeps out every character that would end the host in a
 * URL (`/ ? # @ \`, spaces); the URL parser then refuses what the grammar lets through but no URL has (a port
 * above 65535, an IPv4 address with a part above 255, a malformed IPv6 address or punycode label). Nearly every
 * request of a deployment sends the same Host, so the last one accepted is remembered.
 */
function hostChecker(): (host: string) => boolean {
  let accepted = '';
  return (host) => {
    if (host === accepted || host === '') return true;
    if (host.length > 255 || !HOST.test(host)) return false;
    try {
      new URL(`http://${host}/`);
    } catch {
      return false;
    }
    accepted = host;
    return true;
  };
}

/** How many Host header lines the request had (node keeps only the first in `headers`). */
function hostLines(request: IncomingMessage): number {
  const raw = request.rawHeaders;
  let count = 0;
  for (let index = 0; index < raw.length; index += 2) if (raw[index]!.length === 4 && raw[index]!.toLowerCase() === 'host') count += 1;
  return count;
}

export function withRoute(next: Handler, refuse: Refuse): RequestListener {
  const validHost = hostChecker();
  const badRequest = (request: IncomingMessage, response: ServerResponse, message: string) =>
    refuse(request, response, 400, { message, extensions: { code: 'BAD_REQUEST' } }, { connection: 'close' });
  return (request, response) => {
    const target = request.url ?? '';
    let originForm = target;
    let host = request.headers.host ?? '';
    if (!ORIGIN_FORM.test(target)) {
      const absolute = ABSOLUTE_FORM.exec(target);
      if (!absolute) {
        badRequest(request, response, 'The request target must be a path, such as /graphql.');
        return;
      }
      // The target's authority stands for the Host header (RFC 9112 3.2.2).
      host = absolute[1]!;
      originForm = `${absolute[2] ?? '/'}${absolute[3] ?? ''}`;
    }
    if (!validHost(host) || hostLines(request) > 1) {
      badRequest(request, response, 'The Host header must be one host name or address, with an optional port.');
      return;
    }
    const query = originForm.indexOf('?');
    const path = query < 0 ? originForm : originForm.slice(0, query);
    const refusal = routeRefusal(request.method, path);
    if (refusal) {
      refuse(request, response, refusal.status, { message: refusal.message, extensions: { code: refusal.code } }, refusal.headers);
      return;
    }
    request.url = originForm;
    request.headers.host = host;
    void next(request, response);
  };
}
