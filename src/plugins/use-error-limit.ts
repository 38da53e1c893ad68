/** The error limit in yoga (src/limits/error-limit.ts has the rule). */
import type { Plugin } from 'graphql-yoga';
import { capErrors } from '../limits/error-limit.js';
import { mapResults } from './map-results.js';

export function useErrorLimit(maxErrors: number): Plugin {
  return { onResultProcess: mapResults((result) => capErrors(result, maxErrors)) };
}
