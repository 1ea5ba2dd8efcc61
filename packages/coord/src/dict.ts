// Records keyed by users' names (topics, group ids, member ids, config keys) without the traps of
// a plain object: a topic named `__proto__` set on `{}` changes its prototype instead of adding a
// key, and `constructor` or `toString` read from `{}` find Object.prototype's functions.
// The state keeps the Record shape (it is JSON on disk and in Redis, and Lua reads it), so every
// record is made with dict(), read with own() and written with setOwn(). structuredClone and
// JSON.parse keep `__proto__` as an own key, so own() also reads their copies right.

/** An empty record with no prototype. */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** A record with no prototype holding the entries of `source` (own, enumerable). */
export function dictFrom<T>(source: Readonly<Record<string, T>> | Iterable<readonly [string, T]>): Record<string, T> {
  const out = dict<T>();
  const entries = Symbol.iterator in source ? (source as Iterable<readonly [string, T]>) : Object.entries(source as Record<string, T>);
  for (const [key, value] of entries) out[key] = value;
  return out;
}

/** `record[key]` when `key` is the record's own key, else undefined (never an inherited member). */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** Sets `record[key]` as an own data property, whatever the key (also `__proto__` on a plain object). */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
