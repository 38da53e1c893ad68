/**
 * Which content coding an answer goes in, and the coding itself: one rule for the compression stage
 * (src/http/compression.ts), which codes what yoga and the prepared lane answer, and for the cached-GET front, which
 * serves a hit's coded bytes kept once per answer (src/cache/coded-answers.ts).
 *
 * JSON compresses 5-10×, which is most of what a mobile client waits for on a slow link. Accept-Encoding is read
 * as RFC 9110 12.5.3 has it (q-values, `*`, `identity;q=0`) by negotiator; at equal q, brotli (smaller) comes
 * before gzip. Answers under MIN_CODED_BYTES go as they are: a coding's header and framing would outweigh what it
 * saves. The levels are those made for content coded per request (brotli 4, gzip 6): the top levels cost several
 * times the CPU for a few percent.
 *
 * Compressing private answers is safe here: BREACH needs a secret in the body and a request the attacker can make
 * the victim's browser send with the victim's credentials. Tally's credentials are bearer tokens a browser never
 * attaches by itself, and it reads no cookie.
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import Negotiator from 'negotiator';

export type ContentCoding = 'br' | 'gzip';

/** Below this an answer is sent uncoded. */
export const MIN_CODED_BYTES = 1024;

const OFFERED = ['br', 'gzip', 'identity'];

/** negotiator 1's `encoding` takes the order to break ties in; its published types are 0.6's, without it. */
type PreferringNegotiator = Negotiator & { encoding(available: string[], options: { preferred: string[] }): string | undefined };
const PREFERRED = { preferred: ['br', 'gzip'] };

/** Accept-Encoding values remembered: clients send a handful (each browser's, each HTTP stack's), not thousands. */
const MAX_REMEMBERED = 256;
const remembered = new Map<string, ContentCoding | undefined>();

/** The coding this Accept-Encoding header prefers; undefined for none (identity). Read once per distinct value. */
export function codingFor(acceptEncoding: string | undefined): ContentCoding | undefined {
  if (acceptEncoding === undefined || acceptEncoding === '') return undefined;
  if (remembered.has(acceptEncoding)) return remembered.get(acceptEncoding);
  const chosen = (new Negotiator({ headers: { 'accept-encoding': acceptEncoding } }) as PreferringNegotiator).encoding(OFFERED, PREFERRED);
  const coding = chosen === 'br' || chosen === 'gzip' ? chosen : undefined;
  if (remembered.size < MAX_REMEMBERED) remembered.set(acceptEncoding, coding);
  return coding;
}

/** Answers worth coding: JSON, not a stream (an event stream is written as it goes). */
export const isCodable = (contentType: string | undefined): boolean =>
  contentType !== undefined && (contentType.startsWith('application/json') || contentType.startsWith('application/graphql-response+json'));

export function encode(body: Buffer, coding: ContentCoding): Buffer {
  return coding === 'br'
    ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gzipSync(body, { level: 6 });
}

/** The ETag of the coded representation: other bytes, so another strong tag (`"abc"` → `"abc.br"`). */
export const codedEtag = (etag: string, coding: ContentCoding): string => (etag.endsWith('"') ? `${etag.slice(0, -1)}.${coding}"` : etag);

/** A Vary header with Accept-Encoding added once. */
export function varyWithEncoding(vary: string | undefined): string {
  if (!vary) return 'Accept-Encoding';
  return /(^|,)\s*accept-encoding\s*(,|$)/i.test(vary) ? vary : `${vary}, Accept-Encoding`;
}
