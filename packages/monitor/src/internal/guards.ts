/**
 * Reads of caller-supplied values that never throw: own keys, own
 * properties and text for log lines and ids. Plain JavaScript callers can
 * pass getters that throw, proxies and objects whose `toString` throws,
 * and the monitor's hot path must return normally for all of them.
 */

/** Returned by `readOwn` when reading the property threw. */
export const UNREADABLE: unique symbol = Symbol("dinoair/unreadable")

/** Own enumerable string keys, read without invoking getters on the prototype chain. */
export const ownKeys = (input: object): ReadonlyArray<string> => {
  try {
    return Object.keys(input)
  } catch {
    return []
  }
}

/** Reads one own property; a throwing getter or proxy trap counts as absent. */
export const readSafely = (input: object, key: string): unknown => {
  try {
    return (input as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
}

/** Reads one property, or returns `UNREADABLE` when a getter or proxy trap throws. */
export const readOwn = (input: object, key: string): unknown => {
  try {
    return (input as Record<string, unknown>)[key]
  } catch {
    return UNREADABLE
  }
}

/**
 * Converts a name given as a non-string into text, as `String` would, or
 * returns `undefined` when the conversion throws (a `toString` or
 * `Symbol.toPrimitive` that throws, or one that returns an object).
 */
export const textOf = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  if (typeof value !== "object" && typeof value !== "function") return String(value)
  try {
    return String(value)
  } catch {
    return undefined
  }
}
