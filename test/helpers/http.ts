/**
 * A Tally server on a real socket, with the node:http server and stack src/main.ts serves (createNodeServer's
 * timeouts and parser refusals; createTally's listener: route, JSON body read, penalty box, cached GET answers,
 * admission, the prepared lane, yoga). Listens on 127.0.0.1 on an ephemeral port.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeServer } from '../../src/http/node-server.js';
import type { Tally } from '../../src/server.js';
import type { Config } from '../../src/config.js';
import type { GraphQLResponse } from './server.js';

export interface HttpServer {
  readonly http: Server;
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly base: string;
  close(): Promise<void>;
}

export async function listenLikeMain(server: Pick<Tally, 'listener'> & { readonly config: Config }): Promise<HttpServer> {
  const http = createNodeServer(server.listener, server.config.http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    http,
    base: `http://127.0.0.1:${port}`,
    async close() {
      // fetch keeps connections alive; close() alone would wait for them to time out.
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** An Authorization header for `token`, or none without one. */
export const bearer = (token: string | undefined): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` });

/**
 * POSTs `body` as JSON to `<base>/graphql` over real HTTP and reads the JSON answered. Only the content type is
 * set: what the client accepts, and who it is, are the caller's `headers`, since both change the answer.
 */
export async function postGraphQL<T = Record<string, unknown>>(base: string, body: unknown, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>['body'] };
}
