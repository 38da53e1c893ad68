/**
 * Bearer tokens: verified with jose against either a shared secret (HS256) or an identity provider's JWKS
 * (RS256/ES256), issuer and audience checked. A token's `sub` is the Tally user id.
 */
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { JwtConfig } from '../config.js';
import { parsePositiveId } from '../db/ids.js';

export interface Viewer {
  readonly id: number;
}

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

export type VerifyToken = (token: string) => Promise<Viewer>;

/** How much longer than JWT_MAX_LIFETIME_SECONDS a token may be valid for and still be taken (see below). */
const LIFETIME_LEEWAY_SECONDS = 60;

/** The token of an `Authorization: Bearer <token>` header; undefined when the header is not of that form. */
export const bearerToken = (header: string | null | undefined): string | undefined =>
  header ? /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header)?.[1] : undefined;

export function createTokenVerifier(config: JwtConfig): VerifyToken {
  // The secret imported as a key once: handed raw bytes, jose imports them again for every token it verifies
  // (15% of the CPU of a request refused by the cost budget, in a profile of the rate-limit scenario).
  const key: Promise<CryptoKey> | JWTVerifyGetKey =
    config.kind === 'secret'
      ? crypto.subtle.importKey('raw', new TextEncoder().encode(config.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
      : createRemoteJWKSet(new URL(config.jwksUrl));
  const algorithms = config.kind === 'secret' ? ['HS256'] : ['RS256', 'ES256'];
  return async (token) => {
    let payload: JWTPayload;
    try {
      const options = { algorithms, issuer: config.issuer, audience: config.audience, requiredClaims: ['sub', 'exp'] };
      ({ payload } = key instanceof Promise ? await jwtVerify(token, await key, options) : await jwtVerify(token, key, options));
    } catch (error) {
      // jose's messages say what was wrong ("exp" claim timestamp check failed, signature verification failed)
      // without echoing the token, so they are safe to show.
      throw new InvalidTokenError(error instanceof Error ? error.message : 'invalid token');
    }
    // jose checks that `exp` has not passed, not how far off it is: a token signed to expire in the year 33,000
    // (or at 1e999, which JSON reads as Infinity) would be a credential for ever. From when it was issued (or now,
    // when it says no earlier) to when it expires is at most JWT_MAX_LIFETIME_SECONDS.
    // LIFETIME_LEEWAY_SECONDS: an issuer reads its clock once for `iat` and again for `exp` (jose's SignJWT does), so
    // a token signed for exactly the maximum can come out a second longer.
    const now = Math.floor(Date.now() / 1000);
    const issued = typeof payload.iat === 'number' ? Math.min(payload.iat, now) : now;
    if (!(payload.exp! - issued <= config.maxLifetimeSeconds + LIFETIME_LEEWAY_SECONDS)) {
      throw new InvalidTokenError(`the token is valid for longer than ${config.maxLifetimeSeconds} s ("exp" too far after "iat")`);
    }
    const subject = payload.sub;
    const id = subject === undefined ? undefined : parsePositiveId(subject);
    if (id === undefined) throw new InvalidTokenError('"sub" claim is not a user id');
    return { id };
  };
}

/** Mints a token for a user: only possible with a shared secret (development, tests, `npm run token`). */
export async function signToken(config: JwtConfig, userId: number, expiresIn = '30d'): Promise<string> {
  if (config.kind !== 'secret') throw new Error('tokens can only be minted with JWT_SECRET (JWKS tokens come from the identity provider)');
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(userId))
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(config.secret));
}
