/**
 * Writes any JavaScript value as JSON text in one pass, keeping as much of
 * the value as JSON can hold. Exporters use it for the `custom_metrics` of
 * a record, so that no value a user records can break a document.
 *
 * | value | written as |
 * |---|---|
 * | finite number | the number; `-0` becomes `0` |
 * | `NaN`, `Infinity`, `-Infinity` | the strings `"NaN"`, `"Infinity"`, `"-Infinity"` |
 * | BigInt | a number inside the safe integer range (±(2^53 − 1)), else its decimal string |
 * | `Date` | its ISO 8601 string; `null` for an invalid date |
 * | object with a `toJSON` method | the result of `toJSON(key)`, written by these rules |
 * | boxed `Number`, `String`, `Boolean`, `BigInt` | the primitive inside |
 * | `Map` | an object in the Map's order; each key becomes a string, and an object key becomes its JSON text |
 * | `Set`, typed array | an array |
 * | `Error` | `String(name)`, `String(message)`, then its other own enumerable properties |
 * | other object, class instance | its own enumerable string-keyed properties |
 * | function, symbol, `undefined` | left out of objects and `null` in arrays, as `JSON.stringify` does |
 * | an object that contains itself | `"[Circular]"` at the point where it repeats |
 * | an object or array nested deeper than `maxDepth` | `"[Truncated]"`; a `toJSON` result counts one level deeper than its object |
 * | a getter, `toJSON`, iterator or proxy trap that throws | `"[Unreadable]"` in place of that value |
 *
 * Details:
 * - Keys such as `__proto__` and `constructor` are written as ordinary keys.
 * - Strings and keys are escaped by `JSON.stringify`, which writes control
 *   characters and lone surrogates as `\uXXXX` escapes (well-formed
 *   `JSON.stringify`, ECMAScript 2019). So the text has no raw line break
 *   unless `indent` adds them, and it is valid UTF-8.
 * - An object that appears twice without containing itself is written twice.
 * - When two `Map` keys become the same string (`1` and `"1"`), the later
 *   value is kept at the position of the earlier key.
 * - An `Error`'s own enumerable `name` or `message` property is not written
 *   a second time: the text always has the two as strings, first.
 * - With `indent`, the layout is the one `JSON.stringify(value, null,
 *   indent)` gives, and an object key of a `Map` stays on one line.
 *
 * Gotchas:
 * - A `Map` keeps its order, so a key such as `"2"` may come after `"b"`.
 *   A parser that builds JavaScript objects, `JSON.parse` included, moves
 *   integer-like keys to the front anyway.
 *
 * @since 0.1.0
 * @module
 */

/**
 * Options of `stringify` and `stringifyObject`.
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
  /**
   * Spaces per indentation level, truncated and clamped to 0–10 as
   * `JSON.stringify` does. With 0 the text is one line. A value that is not
   * a number counts as the default. Default 0.
   */
  readonly indent?: number | undefined
}

/**
 * The default of `maxDepth`: levels of nesting written before `"[Truncated]"`.
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_DEPTH = 32

/**
 * The default of `indent`: 0, everything on one line.
 *
 * @since 0.1.0
 */
export const DEFAULT_INDENT = 0

/** The largest indentation, in spaces per level, the same as `JSON.stringify`'s. @since 0.1.0 */
export const MAX_INDENT = 10

/** The string written for an object found inside itself. @since 0.1.0 */
export const CIRCULAR = "[Circular]"

/** The string written for an object or array nested deeper than `maxDepth`. @since 0.1.0 */
export const TRUNCATED = "[Truncated]"

