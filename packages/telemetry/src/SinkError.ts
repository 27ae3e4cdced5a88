/**
 * The one tagged error of `@dinoair/telemetry`, used by every sink,
 * including those of `@dinoair/sink-file` and `@dinoair/sink-http`.
 *
 * @since 0.1.0
 * @module
 */
import { Data } from "effect"

/**
 * The reason a delivery or an export failed.
 *
 * - `WriteFailed`: a file or stream write failed.
 * - `Timeout`: the destination did not respond in time.
 * - `Status`: an HTTP destination responded with a failing status.
 * - `Network`: the connection failed.
 * - `Rejected`: the destination refused the payload for good; retrying will not help.
 * - `PluginMissing`: the exporter or sink package that the configuration names is not installed.
 * - `InvalidConfig`: a strict decode met an invalid or unknown option, a
 *   sink's layer got options that no delivery could succeed with, or a
 *   sink's `deliver` returned something other than an Effect.
 * - `Encode`: an exporter threw while encoding, or its `encode` returned
 *   no payload.
 *
 * @since 0.1.0
 */
export type SinkErrorReason =
  | "WriteFailed"
  | "Timeout"
  | "Status"
  | "Network"
  | "Rejected"
  | "PluginMissing"
  | "InvalidConfig"
  | "Encode"

const CODES: { readonly [R in SinkErrorReason]: string } = {
  WriteFailed: "DINOAIR_SINK_WRITE_FAILED",
  Timeout: "DINOAIR_SINK_TIMEOUT",
  Status: "DINOAIR_SINK_STATUS",
  Network: "DINOAIR_SINK_NETWORK",
  Rejected: "DINOAIR_SINK_REJECTED",
  PluginMissing: "DINOAIR_PLUGIN_MISSING",
  InvalidConfig: "DINOAIR_TELEMETRY_INVALID_CONFIG",
  Encode: "DINOAIR_EXPORT_ENCODE_FAILED",
}

/**
 * A failure to deliver or export, with a `reason` and a stable `code`.
 *
 * @since 0.1.0
 */
export class SinkError extends Data.TaggedError("SinkError")<{
  /** Kind of failure, which selects `code`. */
  readonly reason: SinkErrorReason
  /** Description of the failure, which the facade's `ExportError` also carries as its message. */
  readonly message: string
  /** The destination, with any credentials removed. */
  readonly destination?: string | undefined
  /** The HTTP status, for `Status` and `Rejected`. */
  readonly status?: number | undefined
  /** Underlying error, such as the file system or network error, when there was one. */
  readonly cause?: unknown
}> {
  /** A stable identifier for this failure, the same in the facade's `Error` subclass. */
  get code(): string {
    return CODES[this.reason]
  }

  /** Whether a later attempt may succeed. */
  get retryable(): boolean {
    return (
      this.reason !== "Rejected" &&
      this.reason !== "PluginMissing" &&
      this.reason !== "InvalidConfig" &&
      this.reason !== "Encode"
    )
  }
}
