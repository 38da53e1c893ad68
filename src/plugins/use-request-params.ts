/**
 * Reads a request's GraphQL parameters by Tally's rules (src/request/params.ts) instead of yoga's parsers: a
 * GET's query string and a POST's JSON body, the media type matched case-insensitively. A malformed parameter
 * or body is a 400 that says which and why; with yoga's own parsers a GET's malformed `variables` was a 500 and a
 * POST's invalid JSON echoed the parser's error. Other requests keep yoga's parsers: the request-policy stage
 * refuses what Tally does not read (415, 405) before any parser runs.
 */
import type { Plugin } from 'graphql-yoga';
import { JSON_MEDIA_TYPE, mediaTypeOf } from '../request/media-type.js';
import { getParams, malformed, postParams } from '../request/params.js';

/**
 * The body as JSON. The node:http front (src/http/body.ts) hands on a body it parsed, which request.json() returns
 * as it is, and the text of one that does not parse, which fails here as it failed there.
 */
async function jsonOf(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw malformed('The request body is not valid JSON.');
  }
}

export function useRequestParams(): Plugin {
  return {
    onRequestParse({ request, url, setRequestParser }) {
      if (request.method === 'GET') {
        setRequestParser(() => getParams(url.searchParams));
      } else if (request.method === 'POST' && mediaTypeOf(request.headers.get('content-type')) === JSON_MEDIA_TYPE) {
        setRequestParser(async (posted) => postParams(await jsonOf(posted)));
      }
    },
  };
}
