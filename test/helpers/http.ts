/**
 * A Tally server on a real socket, with the node:http stack src/main.ts serves (createRequestListener: JSON body
 * read, penalty box, cached GET answers, admission, yoga). Listens on 127.0.0.1 on an ephemeral port.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestListener, type FrontOptions, type TallyServer } from '../../src/server.js';

export interface HttpServer {
  readonly http: Server;
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly base: string;
  close(): Promise<void>;
}

export async function listenLikeMain(server: { yoga: TallyServer } & FrontOptions): Promise<HttpServer> {
  const http = createHttpServer(createRequestListener(server.yoga, server));
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
