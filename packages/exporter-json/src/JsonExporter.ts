/**
 * The JSON exporter: writes records as the DinoAir reference document, with
 * an envelope beside `metrics`.
 *
 * One record with the default options (line breaks added here):
 *
 * ```json
 * {"source":"checkout","exported_at":1699123460,"metrics":[
 * {"operation":"data_processing","duration":0.153,"memory_usage":1048576,"cpu_usage":15.3,
 * "timestamp":1699123456.789,"custom_metrics":{"records_processed":1000},
 * "id":"data_processing_1","status":"ok"}]}
 * ```
 *
 * Details:
 * - Every record has the six reference fields `operation`, `duration`
 *   (seconds), `memory_usage` (bytes), `cpu_usage` (percent of one core),
 *   `timestamp` (Unix seconds) and `custom_metrics`, in that order. Then come
 *   `id` and `status`, and `error`, `memory_delta` (bytes) and `parent_id`
 *   when the record has them.
 * - A reading that is missing or not finite (`NaN`, `±Infinity`) is `null`,
 *   and `-0` is `0`.
 * - `custom_metrics` is always an object. It is `{}` when the export context
 *   turns custom metrics off, and its values are mapped as `JsonValue`
 *   documents: `NaN` becomes `"NaN"`, a large BigInt its decimal string, a
 *   cycle `"[Circular]"`, and so on.
 * - The envelope comes before `metrics`: `source`, `exported_at` (Unix
 *   seconds), `system_info` (snake_case host facts from the first record that
 *   carries them) and `system_metrics` (snake_case process metrics, when the
 *   context has them).
 *
 * The payload is made for appending, so its `fileMode` is `append`. The
 * header ends with the `[` that opens `metrics`, and the body is the records
 * joined by the separator `,`. The footer is the fixed text `]}` plus a
 * newline. A file sink appends by putting `separator + body + footer` in
 * place of the footer, so the file stays one JSON document.
 *
 * Gotchas:
 * - An empty batch has an empty body. `header + footer` is still a valid
 *   document with an empty `metrics` array, but a sink that appends must skip
 *   an empty body, because `separator + ""` would leave a trailing comma.
 * - A file that grows by appending keeps the envelope of its first export.
 *   The `exported_at` and `system_metrics` of later exports are not in it.
 *
 * @example
 * ```ts
 * import { JsonExporter } from "@dinoair/exporter-json"
 *
 * const payload = JsonExporter.make().encode([], {
 *   timestamp: 1699123460,
 *   processMetrics: undefined,
 *   includeCustomMetrics: true,
 *   source: "checkout",
 * })
 * payload.header + payload.body + payload.footer
 * // '{"source":"checkout","exported_at":1699123460,"metrics":[]}\n'
 * ```
 *
 * @since 0.1.0
 */
import type { OperationMetrics, SystemInfo } from "@dinoair/monitor"
import { Exporter, type Plugin } from "@dinoair/telemetry"
import { Layer } from "effect"
import { DEFAULT_MAX_DEPTH, type JsonValue, resolveMaxDepth, toJsonValue } from "./JsonValue.js"

/**
 * Options of the JSON exporter.
 *
 * @since 0.1.0
 */
export interface JsonExporterOptions {
  /**
   * Spaces per indentation level, truncated and clamped to 0–10 as
   * `JSON.stringify` does. With 0 the whole document is one line. Default 0.
   */
  readonly indent?: number | undefined
  /**
   * Levels of nested objects and arrays kept in `custom_metrics`, counting
   * `custom_metrics` itself. A deeper one becomes `"[Truncated]"`. Default 32.
   */
  readonly maxDepth?: number | undefined
}

/** @since 0.1.0 */
export const DEFAULT_INDENT = 0

/** The name a configuration uses for this format. @since 0.1.0 */
export const FORMAT = "json"

/** @since 0.1.0 */
export const CONTENT_TYPE = "application/json"