/**
 * The string written for a value whose getter, `toJSON`, iterator or proxy
 * trap threw.
 *
 * @since 0.1.0
 */
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
 * import { JsonText } from "@dinoair/telemetry"
 *
 * JsonText.stringify({ rate: Number.NaN, big: 2n ** 64n })
 * // '{"rate":"NaN","big":"18446744073709551616"}'
 * ```
 *
 * @since 0.1.0
 */
export const stringify = (value: unknown, options: StringifyOptions = {}): string | undefined => {
  const indent = " ".repeat(resolveIndent(options.indent))
  const writer = new Writer(resolveMaxDepth(options.maxDepth), indent, new Set())
  return writer.write(value, "", 0)
}

/**
 * Writes custom metrics as a JSON object. Anything that does not come out
 * as an object (an array, a string such as `"[Unreadable]"`, a value left
 * out) is written as `{}`.
 *
 * @example
 * ```ts
 * import { JsonText } from "@dinoair/telemetry"
 *
 * JsonText.stringifyObject(new Map([["rows", 3]])) // '{"rows":3}'
 * JsonText.stringifyObject([1, 2]) // '{}'
 * ```
 *
 * @since 0.1.0
 */
export const stringifyObject = (value: unknown, options: StringifyOptions = {}): string => {
  const text = stringify(value, options)
  return text?.startsWith("{") ? text : "{}"
}

/**
 * Checks whether `JSON.stringify(value)` writes the same text as
 * `stringifyObject(value, options)` without indentation, so that a caller
 * can use the faster native call.
 *
 * It accepts a plain object (prototype `Object.prototype` or `null`) with no
 * `toJSON` method and no cycle. Its values may be strings, booleans, `null`,
 * finite numbers, values JSON leaves out, and more plain objects and arrays,
 * nested within `maxDepth` and at most 64 levels.
 *
 * Never throws: a getter or proxy trap that throws gives `false`.
 *
 * Gotchas:
 * - The check reads every property, and `JSON.stringify` reads it again. A
 *   getter or proxy that returns a value of another kind on the second read
 *   is written as `JSON.stringify` writes it (`NaN` as `null`, a `Map` as
 *   `{}`), or makes `JSON.stringify` throw (a BigInt, a cycle).
 *
 * @example
 * ```ts
 * import { JsonText } from "@dinoair/telemetry"
 *
 * JsonText.canUseJsonStringify({ rows: 3, tags: ["a"] }) // true
 * JsonText.canUseJsonStringify({ rate: Number.NaN }) // false: JSON.stringify writes null
 * ```
 *
 * @since 0.1.0
 */
export const canUseJsonStringify = (
  value: unknown,
  options: Pick<StringifyOptions, "maxDepth"> = {},
): boolean => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false

  const maxDepth = Math.min(resolveMaxDepth(options.maxDepth), MAX_CHECKED_DEPTH)
  try {
    return isPlain(value, 0, maxDepth, [])
  } catch {
    // A getter or proxy trap threw. The writer turns that value into "[Unreadable]".
    return false
  }
}

/**
 * Turns a `maxDepth` option into the depth used: the default when it is not
 * a finite number of at least 0, else the number truncated to a whole one.
 * A negative depth counts as invalid, not as 0, because 0 writes every
 * custom metrics object as `{}`.
 *
 * @since 0.1.0
 */
export const resolveMaxDepth = (maxDepth: unknown): number =>
  typeof maxDepth === "number" && Number.isFinite(maxDepth) && maxDepth >= 0
    ? Math.trunc(maxDepth)
    : DEFAULT_MAX_DEPTH

/**
 * Turns an `indent` option into the spaces per level used: the default when
 * it is not a number or is `NaN`, else a whole number from 0 to 10.
 *
 * @since 0.1.0
 */
export const resolveIndent = (indent: unknown): number => {
  if (typeof indent !== "number" || Number.isNaN(indent)) return DEFAULT_INDENT
  return Math.min(MAX_INDENT, Math.max(0, Math.trunc(indent)))
}

/**
 * The deepest nesting that `canUseJsonStringify` checks. It keeps the cost
 * of its cycle search, a scan of the path, small, and deeper values take the
 * writer.
 */
const MAX_CHECKED_DEPTH = 64

/**
 * Checks one value for `canUseJsonStringify`. `path` contains the objects
 * around it, so that a cycle ends the walk.
 */
const isPlain = (value: unknown, depth: number, maxDepth: number, path: Array<object>): boolean => {
  switch (typeof value) {
    case "number":
      return Number.isFinite(value)
    case "bigint":
      return false
    case "object":
      break
    default:
      // string, boolean, and the values JSON leaves out: undefined, function, symbol
      return true
  }

  if (value === null) return true
  if (depth >= maxDepth || path.includes(value)) return false
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false

  const prototype = Object.getPrototypeOf(value)
  path.push(value)
  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) return false
    for (let index = 0; index < value.length; index++) {
      if (!isPlain(value[index], depth + 1, maxDepth, path)) return false
    }
  } else {
    if (prototype !== Object.prototype && prototype !== null) return false
    // `for...in` is faster than `Object.keys` here. It also visits enumerable properties that
    // someone added to `Object.prototype`, which only makes the check stricter.
    for (const key in value) {
      if (!isPlain((value as Record<string, unknown>)[key], depth + 1, maxDepth, path)) return false
    }
  }
  path.pop()
  return true
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)

// Written without a call, so that the handler of a stack overflow cannot overflow again.
const CIRCULAR_TEXT = `"${CIRCULAR}"`
const TRUNCATED_TEXT = `"${TRUNCATED}"`
const UNREADABLE_TEXT = `"${UNREADABLE}"`

/**
 * Writes a value by returning its text, so that a value which fails halfway
 * leaves no partial text, and `"[Unreadable]"` takes its place.
 */
class Writer {
  /** Objects on the path from the root to the value being written, to find cycles. */
  readonly #ancestors: Set<object>
  readonly #maxDepth: number
  /** One level of indentation, or `""` for text on one line. */
  readonly #indent: string
  /** The separator between a key and its value. */
  readonly #colon: string
  /** A line break and the indentation of each level, built on first use. */
  readonly #margins: Array<string> = ["\n"]
  /** Containers open around the value being written; unlike `depth`, `toJSON` adds none. */
  #level = 0

  constructor(maxDepth: number, indent: string, ancestors: Set<object>) {
    this.#maxDepth = maxDepth
    this.#indent = indent
    this.#colon = indent === "" ? ":" : ": "
    this.#ancestors = ancestors
  }

  /**
   * Writes `value`, found under `key`, with `depth` objects and arrays
   * around it. Returns `undefined` for a value that JSON leaves out.
   */
  write(value: unknown, key: string, depth: number): string | undefined {
    switch (typeof value) {
      case "string":
        return JSON.stringify(value)
      case "boolean":
        return value ? "true" : "false"
      case "number":
        return numberText(value)
      case "bigint":
        return bigintText(value)
      case "object":
        return value === null ? "null" : this.#writeObject(value, key, depth)
      default:
        // undefined, function, symbol
        return undefined
    }
  }

  #writeObject(value: object, key: string, depth: number): string | undefined {
    if (this.#ancestors.has(value)) return CIRCULAR_TEXT
    if (depth >= this.#maxDepth) return TRUNCATED_TEXT

    const level = this.#level
    this.#ancestors.add(value)
    try {
      return this.#writeByKind(value, key, depth)
    } catch {
      // A proxy trap, an iterator, a `toJSON` or the stack limit threw. Only this value is lost.
      this.#level = level
      return UNREADABLE_TEXT
    } finally {
      this.#ancestors.delete(value)
    }
  }

  #writeByKind(value: object, key: string, depth: number): string | undefined {
    if (value instanceof Date) {
      const time = value.getTime()
      return Number.isNaN(time) ? "null" : JSON.stringify(value.toISOString())
    }

    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") {
      const replaced: unknown = toJSON.call(value, key)
      // A `toJSON` that returns its own object would otherwise recurse forever.
      if (replaced === value) return this.#writeProperties(value, depth)
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
      return this.#writeItems(value as unknown as ArrayLike<number | bigint>, depth)
    }
    if (value instanceof Map) return this.#writeEntries(value, depth)
    if (value instanceof Error) return this.#writeError(value, depth)

    return this.#writeProperties(value, depth)
  }

  #writeItems(items: ArrayLike<unknown>, depth: number): string {
    const margin = this.#open()

    // `length` is read on every pass, as `JSON.stringify` does, in case a proxy changes it.
    let text = "["
    let index = 0
    for (; index < items.length; index++) {
      text += `${index === 0 ? "" : ","}${margin}${this.#readItem(items, index, depth) ?? "null"}`
    }

    return this.#close(index === 0 ? "" : text, "]")
  }

  #readItem(items: ArrayLike<unknown>, index: number, depth: number): string | undefined {
    let item: unknown
    try {
      item = items[index]
    } catch {
      // A proxy trap threw. The other items are still written.
      return UNREADABLE_TEXT
    }
    return this.write(item, String(index), depth + 1)
  }

  #writeProperties(value: object, depth: number): string {
    const margin = this.#open()
    const text = this.#appendProperties("", value, Object.keys(value), margin, depth)
    return this.#close(text, "}")
  }

  #writeError(error: Error, depth: number): string {
    const margin = this.#open()

    const name = `${margin}"name"${this.#colon}${JSON.stringify(String(error.name))}`
    const message = `${margin}"message"${this.#colon}${JSON.stringify(String(error.message))}`
    const keys = Object.keys(error).filter((key) => key !== "name" && key !== "message")
    const text = this.#appendProperties(`{${name},${message}`, error, keys, margin, depth)

    return this.#close(text, "}")
  }

  /** Appends the members of `keys` to the object text `text`, which is `""` before the first. */
  #appendProperties(
    text: string,
    value: object,
    keys: ReadonlyArray<string>,
    margin: string,
    depth: number,
  ): string {
    for (const key of keys) {
      const member = this.#readProperty(value, key, depth)
      if (member === undefined) continue
      text += `${text === "" ? "{" : ","}${margin}${JSON.stringify(key)}${this.#colon}${member}`
    }
    return text
  }

  #readProperty(value: object, key: string, depth: number): string | undefined {
    let member: unknown
    try {
      member = (value as Record<string, unknown>)[key]
    } catch {
      // A getter or proxy trap threw. The siblings are still written.
      return UNREADABLE_TEXT
    }
    return this.write(member, key, depth + 1)
  }

  #writeEntries(entries: ReadonlyMap<unknown, unknown>, depth: number): string {
    const margin = this.#open()

    // Keys are converted first, because two keys can become the same string (1 and "1").
    const members = new Map<string, string>()
    for (const [entryKey, entryValue] of entries) {
      const key = this.#keyOf(entryKey, depth)
      const member = this.write(entryValue, key, depth + 1)
      if (member !== undefined) members.set(key, member)
    }

    let text = ""
    for (const [key, member] of members) {
      text += `${text === "" ? "{" : ","}${margin}${JSON.stringify(key)}${this.#colon}${member}`
    }
    return this.#close(text, "}")
  }

  /** Turns a `Map` key into an object key: primitives by `String`, objects by their JSON text. */
  #keyOf(key: unknown, depth: number): string {
    if (typeof key === "string") return key
    if (typeof key !== "object" || key === null) return String(key)

    // An object key is written on one line at any indentation. The ancestors are shared, so a
    // Map used as its own key is found.
    const writer = this.#indent === "" ? this : new Writer(this.#maxDepth, "", this.#ancestors)
    return writer.write(key, "", depth + 1) ?? "null"
  }

  /** Opens a container one level deeper, and returns what goes before each of its members. */
  #open(): string {
    this.#level++
    return this.#margin(this.#level)
  }

  /**
   * Closes the container opened last. `text` is its text without the closing
   * bracket, or `""` when it has no members.
   */
  #close(text: string, bracket: "]" | "}"): string {
    this.#level--
    if (text === "") return bracket === "]" ? "[]" : "{}"
    return text + this.#margin(this.#level) + bracket
  }

  /** The line break and indentation that start a line at `level`, or `""` on one line. */
  #margin(level: number): string {
    if (this.#indent === "") return ""
    for (let next = this.#margins.length; next <= level; next++) {
      this.#margins.push(this.#margins[next - 1] + this.#indent)
    }
    return this.#margins[level] ?? ""
  }
}

const numberText = (value: number): string => {
  if (Number.isFinite(value)) return value === 0 ? "0" : String(value)
  if (Number.isNaN(value)) return '"NaN"'
  return value > 0 ? '"Infinity"' : '"-Infinity"'
}

const bigintText = (value: bigint): string =>
  value >= MIN_SAFE && value <= MAX_SAFE ? value.toString() : `"${value.toString()}"`
