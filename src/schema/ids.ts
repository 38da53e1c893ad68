import { badInput } from '../errors.js';
import { parsePositiveId } from '../db/ids.js';

/** Parses the database id inside a global ID; a non-integer is a clear error, not a failed query. */
export function parseRowId(typename: string) {
  return (id: string): number => {
    const rowId = parsePositiveId(id);
    if (rowId === undefined) throw badInput(`"${id}" is not a valid ${typename} ID.`);
    return rowId;
  };
}
