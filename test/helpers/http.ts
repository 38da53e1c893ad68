/**
 * A Tally server on a real socket, stacked the way src/main.ts stacks the process: node:http → JSON body read
 * (src/http-body.ts) → penalty box (src/penalty-box.ts) → admission (src/admission.ts) → yoga. Listens on 127.0.0.1 on an ephemeral port.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withAdmission } from '../../src/admission.js';
import type { ClientAddress } from '../../src/client-address.js';
import type { Config } from '../../src/config.js';
import { withParsedJsonBody } from '../../src/http-body.js';
import { withPenaltyBox, type PenaltyBox } from '../../src/penalty-box.js';
import { UNQUEUED_PATHS, type TallyServer } from '../../src/server.js';

export interface HttpServer {
  readonly http: Server;
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly base: string;
  close(): Promise<void>;
}

export async function listenLikeMain({ yoga, config, penaltyBox, clientAddress }: { yoga: TallyServer; config: Config; penaltyBox: PenaltyBox; clientAddress: ClientAddress }): Promise<HttpServer> {
  const admitted = withAdmission(yoga, { limit: config.maxConcurrentRequests, exempt: UNQUEUED_PATHS });
  const held = withPenaltyBox(admitted, { box: penaltyBox, clientAddress, exempt: UNQUEUED_PATHS });
  const http = createHttpServer(withParsedJsonBody(held));
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
