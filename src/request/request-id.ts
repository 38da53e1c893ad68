/**
 * Every request's id: the client's own `x-request-id` when it sends a sane one, a new UUID otherwise. It is echoed
 * in the `x-request-id` response header and shown in masked errors, so a user can quote it and an operator can
 * find the log line. One rule for yoga's stage (src/plugins/use-request-id.ts) and the node:http front.
 */
import { randomUUID } from 'node:crypto';

const CLIENT_ID = /^[\w.:-]{1,128}$/;

/** The id of a request whose client sent `sent` as its x-request-id (or nothing). */
export const requestIdFor = (sent: string | null | undefined): string => (sent && CLIENT_ID.test(sent) ? sent : randomUUID());
