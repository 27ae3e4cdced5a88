/**
 * The CSV exporter: writes records as RFC 4180 CSV with seven fixed
 * columns, one header line per file, and rows appended across exports.
 *
 * Two records with the default options:
 *
 * ```csv
 * operation,duration,memory_usage,cpu_usage,timestamp,status,custom_metrics
 * data_processing,0.153,1048576,15.3,1699123456.789,ok,"{""records_processed"":1000}"
 * '=cmd,0.002,,,1699123457,error,{}
 * ```
 *
 * Details:
 * - The columns are `operation`, `duration` (seconds), `memory_usage`
 *   (bytes, process RSS), `cpu_usage` (percent of one core), `timestamp`
 *   (Unix seconds), `status` (`ok` or `error`) and `custom_metrics` (a JSON
 *   object), in that order (`COLUMNS`).
 * - Numbers are written in plain decimal without an exponent and are never
 *   changed otherwise, so a negative number keeps its `-`. A missing or
 *   non-finite reading is an empty field, and `-0` is `0`.
 * - Text fields (`operation`, `status`, `custom_metrics`) go through
 *   `CsvCell.textField`: lone surrogates become U+FFFD, a first character
 *   that could start a spreadsheet formula gets a leading `'`, and a field
 *   with a comma, double quote, CR or LF, or a trailing space or tab, is
 *   quoted.
 * - `custom_metrics` is always a JSON object, written by `JsonText` of
 *   `@dinoair/telemetry`, and `{}` when the export context turns custom
 *   metrics off. JSON escapes line
 *   breaks, so this field never spans lines.
 * - Lines end with CRLF, the line break of RFC 4180 section 2. The content
 *   type is `text/csv; charset=utf-8; header=present`.
 *
 * The payload is made for appending, so its `fileMode` is `append`. The
 * header is the header line without its line break, the body is each row
 * preceded by CRLF, the separator is empty and the footer is CRLF. A new
 * file gets `header + body + footer`. A file sink appends to a file that
 * ends with CRLF by writing `body + CRLF` over that last CRLF, so the
 * header appears once per file. A file that does not end with CRLF, such as
 * one cut short by a crash in the middle of a row, is moved aside instead
 * of getting rows glued to its broken last line.
 *
 * Gotchas:
 * - A file sink cannot tell this CSV from another one that ends with CRLF.
 *   Rows are appended to it even when its header names other columns.
 * - An append cut short right after a line break inside a quoted field
 *   (text with CR or LF in it) leaves a file that ends with CRLF, and the
 *   next rows join the open field.
 * - Fields are never truncated. An Excel cell contains at most 32,767
 *   characters (Microsoft KB 211878), so Excel cannot keep a longer
 *   operation name or `custom_metrics` text whole in one cell.
 *
 * @example
 * ```ts
 * import { CsvExporter } from "@dinoair/exporter-csv"
 *
 * const payload = CsvExporter.make().encode([], {
 *   timestamp: 1699123460,
 *   processMetrics: undefined,
 *   includeCustomMetrics: true,
 *   source: "checkout",
 * })
 * payload.header + payload.body + payload.footer
 * // 'operation,duration,memory_usage,cpu_usage,timestamp,status,custom_metrics\r\n'
 * ```
 *
 * @since 0.1.0
 * @module
 */
import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import { Exporter, JsonText, type Plugin } from "@dinoair/telemetry"
import { Layer } from "effect"
import { numberField, textField } from "./CsvCell.js"

/**
 * Options of the CSV exporter.
 *
 * @since 0.1.0
 */
export interface CsvExporterOptions {
  /**
   * Levels of nested objects and arrays kept in `custom_metrics`, counting
   * `custom_metrics` itself. A deeper one becomes `"[Truncated]"`. Default 32.
   */
  readonly maxDepth?: number | undefined
  /**
   * Whether a new file starts with a UTF-8 byte order mark (U+FEFF). Excel
   * on Windows reads a CSV file without one in the system's legacy code
   * page, which garbles non-ASCII text. Other tools read the mark as part
   * of the first header name unless configured to strip it (csv-parse:
   * `bom: true`). It goes in the header, so a file gets it once. Default
   * `false`.
   */
  readonly byteOrderMark?: boolean | undefined
}

