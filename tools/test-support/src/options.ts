/**
 * Configuration fuzzing helpers: arbitrary option values and objects, a
 * model of the lenient decode that every configuration entry point
 * documents, and a snapshot of `Object.prototype`.
 *
 * The model: `undefined` and `null` change nothing. Any other value that
 * is not a plain options object (a primitive, a function, an array) is
 * logged once and ignored. In an object, each unknown own key is logged
 * once and ignored, and a field given as `undefined` is skipped. An invalid
 * field is logged once and keeps its previous value.
 *
 * The monitor, telemetry and api tests share these helpers.
 */
import fc from "fast-check"

/** Keys that look like object internals. */
export const PROTOTYPE_KEYS: ReadonlyArray<string> = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
]

/** Numbers with every special value likely: `NaN`, `±Infinity`, `-0`, extremes. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.integer({ min: -5, max: 2000 }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    0.5,
    1,
    -1,
    1.5,
    Number.MAX_VALUE,
    Number.MAX_SAFE_INTEGER,
    2 ** 53,
    1e300,
  ),
)

const circular = (): object => {
  const object: Record<string, unknown> = {}
  object.self = object
  return object
}

/** Any value: wrong types, special numbers, BigInt, strings, nested and circular objects. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  fc.boolean(),
  fc.constantFrom("", "true", "1", "json", "file", "\u0000", "__proto__", "x".repeat(10_000)),
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
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(() => 1),
  fc.constant(null).map(circular),
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

/**
 * Option objects: known keys with a valid or any value, and unknown keys
 * such as `__proto__` and `constructor`.
 */
export const optionsObject = (
  knownKeys: ReadonlyArray<string>,
  valueFor: (key: string) => fc.Arbitrary<unknown> = () => anyValue,
): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .uniqueArray(
      fc
        .oneof(
          { weight: 4, arbitrary: fc.constantFrom(...knownKeys) },
          { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
          { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
        )
        .chain((key) => fc.tuple(fc.constant(key), fc.oneof(valueFor(key), anyValue))),
      { selector: ([key]) => key, maxLength: 6 },
    )
    .map((entries) => objectOf(entries) as Record<string, unknown>)

/** The result that a lenient decode must give, and the keys it must log once. */
export interface ExpectedDecode {
  readonly config: Record<string, unknown>
  /** Keys logged once each: unknown keys and invalid fields. */
  readonly logged: ReadonlyArray<string>
  /** Whether the input as a whole was logged as not an options object. */
  readonly wholeLogged: boolean
}

/** Applies the lenient decode model to `input` over `base`. */
export const expectedDecode = (
  validators: Readonly<Record<string, (value: unknown) => boolean>>,
  base: Readonly<Record<string, unknown>>,
  input: unknown,
): ExpectedDecode => {
  const config = { ...base }
  if (input === undefined || input === null) return { config, logged: [], wholeLogged: false }
  if (typeof input !== "object" || Array.isArray(input)) {
    return { config, logged: [], wholeLogged: true }
  }

  const logged: Array<string> = []
  for (const key of Object.keys(input)) {
    const valid = Object.hasOwn(validators, key) ? validators[key] : undefined
    const value = (input as Record<string, unknown>)[key]
    if (valid === undefined) logged.push(key)
    else if (value === undefined) continue
    else if (valid(value)) config[key] = value
    else logged.push(key)
  }
  return { config, logged, wholeLogged: false }
}

/** Counts the log lines about `key`: an unknown option or an invalid value of a field. */
export const linesAbout = (lines: ReadonlyArray<string>, label: string, key: string): number =>
  lines.filter(
    (line) =>
      line.startsWith(`${label}: unknown option "${key}" ignored.`) ||
      (line.startsWith(`${label}: invalid value `) && line.includes(` for "${key}" (`)),
  ).length

/** The own properties of `Object.prototype`, to compare before and after. */
export const prototypeSnapshot = (): Record<string, PropertyDescriptor> =>
  Object.getOwnPropertyDescriptors(Object.prototype)

export const isBoolean = (value: unknown): boolean => typeof value === "boolean"

/** A safe integer of at least `minimum`, as `Schema.isInt` and a lower bound accept. */
export const isWholeAtLeast =
  (minimum: number) =>
  (value: unknown): boolean =>
    Number.isSafeInteger(value) && (value as number) >= minimum

/** A finite number of at least 0. */
export const isFiniteAtLeastZero = (value: unknown): boolean =>
  typeof value === "number" && Number.isFinite(value) && value >= 0
