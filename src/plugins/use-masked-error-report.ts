/** The masked errors' report in yoga (src/request/mask-error.ts has the rule): the request id, the 503 of a fault. */
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../observability/logger.js';
import { reportMaskedErrors } from '../request/mask-error.js';
import { scopeOf } from '../request/scope.js';
import { mapResults } from './map-results.js';

export function useMaskedErrorReport(logger: Logger): Plugin {
  return {
    onResultProcess(event) {
      const { requestId } = scopeOf(event.request);
      void mapResults((single) => reportMaskedErrors(single, requestId, logger))(event);
    },
  };
}