/**
 * The default of `byteOrderMark`: no byte order mark.
 *
 * @since 0.1.0
 */
export const DEFAULT_BYTE_ORDER_MARK = false

/** The name a configuration uses for this format. @since 0.1.0 */
export const FORMAT = "csv"

/** The media type of RFC 4180, with its optional `charset` and `header` parameters. @since 0.1.0 */
export const CONTENT_TYPE = "text/csv; charset=utf-8; header=present"

/**
 * The file extension of CSV payloads, without the dot.
 *
 * @since 0.1.0
 */
export const FILE_EXTENSION = "csv"

/** The line break of RFC 4180. @since 0.1.0 */
export const LINE_BREAK = "\r\n"

/**
 * The columns, in order.
 *
 * @since 0.1.0
 */
export const COLUMNS = [
  "operation",
  "duration",
  "memory_usage",
  "cpu_usage",
  "timestamp",
  "status",
  "custom_metrics",
] as const

/** The header line without its line break. @since 0.1.0 */
export const HEADER_LINE = COLUMNS.join(",")

const BYTE_ORDER_MARK = "\uFEFF"

/**
 * Creates a CSV exporter.
 *
 * @since 0.1.0
 */
export const make = (options: CsvExporterOptions = {}): Exporter.ExporterShape => {
  // Options may come from an untyped configuration, where `null` or a string stands for none.
  const given: CsvExporterOptions = typeof options === "object" && options !== null ? options : {}
  const maxDepth = JsonText.resolveMaxDepth(given.maxDepth)
  // Only `true` turns the mark on, for the same reason.
  const header = given.byteOrderMark === true ? BYTE_ORDER_MARK + HEADER_LINE : HEADER_LINE

  return {
    format: FORMAT,
    contentType: CONTENT_TYPE,
    fileExtension: FILE_EXTENSION,
    // NOTE: a body longer than V8's maximum string length (2^29 − 24 UTF-16 units in Node.js
    // 20, `buffer.constants.MAX_STRING_LENGTH`) makes `join` throw a RangeError. `batchSize`
    // keeps batches far below it unless single custom metric values are hundreds of megabytes.
    encode: (records, context) =>
      payloadOf(header, records.length, encodeRows(records, context, maxDepth)),
    encodeInSteps: function* (records, context) {
      // Every row starts with its own line break, so chunks follow each other with nothing between.
      const chunks: Array<string> = []
      for (let start = 0; start < records.length; start += Exporter.RECORDS_PER_STEP) {
        if (start > 0) yield
        const slice = records.slice(start, start + Exporter.RECORDS_PER_STEP)
        for (const chunk of encodeRows(slice, context, maxDepth)) chunks.push(chunk)
      }
      return payloadOf(header, records.length, chunks)
    },
  }
}

/**
 * Encodes records as rows, each after a line break, and returns them joined
 * in chunks of `ROWS_PER_CHUNK`. The text fields of one call are cached by
 * their value, because operation names, statuses and small custom metrics
 * repeat across a batch, so each distinct value is checked and quoted once.
 * The rows are the ones `encodeRow` writes.
 */
