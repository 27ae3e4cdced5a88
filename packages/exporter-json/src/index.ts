/**
 * The JSON exporter for DinoAir telemetry, and the value mapping it uses to
 * keep every document valid JSON.
 *
 * @since 0.1.0
 */

export type { JsonExporterOptions } from "./JsonExporter.js"
export * as JsonExporter from "./JsonExporter.js"
export { plugin } from "./JsonExporter.js"
export * as JsonValue from "./JsonValue.js"
