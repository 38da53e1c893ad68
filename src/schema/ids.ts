import { badInput } from '../errors.js';

/** Parses the database id inside a global ID; a non-integer is a clear error, not a failed query. */
export function parseRowId(typename: string) {
  return (id: string): number => {
    if (!/^[1-9]\d{0,15}$/.test(id)) throw badInput(`"${id}" is not a valid ${typename} ID.`);
    return Number(id);
  };
}
