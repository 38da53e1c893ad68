/**
 * The viewer's row, for mutations. A token outlives its user (deleted after it was signed): reads simply find
 * nothing, but a write would reach the database's foreign keys first and fail as an internal error. One indexed
 * lookup per mutation (through the loader, so the payload's `viewer` costs nothing more) says it plainly instead.
 */
import type { Context } from '../context.js';
import type { UserRow } from '../db/schema.js';
import { AppError } from '../errors.js';

/** The viewer's row through the request's loader; null when anonymous or when the token's user is gone. */
export const viewerRow = (context: Context): Promise<UserRow | null> =>
  context.viewer ? context.loaders.user.load(context.viewer.id) : Promise.resolve(null);

export async function existingViewer(context: Context): Promise<UserRow> {
  const user = await viewerRow(context);
  if (!user) throw new AppError('UNAUTHENTICATED', 'The user of this access token no longer exists: sign in again.');
  return user;
}
