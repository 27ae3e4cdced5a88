/**
 * `Error` subclasses for plain TypeScript users. Each carries the same
 * stable `code` as the tagged Effect error it comes from, so callers can
 * branch on `error.code`.
 *
 * | tagged error | package | `Error` subclass |
 * |---|---|---|
 * | `SinkError` | `@dinoair/telemetry`, also raised by `@dinoair/sink-file` and `@dinoair/sink-http` | `ExportError` |
 * | `MonitorError` | `@dinoair/monitor` | `ConfigError` |
 * | `PrometheusError` | `@dinoair/exporter-prometheus` | `ConfigError` |
 * | any other tagged error with a `reason` and a `code`, such as a third-party plugin's | | `DinoAirError` |
 *
 * `@dinoair/exporter-json` and `@dinoair/exporter-csv` have no error of
 * their own, because every invalid option falls back to its default, so
 * building their exporters cannot fail.
 *
 * @since 0.1.0
 */
import type { SinkError } from "@dinoair/telemetry"

/**
 * The fields that every tagged DinoAir error has, whatever its package.
 * `toError` accepts any object of this shape, so it maps errors of the
 * optional plugin packages without importing them.
 *
 * @since 0.1.0
 */
export interface TaggedDinoAirError {
  /** The error's class, such as `SinkError`. */
  readonly _tag: string
  /** The reason for the failure, such as `Timeout`. */
  readonly reason: string
  /** A stable identifier, such as `DINOAIR_SINK_TIMEOUT`. */
  readonly code: string
  /** A description of the failure, naming the value or destination involved. */
  readonly message: string
}

/**
 * The base class of every DinoAir error.
 *
 * @example
 * ```ts
 * import { DinoAirError, getTelemetryManager } from "@dinoair/api"
 *
 * const error = getTelemetryManager().lastError
 * if (error instanceof DinoAirError && error.code === "DINOAIR_SINK_TIMEOUT") {
 *   console.warn("the collector is slow:", error.message)
 * }
 * ```
 *
 * @since 0.1.0
 */
export class DinoAirError extends Error {
  /** Class name shown in stack traces and by `toString`, which each subclass replaces. */
  override readonly name: string = "DinoAirError"
  /** A stable identifier, such as `DINOAIR_SINK_TIMEOUT`. */
  readonly code: string
  /** The tagged error's reason, such as `Timeout`. */
  readonly reason: string

  constructor(message: string, code: string, reason: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.reason = reason
  }
}

/**
 * A delivery or export failed.
 *
 * @since 0.1.0
 */
export class ExportError extends DinoAirError {
  /** Class name shown in stack traces and by `toString`. */
  override readonly name = "ExportError"
  /** The destination, with credentials removed. */
  readonly destination: string | undefined
  /** The HTTP status, when there was one. */
  readonly status: number | undefined

  constructor(error: SinkError.SinkError) {
    super(error.message, error.code, error.reason, { cause: error })
    this.destination = error.destination
    this.status = error.status
  }
}

/**
 * A configuration or an option was invalid.
 *
 * @since 0.1.0
 */
export class ConfigError extends DinoAirError {
  /** Class name shown in stack traces and by `toString`. */
  override readonly name = "ConfigError"

  constructor(error: TaggedDinoAirError) {
    super(error.message, error.code, error.reason, { cause: error })
  }
}

/**
 * Maps a tagged error from any DinoAir package to its `Error` subclass, with
 * the same `code`, `reason` and message, and the tagged error as `cause`.
 *
 * @since 0.1.0
 */
export const toError = (error: TaggedDinoAirError): DinoAirError => {
  switch (error._tag) {
    case "SinkError":
      return new ExportError(error as SinkError.SinkError)
    case "MonitorError":
    case "PrometheusError":
      return new ConfigError(error)
    default:
      return new DinoAirError(error.message, error.code, error.reason, { cause: error })
  }
}
