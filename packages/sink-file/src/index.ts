/**
 * The file sink for DinoAir telemetry: one file that stays a valid document
 * after every export.
 *
 * @since 0.1.0
 * @packageDocumentation
 */

export type { FileSinkOptions, MovedAside, RepairedAppend } from "./FileSink.js"
export * as FileSink from "./FileSink.js"
export { plugin } from "./FileSink.js"
