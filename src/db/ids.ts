/**
 * Database ids as text (inside a global ID, a token's `sub`): digits without a leading zero whose value is a
 * safe integer. Beyond 2^53 a JavaScript number can no longer hold every integer, so "9007199254740993" would
 * silently become another user's id; it is refused instead.
 */
export function parsePositiveId(text: string): number | undefined {
  if (!/^[1-9]\d*$/.test(text)) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : undefined;
}
