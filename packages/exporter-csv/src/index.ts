/**
 * The CSV exporter for DinoAir telemetry, with the field rules it uses to
 * keep every file valid RFC 4180 CSV. The `custom_metrics` column is written
 * by `JsonText` of `@dinoair/telemetry`.
 *
 * @since 0.1.0
 * @packageDocumentation
 */

export * as CsvCell from "./CsvCell.js"
export type { CsvExporterOptions } from "./CsvExporter.js"
export * as CsvExporter from "./CsvExporter.js"
export { plugin } from "./CsvExporter.js"
