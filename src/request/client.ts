/**
 * Who the client is, named once for every stage that counts per client: the cost budget charges it
 * (src/cost/charge.ts), the penalty box holds it (src/http/penalty-box.ts), the body budget shares bytes by it
 * (src/http/body.ts). A signed-in client is its viewer (`viewer:<id>`), so respelling its header (case, spaces)
 * or moving address is the same client; an anonymous one is its address (`ip:<address>`, src/request/client-address.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { ClientAddress } from './client-address.js';

/** The client's name; its address is asked for only when it is anonymous. */
export const clientKey = (viewerId: number | undefined, address: () => string): string => (viewerId === undefined ? `ip:${address()}` : `viewer:${viewerId}`);

/** The X-Forwarded-For header as the address rule reads it: null when absent (or, never from node, repeated). */
export function forwardedFor(request: IncomingMessage): string | null {
  const header = request.headers['x-forwarded-for'];
  return typeof header === 'string' ? header : null;
}

/** The address of a request that came over a socket. */
export const addressOf = (clientAddress: ClientAddress, request: IncomingMessage): string => clientAddress(request.socket.remoteAddress, forwardedFor(request));
