/**
 * Maps any JavaScript value to a tree that `JSON.stringify` writes as valid
 * JSON, keeping as much of the value as JSON can hold.
 *
 * | value | written as |
 * |---|---|
 * | finite number | the number; `-0` becomes `0` |
 * | `NaN`, `Infinity`, `-Infinity` | the strings `"NaN"`, `"Infinity"`, `"-Infinity"` |
 * | BigInt | a number inside the safe integer range (±(2^53 − 1)), else its decimal string |
 * | `Date` | its ISO 8601 string; `null` for an invalid date |
 * | object with a `toJSON` method | the mapped result of `toJSON(key)` |
 * | boxed `Number`, `String`, `Boolean`, `BigInt` | the mapped primitive inside |
 * | `Map` | an object; each key becomes a string, and an object key becomes its JSON text |
 * | `Set`, typed array | an array |
 * | `Error` | `name`, `message` and its own enumerable properties |
 * | other object, class instance | its own enumerable string-keyed properties |
 * | function, symbol, `undefined` | left out of objects and `null` in arrays, as `JSON.stringify` does |
 * | an object that contains itself | `"[Circular]"` at the point where it repeats |
 * | an object or array nested deeper than `maxDepth` | `"[Truncated]"`; a `toJSON` result counts one level deeper than its object |
 * | a getter, `toJSON` or proxy trap that throws | `"[Unreadable]"` in place of that value |
 *
 * Keys such as `__proto__` and `constructor` stay ordinary keys: the output
 * objects have no prototype, so no key can change one. Strings pass
 * unchanged, because `JSON.stringify` escapes lone surrogates as `\udXXX`
 * (well-formed `JSON.stringify`, Node.js 12 and later).
 *
 * An object that appears twice without containing itself is written twice.
 *
 * @since 0.1.0
 */

/**
 * A value that `JSON.stringify` writes without loss or surprise.
 *
 * @since 0.1.0
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<JsonValue>
  | { readonly [key: string]: JsonValue }

/**
 * Options of `toJsonValue`.
 *
 * @since 0.1.0
 */
export interface ToJsonValueOptions {
  /**
   * Levels of nested objects and arrays kept. A deeper one becomes
   * `"[Truncated]"`. A negative value counts as 0, and a non-finite one as
   * the default. Default 32.
   */
  readonly maxDepth?: number | undefined
}

/** @since 0.1.0 */
export const DEFAULT_MAX_DEPTH = 32

/** The string written for an object found inside itself. @since 0.1.0 */
export const CIRCULAR = "[Circular]"

/** The string written for an object or array nested deeper than `maxDepth`. @since 0.1.0 */
export const TRUNCATED = "[Truncated]"

/** The string written for a value whose getter, `toJSON` or proxy trap threw. @since 0.1.0 */
export const UNREADABLE = "[Unreadable]"

/**
 * Maps a value to a JSON tree, or returns `undefined` for a value that
 * `JSON.stringify` leaves out (function, symbol, `undefined`).
 *
 * Never throws: a getter, `toJSON`, iterator or proxy trap that throws gives
 * `"[Unreadable]"` in place of the value it was reading.
 *
 * @example
 * ```ts
 * import { JsonValue } from "@dinoair/exporter-json"
 *
 * JSON.stringify(JsonValue.toJsonValue({ rate: Number.NaN, big: 2n ** 64n }))
 * // '{"rate":"NaN","big":"18446744073709551616"}'
 * ```
 *
 * @since 0.1.0
 */
export const toJsonValue = (
  value: unknown,
  options: ToJsonValueOptions = {},
): JsonValue | undefined => {
  const mapper = new Mapper(resolveMaxDepth(options.maxDepth))
  return mapper.map(value, "", 0)
}

/**
 * Turns a `maxDepth` option into the depth used: the default when it is not
 * a finite number, else a whole number of at least 0.
 *
 * @since 0.1.0
 */
export const resolveMaxDepth = (maxDepth: unknown): number =>
  typeof maxDepth === "number" && Number.isFinite(maxDepth)
    ? Math.max(0, Math.trunc(maxDepth))
    : DEFAULT_MAX_DEPTH

/**
 * Maps a number: finite numbers pass (`-0` becomes `0`), and `NaN` and the
 * infinities become their names as strings.
 *
 * @since 0.1.0
 */
export const numberToJson = (value: number): number | string => {
  if (Number.isFinite(value)) return value === 0 ? 0 : value
  if (Number.isNaN(value)) return "NaN"
  return value > 0 ? "Infinity" : "-Infinity"
}

