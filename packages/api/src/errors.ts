/**
 * `Error` subclasses for plain TypeScript users. Each carries the same
 * stable `code` as the tagged Effect error it comes from, so callers can
 * branch on `error.code`.
 *
 * @since 0.1.0
 */
import type { MonitorError } from "@dinoair/monitor"
import type { SinkError } from "@dinoair/telemetry"

/**
 * The base class of every DinoAir error.
 *
 * @since 0.1.0
 */
export class DinoAirError extends Error {
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
 * A configuration was invalid under a strict decode.
 *
 * @since 0.1.0
 */
export class ConfigError extends DinoAirError {
  override readonly name = "ConfigError"

  constructor(error: MonitorError.MonitorError) {
    super(error.message, error.code, error.reason, { cause: error })
  }
}

/**
 * Maps a tagged error from any DinoAir package to its `Error` subclass.
 *
 * @since 0.1.0
 */
export const toError = (error: SinkError.SinkError | MonitorError.MonitorError): DinoAirError =>
  error._tag === "SinkError" ? new ExportError(error) : new ConfigError(error)
