/** DataLoader batch functions must answer in the order of their keys; these restore it from unordered rows. */

export function mapTo<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): (R | null)[] {
  const byKey = new Map<K, R>();
  for (const row of rows) byKey.set(keyOf(row), row);
  return keys.map((key) => byKey.get(key) ?? null);
}

export function mapToMany<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): R[][] {
  const byKey = new Map<K, R[]>();
  for (const row of rows) {
    const list = byKey.get(keyOf(row));
    if (list) list.push(row);
    else byKey.set(keyOf(row), [row]);
  }
  return keys.map((key) => byKey.get(key) ?? []);
}

/** For references a foreign key guarantees: a missing row is a broken invariant (masked as an internal error). */
export function existing<T>(row: T | null, what: string): T {
  if (row === null) throw new Error(`${what} not found although a foreign key requires it`);
  return row;
}
