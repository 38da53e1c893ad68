/**
 * Graceful shutdown for a node:http server. `drain()` stops accepting connections, lets every request in flight
 * finish, and closes each keep-alive connection as its last response goes out (`Connection: close`): left
 * alone, an idle keep-alive connection holds `server.close()` open until the client or keepAliveTimeout (65 s)
 * ends it, and a busy one would be handed its next request by a client that does not know we are stopping.
 * Past the deadline the connections still open are closed: a stuck request must not keep a stopping process alive.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface Drainer {
  /** Resolves once every connection is closed: true when all requests finished, false when the deadline cut some. */
  drain(): Promise<boolean>;
}

export function drainer(server: Server, deadlineMs: number): Drainer {
  let draining = false;
  const inFlight = new Set<ServerResponse>();

  // Prepended so it runs before the app's handler has written anything: the header can still change.
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    inFlight.add(response);
    if (draining) response.shouldKeepAlive = false;
    response.once('close', () => {
      inFlight.delete(response);
      // A response whose headers left before the drain began said keep-alive: its connection is idle now.
      if (draining) server.closeIdleConnections();
    });
  });

  return {
    drain: () =>
      new Promise<boolean>((resolve) => {
        draining = true;
        for (const response of inFlight) if (!response.headersSent) response.shouldKeepAlive = false;
        let cut = false;
        const deadline = setTimeout(() => {
          cut = true;
          server.closeAllConnections();
        }, deadlineMs).unref();
        server.close(() => {
          clearTimeout(deadline);
          resolve(!cut);
        });
        server.closeIdleConnections();
      }),
  };
}
