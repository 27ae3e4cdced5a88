/**
 * fast-check arbitraries for hostile record content, and a model of the
 * documented mapping of custom metric values to JSON (the table "Custom
 * metric values as JSON" in the README of `@dinoair/telemetry`).
 *
 * The model gives the value that `JSON.parse` must return for the text
 * written for a value, so a property can compare what a real parser reads
 * back with what the documentation promises. The JSON, CSV and Prometheus
 * exporters' tests share it, because all three write custom metrics or
 * names from the same records.
 */
import fc from "fast-check"

/**
 * The fields of the monitor's `OperationMetrics`, written out so that this
 * package does not depend on the packages whose tests use it.
 */
export interface HostileRecord {
  readonly id: string
  readonly operation: string
  readonly duration: number
  readonly timestamp: number
  readonly memoryUsage: number | undefined
  readonly memoryDelta: number | undefined
  readonly cpuUsage: number | undefined
  readonly status: "ok" | "error"
  readonly error: string | undefined
  readonly customMetrics: Record<string, unknown>
  readonly parentId: string | undefined
  readonly systemInfo: undefined
}

/** Characters that break naive writers: quotes, escapes, line breaks, NUL, lone surrogates. */
const hostileCharacter: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '"',
    "\\",
    "\n",
    "\r",
    "\u0000",
    "\t",
    "'",
    "=",
    "+",
    "-",
    "@",
    ",",
    "{",
    "}",
    "#",
    " ",
    "\u2028",
    "\ud800",
    "\udfff",
    "😀",
    "＝",
    "名",
    "ß",
  ),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
)

/** A 10,000-code-unit string, ending in a backslash half the time. */
const longString: fc.Arbitrary<string> = fc
  .tuple(fc.string({ unit: hostileCharacter, minLength: 1, maxLength: 6 }), fc.boolean())
  .map(([piece, trailingBackslash]) => {
    const body = piece.repeat(Math.ceil(10_000 / piece.length))
    return trailingBackslash ? `${body.slice(0, 9_999)}\\` : body.slice(0, 10_000)
  })

/** Names that look like object internals. */
export const PROTOTYPE_KEYS: ReadonlyArray<string> = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
]

/** Any string, with hostile characters, prototype names and 10,000-character strings likely. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: hostileCharacter, maxLength: 24 }),
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.constantFrom(...PROTOTYPE_KEYS, "", "\\", 'a"b', "x\\"),
  longString,
)

/** A key of custom metrics: hostile, but at most 200 characters, the monitor's name cap. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: hostileCharacter, maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom(...PROTOTYPE_KEYS, "", "0", "1e3", "length", "NaN"),
)

/** Numbers with every special value likely: `NaN`, `±Infinity`, `-0`, extremes. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
    4.2e-6,
    1e21,
  ),
)

const leafValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date({ noInvalidDate: false }),
)

/** Builds a plain object with these members, `__proto__` included as an own property. */
export const objectOf = (entries: ReadonlyArray<readonly [string, unknown]>): object => {
  const object: Record<string, unknown> = {}
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return object
}

const entriesOf = (value: fc.Arbitrary<unknown>, maxLength: number) =>
  fc.uniqueArray(fc.tuple(hostileKey, value), { selector: ([key]) => key, maxLength })

/** Nested custom values: leaves, arrays and objects with hostile keys. */
export const nestedValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafValue,
    fc.array(tie("value"), { maxLength: 4 }),
    entriesOf(tie("value"), 4).map(objectOf),
  ),
})).value

/** Returns every object and array inside `root`, root included, in depth-first order. */
const containersOf = (root: unknown): Array<object> => {
  const found: Array<object> = []
  const visit = (value: unknown): void => {
    if (typeof value !== "object" || value === null || value instanceof Date) return
    if (found.includes(value)) return
    found.push(value)
    for (const child of Object.values(value)) visit(child)
  }
  visit(root)
  return found
}

/**
 * Metadata objects with hostile keys and values. Some get extra links from
 * one nested object to another, which makes cycles (a link to an
 * ancestor) and shared objects (a link elsewhere).
 */
