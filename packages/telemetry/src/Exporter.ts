/**
 * The Exporter contract: a format that turns records into a payload.
 *
 * An exporter is pure and synchronous. It never changes state, never does
 * I/O and never throws for any record content: values its format cannot
 * hold are mapped in a way that the exporter documents.
 *
 * @since 0.1.0
 * @module
 */
import type { OperationMetrics } from "@dinoair/monitor"
import { Context } from "effect"

/**
 * Process-level figures added to an export when `includeSystemMetrics` is
 * on. Names and units follow prom-client's default metrics.
 *
 * @since 0.1.0
 */
export interface ProcessMetrics {
  /** User plus system CPU time of the process, in seconds. */
  readonly processCpuSecondsTotal: number
  readonly processCpuUserSecondsTotal: number
  readonly processCpuSystemSecondsTotal: number
  readonly processResidentMemoryBytes: number
  readonly nodejsHeapSizeUsedBytes: number
  readonly nodejsHeapSizeTotalBytes: number
  readonly nodejsExternalMemoryBytes: number
  /** Event-loop delay since the previous export, in seconds. */
  readonly nodejsEventloopLagSeconds: {
    readonly min: number
    readonly max: number
    readonly mean: number
    readonly stddev: number
    readonly p50: number
    readonly p90: number
    readonly p99: number
  }
  /** Garbage-collection pauses since telemetry was enabled, by kind, in seconds. */
  readonly nodejsGcDurationSeconds: ReadonlyArray<{
    readonly kind: string
    readonly count: number
    readonly sum: number
  }>
  /** Unix time in seconds when the figures were read. */
  readonly timestamp: number
}

/**
 * What an exporter gets besides the records.
 *
 * @since 0.1.0
 */
export interface ExportContext {
  /** Unix time in seconds when the export started. */
  readonly timestamp: number
  /** Process figures, when `includeSystemMetrics` is on. */
  readonly processMetrics: ProcessMetrics | undefined
  /** Whether custom metrics go into the output. */
  readonly includeCustomMetrics: boolean
  /** The name this process reports as its source. */
  readonly source: string
}

/**
 * Encoded output of one export.
 *
 * Details: a sink that writes a standalone document (HTTP, console) sends
 * `header + body + footer`. A file sink in `append` mode writes
 * `header + body + footer` to a new file, and to an existing one it replaces
 * the trailing `footer` with `separator + body + footer`, so the file stays
 * one valid document and an export costs what its batch costs, not what the
 * file holds. In `replace` mode the file is replaced whole.
 *
 * @since 0.1.0
 */
export interface Payload {
  readonly contentType: string
  /** File extension without the dot, such as `json`. */
  readonly fileExtension: string
  readonly fileMode: "append" | "replace"
  readonly header: string
  readonly body: string
  readonly footer: string
  /** Text placed between the previous body and this one when appending; empty for formats without one. */
  readonly separator: string
  /** How many records the body holds. */
  readonly recordCount: number
}

/**
 * A format.
 *
 * @since 0.1.0
 */
export interface ExporterShape {
  /** The name a configuration uses for it, such as `json`. */
  readonly format: string
  /** The MIME type of its payloads, such as `application/json`. */
  readonly contentType: string
  /** The file extension of its payloads, without the dot, such as `json`. */
  readonly fileExtension: string
  /** Encodes a batch of records as one payload. It must not throw or change state. */
  encode(records: ReadonlyArray<OperationMetrics>, context: ExportContext): Payload
  /**
   * Counts one record as it is collected, for formats that keep running
   * totals (Prometheus counters and histograms). The manager calls it once
   * per record, so a retried batch is not counted twice. It must be cheap
   * and must not throw.
   */
  readonly observe?: ((record: OperationMetrics) => void) | undefined
}

/**
 * The Exporter service.
 *
 * @since 0.1.0
 */
export class Exporter extends Context.Service<Exporter, ExporterShape>()(
  "@dinoair/telemetry/Exporter",
) {}

/**
 * Joins a payload into one standalone document.
 *
 * @since 0.1.0
 */
export const documentOf = (payload: Payload): string =>
  payload.header + payload.body + payload.footer
