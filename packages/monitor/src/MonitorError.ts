/**
 * The one tagged error of `@dinoair/monitor`.
 *
 * @since 0.1.0
 * @module
 */
import { Data } from "effect"

/**
 * The reason a monitor operation failed.
 *
 * - `InvalidConfig`: a strict decode met an invalid or unknown option.
 *
 * @since 0.1.0
 */
export type MonitorErrorReason = "InvalidConfig"

const CODES: { readonly [R in MonitorErrorReason]: string } = {
  InvalidConfig: "DINOAIR_MONITOR_INVALID_CONFIG",
}

/**
 * A failure of the monitor package, with a `reason` and a stable `code`.
 *
 * @since 0.1.0
 */
export class MonitorError extends Data.TaggedError("MonitorError")<{
  /** Kind of failure, which selects `code`. */
  readonly reason: MonitorErrorReason
  /** Description of the failure, naming the options object and the fields involved. */
  readonly message: string
}> {
  /** A stable identifier for this failure, the same in the facade's `Error` subclass. */
  get code(): string {
    return CODES[this.reason]
  }
}
