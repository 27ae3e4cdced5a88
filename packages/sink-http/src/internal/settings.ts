/**
 * The HTTP sink's settings: its options checked at run time, with defaults
 * applied and credentials split from the URL.
 */
import { isIPv4, isIPv6 } from "node:net"
import { Plugin } from "@dinoair/telemetry"
import type { Dispatcher } from "undici"
import type { RetryPolicy } from "../HttpRetry.js"
import type { HttpSinkLogger, HttpSinkOptions } from "../HttpSink.js"
import { decodeComponent, isSecretHeader, redactUrl, Scrubber, secretsOf } from "../Redaction.js"

/** The defaults of every optional setting; `HttpSink.defaults` re-exports them. */
export const settingDefaults = Object.freeze({
  /** Request method. */
  method: "POST",
  /** Body compression, `none` meaning the body is sent as is. */
  compression: "none",
  /** Time one attempt may take, in milliseconds. */
  timeoutMs: 10_000,
  /** Attempts per delivery, the first one included. */
  maxAttempts: 5,
  /** Backoff before the first retry, in milliseconds. */
  initialBackoffMs: 500,
  /** Cap on the backoff before jitter, in milliseconds. */
  maxBackoffMs: 30_000,
  /** Longest `Retry-After` the sink waits for, in milliseconds. */
  maxRetryAfterMs: 60_000,
  /** Idle time of a kept-alive connection without a server hint, in milliseconds. */
  keepAliveTimeoutMs: 4_000,
} as const)

/** The options of `make`, checked and resolved. */
export interface Settings {
  /** The URL that requests go to, without userinfo or fragment. */
  readonly requestUrl: string
  /** The URL as logs and errors show it. */
  readonly redactedUrl: string
  readonly method: "POST" | "PUT"
  /** Lower-case names; includes `authorization` built from URL userinfo. */
  readonly headers: Readonly<Record<string, string>>
  readonly compression: "gzip" | "none"
  readonly timeoutMs: number
  readonly keepAliveTimeoutMs: number
  readonly retry: RetryPolicy
  readonly logger: HttpSinkLogger
  readonly dispatcher: Dispatcher | undefined
  readonly scrubber: Scrubber
  /** The warning for plain http to a host that is not loopback, if it applies. */
  readonly plainHttpWarning: string | undefined
}

const KNOWN_OPTIONS = new Set([
  "url",
  "method",
  "headers",
  "compression",
  "timeoutMs",
  "maxAttempts",
  "initialBackoffMs",
  "maxBackoffMs",
  "maxRetryAfterMs",
  "keepAliveTimeoutMs",
  "logger",
  "dispatcher",
])

/** Headers that the sink or undici sets from the payload and the connection. */
const RESERVED_HEADERS = new Set([
  "content-type",
  "content-encoding",
  "content-length",
  "transfer-encoding",
  "host",
  "connection",
  "keep-alive",
  "upgrade",
  "expect",
  "te",
  "trailer",
])

/** An RFC 9110 token, the syntax of a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Characters that would end a header line early. */
const FORBIDDEN_IN_HEADER_VALUE = /[\r\n\0]/

/** The default logger: `console` with the `[dinoair]` prefix, without debug lines. */
const consoleLogger: HttpSinkLogger = {
  debug: () => {},
  info: (message) => console.info("[dinoair]", message),
  warn: (message) => console.warn("[dinoair]", message),
  error: (message) => console.error("[dinoair]", message),
}

/**
 * Checks every option and applies the defaults. Options may come from an
 * untyped configuration, so the checks run at run time too. Unknown option
 * names are logged and ignored, and invalid values throw a `TypeError`.
 */
