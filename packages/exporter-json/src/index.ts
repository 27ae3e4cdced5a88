/**
 * The JSON exporter for DinoAir telemetry. Custom metric values are written
 * by `JsonText` of `@dinoair/telemetry`, which keeps every document valid
 * JSON.
 *
 * @since 0.1.0
 * @packageDocumentation
 */

export type { JsonExporterOptions } from "./JsonExporter.js"
export * as JsonExporter from "./JsonExporter.js"
export { plugin } from "./JsonExporter.js"
