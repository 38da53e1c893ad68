/**
 * The media type of a Content-Type header, as HTTP defines it: the type and subtype before any parameter,
 * case-insensitive (RFC 9110 8.3.1), so `APPLICATION/JSON; charset=utf-8` is `application/json`. The front and
 * the yoga stages decide by this one reading, never by a substring of the header.
 */
export function mediaTypeOf(contentType: string | null | undefined): string | undefined {
  if (contentType === undefined || contentType === null) return undefined;
  const semicolon = contentType.indexOf(';');
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** The only body Tally reads (see src/plugins/use-request-policy.ts for why: cross-site request forgery). */
export const JSON_MEDIA_TYPE = 'application/json';

/** Whether the request's body is coded (gzip, br, …): Tally reads bodies as sent, so such a one is refused (415). */
export const isEncoded = (contentEncoding: string | null | undefined): boolean =>
  contentEncoding !== undefined && contentEncoding !== null && contentEncoding.trim().toLowerCase() !== 'identity' && contentEncoding.trim() !== '';
