/**
 * JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` make one cache key. The value is a
 * client's (a request's variables), so it is walked with a stack of its own, not by recursion: variables nested a
 * few thousand deep fit in a 16 KB URL, and a recursive walk overflowed the call stack on them (a 500).
 */

/** What is left to write: a value, or text already decided (a separator, a key, a closing bracket). */
type Pending = { readonly value: unknown } | string;

export function canonicalJson(root: unknown): string {
  let out = '';
  const pending: Pending[] = [{ value: root }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (typeof next === 'string') {
      out += next;
      continue;
    }
    const { value } = next;
    if (value === null || typeof value !== 'object') {
      // undefined, a function or a symbol is not JSON: null, as in an array.
      out += JSON.stringify(value) ?? 'null';
    } else if (Array.isArray(value)) {
      out += '[';
      pending.push(']');
      for (let index = value.length - 1; index >= 0; index -= 1) {
        pending.push({ value: value[index] });
        if (index > 0) pending.push(',');
      }
    } else {
      const object = value as Record<string, unknown>;
      const keys = Object.keys(object)
        .filter((key) => object[key] !== undefined)
        .sort();
      out += '{';
      pending.push('}');
      for (let index = keys.length - 1; index >= 0; index -= 1) {
        pending.push({ value: object[keys[index]!] });
        pending.push(`${index > 0 ? ',' : ''}${JSON.stringify(keys[index])}:`);
      }
    }
  }
  return out;
}