/** @since 0.1.0 */
export const FILE_EXTENSION = "json"

/** The text between two records, and between the previous body and the next when appending. @since 0.1.0 */
export const SEPARATOR = ","

const MAX_INDENT = 10

/**
 * Creates a JSON exporter.
 *
 * @since 0.1.0
 */
export const make = (options: JsonExporterOptions = {}): Exporter.ExporterShape => {
  const layout = makeLayout(resolveIndent(options.indent))
  const maxDepth = resolveMaxDepth(options.maxDepth)

  return {
    format: FORMAT,
    contentType: CONTENT_TYPE,
    fileExtension: FILE_EXTENSION,
    // NOTE: a body longer than V8's maximum string length (2^29 − 24 UTF-16 units in Node.js
    // 20, `buffer.constants.MAX_STRING_LENGTH`) makes `join` throw a RangeError. `batchSize`
    // keeps batches far below it unless single custom metric values are hundreds of megabytes.
    encode: (records, context) => {
      const body = records
        .map((record) => layout.record(encodeRecord(record, context, maxDepth)))
        .join(SEPARATOR)

      return {
        contentType: CONTENT_TYPE,
        fileExtension: FILE_EXTENSION,
        fileMode: "append",
        header: layout.header(envelopeOf(records, context)),
        body,
        footer: layout.footer,
        separator: SEPARATOR,
        recordCount: records.length,
      }
    },
  }
}

/**
 * A layer with a JSON exporter as the `Exporter` service.
 *
 * @since 0.1.0
 */
export const layer = (options: JsonExporterOptions = {}): Layer.Layer<Exporter.Exporter> =>
  Layer.succeed(Exporter.Exporter, make(options))

/**
 * The plugin that the facade loads for `exportFormat: "json"`. The
 * configuration's `exporterOptions` are this exporter's options.
 *
 * @since 0.1.0
 */
export const plugin: Plugin.ExporterPlugin = {
  kind: "exporter",
  format: FORMAT,
  make: ({ options }) => make(options),
}

/**
 * Encodes one record as the object written for it.
 *
 * @since 0.1.0
 */
export const encodeRecord = (
  record: OperationMetrics,
  context: Exporter.ExportContext,
  maxDepth: number = DEFAULT_MAX_DEPTH,
): { readonly [key: string]: JsonValue } => {
  const encoded: { [key: string]: JsonValue } = {
    operation: record.operation,
    duration: finiteOrNull(record.duration),
    memory_usage: finiteOrNull(record.memoryUsage),
    cpu_usage: finiteOrNull(record.cpuUsage),
    timestamp: finiteOrNull(record.timestamp),
    custom_metrics: context.includeCustomMetrics
      ? customMetricsOf(record.customMetrics, maxDepth)
      : {},
    id: record.id,
    status: record.status,
  }

  if (record.error !== undefined) encoded.error = record.error
  if (record.memoryDelta !== undefined) encoded.memory_delta = finiteOrNull(record.memoryDelta)
  if (record.parentId !== undefined) encoded.parent_id = record.parentId
  return encoded
}

type Entry = readonly [key: string, value: JsonValue]

/** The layout of the document: compact, or indented by a number of spaces. */
interface Layout {
  /** The document up to and including the `[` that opens `metrics`. */
  header(envelope: ReadonlyArray<Entry>): string
  record(encoded: JsonValue): string
  readonly footer: string
}

