/** A User's global ID given as mutation input, read into a row id, or the typed error that says why it is not one. */
import { decodeGlobalID } from '@pothos/plugin-relay';
import { parsePositiveId } from '../db/ids.js';
import { failed, problem, succeeded, type Outcome } from '../problems.js';

export function userIdInput(globalId: string, field: readonly string[]): Outcome<number> {
  let decoded: { typename: string; id: string } | undefined;
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    decoded = undefined;
  }
  const id = decoded?.typename === 'User' ? parsePositiveId(decoded.id) : undefined;
  return id === undefined ? failed(problem('INVALID_INPUT', `"${globalId.slice(0, 60)}" is not the ID of a User.`, field)) : succeeded(id);
}
