/**
 * Loaders for "a page of X per parent" (User.posts, User.followers, User.following). A field asked on many
 * parents with the same arguments shares one DataLoader, so the pages of all of them come from one statement.
 */
import DataLoader from 'dataloader';
import type { PageRequest } from '../db/keyset.js';
import type { WithParent } from '../db/queries/lateral.js';
import { mapToMany } from './map.js';

export type PageLoader<Row> = (page: PageRequest) => DataLoader<number, Row[]>;

export function pageLoader<Row>(
  fetch: (parentIds: readonly number[], page: PageRequest) => Promise<WithParent<Row>[]>,
  options: { batch: boolean; maxBatchSize: number },
): PageLoader<Row> {
  const byPage = new Map<string, DataLoader<number, Row[]>>();
  return (page) => {
    const id = `${page.direction}:${page.size}:${page.after?.at.getTime()}:${page.after?.id}:${page.before?.at.getTime()}:${page.before?.id}`;
    let loader = byPage.get(id);
    if (!loader) {
      loader = new DataLoader(
        async (parentIds) => mapToMany(parentIds, await fetch(parentIds, page), (row) => row.parentId),
        options,
      );
      byPage.set(id, loader);
    }
    return loader;
  };
}
