/**
 * Kept answers in their coded forms (brotli, gzip), coded once per answer and coding in this process and then
 * served as stored bytes: a cached hit for a client that takes gzip costs no compression. Keyed by the answer's
 * hash, so a dropped or changed answer is simply never asked for again and ages out; bounded in bytes.
 */
import { LRUCache } from 'lru-cache';
import { encode, type ContentCoding } from '../request/content-coding.js';
import type { CachedAnswer } from './response-cache.js';

/** Coded bytes kept in all: a coded feed page is a few KB, so thousands of answers. */
const MAX_CODED_BYTES = 32 * 1024 * 1024;

export type CodedAnswers = (answer: CachedAnswer, coding: ContentCoding) => Buffer;

export function codedAnswers(): CodedAnswers {
  const kept = new LRUCache<string, Buffer>({ maxSize: MAX_CODED_BYTES, sizeCalculation: (bytes) => Math.max(1, bytes.length) });
  return (answer, coding) => {
    const key = `${coding}:${answer.hash}`;
    let bytes = kept.get(key);
    if (!bytes) {
      bytes = encode(answer.body, coding);
      kept.set(key, bytes);
    }
    return bytes;
  };
}