export const resolve = (options: HttpSinkOptions): Settings => {
  const logger = checkLogger(options.logger) ?? consoleLogger
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      log(logger, "warn", `http sink: unknown option "${key}" is ignored.`)
    }
  }

  const url = checkUrl(options.url)
  const redactedUrl = redactUrl(url)
  const headers = checkHeaders(options.headers)
  const userinfo = basicAuthorization(url)
  if (userinfo !== undefined) {
    if (headers.authorization !== undefined) {
      throw new TypeError(
        `http sink: ${redactedUrl} has credentials in the URL and an authorization header. Give only one of them`,
      )
    }
    headers.authorization = userinfo
  }

  const requestUrl = new URL(url.href)
  requestUrl.username = ""
  requestUrl.password = ""
  requestUrl.hash = ""

  const initialBackoffMs = checkNumber(
    "initialBackoffMs",
    options.initialBackoffMs,
    settingDefaults.initialBackoffMs,
    0,
  )
  const maxBackoffMs = checkNumber(
    "maxBackoffMs",
    options.maxBackoffMs,
    settingDefaults.maxBackoffMs,
    0,
  )
  checkBackoffPair(initialBackoffMs, maxBackoffMs, options.initialBackoffMs === undefined)

  return {
    requestUrl: requestUrl.href,
    redactedUrl,
    method: checkChoice("method", options.method, settingDefaults.method, ["POST", "PUT"]),
    headers,
    compression: checkChoice("compression", options.compression, settingDefaults.compression, [
      "none",
      "gzip",
    ]),
    timeoutMs: checkNumber("timeoutMs", options.timeoutMs, settingDefaults.timeoutMs, 1),
    keepAliveTimeoutMs: checkNumber(
      "keepAliveTimeoutMs",
      options.keepAliveTimeoutMs,
      settingDefaults.keepAliveTimeoutMs,
      1,
    ),
    retry: {
      maxAttempts: checkInteger("maxAttempts", options.maxAttempts, settingDefaults.maxAttempts, 1),
      initialBackoffMs,
      maxBackoffMs,
      maxRetryAfterMs: checkNumber(
        "maxRetryAfterMs",
        options.maxRetryAfterMs,
        settingDefaults.maxRetryAfterMs,
        0,
      ),
    },
    logger,
    dispatcher: checkDispatcher(options.dispatcher),
    // `headers` already contains the authorization built from the userinfo.
    scrubber: new Scrubber(secretsOf(url, headers)),
    plainHttpWarning: plainHttpWarning(url, redactedUrl, headers),
  }
}

const checkUrl = (value: unknown): URL => {
  if (typeof value !== "string" || value === "") {
    throw new TypeError('http sink: "url" is required: the http:// or https:// URL to send to')
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError(
      'http sink: "url" is not a valid URL (the value is not shown because it may contain credentials)',
    )
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `http sink: "url" must use http:// or https://, got ${url.protocol} in ${redactUrl(url)}`,
    )
  }
  return url
}

const checkHeaders = (value: unknown): Record<string, string> => {
  const entries = headerEntries(value)
  const headers: Record<string, string> = {}
  for (const [name, headerValue] of entries) {
    headers[checkHeader(name, headerValue, headers)] = headerValue as string
  }
  return headers
}

/** Returns the entries of the `headers` option, or throws when it is not an object. */
const headerEntries = (value: unknown): Array<[string, unknown]> => {
  if (value === undefined) return []
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError('http sink: "headers" must be an object of header names to string values')
  }
  return Object.entries(value)
}

/**
 * Checks one entry of the `headers` option against the entries accepted
 * before it and returns its lower-case name. The value is never shown,
 * because it may be a credential.
 */
const checkHeader = (
  name: string,
  value: unknown,
  accepted: Readonly<Record<string, string>>,
): string => {
  if (!HEADER_NAME.test(name)) {
    throw new TypeError(`http sink: ${JSON.stringify(name)} is not a valid header name`)
  }
  const lower = name.toLowerCase()
  if (RESERVED_HEADERS.has(lower)) {
    throw new TypeError(
      `http sink: header "${lower}" is set by the sink and cannot be given in "headers"`,
    )
  }
  if (accepted[lower] !== undefined) {
    throw new TypeError(`http sink: header "${lower}" is given twice in "headers"`)
  }
  if (typeof value !== "string") {
    throw new TypeError(`http sink: header "${lower}" must have a string value`)
  }
  if (FORBIDDEN_IN_HEADER_VALUE.test(value)) {
    throw new TypeError(`http sink: header "${lower}" has a line break or NUL in its value`)
  }
  return lower
}

/**
 * Checks that the backoff cap is not below the first backoff. The two are
 * checked as a pair, because either one alone is valid with some value of
 * the other.
 */
const checkBackoffPair = (
  initialBackoffMs: number,
  maxBackoffMs: number,
  initialIsDefault: boolean,
): void => {
  if (maxBackoffMs >= initialBackoffMs) return
  const initialSource = initialIsDefault ? ", the default" : ""
  throw new TypeError(
    `http sink: "maxBackoffMs" (${maxBackoffMs}) must not be less than "initialBackoffMs" (${initialBackoffMs}${initialSource})`,
  )
}

