// Copies of IR records with some fields replaced, in the form V8 keeps on its fast path.
//
// NB: in Node 20's V8, an object literal that starts with a spread and then ADDS a key the
// spread object lacks (`{ ...base, key: v }`, or `{ ...base }` followed by `o.key = v`) gets a
// hidden class of its own: building it costs about 2 µs, and every later read of its fields from
// shared code is megamorphic. Object.assign onto a fresh `{}` follows the shared class
// transitions (~0.1 µs for a device-sized record) but turns a record of more than ~16 keys
// into a slow dictionary, while the spread is fast when it only replaces keys. So: the spread
// when every patched key is already there, Object.assign otherwise. Keys come out in the same
// order either way. (Assign sets where the spread defines; the two differ only for a
// `__proto__` key, which IR records never have.)

/** The type of `{ ...base, ...patch }` (distributes over a union base, like the spread does). */
export type With<T, P> = T extends unknown ? Omit<T, keyof P> & P : never;

/** `{ ...base, ...patch }`, built on V8's fast path. */
export function withFields<T extends object, P extends object>(base: T, patch: P): With<T, P> {
  for (const k in patch) if (!Object.hasOwn(base, k)) return Object.assign({}, base, patch) as unknown as With<T, P>;
  return { ...base, ...patch } as unknown as With<T, P>;
}

/** `{ ...base }` for a device-sized record whose field `key` is then set by assignment. */
export function copyToSet<T extends object>(base: T, key: keyof T & string): T {
  return Object.hasOwn(base, key) ? { ...base } : Object.assign({}, base);
}
