/**
 * The viewer's row, for mutations. A token outlives its user (deleted after it was signed): reads simply find
 * nothing, but a write would reach the database's foreign keys first and fail as an internal error. One indexed
 * lookup per mutation (through the loader, so the payload's `viewer` costs nothing more) says it plainly instead.
 */
import type { Context } from '../context.js';
import type { UserRow } from '../db/schema.js';
import { AppError } from '../errors.js';

export async function existingViewer(context: Context): Promise<UserRow> {
  const user = context.viewer ? await context.loaders.user.load(context.viewer.id) : null;
  if (!user) throw new AppError('UNAUTHENTICATED', 'The user of this access token no longer exists: sign in again.');
  return user;
}