/** Builds the `Basic` authorization value from a URL's userinfo, if it has any. */
const basicAuthorization = (url: URL): string | undefined => {
  if (url.username === "" && url.password === "") return undefined
  const pair = `${decodeComponent(url.username)}:${decodeComponent(url.password)}`
  return `Basic ${Buffer.from(pair, "utf8").toString("base64")}`
}

const plainHttpWarning = (
  url: URL,
  redactedUrl: string,
  headers: Readonly<Record<string, string>>,
): string | undefined => {
  if (url.protocol !== "http:" || isLoopbackHost(url.hostname)) return undefined
  const credentials = Object.keys(headers).some(isSecretHeader)
    ? " Its credentials travel unencrypted too."
    : ""
  return `http sink: telemetry is sent unencrypted over plain http:// to ${redactedUrl}, and ${url.hostname} is not a loopback host.${credentials} Use an https:// URL unless the network path is trusted.`
}

/**
 * Checks whether a URL's hostname is a loopback host: `localhost`,
 * 127.0.0.0/8, `::1`, or 127.0.0.0/8 mapped into IPv6. The URL parser has
 * already normalised the address forms (`127.1`, `0x7f.0.0.1`).
 */
const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname
  if (host === "localhost") return true
  if (isIPv4(host)) return host.startsWith("127.")
  if (isIPv6(host)) return host === "::1" || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host)
  return false
}

const checkNumber = (name: string, value: unknown, fallback: number, minimum: number): number => {
  const resolved = value ?? fallback
  if (typeof resolved !== "number" || !Number.isFinite(resolved) || resolved < minimum) {
    throw new TypeError(
      `http sink: "${name}" must be a finite number of at least ${minimum}, got ${describeValue(value)}`,
    )
  }
  return resolved
}

const checkInteger = (name: string, value: unknown, fallback: number, minimum: number): number => {
  const resolved = checkNumber(name, value, fallback, minimum)
  if (!Number.isInteger(resolved)) {
    throw new TypeError(`http sink: "${name}" must be a whole number, got ${describeValue(value)}`)
  }
  return resolved
}

const checkChoice = <const Choice extends string>(
  name: string,
  value: unknown,
  fallback: Choice,
  choices: ReadonlyArray<Choice>,
): Choice => {
  const resolved = value ?? fallback
  if (!choices.includes(resolved as Choice)) {
    throw new TypeError(
      `http sink: "${name}" must be ${choices.map((each) => `"${each}"`).join(" or ")}, got ${describeValue(value)}`,
    )
  }
  return resolved as Choice
}

const checkLogger = (value: unknown): HttpSinkLogger | undefined => {
  if (value === undefined) return undefined
  const candidate = value as Partial<Record<keyof HttpSinkLogger, unknown>> | null
  const levels = ["debug", "info", "warn", "error"] as const
  if (candidate === null || levels.some((level) => typeof candidate[level] !== "function")) {
    throw new TypeError('http sink: "logger" must have debug, info, warn and error methods')
  }
  return value as HttpSinkLogger
}

const checkDispatcher = (value: unknown): Dispatcher | undefined => {
  if (value === undefined) return undefined
  if (typeof (value as { dispatch?: unknown } | null)?.dispatch !== "function") {
    throw new TypeError('http sink: "dispatcher" must be an undici Dispatcher, such as an Agent')
  }
  return value as Dispatcher
}

/** Calls one level method, swallowing what a broken logger throws. */
export const log = (
  logger: HttpSinkLogger,
  level: "debug" | "warn" | "error",
  message: string,
): void => {
  try {
    logger[level](message)
  } catch {
    // Telemetry must not break the host through a logger that throws.
  }
}

/** Renders an option value for an error message; `String` throws for some objects. */
const describeValue = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "object" && value !== null) {
    return Array.isArray(value) ? "an array" : "an object"
  }
  return String(value)
}

const silentLogger: HttpSinkLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
}

/**
 * For the trial of one option alone, values of its partner that can never
 * conflict with it, so that the trial checks only the option's own value.
 * The pair is checked once both values are known.
 */
const NEUTRAL_PARTNERS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  initialBackoffMs: { maxBackoffMs: Number.MAX_VALUE },
  maxBackoffMs: { initialBackoffMs: 0 },
}