export const hostileMetadata: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    entriesOf(nestedValue, 6),
    fc.array(fc.tuple(fc.nat(), fc.nat(), hostileKey), { maxLength: 3 }),
  )
  .map(([entries, links]) => {
    const root = objectOf(entries) as Record<string, unknown>
    for (const [from, to, key] of links) {
      const containers = containersOf(root)
      const source = containers[from % containers.length] as Record<string, unknown>
      const target = containers[to % containers.length]
      if (Array.isArray(source)) source.push(target)
      else Object.defineProperty(source, key, { value: target, enumerable: true, writable: true })
    }
    return root
  })

/** A reading as the monitor gives it: absent, or any number. */
const reading: fc.Arbitrary<number | undefined> = fc.option(hostileNumber, { nil: undefined })

/** Records with hostile names, values and custom metrics, as an exporter gets them. */
export const hostileRecord: fc.Arbitrary<HostileRecord> = fc
  .record({
    operation: hostileString,
    duration: hostileNumber,
    timestamp: hostileNumber,
    memoryUsage: reading,
    memoryDelta: reading,
    cpuUsage: reading,
    status: fc.constantFrom("ok" as const, "error" as const),
    error: fc.option(hostileString, { nil: undefined }),
    customMetrics: hostileMetadata,
    parentId: fc.option(hostileString, { nil: undefined }),
  })
  .map((fields) => ({
    id: `${fields.operation}#1`,
    systemInfo: undefined,
    ...fields,
  }))

/** The text that replaces a value found inside itself. */
const CIRCULAR = "[Circular]"
/** The text that replaces an object or array nested past `maxDepth`. */
const TRUNCATED = "[Truncated]"
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * Returns what `JSON.parse` must give for the JSON text written for
 * custom metrics, under the documented mapping, with `maxDepth` levels
 * kept (custom metrics themselves count as the first).
 *
 * The top-level object is read as the monitor's copy of it: its members
 * are written, but the original object is no ancestor of them.
 */
export const expectedCustomMetrics = (
  customMetrics: object,
  maxDepth = 32,
): Record<string, unknown> => {
  if (maxDepth <= 0) return {}
  return expectedMembers(customMetrics, new Set(), 0, maxDepth)
}

/** The model for one value at `depth`, or `undefined` when JSON leaves it out. */
export const expectedValue = (
  value: unknown,
  ancestors: Set<object>,
  depth: number,
  maxDepth: number,
): unknown => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      if (Number.isNaN(value)) return "NaN"
      if (value === Number.POSITIVE_INFINITY) return "Infinity"
      if (value === Number.NEGATIVE_INFINITY) return "-Infinity"
      return value === 0 ? 0 : value
    case "bigint":
      return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value.toString()
    case "object":
      break
    default:
      return undefined
  }

  if (value === null) return null
  if (ancestors.has(value)) return CIRCULAR
  if (depth >= maxDepth) return TRUNCATED
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()

  ancestors.add(value)
  try {
    if (Array.isArray(value)) {
      return value.map((item) => expectedValue(item, ancestors, depth + 1, maxDepth) ?? null)
    }
    return expectedMembers(value, ancestors, depth, maxDepth)
  } finally {
    ancestors.delete(value)
  }
}

const expectedMembers = (
  value: object,
  ancestors: Set<object>,
  depth: number,
  maxDepth: number,
): Record<string, unknown> => {
  const members: Array<readonly [string, unknown]> = []
  for (const key of Object.keys(value)) {
    const member = expectedValue(
      (value as Record<string, unknown>)[key],
      ancestors,
      depth + 1,
      maxDepth,
    )
    if (member !== undefined) members.push([key, member])
  }
  return objectOf(members) as Record<string, unknown>
}

/** Option values for an exporter: wrong types, special numbers, BigInt, nested and circular objects. */
export const exporterOptionValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withTypedArray: true,
    maxDepth: 2,
  }),
  fc.constant(
    (() => {
      const circular: Record<string, unknown> = {}
      circular.self = circular
      return circular
    })(),
  ),
)

/**
 * Exporter option objects: `knownKeys` and unknown keys such as `__proto__`,
 * each with a value from `value`.
 */
export const exporterOptionsObject = (
  knownKeys: ReadonlyArray<string>,
  value: fc.Arbitrary<unknown> = exporterOptionValue,
): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .uniqueArray(
      fc.tuple(fc.oneof(fc.constantFrom(...knownKeys, ...PROTOTYPE_KEYS), hostileKey), value),
      { selector: ([key]) => key, maxLength: 5 },
    )
    .map((entries) => objectOf(entries) as Record<string, unknown>)
