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
 *   turns custom metrics off, and its values are written by `JsonText` of
 *   `@dinoair/telemetry`: `NaN` becomes `"NaN"`, a large BigInt its decimal
 *   string, a cycle `"[Circular]"`, and so on.
 * - With `indent` 0, records whose custom metrics are plain data
 *   (`JsonText.canUseJsonStringify`) are written by one native
 *   `JSON.stringify` call per run of them. It gives the same text as
 *   `JsonText`, faster.
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
 * - Plain custom metrics are read twice: once by the check, once by
 *   `JSON.stringify`. A getter or proxy that returns a value of another kind
 *   on the second read is written as `JSON.stringify` writes it, such as
 *   `NaN` as `null`. The document stays valid JSON.
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
 * @module
 */
import type { DinoLogger, OperationMetrics, SystemInfo } from "@dinoair/monitor"
import { Exporter, JsonText, type Plugin } from "@dinoair/telemetry"
import { Layer } from "effect"

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

/**
 * The default of `indent`: 0, one line per document.
 *
 * @since 0.1.0
 */
export const DEFAULT_INDENT = JsonText.DEFAULT_INDENT

/** The name a configuration uses for this format. @since 0.1.0 */
export const FORMAT = "json"

/**
 * The media type of JSON payloads.
 *
 * @since 0.1.0
 */
export const CONTENT_TYPE = "application/json"

/**
 * The file extension of JSON payloads, without the dot.
 *
 * @since 0.1.0
 */
export const FILE_EXTENSION = "json"

/** The text between two records, and between the previous body and the next when appending. @since 0.1.0 */
export const SEPARATOR = ","

/**
 * Creates a JSON exporter.
 *
 * @since 0.1.0
 */
export const make = (options: JsonExporterOptions = {}): Exporter.ExporterShape => {
  // Options may come from an untyped configuration, where `null` or a string stands for none.
  const given: JsonExporterOptions = typeof options === "object" && options !== null ? options : {}
  const indent = JsonText.resolveIndent(given.indent)
  const layout = makeLayout(indent, JsonText.resolveMaxDepth(given.maxDepth))

  return {
    format: FORMAT,
    contentType: CONTENT_TYPE,
    fileExtension: FILE_EXTENSION,
    // NOTE: a body longer than V8's maximum string length (2^29 − 24 UTF-16 units in Node.js
    // 20, `buffer.constants.MAX_STRING_LENGTH`) makes `join` throw a RangeError. `batchSize`
    // keeps batches far below it unless single custom metric values are hundreds of megabytes.
    encode: (records, context) =>
      payloadOf(layout, records, context, indent, layout.bodyChunks(records, context)),
    encodeInSteps: function* (records, context) {
      // Each step's text is its records joined by SEPARATOR, so SEPARATOR goes between steps too.
      const chunks: Array<string> = []
      for (let start = 0; start < records.length; start += Exporter.RECORDS_PER_STEP) {
        if (start > 0) {
          yield
          chunks.push(SEPARATOR)
        }
        const slice = records.slice(start, start + Exporter.RECORDS_PER_STEP)
        for (const chunk of layout.bodyChunks(slice, context)) chunks.push(chunk)
      }
      return payloadOf(layout, records, context, indent, chunks)
    },
  }
}

const payloadOf = (
  layout: Layout,
  records: ReadonlyArray<OperationMetrics>,
  context: Exporter.ExportContext,
  indent: number,
  bodyChunks: ReadonlyArray<string>,
): Exporter.Payload => ({
  contentType: CONTENT_TYPE,
  fileExtension: FILE_EXTENSION,
  fileMode: "append",
  header: layout.header(envelopeOf(records, context, indent)),
  // A rope of the chunks, as the native JSON.stringify returns its text, so nothing copies it whole.
  body: Exporter.concatenate(bodyChunks),
  bodyChunks,
  footer: layout.footer,
  separator: SEPARATOR,
  recordCount: records.length,
})

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
  make: ({ options, logger }) => {
    warnAboutOptions(options, logger)
    return make(options)
  },
}

const KNOWN_OPTIONS: ReadonlyArray<string> = ["indent", "maxDepth"]

/**
 * Logs, once each, an unknown option and an option that `make` does not use
 * as given, with the value it uses instead.
 */
const warnAboutOptions = (options: Readonly<Record<string, unknown>>, logger: DinoLogger): void => {
  for (const key of Object.keys(options)) {
    const given = options[key]
    const name = JSON.stringify(key)
    if (!KNOWN_OPTIONS.includes(key)) {
      logger.warn(
        `json exporter: unknown option ${name} is ignored. Known options: ${KNOWN_OPTIONS.join(", ")}.`,
      )
      continue
    }
    if (given === undefined) continue

    const used = key === "indent" ? JsonText.resolveIndent(given) : JsonText.resolveMaxDepth(given)
    if (Object.is(used, given)) continue
    const rule =
      key === "indent" ? "a whole number of spaces from 0 to 10" : "a whole number of at least 0"
    logger.warn(
      `json exporter: invalid value ${describeValue(given)} for option ${name} (expected ${rule}); using ${used} instead.`,
    )
  }
}

