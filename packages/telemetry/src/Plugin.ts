/**
 * The contract between the facade and the packages that provide formats
 * and destinations.
 *
 * A plugin package exports a value named `plugin` of type `ExporterPlugin`
 * or `SinkPlugin`. The facade imports the package the first time a
 * configuration names its format or destination, and calls `make`. Third
 * parties register their own plugins by name with the facade's
 * `registerPlugin`; nothing registers itself on import.
 *
 * @since 0.1.0
 * @module
 */
import { type DinoLogger, Logging } from "@dinoair/monitor"
import type { ExporterShape } from "./Exporter.js"
import type { SinkShape } from "./Sink.js"
import type { TelemetryConfig } from "./TelemetryConfig.js"

/**
 * The argument of a plugin's `make`.
 *
 * @since 0.1.0
 */
export interface PluginContext {
  /** The telemetry configuration in force. */
  readonly config: TelemetryConfig
  /** The plugin's own options, given as `exporterOptions` or `sinkOptions` in the configuration. */
  readonly options: Readonly<Record<string, unknown>>
  /** Logger for the plugin's warnings and errors, the same one the facade uses. */
  readonly logger: DinoLogger
}

/**
 * A format provided by a package.
 *
 * @since 0.1.0
 */
export interface ExporterPlugin {
  /** Discriminant that marks a format plugin. */
  readonly kind: "exporter"
  /** The `exportFormat` value that selects it. */
  readonly format: string
  /** Builds the exporter from the configuration and the plugin's own options. */
  make(context: PluginContext): ExporterShape
}

/**
 * A destination provided by a package.
 *
 * @since 0.1.0
 */
export interface SinkPlugin {
  /** Discriminant that marks a destination plugin. */
  readonly kind: "sink"
  /** The `exportDestination` value that selects it. */
  readonly destination: string
  /** Builds the sink; `exporter` is the format it will carry, for file extensions and content types. */
  make(context: PluginContext & { readonly exporter: ExporterShape }): SinkShape
}

/**
 * Either kind of plugin.
 *
 * @since 0.1.0
 */
export type AnyPlugin = ExporterPlugin | SinkPlugin

/**
 * Checks that a value loaded from a package has the shape of a plugin.
 *
 * @since 0.1.0
 */
export const isPlugin = (value: unknown): value is AnyPlugin => {
  if (value === null || typeof value !== "object") return false
  const candidate = value as {
    readonly kind?: unknown
    readonly make?: unknown
    readonly format?: unknown
    readonly destination?: unknown
  }
  if (typeof candidate.make !== "function") return false
  if (candidate.kind === "exporter") return typeof candidate.format === "string"
  if (candidate.kind === "sink") return typeof candidate.destination === "string"
  return false
}

/**
 * Removes one final period from a message, so that a plugin can put it
 * inside a warning that adds its own. The same as the monitor's
 * `Logging.withoutFinalPeriod`, for plugins, which depend on this package
 * alone.
 *
 * @since 0.1.0
 */
export const withoutFinalPeriod: (message: string) => string = Logging.withoutFinalPeriod