const encodeRows = (
  records: ReadonlyArray<OperationMetrics>,
  context: Exporter.ExportContext,
  maxDepth: number,
): Array<string> => {
  const fields = new Map<string, string>()
  const cachedTextField = (text: string): string => {
    let field = fields.get(text)
    if (field === undefined) {
      field = textField(text)
      if (fields.size < MAX_CACHED_FIELDS) fields.set(text, field)
    }
    return field
  }
  const options: JsonText.StringifyOptions = { maxDepth }

  const chunks: Array<string> = []
  let rows: Array<string> = []
  for (const record of records) {
    const operation = record.operation
    const status = record.status
    const customMetrics = context.includeCustomMetrics
      ? customMetricsText(record.customMetrics, options)
      : "{}"
    const row = [
      typeof operation === "string" ? cachedTextField(operation) : textField(operation),
      numberField(record.duration),
      numberField(record.memoryUsage),
      numberField(record.cpuUsage),
      numberField(record.timestamp),
      typeof status === "string" ? cachedTextField(status) : textField(status),
      cachedTextField(customMetrics),
    ]
    rows.push(LINE_BREAK + row.join(","))
    if (rows.length === ROWS_PER_CHUNK) {
      chunks.push(rows.join(""))
      rows = []
    }
  }
  if (rows.length > 0) chunks.push(rows.join(""))
  return chunks
}

/**
 * Rows per body chunk. The body is the concatenation of the chunks, a rope
 * as the native `JSON.stringify` returns, so no step copies it whole; about
 * 20 KB per chunk keeps that rope shallow.
 */
const ROWS_PER_CHUNK = 128

/** Distinct text fields that `encodeRows` keeps per call, so that the cache stays small. */
const MAX_CACHED_FIELDS = 1024

/**
 * Writes custom metrics as `JsonText` does, through the native
 * `JSON.stringify` when `JsonText.canUseJsonStringify` returns that it gives the
 * same text.
 */
const customMetricsText = (customMetrics: unknown, options: JsonText.StringifyOptions): string => {
  if (!JsonText.canUseJsonStringify(customMetrics, options)) {
    return JsonText.stringifyObject(customMetrics, options)
  }
  try {
    return JSON.stringify(customMetrics)
  } catch {
    // A getter or proxy gave a BigInt or a cycle on its second read.
    return JsonText.stringifyObject(customMetrics, options)
  }
}

const payloadOf = (
  header: string,
  recordCount: number,
  bodyChunks: ReadonlyArray<string>,
): Exporter.Payload => ({
  contentType: CONTENT_TYPE,
  fileExtension: FILE_EXTENSION,
  fileMode: "append",
  header,
  body: Exporter.concatenate(bodyChunks),
  bodyChunks,
  footer: LINE_BREAK,
  separator: "",
  recordCount,
})

/**
 * A layer with a CSV exporter as the `Exporter` service.
 *
 * @since 0.1.0
 */
export const layer = (options: CsvExporterOptions = {}): Layer.Layer<Exporter.Exporter> =>
  Layer.succeed(Exporter.Exporter, make(options))

/**
 * The plugin that the facade loads for `exportFormat: "csv"`. The
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

const KNOWN_OPTIONS: ReadonlyArray<string> = ["maxDepth", "byteOrderMark"]

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
        `csv exporter: unknown option ${name} is ignored. Known options: ${KNOWN_OPTIONS.join(", ")}.`,
      )
      continue
    }
    if (given === undefined) continue

    const used = key === "maxDepth" ? JsonText.resolveMaxDepth(given) : given === true
    if (Object.is(used, given)) continue
    const rule = key === "maxDepth" ? "a whole number of at least 0" : "true or false"
    logger.warn(
      `csv exporter: invalid value ${describeValue(given)} for option ${name} (expected ${rule}); using ${used} instead.`,
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
 * Encodes one record as a row without its line break.
 *
 * @since 0.1.0
 */
export const encodeRow = (
  record: OperationMetrics,
  context: Exporter.ExportContext,
  maxDepth: number = JsonText.DEFAULT_MAX_DEPTH,
): string =>
  [
    textField(record.operation),
    numberField(record.duration),
    numberField(record.memoryUsage),
    numberField(record.cpuUsage),
    numberField(record.timestamp),
    textField(record.status),
    textField(customMetricsOf(record, context, maxDepth)),
  ].join(",")

const customMetricsOf = (
  record: OperationMetrics,
  context: Exporter.ExportContext,
  maxDepth: number,
): string =>
  context.includeCustomMetrics ? JsonText.stringifyObject(record.customMetrics, { maxDepth }) : "{}"
