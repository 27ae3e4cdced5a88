/**
 * The logger that every DinoAir service writes to.
 *
 * The hot path is synchronous, so DinoAir cannot log through Effect's
 * `Logger` there. It uses a plain object with `debug`, `info`, `warn` and
 * `error` instead: `console`, pino and winston all fit. Effect users
 * replace it for a program with `Layer.succeed(Logging.CurrentLogger, logger)`;
 * the facade replaces it process-wide with `setLogger`.
 *
 * @since 0.1.0
 * @module
 */
import { Context } from "effect"

/**
 * Any object with the four usual level methods, such as `console` or a pino
 * logger.
 *
 * @since 0.1.0
 */
export interface DinoLogger {
  /** Logs detail for troubleshooting. The default logger drops these lines. */
  debug(message: string, ...details: ReadonlyArray<unknown>): void
  /** Logs a normal event, such as an export that works again after failures. */
  info(message: string, ...details: ReadonlyArray<unknown>): void
  /** Logs a problem that DinoAir worked around, such as an invalid option replaced by its default. */
  warn(message: string, ...details: ReadonlyArray<unknown>): void
  /** Logs a failure that loses data or stops exports until it is fixed. */
  error(message: string, ...details: ReadonlyArray<unknown>): void
}

const PREFIX = "[dinoair]"

/**
 * The default logger: `console`, with every line prefixed by `[dinoair]` and
 * debug lines dropped.
 *
 * @since 0.1.0
 */
export const consoleLogger: DinoLogger = {
  debug: () => {},
  info: (message, ...details) => console.info(PREFIX, message, ...details),
  warn: (message, ...details) => console.warn(PREFIX, message, ...details),
  error: (message, ...details) => console.error(PREFIX, message, ...details),
}

/**
 * A logger that discards everything.
 *
 * @since 0.1.0
 */
export const silentLogger: DinoLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
}

let processLogger: DinoLogger = consoleLogger

/**
 * A logger that forwards to the process-wide logger at call time, so that a
 * later `setProcessLogger` reaches services that were built earlier.
 *
 * @since 0.1.0
 */
export const processWideLogger: DinoLogger = {
  debug: (message, ...details) => safeLog(processLogger, "debug", message, details),
  info: (message, ...details) => safeLog(processLogger, "info", message, details),
  warn: (message, ...details) => safeLog(processLogger, "warn", message, details),
  error: (message, ...details) => safeLog(processLogger, "error", message, details),
}

/**
 * Wraps a logger so that what its methods throw is swallowed, for code
 * such as the monitor's hot path that must return normally even when a
 * caller-supplied logger is broken.
 *
 * @since 0.1.0
 */
export const guardedLogger = (logger: DinoLogger): DinoLogger => ({
  debug: (message, ...details) => safeLog(logger, "debug", message, details),
  info: (message, ...details) => safeLog(logger, "info", message, details),
  warn: (message, ...details) => safeLog(logger, "warn", message, details),
  error: (message, ...details) => safeLog(logger, "error", message, details),
})

/**
 * Replaces the process-wide logger that `processWideLogger` forwards to.
 *
 * @since 0.1.0
 */
export const setProcessLogger = (logger: DinoLogger): void => {
  processLogger = logger
}

/**
 * The logger a service uses. Defaults to `processWideLogger`.
 *
 * @since 0.1.0
 */
export const CurrentLogger: Context.Reference<DinoLogger> = Context.Reference<DinoLogger>(
  "@dinoair/monitor/CurrentLogger",
  { defaultValue: () => processWideLogger },
)

/**
 * Calls one level method and swallows what a broken logger throws, because
 * telemetry must never break the host through its logging.
 */
const safeLog = (
  logger: DinoLogger,
  level: keyof DinoLogger,
  message: string,
  details: ReadonlyArray<unknown>,
): void => {
  try {
    logger[level](message, ...details)
  } catch {
    // A logger that throws has nowhere better to report to.
  }
}

/**
 * Logs each distinct key once, and counts the repeats it suppressed.
 *
 * Use it for warnings that can fire on every call, such as an unknown
 * operation id, so that a bad caller cannot flood the log.
 *
 * @since 0.1.0
 */
export class LogOnce {
  readonly #seen = new Set<string>()
  readonly #maxKeys: number
  /** Number of calls to `first` that returned `false` since construction or the last `reset`. */
  suppressed = 0

  /** @param maxKeys the number of distinct keys remembered; past it every key is suppressed, new ones included. */
  constructor(maxKeys = 1000) {
    this.#maxKeys = maxKeys
  }

  /** Returns `true` the first time a key is seen, and `false` after that. */
  first(key: string): boolean {
    if (this.#seen.has(key) || this.#seen.size >= this.#maxKeys) {
      this.suppressed++
      return false
    }
    this.#seen.add(key)
    return true
  }

  /** Forgets every key, so that each warning may be logged once more. */
  reset(): void {
    this.#seen.clear()
    this.suppressed = 0
  }
}

/**
 * Removes one final period from `message`, so that it can go inside a log
 * sentence that adds its own. An ellipsis is left as it is.
 *
 * @since 0.1.0
 */
export const withoutFinalPeriod = (message: string): string =>
  message.endsWith(".") && !message.endsWith("..") ? message.slice(0, -1) : message