/** Renders an option value for a log line without calling any of its methods. */
const describeValue = (value: unknown): string => {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value)
  if (typeof value === "string")
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  if (typeof value === "bigint") return `${value}n`
  if (value === null || typeof value === "boolean" || typeof value === "undefined")
    return String(value)
  return Array.isArray(value) ? "an array" : `a ${typeof value}`
}

/**
 * Encodes one record as the JSON text written for it with `indent` 0.
 *
 * @since 0.1.0
 */
export const encodeRecord = (
  record: OperationMetrics,
  context: Exporter.ExportContext,
  maxDepth: number = JsonText.DEFAULT_MAX_DEPTH,
): string => encodeCompact([record], context, { maxDepth }).join("")

/**
 * A record with the members of the reference document, in order. Its
 * `custom_metrics` is the record's own value, not yet mapped.
 */
type RecordObject = { readonly [key: string]: unknown }

/**
 * One member of a JSON object: its key, a fixed snake_case name that needs
 * no escaping, and the JSON text of its value, indented from column 0.
 */
type Field = readonly [key: string, text: string]

/** The layout of the document: compact, or indented by a number of spaces. */
interface Layout {
  /** Writes the document up to and including the `[` that opens `metrics`. */
  header(envelope: ReadonlyArray<Field>): string
  /** Writes the records joined by SEPARATOR, as chunks to be concatenated. */
  bodyChunks(
    records: ReadonlyArray<OperationMetrics>,
    context: Exporter.ExportContext,
  ): Array<string>
  readonly footer: string
}

const makeLayout = (indent: number, maxDepth: number): Layout => {
  if (indent === 0) {
    const options: JsonText.StringifyOptions = { maxDepth }
    return {
      header: (envelope) =>
        `{${envelope.map(([key, text]) => `"${key}":${text},`).join("")}"metrics":[`,
      bodyChunks: (records, context) => encodeCompact(records, context, options),
      footer: "]}\n",
    }
  }

  const options: JsonText.StringifyOptions = { maxDepth, indent }
  const pad = " ".repeat(indent)
  // JSON text has no raw line breaks inside strings, so every "\n" starts a new line to indent.
  const member = ([key, text]: Field, prefix: string): string =>
    `\n${prefix}"${key}": ${text.replaceAll("\n", `\n${prefix}`)}`
  // Each record starts on its own line, so the body ends with "}" and never with the header's "[".
  const indentedRecord = (encoded: RecordObject): string =>
    `\n${pad}${pad}{${fieldsOf(encoded, options)
      .map((field) => member(field, pad.repeat(3)))
      .join(",")}\n${pad}${pad}}`

  return {
    header: (envelope) =>
      `{${envelope.map((field) => `${member(field, pad)},`).join("")}\n${pad}"metrics": [`,
    bodyChunks: (records, context) =>
      records.length === 0
        ? []
        : [
            records
              .map((record) => indentedRecord(recordObjectOf(record, context)))
              .join(SEPARATOR),
          ],
    footer: `\n${pad}]\n}\n`,
  }
}

const EMPTY_CUSTOM_METRICS = Object.freeze({})

/**
 * Encodes records on one line. A run of records whose custom metrics
 * `JSON.stringify` writes as `JsonText` does goes through one native
 * `JSON.stringify` call. The other records are written member by member.
 * For 100,000 records with small plain custom metrics, the native call made
 * the encoding two to three times faster (a one-off measurement on Node.js
 * 20).
 */
const encodeCompact = (
  records: ReadonlyArray<OperationMetrics>,
  context: Exporter.ExportContext,
  options: JsonText.StringifyOptions,
): Array<string> => {
  const chunks = new ChunkList()
  let run: Array<RecordObject> = []
  const add = (text: string): void => {
    if (!chunks.isEmpty()) chunks.add(SEPARATOR)
    chunks.add(text)
  }

  for (const record of records) {
    const encoded = recordObjectOf(record, context)
    if (JsonText.canUseJsonStringify(encoded.custom_metrics, options)) {
      run.push(encoded)
      if (run.length === MAX_RUN_LENGTH) {
        add(stringifyRun(run, options))
        run = []
      }
      continue
    }

    if (run.length > 0) add(stringifyRun(run, options))
    run = []
    add(compactRecord(encoded, options))
  }

  if (run.length > 0) add(stringifyRun(run, options))
  return chunks.finish()
}

/** Characters that a chunk of small texts reaches before `ChunkList` starts the next. */
const MIN_CHUNK_CHARS = 16 * 1024

/**
 * Collects texts as chunks: a long text is a chunk of its own, and short
 * ones are joined until they reach `MIN_CHUNK_CHARS`. A body concatenated
 * from the chunks thus stays a shallow rope even when every record is
 * written on its own.
 */
class ChunkList {
  readonly #chunks: Array<string> = []
  #pending: Array<string> = []
  #pendingChars = 0