/**
 * Maps a BigInt: a number inside the safe integer range, else its decimal
 * string, so no digit is lost.
 *
 * @since 0.1.0
 */
export const bigintToJson = (value: bigint): number | string =>
  value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value.toString()

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)

type JsonObject = { [key: string]: JsonValue }

class Mapper {
  /** Objects on the path from the root to the value being mapped, to find cycles. */
  readonly #ancestors = new Set<object>()
  readonly #maxDepth: number

  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth
  }

  /** Maps `value`, found under `key`, with `depth` objects and arrays around it. */
  map(value: unknown, key: string, depth: number): JsonValue | undefined {
    switch (typeof value) {
      case "string":
      case "boolean":
        return value
      case "number":
        return numberToJson(value)
      case "bigint":
        return bigintToJson(value)
      case "undefined":
      case "function":
      case "symbol":
        return undefined
      case "object":
        return value === null ? null : this.#mapObject(value, key, depth)
    }
  }

  #mapObject(value: object, key: string, depth: number): JsonValue | undefined {
    if (this.#ancestors.has(value)) return CIRCULAR
    if (depth >= this.#maxDepth) return TRUNCATED

    this.#ancestors.add(value)
    try {
      return this.#mapByKind(value, key, depth)
    } catch {
      // A proxy trap, an iterator or a `toJSON` threw; the rest of the tree is still written.
      return UNREADABLE
    } finally {
      this.#ancestors.delete(value)
    }
  }

  #mapByKind(value: object, key: string, depth: number): JsonValue | undefined {
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? null : value.toISOString()
    }

    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") {
      const replaced: unknown = toJSON.call(value, key)
      // A `toJSON` that returns its own object would otherwise recurse forever.
      return replaced === value
        ? this.#mapProperties(value, depth)
        : this.map(replaced, key, depth + 1)
    }

    if (
      value instanceof Number ||
      value instanceof String ||
      value instanceof Boolean ||
      value instanceof BigInt
    ) {
      return this.map(value.valueOf(), key, depth)
    }

    if (Array.isArray(value)) return this.#mapItems(value, depth)
    if (value instanceof Set) return this.#mapItems(Array.from(value), depth)
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      return this.#mapItems(Array.from(value as unknown as ArrayLike<number | bigint>), depth)
    }
    if (value instanceof Map) return this.#mapEntries(value, depth)

    if (value instanceof Error) {
      const base: JsonObject = Object.create(null)
      base.name = String(value.name)
      base.message = String(value.message)
      return Object.assign(base, this.#mapProperties(value, depth))
    }

    return this.#mapProperties(value, depth)
  }

  #mapItems(items: ReadonlyArray<unknown>, depth: number): Array<JsonValue> {
    const mapped: Array<JsonValue> = []
    for (let index = 0; index < items.length; index++) {
      mapped.push(this.#readItem(items, index, depth) ?? null)
    }
    return mapped
  }

  #readItem(items: ReadonlyArray<unknown>, index: number, depth: number): JsonValue | undefined {
    try {
      return this.map(items[index], String(index), depth + 1)
    } catch {
      return UNREADABLE
    }
  }

  #mapEntries(entries: ReadonlyMap<unknown, unknown>, depth: number): JsonObject {
    const mapped: JsonObject = Object.create(null)
    for (const [entryKey, entryValue] of entries) {
      const key = this.#keyOf(entryKey, depth)
      const item = this.map(entryValue, key, depth + 1)
      if (item !== undefined) mapped[key] = item
    }
    return mapped
  }

  /** Turns a `Map` key into an object key: primitives by `String`, objects by their JSON text. */
  #keyOf(key: unknown, depth: number): string {
    if (typeof key === "string") return key
    if (typeof key !== "object" || key === null) return String(key)
    return JSON.stringify(this.map(key, "", depth + 1) ?? null)
  }

  #mapProperties(value: object, depth: number): JsonObject {
    const mapped: JsonObject = Object.create(null)
    for (const key of Object.keys(value)) {
      const item = this.#readProperty(value, key, depth)
      if (item !== undefined) mapped[key] = item
    }
    return mapped
  }

  #readProperty(value: object, key: string, depth: number): JsonValue | undefined {
    try {
      return this.map((value as Record<string, unknown>)[key], key, depth + 1)
    } catch {
      // A getter threw. Its siblings are still written.
      return UNREADABLE
    }
  }
}
