/**
 * Lenient and strict decoding of DinoAir's configuration objects.
 *
 * Every configuration (`PerformanceConfig`, `TelemetryConfig`) is a record of
 * field schemas plus a record of defaults. The facade decodes leniently: an
 * invalid field is logged once, naming the field, the value given and the
 * value used, and replaced by its default, and unknown keys are logged and
 * ignored. Effect users can decode strictly and get a typed error instead.
 *
 * @since 0.1.0
 * @module
 */
import { Cause, Exit, Schema } from "effect"
import { ownKeys, readSafely } from "./internal/guards.js"
import { type DinoLogger, silentLogger } from "./Logging.js"
import { MonitorError } from "./MonitorError.js"

/**
 * A record of field schemas that decode `unknown` into the field's type.
 *
 * @since 0.1.0
 */
export type FieldSchemas<A> = { readonly [K in keyof A]: Schema.Decoder<A[K]> }

/**
 * One field that could not be used, with the value that replaced it.
 *
 * @since 0.1.0
 */
export interface ConfigIssue {
  /** Option name, or `(whole object)` when the input was not an options object. */
  readonly field: string
  /** Value the caller passed, or `undefined` for an unknown option. */
  readonly given: unknown
  /** Value used instead, from `base`, or `undefined` for an unknown option. */
  readonly used: unknown
  /** First line of the decode failure, or a fixed text such as `unknown option`. */
  readonly reason: string
}

/**
 * Decodes `input` field by field over `base`, falling back to `base` for
 * each invalid field and logging a warning that names it.
 *
 * Details: `input` may be anything. A non-object is reported once and
 * ignored. Keys that are not fields, including `__proto__` and
 * `constructor`, are reported and ignored, and nothing is ever written
 * through them. The returned object is a fresh plain object.
 *
 * @since 0.1.0
 */
export const resolveLenient = <A extends object>(options: {
  readonly label: string
  readonly fields: FieldSchemas<A>
  readonly base: A
  readonly input: unknown
  readonly logger: DinoLogger
}): {
  /** Decoded configuration, with values from `base` for absent and invalid fields. */
  readonly config: A
  /** One issue per option that could not be used, empty when there were none. */
  readonly issues: ReadonlyArray<ConfigIssue>
} => {
  const { label, fields, base, input, logger } = options
  const issues: Array<ConfigIssue> = []
  const config = { ...base }

  if (input === undefined || input === null) {
    return { config, issues }
  }
  if (typeof input !== "object" || Array.isArray(input)) {
    const issue = {
      field: "(whole object)",
      given: input,
      used: base,
      reason: "expected an options object",
    }
    logger.warn(`${label}: ignored ${describe(input)}: expected an options object.`)
    return { config, issues: [issue] }
  }

  for (const key of ownKeys(input)) {
    if (!Object.hasOwn(fields, key)) {
      issues.push({ field: key, given: undefined, used: undefined, reason: "unknown option" })
      logger.warn(
        `${label}: unknown option "${key}" ignored. Valid options: ${Object.keys(fields).join(", ")}.`,
      )
      continue
    }
    const field = key as keyof A & string
    const given = readSafely(input, key)
    if (given === undefined) continue

    const exit = Schema.decodeUnknownExit(fields[field])(given)
    if (Exit.isSuccess(exit)) {
      config[field] = exit.value as A[keyof A & string]
      continue
    }
    const used = base[field]
    const reason = firstLine(failureMessage(Cause.squash(exit.cause)))
    issues.push({ field, given, used, reason })
    logger.warn(
      `${label}: invalid value ${describe(given)} for "${field}" (${lowerFirst(reason)}); using ${describe(used)} instead.`,
    )
  }

  return { config, issues }
}

/**
 * Decodes `input` strictly: every field must be valid and no unknown key is
 * allowed. Fields that are absent take their value from `base`.
 *
 * @since 0.1.0
 */
export const resolveStrict = <A extends object>(options: {
  readonly label: string
  readonly fields: FieldSchemas<A>
  readonly base: A
  readonly input: unknown
}): Exit.Exit<A, MonitorError> => {
  const { config, issues } = resolveLenient({ ...options, logger: silentLogger })
  if (issues.length === 0) return Exit.succeed(config)
  return Exit.fail(
    new MonitorError({
      reason: "InvalidConfig",
      message: `${options.label}: ${issues.map((issue) => `${issue.field}: ${issue.reason}`).join("; ")}`,
    }),
  )
}

/**
 * Returns the configuration part of an options object: every own key except
 * `exclude`, unknown keys included so that the resolver reports them. The
 * result has no prototype, so a `__proto__` key is copied as data.
 *
 * @since 0.1.0
 */
export const configInput = (
  options: unknown,
  exclude: ReadonlySet<string>,
): Record<string, unknown> => {
  const config: Record<string, unknown> = Object.create(null)
  if (options === null || typeof options !== "object") return config
  for (const key of ownKeys(options)) {
    if (!exclude.has(key)) config[key] = readSafely(options, key)
  }
  return config
}

const firstLine = (text: string): string => text.split("\n")[0] ?? text

/** The userinfo of a URL: `//user:password@`. */
const URL_USERINFO = /\/\/[^/?#@\s]*@/g

/** A `name=value` pair, as in a query string, whose name contains a secret-looking word. */
const SECRET_PAIR =
  /((?:token|key|secret|passw|pwd|auth|sig|credential|session|cookie)[\w-]*=)[^&#\s]*/gi

/** The credential after an HTTP authorization scheme. */
const SCHEME_CREDENTIAL = /\b(Bearer|Basic)\s+\S+/gi

/**
 * Replaces credentials in a configuration value before it is logged, such
 * as an endpoint URL given to the wrong option.
 */
const redactCredentials = (text: string): string =>
  text
    .replace(URL_USERINFO, "//[REDACTED]@")
    .replace(SECRET_PAIR, "$1[REDACTED]")
    .replace(SCHEME_CREDENTIAL, "$1 [REDACTED]")

const lowerFirst = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1)

const failureMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error)

/**
 * Renders a value for a log line: strings quoted and cut at 80 characters,
 * with URL credentials, secret-looking query values and `Bearer`/`Basic`
 * credentials replaced by `[REDACTED]`, numbers with their special values
 * spelt out, objects by their type.
 *
 * @since 0.1.0
 */
export const describe = (value: unknown): string => {
  switch (typeof value) {
    case "string": {
      // Redacted before the cut, so that a secret across the cut leaves no part behind.
      const shown = redactCredentials(value)
      return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 80)}…` : shown)
    }
    case "number":
      return Object.is(value, -0) ? "-0" : String(value)
    case "bigint":
      return `${value}n`
    case "boolean":
    case "undefined":
      return String(value)
    case "symbol":
      // String() never calls a patched Symbol.prototype.toString.
      return String(value)
    case "function":
      return "a function"
    case "object":
      if (value === null) return "null"
      if (Array.isArray(value)) return "an array"
      return "an object"
  }
}
