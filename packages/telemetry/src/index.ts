/**
 * The DinoAir telemetry manager, its export scheduler, the Exporter and Sink
 * contracts that plugins implement, the JSON text writer that exporters
 * share for custom metrics, and a testing kit.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
export * as Exporter from "./Exporter.js"
export * as JsonText from "./JsonText.js"
export * as Plugin from "./Plugin.js"
export * as ProcessMetrics from "./ProcessMetrics.js"
export * as Scheduler from "./Scheduler.js"
export * as Sink from "./Sink.js"
export * as SinkError from "./SinkError.js"
export * as Telemetry from "./Telemetry.js"
export * as TelemetryConfig from "./TelemetryConfig.js"
export * as Testing from "./Testing.js"
