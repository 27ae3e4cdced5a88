/**
 * The one tagged error of `@dinoair/exporter-prometheus`.
 *
 * Encoding never fails, so the only failure is an invalid option. The
 * synchronous constructors (`PrometheusExporter.make`, `Registry.make`,
 * `PullHandler.make`) throw a `TypeError` for it, as JavaScript does for an
 * invalid argument. `PrometheusExporter.layer` fails with this error
 * instead, so Effect code gets it in the error channel.
 *
 * @since 0.1.0
 * @module
 */
import { Data } from "effect"

/**
 * The reason the Prometheus exporter could not be built.
 *
 * - `InvalidOption`: an option has a value of the wrong type or range.
 *
 * @since 0.1.0
 */
export type PrometheusErrorReason = "InvalidOption"

const CODES: { readonly [R in PrometheusErrorReason]: string } = {
  InvalidOption: "DINOAIR_PROMETHEUS_INVALID_OPTION",
}

/**
 * A failure of the Prometheus exporter, with a `reason` and a stable `code`.
 *
 * @since 0.1.0
 */
export class PrometheusError extends Data.TaggedError("PrometheusError")<{
  /** The reason for the failure. */
  readonly reason: PrometheusErrorReason
  /** A description of the invalid option, naming it and the value given. */
  readonly message: string
  /** The `TypeError` that the synchronous constructor threw. */
  readonly cause?: unknown
}> {
  /** A stable identifier for this failure, the same in the facade's `Error` subclass. */
  get code(): string {
    return CODES[this.reason]
  }
}
