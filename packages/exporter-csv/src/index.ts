/**
 * The CSV exporter for DinoAir telemetry, with the field rules and the JSON
 * mapping it uses to keep every file valid RFC 4180 CSV.
 *
 * @since 0.1.0
 */

export * as CsvCell from "./CsvCell.js"
export type { CsvExporterOptions } from "./CsvExporter.js"
export * as CsvExporter from "./CsvExporter.js"
export { plugin } from "./CsvExporter.js"
export * as JsonText from "./JsonText.js"
