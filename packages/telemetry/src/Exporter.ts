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
  /** User CPU time of the process since it started, in seconds. */
  readonly processCpuUserSecondsTotal: number
  /** System CPU time of the process since it started, in seconds. */
  readonly processCpuSystemSecondsTotal: number
  /** Resident set size of the process, in bytes. */
  readonly processResidentMemoryBytes: number
  /** V8 heap in use, in bytes. */
  readonly nodejsHeapSizeUsedBytes: number
  /** V8 heap allocated, in bytes. */
  readonly nodejsHeapSizeTotalBytes: number
  /** Memory of C++ objects bound to JavaScript objects, in bytes. */
  readonly nodejsExternalMemoryBytes: number
  /** Event-loop delay since the previous export, in seconds, all 0 when nothing was sampled. */
  readonly nodejsEventloopLagSeconds: {
    /** Shortest delay, in seconds. */
    readonly min: number
    /** Maximum delay, in seconds. */
    readonly max: number
    /** Mean delay, in seconds. */
    readonly mean: number
    /** Standard deviation of the delay, in seconds. */
    readonly stddev: number
    /** Median delay (50th percentile), in seconds. */
    readonly p50: number
    /** 90th percentile of the delay, in seconds. */
    readonly p90: number
    /** 99th percentile of the delay, in seconds. */
    readonly p99: number
  }
  /** Garbage-collection pauses since telemetry was enabled, by kind, in seconds. */
  readonly nodejsGcDurationSeconds: ReadonlyArray<{
    /** GC kind: `minor`, `major`, `incremental`, `weakcb` or `unknown`. */
    readonly kind: string
    /** Number of pauses of this kind. */
    readonly count: number
    /** Total pause time of this kind, in seconds. */
    readonly sum: number
  }>
  /** Unix time in seconds when the figures were read. */
  readonly timestamp: number
}

/**
 * The context an exporter gets besides the records.
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
  /**
   * Whether every record of the batch has already been passed to this
   * exporter's `observe`. The telemetry manager sets it whenever the
   * exporter has `observe`, so an exporter with running state can read that
   * state instead of walking the batch again. Default `false`.
   */
  readonly recordsObserved?: boolean | undefined
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
  /** MIME type of the payload, such as `application/json`. */
  readonly contentType: string
  /** File extension without the dot, such as `json`. */
  readonly fileExtension: string
  /** The file write mode: `append` to an existing file, or `replace` it. */
  readonly fileMode: "append" | "replace"
  /** Text before the body, such as a CSV header line or the start of a JSON document. */
  readonly header: string
  /** Encoded records. */
  readonly body: string
  /**
   * The body as consecutive chunks whose concatenation is exactly `body`,
   * set by exporters that build the body from pieces. `body` is then built
   * by concatenation, which V8 keeps as a rope until something reads its
   * characters, and that read copies the whole body in one go. A sink that
   * writes the chunks one by one instead never makes that copy. Default:
   * none.
   */
  readonly bodyChunks?: ReadonlyArray<string> | undefined
  /** Text after the body, such as a CSV line break or the end of a JSON document. */
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
   * Encodes a batch like `encode`, in steps: the returned iterator yields
   * after each chunk of records and returns the same payload that `encode`
   * returns. The telemetry manager uses it when present and lets the event
   * loop run between steps, so a large batch does not block it. A step
   * should take a few milliseconds at most. Formats whose cost does not
   * grow with the batch need no steps.
   */
  readonly encodeInSteps?:
    | ((
        records: ReadonlyArray<OperationMetrics>,
        context: ExportContext,
      ) => Iterator<void, Payload, undefined>)
    | undefined
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
 * Records per step of `encodeInSteps` in the exporters of this project.
 * Encoding 500 records takes about 0.5 ms as JSON and 0.7 ms as CSV, from
 * the case-5 figures of `pnpm bench` on a 2-core Linux machine with Node.js
 * 20. A step thus stays far below the 50 ms that an export may block the
 * event loop for, even on a machine several times overloaded.
 *
 * @since 0.1.0
 */
export const RECORDS_PER_STEP = 500

/**
 * Concatenates chunks with `+`, which V8 keeps as a rope, so no step of
 * `encodeInSteps` copies the whole body. `Array.prototype.join` would.
 *
 * @since 0.1.0
 */
export const concatenate = (chunks: ReadonlyArray<string>): string => {
  let text = ""
  for (const chunk of chunks) text += chunk
  return text
}

/**
 * Returns the body chunks of a payload, or the body as the only chunk. A
 * `bodyChunks` that is not an array of strings counts as missing.
 *
 * @since 0.1.0
 */
export const bodyChunksOf = (payload: Payload): ReadonlyArray<string> => {
  const chunks: unknown = payload.bodyChunks
  if (Array.isArray(chunks) && chunks.every((chunk) => typeof chunk === "string")) return chunks
  return [payload.body]
}

/**
 * Joins a payload into one standalone document.
 *
 * @since 0.1.0
 */
export const documentOf = (payload: Payload): string =>
  payload.header + payload.body + payload.footer
