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

/** The media types a JSON answer can be sent in, in the order yoga's regular result processor lists them. */
const ANSWER_MEDIA_TYPES = ['application/graphql-response+json', 'application/json'] as const;
export type AnswerMediaType = (typeof ANSWER_MEDIA_TYPES)[number];

/**
 * The media type a single JSON answer goes in for this Accept header, chosen as yoga chooses it (the first listed
 * type that matches wins, and for a wildcard `application/json`); undefined when none does, and yoga answers (an
 * event stream, 406). Only UTF-8 is offered: a type asking another charset is passed over. The front and the
 * prepared lane answer in what yoga would, so a client cannot tell which answered.
 */
export function answerMediaType(accept: string | null | undefined): AnswerMediaType | undefined {
  const asked = (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',');
  for (const entry of asked) {
    const [type = '', ...parameters] = entry.split(';');
    const charset = parameters.find((parameter) => parameter.includes('charset=')) ?? 'charset=utf-8';
    if (charset !== 'charset=utf-8') continue;
    const [askedMain, askedSub] = type.split('/');
    let chosen: AnswerMediaType | undefined;
    for (const offered of ANSWER_MEDIA_TYPES) {
      const [main, sub] = offered.split('/');
      if ((askedMain === '*' || askedMain === main) && (askedSub === '*' || askedSub === sub)) chosen = offered;
    }
    if (chosen) return chosen;
  }
  return undefined;
}