const makeLayout = (indent: number): Layout => {
  if (indent === 0) {
    return {
      header: (envelope) =>
        `{${envelope.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)},`).join("")}"metrics":[`,
      record: (encoded) => JSON.stringify(encoded),
      footer: "]}\n",
    }
  }

  const pad = " ".repeat(indent)
  // JSON text has no raw line breaks inside strings, so every "\n" starts a new line to indent.
  const nested = (value: JsonValue, prefix: string): string =>
    JSON.stringify(value, null, indent).replaceAll("\n", `\n${prefix}`)

  return {
    header: (envelope) =>
      `{\n${envelope.map(([key, value]) => `${pad}${JSON.stringify(key)}: ${nested(value, pad)},\n`).join("")}${pad}"metrics": [`,
    // Each record starts on its own line, so the body ends with "}" and never with the header's "[".
    record: (encoded) => `\n${pad}${pad}${nested(encoded, pad + pad)}`,
    footer: `\n${pad}]\n}\n`,
  }
}

const envelopeOf = (
  records: ReadonlyArray<OperationMetrics>,
  context: Exporter.ExportContext,
): ReadonlyArray<Entry> => {
  const envelope: Array<Entry> = [
    ["source", context.source],
    ["exported_at", finiteOrNull(context.timestamp)],
  ]

  const host = records.find((record) => record.systemInfo !== undefined)?.systemInfo
  if (host !== undefined) envelope.push(["system_info", systemInfoOf(host)])

  if (context.processMetrics !== undefined) {
    envelope.push(["system_metrics", systemMetricsOf(context.processMetrics)])
  }
  return envelope
}

const systemInfoOf = (host: SystemInfo): JsonValue => ({
  hostname: host.hostname,
  platform: host.platform,
  arch: host.arch,
  runtime_version: host.runtimeVersion,
  cpu_count: finiteOrNull(host.cpuCount),
  total_memory: finiteOrNull(host.totalMemory),
})

const systemMetricsOf = (metrics: Exporter.ProcessMetrics): JsonValue => {
  const lag = metrics.nodejsEventloopLagSeconds
  return {
    process_cpu_seconds_total: finiteOrNull(metrics.processCpuSecondsTotal),
    process_cpu_user_seconds_total: finiteOrNull(metrics.processCpuUserSecondsTotal),
    process_cpu_system_seconds_total: finiteOrNull(metrics.processCpuSystemSecondsTotal),
    process_resident_memory_bytes: finiteOrNull(metrics.processResidentMemoryBytes),
    nodejs_heap_size_used_bytes: finiteOrNull(metrics.nodejsHeapSizeUsedBytes),
    nodejs_heap_size_total_bytes: finiteOrNull(metrics.nodejsHeapSizeTotalBytes),
    nodejs_external_memory_bytes: finiteOrNull(metrics.nodejsExternalMemoryBytes),
    nodejs_eventloop_lag_seconds: {
      min: finiteOrNull(lag.min),
      max: finiteOrNull(lag.max),
      mean: finiteOrNull(lag.mean),
      stddev: finiteOrNull(lag.stddev),
      p50: finiteOrNull(lag.p50),
      p90: finiteOrNull(lag.p90),
      p99: finiteOrNull(lag.p99),
    },
    nodejs_gc_duration_seconds: metrics.nodejsGcDurationSeconds.map((gc) => ({
      kind: gc.kind,
      count: finiteOrNull(gc.count),
      sum: finiteOrNull(gc.sum),
    })),
    timestamp: finiteOrNull(metrics.timestamp),
  }
}

const customMetricsOf = (customMetrics: unknown, maxDepth: number): JsonValue => {
  const mapped = toJsonValue(customMetrics, { maxDepth })
  const isObject = typeof mapped === "object" && mapped !== null && !Array.isArray(mapped)
  return isObject ? mapped : {}
}

const finiteOrNull = (value: number | undefined): number | null => {
  if (value === undefined || !Number.isFinite(value)) return null
  return value === 0 ? 0 : value
}

// Options may come from an untyped configuration, so anything but a number means the default.
const resolveIndent = (indent: unknown): number => {
  if (typeof indent !== "number" || Number.isNaN(indent)) return DEFAULT_INDENT
  return Math.min(MAX_INDENT, Math.max(0, Math.trunc(indent)))
}