/** The options and URL that the plugin passes to `make`. */
export interface UsableOptions {
  readonly options: Record<string, unknown>
  /** `url`, without its credentials when an explicit authorization header replaces them. */
  readonly url: string
}

/**
 * Returns the options that `resolve` accepts together with `url`. Each
 * unknown or invalid option, and each invalid entry of `headers`, is
 * logged once through `logger` and left out, so its default applies.
 *
 * When `url` has credentials and `headers` has an authorization header,
 * the header wins: the credentials are removed from the returned URL, with
 * a warning. When `url` itself is invalid, the options are returned
 * unchanged and `resolve` reports the URL.
 */
export const usableOptions = (
  options: Readonly<Record<string, unknown>>,
  url: string,
  logger: HttpSinkLogger,
): UsableOptions => {
  let parsedUrl: URL
  try {
    resolve({ url, logger: silentLogger })
    parsedUrl = new URL(url)
  } catch {
    return { options: { ...options }, url }
  }

  const usable: Record<string, unknown> = {}
  for (const key of Object.keys(options)) {
    if (key === "url") continue
    if (!KNOWN_OPTIONS.has(key)) {
      log(logger, "warn", `http sink: unknown option ${JSON.stringify(key)} is ignored.`)
      continue
    }
    if (key === "headers") {
      const headers = usableHeaders(options.headers, logger)
      if (headers !== undefined) usable.headers = headers
      continue
    }
    const trial: Record<string, unknown> = { ...NEUTRAL_PARTNERS[key], url, logger: silentLogger }
    trial[key] = options[key]
    try {
      resolve(trial as unknown as HttpSinkOptions)
      usable[key] = options[key]
    } catch (error) {
      log(
        logger,
        "warn",
        `${Plugin.withoutFinalPeriod((error as Error).message)}. The option is ignored and its default used.`,
      )
    }
  }

  const urlWithoutCredentials = credentialsReplacedByHeader(
    parsedUrl,
    usable.headers as Record<string, string> | undefined,
  )
  const requestUrl = urlWithoutCredentials ?? url
  if (urlWithoutCredentials !== undefined) {
    log(
      logger,
      "warn",
      `http sink: httpEndpoint ${redactUrl(parsedUrl)} has credentials, and sinkOptions.headers has an authorization header. The authorization header is sent, and the credentials in the URL are not.`,
    )
  }

  // Each backoff option passed alone, but the pair can still conflict, such as maxBackoffMs < initialBackoffMs.
  try {
    resolve({ ...usable, url: requestUrl, logger: silentLogger } as unknown as HttpSinkOptions)
  } catch (error) {
    log(
      logger,
      "warn",
      `${Plugin.withoutFinalPeriod((error as Error).message)}. Both backoff options are ignored and their defaults used.`,
    )
    delete usable.initialBackoffMs
    delete usable.maxBackoffMs
  }
  return { options: usable, url: requestUrl }
}

/**
 * Returns the valid entries of the `headers` option, logging each invalid
 * one by name, or `undefined` when `headers` is not an object at all.
 */
const usableHeaders = (
  value: unknown,
  logger: HttpSinkLogger,
): Record<string, string> | undefined => {
  let entries: Array<[string, unknown]>
  try {
    entries = headerEntries(value)
  } catch (error) {
    log(
      logger,
      "warn",
      `${Plugin.withoutFinalPeriod((error as Error).message)}. The option is ignored and its default used.`,
    )
    return undefined
  }

  const headers: Record<string, string> = {}
  for (const [name, headerValue] of entries) {
    try {
      headers[checkHeader(name, headerValue, headers)] = headerValue as string
    } catch (error) {
      log(
        logger,
        "warn",
        `${Plugin.withoutFinalPeriod((error as Error).message)}. The header is left out, and the other headers are sent.`,
      )
    }
  }
  return headers
}

/**
 * Returns `url` without its credentials when it has some and `headers` has
 * an authorization header, which replaces them. Otherwise `undefined`.
 */
const credentialsReplacedByHeader = (
  url: URL,
  headers: Readonly<Record<string, string>> | undefined,
): string | undefined => {
  if (headers?.authorization === undefined) return undefined
  if (url.username === "" && url.password === "") return undefined
  const withoutCredentials = new URL(url.href)
  withoutCredentials.username = ""
  withoutCredentials.password = ""
  return withoutCredentials.href
}
