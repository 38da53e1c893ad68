/**
 * Who is asking: the one reading of the `Authorization` header, for yoga's auth stage (src/plugins/use-auth.ts),
 * the cached-GET front and the prepared lane. `Authorization: Bearer <JWT>` becomes the viewer; no header means
 * anonymous. A header that is present but malformed, expired or wrongly signed is a 401 with a GraphQL error,
 * never a silent fall-back to anonymous: a client with a broken token must find out.
 *
 * The penalty box names a client before any of this, from the token's `sub` unverified (unverifiedViewerId): only
 * a verified refusal places a hold, so a forged `sub` can only delay its forger.
 */
import { AppError } from '../errors.js';
import { parsePositiveId } from '../db/ids.js';
import { bearerToken, InvalidTokenError, type VerifyToken, type Viewer } from './jwt.js';

function unauthenticated(reason: string): AppError {
  return new AppError('UNAUTHENTICATED', `Invalid access token: ${reason}`, {
    httpStatus: 401,
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
  });
}

/** The viewer a request's Authorization header names: null without one; throws the 401 error for a bad one. */
export async function viewerOf(header: string | null | undefined, verifyToken: VerifyToken): Promise<Viewer | null> {
  if (header === null || header === undefined) return null;
  const token = bearerToken(header);
  if (!token) throw unauthenticated('expected "Authorization: Bearer <token>"');
  try {
    return await verifyToken(token);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw unauthenticated(error.message);
    throw error;
  }
}

/** The user id a bearer token's `sub` claims, read without verifying it; undefined when there is none. */
export function unverifiedViewerId(header: string | null | undefined): number | undefined {
  const payload = bearerToken(header)?.split('.')[1];
  if (!payload) return undefined;
  try {
    const { sub } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof sub === 'string' ? parsePositiveId(sub) : undefined;
  } catch {
    // Not a JWT: auth refuses it; until then the client is its address.
    return undefined;
  }
}
