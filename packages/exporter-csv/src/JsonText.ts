/**
 * Writes any JavaScript value as JSON text, keeping as much of the value as
 * JSON can hold, for the `custom_metrics` field.
 *
 * | value | written as |
 * |---|---|
 * | finite number | the number; `-0` becomes `0` |
 * | `NaN`, `Infinity`, `-Infinity` | the strings `"NaN"`, `"Infinity"`, `"-Infinity"` |
 * | BigInt | a number inside the safe integer range (±(2^53 − 1)), else its decimal string |
 * | `Date` | its ISO 8601 string; `null` for an invalid date |
 * | object with a `toJSON` method | the result of `toJSON(key)`, written by these rules |
 * | boxed `Number`, `String`, `Boolean`, `BigInt` | the primitive inside |
 * | `Map` | an object; each key becomes a string, and an object key becomes its JSON text |
 * | `Set`, typed array | an array |
 * | `Error` | `name`, `message` and its other own enumerable properties |
 * | other object, class instance | its own enumerable string-keyed properties |
 * | function, symbol, `undefined` | left out of objects and `null` in arrays, as `JSON.stringify` does |
 * | an object that contains itself | `"[Circular]"` at the point where it repeats |
 * | an object or array nested deeper than `maxDepth` | `"[Truncated]"`; a `toJSON` result counts one level deeper than its object |
 * | a getter, `toJSON` or proxy trap that throws | `"[Unreadable]"` in place of that value |
 *
 * This is the mapping of `@dinoair/exporter-json`, written again here
 * because a plugin depends on no DinoAir package but `@dinoair/telemetry`.
 *
 * Keys such as `__proto__` and `constructor` are written as ordinary keys.
 * Strings are escaped by `JSON.stringify`, which writes control characters
 * and lone surrogates as `\uXXXX` escapes, so the text has no raw line break
 * and is valid UTF-8. An object that appears twice without containing
 * itself is written twice. When two `Map` keys become the same string, the
 * later value is kept at the position of the earlier key.
 *
 * @since 0.1.0
 */

/**
 * Options of `stringify`.
 *
 * @since 0.1.0
 */
export interface StringifyOptions {
  /**
   * Levels of nested objects and arrays kept, counting the outermost one. A
   * deeper one becomes `"[Truncated]"`. A negative value counts as 0, and a
   * value that is not a finite number as the default. Default 32.
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
 * Writes a value as JSON text, or returns `undefined` for a value that
 * `JSON.stringify` leaves out (function, symbol, `undefined`).
 *
 * Never throws: a getter, `toJSON`, iterator or proxy trap that throws, or a
 * stack overflow when `maxDepth` is very large, gives `"[Unreadable]"` in
 * place of the value it was reading.
 *
 * @example
 * ```ts
 * import { JsonText } from "@dinoair/exporter-csv"
 *
 * JsonText.stringify({ rate: Number.NaN, big: 2n ** 64n })
 * // '{"rate":"NaN","big":"18446744073709551616"}'
 * ```
 *
 * @since 0.1.0
 */
export const stringify = (value: unknown, options: StringifyOptions = {}): string | undefined => {
  const writer = new Writer(resolveMaxDepth(options.maxDepth))
  return writer.write(value, "", 0) ? writer.text() : undefined
}

/**
 * Writes custom metrics as a JSON object. Anything that does not come out
 * as an object (an array, a string in place of the object, a value left
 * out) is written as `{}`.
 *
 * @since 0.1.0
 */
export const stringifyObject = (value: unknown, options: StringifyOptions = {}): string => {
  const text = stringify(value, options)
  return text?.startsWith("{") ? text : "{}"
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

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)

/**
 * Appends JSON text to a list of parts. When reading an object fails
 * halfway, the parts written for it are dropped and `"[Unreadable]"` takes
 * their place.
 */
class Writer {
  readonly #parts: Array<string> = []
  /** Objects on the path from the root to the value being written, to find cycles. */
  readonly #ancestors = new Set<object>()
  readonly #maxDepth: number

  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth
  }

  text(): string {
    return this.#parts.join("")
  }

  /**
   * Writes `value`, found under `key`, with `depth` objects and arrays
   * around it. Returns `false`, having written nothing, for a value that
   * JSON leaves out.
   */
  write(value: unknown, key: string, depth: number): boolean {
    switch (typeof value) {
      case "string":
        this.#parts.push(JSON.stringify(value))
        return true
      case "boolean":
        this.#parts.push(value ? "true" : "false")
        return true
      case "number":
        this.#parts.push(numberText(value))
        return true
      case "bigint":
        this.#parts.push(bigintText(value))
        return true
      case "undefined":
      case "function":
      case "symbol":
        return false
      case "object":
        if (value === null) {
          this.#parts.push("null")
          return true
        }
        return this.#writeObject(value, key, depth)
    }
  }