  isEmpty(): boolean {
    return this.#chunks.length === 0 && this.#pending.length === 0
  }

  add(text: string): void {
    if (text.length >= MIN_CHUNK_CHARS) {
      this.#flush()
      this.#chunks.push(text)
      return
    }
    this.#pending.push(text)
    this.#pendingChars += text.length
    if (this.#pendingChars >= MIN_CHUNK_CHARS) this.#flush()
  }

  finish(): Array<string> {
    this.#flush()
    return this.#chunks
  }

  #flush(): void {
    if (this.#pending.length === 0) return
    this.#chunks.push(this.#pending.join(""))
    this.#pending = []
    this.#pendingChars = 0
  }
}

/**
 * Records per native `JSON.stringify` call. Short runs let the record
 * objects built for the call die young: with one run of 100,000 records they
 * survived into the old generation, and the garbage collector took about a
 * fifth of the encoding time.
 */
const MAX_RUN_LENGTH = 1000

/**
 * Writes records that passed `JsonText.canUseJsonStringify` with one native
 * call, or one by one through `JsonText` when that call throws.
 */
const stringifyRun = (
  run: ReadonlyArray<RecordObject>,
  options: JsonText.StringifyOptions,
): string => {
  try {
    // Without the array's brackets, the text is the records joined by SEPARATOR.
    return JSON.stringify(run).slice(1, -1)
  } catch {
    // A getter or proxy gave a BigInt or a cycle on its second read.
    return run.map((encoded) => compactRecord(encoded, options)).join(SEPARATOR)
  }
}

/**
 * Writes one record on one line. Its parts are joined once, because a flat
 * string costs less to join into the body than one built by concatenation.
 */
const compactRecord = (encoded: RecordObject, options: JsonText.StringifyOptions): string => {
  const parts: Array<string> = []
  for (const key of presentKeys(encoded)) {
    parts.push(parts.length === 0 ? '{"' : ',"', key, '":', memberText(encoded, key, options))
  }
  parts.push("}")
  return parts.join("")
}

const fieldsOf = (
  encoded: RecordObject,
  options: JsonText.StringifyOptions,
): ReadonlyArray<Field> =>
  presentKeys(encoded).map((key): Field => [key, memberText(encoded, key, options)])

/** The keys of the members that a record has, in order: those whose value is not undefined. */
const presentKeys = (encoded: RecordObject): Array<string> =>
  Object.keys(encoded).filter((key) => encoded[key] !== undefined)

/** Writes the value of one member: `custom_metrics` by `JsonText`, the others by `JSON.stringify`. */
const memberText = (
  encoded: RecordObject,
  key: string,
  options: JsonText.StringifyOptions,
): string => {
  const value = encoded[key]
  if (key === "custom_metrics") return JsonText.stringifyObject(value, options)
  // The other members are strings, finite numbers and null, which JSON.stringify writes as is.
  return JSON.stringify(value)
}

const recordObjectOf = (
  record: OperationMetrics,
  context: Exporter.ExportContext,
): RecordObject => {
  // Members a record lacks stay undefined, which every writer here leaves out, so that all
  // record objects share one shape and the native JSON.stringify walks them faster.
  return {
    operation: record.operation,
    duration: finiteOrNull(record.duration),
    memory_usage: finiteOrNull(record.memoryUsage),
    cpu_usage: finiteOrNull(record.cpuUsage),
    timestamp: finiteOrNull(record.timestamp),
    custom_metrics: context.includeCustomMetrics ? record.customMetrics : EMPTY_CUSTOM_METRICS,
    id: record.id,
    status: record.status,
    error: record.error,
    memory_delta: record.memoryDelta === undefined ? undefined : finiteOrNull(record.memoryDelta),
    parent_id: record.parentId,
  }
}

const envelopeOf = (
  records: ReadonlyArray<OperationMetrics>,
  context: Exporter.ExportContext,
  indent: number,
): ReadonlyArray<Field> => {
  const envelope: Array<Field> = [
    ["source", JSON.stringify(context.source)],
    ["exported_at", JSON.stringify(finiteOrNull(context.timestamp))],
  ]

  const host = records.find((record) => record.systemInfo !== undefined)?.systemInfo
  if (host !== undefined) {
    envelope.push(["system_info", JSON.stringify(systemInfoOf(host), null, indent)])
  }

  if (context.processMetrics !== undefined) {
    const metrics = systemMetricsOf(context.processMetrics)
    envelope.push(["system_metrics", JSON.stringify(metrics, null, indent)])
  }
  return envelope
}

const systemInfoOf = (host: SystemInfo): object => ({
  hostname: host.hostname,
  platform: host.platform,
  arch: host.arch,
  runtime_version: host.runtimeVersion,
  cpu_count: finiteOrNull(host.cpuCount),
  total_memory: finiteOrNull(host.totalMemory),
})

const systemMetricsOf = (metrics: Exporter.ProcessMetrics): object => {
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

const finiteOrNull = (value: number | undefined): number | null => {
  if (value === undefined || !Number.isFinite(value)) return null
  return value === 0 ? 0 : value
}
