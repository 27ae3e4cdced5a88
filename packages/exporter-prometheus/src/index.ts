/**
 * The Prometheus format for DinoAir telemetry: an exporter for the text
 * format 0.0.4, the registry of cumulative totals behind its counter and
 * histogram, and a pull handler that negotiates OpenMetrics 1.0.0.
 *
 * @since 0.1.0
 * @packageDocumentation
 */

export * as Exposition from "./Exposition.js"
export * as Families from "./Families.js"
export * as Names from "./Names.js"
export * as PrometheusError from "./PrometheusError.js"
export type { PrometheusExporterOptions, PrometheusExporterShape } from "./PrometheusExporter.js"
export * as PrometheusExporter from "./PrometheusExporter.js"
export { plugin } from "./PrometheusExporter.js"
export type { PullHandlerOptions, ScrapeSource } from "./PullHandler.js"
export * as PullHandler from "./PullHandler.js"
export * as Registry from "./Registry.js"