  #writeObject(value: object, key: string, depth: number): boolean {
    if (this.#ancestors.has(value)) return this.#writeString(CIRCULAR)
    if (depth >= this.#maxDepth) return this.#writeString(TRUNCATED)

    const start = this.#parts.length
    this.#ancestors.add(value)
    try {
      return this.#writeByKind(value, key, depth)
    } catch {
      // A proxy trap, an iterator or a `toJSON` threw. Its partial text goes, and the rest stays.
      this.#parts.length = start
      return this.#writeString(UNREADABLE)
    } finally {
      this.#ancestors.delete(value)
    }
  }

  #writeByKind(value: object, key: string, depth: number): boolean {
    if (value instanceof Date) {
      const time = value.getTime()
      this.#parts.push(Number.isNaN(time) ? "null" : JSON.stringify(value.toISOString()))
      return true
    }

    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") {
      const replaced: unknown = toJSON.call(value, key)
      // A `toJSON` that returns its own object would otherwise recurse forever.
      if (replaced === value) return this.#writeProperties(value, Object.keys(value), depth)
      return this.write(replaced, key, depth + 1)
    }

    if (
      value instanceof Number ||
      value instanceof String ||
      value instanceof Boolean ||
      value instanceof BigInt
    ) {
      return this.write(value.valueOf(), key, depth)
    }

    if (Array.isArray(value)) return this.#writeItems(value, depth)
    if (value instanceof Set) return this.#writeItems(Array.from(value), depth)
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      return this.#writeItems(Array.from(value as unknown as ArrayLike<number | bigint>), depth)
    }
    if (value instanceof Map) return this.#writeEntries(value, depth)
    if (value instanceof Error) return this.#writeError(value, depth)

    return this.#writeProperties(value, Object.keys(value), depth)
  }

  #writeItems(items: ReadonlyArray<unknown>, depth: number): boolean {
    this.#parts.push("[")
    for (let index = 0; index < items.length; index++) {
      if (index > 0) this.#parts.push(",")
      this.#writeMember(() => items[index], String(index), depth, "null")
    }
    this.#parts.push("]")
    return true
  }

  #writeProperties(value: object, keys: ReadonlyArray<string>, depth: number): boolean {
    this.#parts.push("{")
    let first = true
    for (const key of keys) {
      const mark = this.#parts.length
      this.#parts.push(first ? "" : ",", JSON.stringify(key), ":")
      if (this.#writeMember(() => (value as Record<string, unknown>)[key], key, depth, undefined)) {
        first = false
      } else {
        this.#parts.length = mark
      }
    }
    this.#parts.push("}")
    return true
  }

  #writeError(error: Error, depth: number): boolean {
    this.#parts.push(
      `{"name":${JSON.stringify(String(error.name))},"message":${JSON.stringify(String(error.message))}`,
    )
    for (const key of Object.keys(error)) {
      if (key === "name" || key === "message") continue
      const mark = this.#parts.length
      this.#parts.push(",", JSON.stringify(key), ":")
      const written = this.#writeMember(
        () => (error as unknown as Record<string, unknown>)[key],
        key,
        depth,
        undefined,
      )
      if (!written) this.#parts.length = mark
    }
    this.#parts.push("}")
    return true
  }

  #writeEntries(entries: ReadonlyMap<unknown, unknown>, depth: number): boolean {
    // Keys are converted first, because two keys can become the same string (1 and "1").
    const members = new Map<string, string>()
    for (const [entryKey, entryValue] of entries) {
      const key = this.#keyOf(entryKey, depth)
      const text = this.#textOf(() => entryValue, key, depth)
      if (text !== undefined) members.set(key, text)
    }

    const written = Array.from(members, ([key, text]) => `${JSON.stringify(key)}:${text}`)
    this.#parts.push(`{${written.join(",")}}`)
    return true
  }

  /** Turns a `Map` key into an object key: primitives by `String`, objects by their JSON text. */
  #keyOf(key: unknown, depth: number): string {
    if (typeof key === "string") return key
    if (typeof key !== "object" || key === null) return String(key)
    return this.#textOf(() => key, "", depth) ?? "null"
  }

  /** Writes one member into a list of parts of its own and returns its text. */
  #textOf(read: () => unknown, key: string, depth: number): string | undefined {
    const start = this.#parts.length
    const written = this.#writeMember(read, key, depth, undefined)
    const text = this.#parts.splice(start).join("")
    return written ? text : undefined
  }

  /**
   * Reads one item or property with `read` and writes it one level deeper.
   * A value JSON leaves out is written as `omitted` (`null` in arrays), or
   * not at all when `omitted` is `undefined`. Returns whether anything was
   * written.
   */
  #writeMember(
    read: () => unknown,
    key: string,
    depth: number,
    omitted: string | undefined,
  ): boolean {
    let member: unknown
    try {
      member = read()
    } catch {
      // A getter or proxy trap threw. The siblings are still written.
      return this.#writeString(UNREADABLE)
    }

    if (this.write(member, key, depth + 1)) return true
    if (omitted === undefined) return false
    this.#parts.push(omitted)
    return true
  }

  #writeString(text: string): boolean {
    this.#parts.push(JSON.stringify(text))
    return true
  }
}

const numberText = (value: number): string => {
  if (Number.isFinite(value)) return value === 0 ? "0" : String(value)
  if (Number.isNaN(value)) return '"NaN"'
  return value > 0 ? '"Infinity"' : '"-Infinity"'
}

const bigintText = (value: bigint): string =>
  value >= MIN_SAFE && value <= MAX_SAFE ? value.toString() : `"${value.toString()}"`
