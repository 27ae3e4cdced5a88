/**
 * The end-of-run report: what was exported, read back from the output where
 * it can be, one row per operation, the record reconciliation, and the text
 * printed for them.
 */
import { readFile } from "node:fs/promises"
import type { OperationSummary } from "@dinoair/api"
import Table from "cli-table3"
import type { Destination, ExportFormat } from "./options.js"
import { countCsvRecords, readPrometheusCounters } from "./readBack.js"
import type { WalkCounts } from "./walk.js"

/**
 * What a run exported, as far as the playground can count it.
 *
 * JSON and CSV files hold one entry per record, so their records are
 * counted in the file (`source: "file"`). A Prometheus file contains
 * running totals instead, and HTTP and console output is gone once sent.
 * For them, `total` is the count of records that the sink reported
 * delivered (`source: "delivered"`).
 */
export interface ExportedRecords {
  readonly source: "file" | "delivered"
  /** Whether the output file exists. No file means nothing was delivered. `false` without a file. */
  readonly fileExists: boolean
  /** Records exported. */
  readonly total: number
  /** Records per operation, when the output has records to count. */
  readonly byOperation: ReadonlyMap<string, number> | undefined
  /**
   * `dinoair_operations_total` per operation, summed over statuses, as a
   * Prometheus file states it. Only for the Prometheus format to a file.
   */
  readonly counters?: ReadonlyMap<string, number> | undefined
}

/**
 * The format and destination of a run's telemetry, with the sink's delivered count.
 */
export interface ExportTarget {
  readonly format: ExportFormat
  readonly destination: Destination
  /** The file written, for destination `file`. */
  readonly outputFile: string
  /** Records that the sink reported delivered. */
  readonly delivered: number
}

/**
 * One operation's line of the table.
 */
export interface OperationRow {
  readonly operation: string
  /** Operations recorded by the monitor, including failed ones. */
  readonly count: number
  /** Operations that ended with status `error`. */
  readonly errors: number
  /** Duration percentiles in milliseconds, over the most recent records the monitor retains. */
  readonly p50Ms: number
  readonly p95Ms: number
  readonly p99Ms: number
  /** How many records the percentiles come from. */
  readonly retained: number
  /** Mean CPU percent of one core used by the process during the operation. */
  readonly meanCpuPercent: number | undefined
  /** Mean and max process RSS at the end of the operation, in bytes. */
  readonly meanMemoryBytes: number | undefined
  readonly maxMemoryBytes: number | undefined
  /** Records of this operation in the output file, when the output has records to count. */
  readonly exported: number | undefined
  /** Records of this operation still in the telemetry buffer. */
  readonly buffered: number
  /** Records that left the buffer unexported: `count - exported - buffered`, when `exported` is known. */
  readonly dropped: number | undefined
}

/**
 * Records dropped unexported, by reason.
 */
interface DroppedRecords {
  /** Past `maxMetricsPerOperation`. */
  readonly perOperation: number
  /** Past `maxTotalMetrics`. */
  readonly total: number
  /** Older than `retentionHours`. */
  readonly retention: number
  /** Removed by `clearMetrics`. */
  readonly cleared: number
  /** In batches that the destination rejected for good. */
  readonly rejected: number
}

/**
 * Telemetry counters at the end of a run, as the telemetry manager reports them.
 */
export interface TelemetryCounts {
  readonly produced: number
  readonly delivered: number
  readonly buffered: number
  readonly inFlight: number
  readonly dropped: DroppedRecords
}

/**
 * Whether every produced record is accounted for:
 * `produced = exported + buffered + inFlight + dropped`, where `exported`
 * is what the output file holds, or the delivered count when the output
 * has no records to count.
 */
export interface Reconciliation extends TelemetryCounts {
  /** Records exported: counted in the file, or the delivered count. */
  readonly exported: number
  /** The source of `exported`, as in `ExportedRecords`. */
  readonly exportedSource: ExportedRecords["source"]
  /** The sum of all drop reasons. */
  readonly droppedTotal: number
  readonly ok: boolean
  /** One sentence per check that failed; empty when `ok`. */
  readonly problems: ReadonlyArray<string>
}

/**
 * Everything a run found, measured and exported.
 */
export interface PlaygroundSummary {
  /** The walked tree. */
  readonly dir: string
  readonly format: ExportFormat
  readonly destination: Destination
  /** The file written, for destination `file`. */
  readonly outputFile: string
  /** The endpoint for destination `http`, without credentials, query or fragment. */
  readonly endpoint?: string | undefined
  /** Wall time of the whole run, walk and report included. */
  readonly elapsedSeconds: number
  readonly walk: WalkCounts
  /** Passes over the tree: 1, or more with `repeatSeconds`. The last one may be partial. */
  readonly passes: number
  /** Files that went through all operations, counted once per pass. */
  readonly filesProcessed: number
  /** Files where an operation failed; their later operations did not run. */
  readonly filesFailed: number
  readonly bytesRead: number
  readonly bytesGzipped: number
  readonly concurrency: number
  readonly sampleRate: number
  readonly operations: ReadonlyArray<OperationRow>
  readonly records: Reconciliation
  /** Whether the last export delivered everything that was buffered. */
  readonly exportComplete: boolean
  /** The last export failure, if any. */
  readonly lastExportError: string | undefined
  /** Operations slower than the monitor's threshold, warned about or not. */
  readonly slowOperations: number
  /** The monitor's slow-operation threshold in milliseconds. */
  readonly slowThresholdMs: number
  /** Warnings logged during the run, by DinoAir or the playground. */
  readonly warnings: number
  /** Warnings counted but not printed. */
  readonly unprintedWarnings: number
  readonly errors: number
}

/**
 * Counts what a run exported: the records of a JSON or CSV file, or the
 * delivered count with, for a Prometheus file, the counters it states.
 * Rejects when the file exists but cannot be read as its format, with the
 * reason in the message.
 */
export const readExported = async (target: ExportTarget): Promise<ExportedRecords> => {
  if (target.destination !== "file") {
    return {
      source: "delivered",
      fileExists: false,
      total: target.delivered,
      byOperation: undefined,
    }
  }

  const text = await readIfExists(target.outputFile)
  if (target.format === "json") return countJsonRecords(target.outputFile, text)
  if (text === undefined) {
    return target.format === "csv"
      ? { source: "file", fileExists: false, total: 0, byOperation: new Map() }
      : { source: "delivered", fileExists: false, total: target.delivered, byOperation: undefined }
  }

  if (target.format === "csv") {
    const byOperation = countCsvRecords(target.outputFile, text)
    return { source: "file", fileExists: true, total: sumOf(byOperation.values()), byOperation }
  }
  return {
    source: "delivered",
    fileExists: true,
    total: target.delivered,
    byOperation: undefined,
    counters: readPrometheusCounters(text),
  }
}

/**
 * Reads the exported JSON file and counts its records by operation.
 * Rejects when the file exists but is not the DinoAir JSON document
 * (`{"metrics": [...]}`), with the parse error in the message.
 */
export const readExportedRecords = async (file: string): Promise<ExportedRecords> =>
  countJsonRecords(file, await readIfExists(file))

const readIfExists = async (file: string): Promise<string | undefined> => {
  try {
    return await readFile(file, "utf8")
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined
    throw error
  }
}

const countJsonRecords = (file: string, text: string | undefined): ExportedRecords => {
  if (text === undefined) {
    return { source: "file", fileExists: false, total: 0, byOperation: new Map() }
  }

  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new Error(`the telemetry file ${file} is not valid JSON: ${(error as Error).message}`)
  }

  const metrics = (document as { metrics?: unknown } | null)?.metrics
  if (!Array.isArray(metrics)) {
    throw new Error(`the telemetry file ${file} has no "metrics" array`)
  }

  const byOperation = new Map<string, number>()
  for (const record of metrics) {
    const operation = String((record as { operation?: unknown } | null)?.operation)
    byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1)
  }
  return { source: "file", fileExists: true, total: metrics.length, byOperation }
}

/**
 * Builds one row per operation, in `order` first and then by name.
 */
export const buildOperationRows = (
  summaries: Readonly<Record<string, OperationSummary>>,
  exported: ExportedRecords,
  buffered: Readonly<Record<string, number>>,
  order: ReadonlyArray<string>,
): Array<OperationRow> => {
  const names = new Set([...Object.keys(summaries), ...(exported.byOperation?.keys() ?? [])])
  const rank = (name: string) => {
    const index = order.indexOf(name)
    return index === -1 ? order.length : index
  }
  const sorted = [...names].sort((a, b) => rank(a) - rank(b) || compareCodePoints(a, b))

  return sorted.map((operation) => {
    const summary = summaries[operation]
    const exportedCount =
      exported.byOperation === undefined ? undefined : (exported.byOperation.get(operation) ?? 0)
    const bufferedCount = buffered[operation] ?? 0
    const count = summary?.count ?? 0
    return {
      operation,
      count,
      errors: summary?.errorCount ?? 0,
      p50Ms: (summary?.p50Duration ?? 0) * 1000,
      p95Ms: (summary?.p95Duration ?? 0) * 1000,
      p99Ms: (summary?.p99Duration ?? 0) * 1000,
      retained: summary?.retained ?? 0,
      meanCpuPercent: summary?.meanCpuUsage,
      meanMemoryBytes: summary?.meanMemoryUsage,
      maxMemoryBytes: summary?.maxMemoryUsage,
      exported: exportedCount,
      buffered: bufferedCount,
      dropped: exportedCount === undefined ? undefined : count - exportedCount - bufferedCount,
    }
  })
}

/**
 * Checks that every record is accounted for. The telemetry counters must
 * add up, with the file's record count in place of `delivered` when the
 * file has records to count. Such a file must contain exactly the records
 * that the sink reported delivered. Telemetry must have collected as many
 * records as the monitor recorded. A Prometheus file's
 * `dinoair_operations_total` must state each operation's monitor count,
 * because the exporter counts every record it collects.
 */
export const reconcile = (
  counts: TelemetryCounts,
  exported: ExportedRecords,
  recorded: ReadonlyMap<string, number>,
): Reconciliation => {
  const dropped = counts.dropped
  const droppedTotal =
    dropped.perOperation + dropped.total + dropped.retention + dropped.cleared + dropped.rejected
  const accounted = exported.total + counts.buffered + counts.inFlight + droppedTotal
  const monitorRecorded = sumOf(recorded.values())

  const problems: Array<string> = []
  if (counts.produced !== accounted) {
    problems.push(
      `telemetry produced ${counts.produced} records, but exported + buffered + in flight + dropped is ${accounted}`,
    )
  }
  if (exported.source === "file" && counts.delivered !== exported.total) {
    problems.push(
      `the sink reported ${counts.delivered} records delivered, but the file holds ${exported.total}`,
    )
  }
  if (monitorRecorded !== counts.produced) {
    problems.push(
      `the monitor recorded ${monitorRecorded} operations, but telemetry collected ${counts.produced}`,
    )
  }
  if (exported.counters !== undefined) {
    const names = new Set([...recorded.keys(), ...exported.counters.keys()])
    for (const operation of [...names].sort(compareCodePoints)) {
      const counted = exported.counters.get(operation) ?? 0
      const expected = recorded.get(operation) ?? 0
      if (counted !== expected) {
        problems.push(
          `the file's dinoair_operations_total for ${operation} is ${counted}, but the monitor recorded ${expected} operations`,
        )
      }
    }
  }

  return {
    ...counts,
    exported: exported.total,
    exportedSource: exported.source,
    droppedTotal,
    ok: problems.length === 0,
    problems,
  }
}

/**
 * Formats the summary as the text printed at the end of a run: a few
 * lines about the walk, the table, the reconciliation line and the path of
 * the file written.
 */
export const formatReport = (summary: PlaygroundSummary): string => {
  const lines: Array<string> = []
  const walk = summary.walk

  lines.push(
    `Walked ${summary.dir}: ${count(walk.files, "file", "files")} in ${count(walk.directories, "directory", "directories")}` +
      `${walk.truncated ? " (stopped at --limit)" : ""}; skipped ${count(walk.symlinks, "symbolic link", "symbolic links")}, ` +
      `${count(walk.otherEntries, "other entry", "other entries")} and ${count(walk.unreadableDirectories, "unreadable directory", "unreadable directories")}.`,
  )
  lines.push(
    `Processed ${count(summary.filesProcessed, "file", "files")}${summary.passes > 1 ? ` in ${summary.passes} passes` : ""} (${formatMiB(summary.bytesRead)} MiB read, ` +
      `${formatMiB(summary.bytesGzipped)} MiB after gzip), ${summary.filesFailed} failed, ` +
      `concurrency ${summary.concurrency}, sample rate ${summary.sampleRate}, ` +
      `in ${summary.elapsedSeconds.toFixed(2)} s.`,
  )
  lines.push("")
  lines.push(formatTable(summary.operations))
  lines.push("")
  lines.push(formatReconciliation(summary.records))
  for (const problem of summary.records.problems) lines.push(`  ${problem}`)
  if (summary.records.exportedSource === "delivered") {
    lines.push(`Exported is the sink's delivered count, because ${whyDelivered(summary)}.`)
  }

  if (!summary.exportComplete) {
    lines.push(
      `The final export did not deliver everything${summary.lastExportError === undefined ? "" : `: ${summary.lastExportError}`}.`,
    )
  }
  const unprinted =
    summary.unprintedWarnings > 0 ? ` (${summary.unprintedWarnings} not printed)` : ""
  lines.push(
    `Warnings: ${summary.warnings}${unprinted}. Errors: ${summary.errors}. ` +
      `Operations slower than ${summary.slowThresholdMs} ms: ${summary.slowOperations}.`,
  )
  lines.push(formatTarget(summary))
  return `${lines.join("\n")}\n`
}

const whyDelivered = (summary: PlaygroundSummary): string => {
  if (summary.destination === "http") return "the records went to an HTTP endpoint"
  if (summary.destination === "console") return "the records went to standard output"
  return "a Prometheus file holds running totals, not records; its dinoair_operations_total is checked against the monitor instead"
}

const FORMAT_NAMES: Readonly<Record<ExportFormat, string>> = {
  json: "JSON",
  prometheus: "Prometheus text",
  csv: "CSV",
}

/**
 * Formats the last line: where the telemetry went, or, when the final
 * export did not deliver everything, how many records were left behind.
 */
const formatTarget = (summary: PlaygroundSummary): string => {
  const format = FORMAT_NAMES[summary.format]
  const target = targetOf(summary)
  const { delivered, buffered, inFlight, dropped } = summary.records
  if (summary.destination === "http" && delivered === 0 && dropped.rejected > 0) {
    return `Telemetry (${format}) was rejected by ${target}: ${count(dropped.rejected, "record", "records")} dropped`
  }
  if (!summary.exportComplete) {
    const left = buffered + inFlight
    const rejected = dropped.rejected > 0 ? `, ${dropped.rejected} rejected` : ""
    return delivered === 0 && dropped.rejected === 0
      ? `Telemetry (${format}) was not delivered to ${target}: ${count(left, "record", "records")} still buffered`
      : `Telemetry (${format}) was not fully delivered to ${target}: ${delivered} delivered, ${left} still buffered${rejected}`
  }
  if (summary.destination === "http") return `Telemetry (${format}) sent to ${target}`
  if (summary.destination === "console") return `Telemetry (${format}) written to standard output`
  return `Telemetry written to ${summary.outputFile}`
}

const targetOf = (summary: PlaygroundSummary): string => {
  if (summary.destination === "http") return summary.endpoint ?? "the HTTP endpoint"
  if (summary.destination === "console") return "standard output"
  return summary.outputFile
}

/** Formats `n` with the singular or plural noun. */
const count = (n: number, singular: string, plural: string): string =>
  `${n} ${n === 1 ? singular : plural}`

/**
 * Formats the reconciliation as one line ending in `OK` or `MISMATCH`.
 */
export const formatReconciliation = (records: Reconciliation): string => {
  const dropped = records.dropped
  return (
    `Records: produced ${records.produced} = exported ${records.exported} + buffered ${records.buffered}` +
    ` + in flight ${records.inFlight} + dropped ${records.droppedTotal}` +
    ` (per-operation cap ${dropped.perOperation}, total cap ${dropped.total}, retention ${dropped.retention},` +
    ` cleared ${dropped.cleared}, rejected ${dropped.rejected}): ${records.ok ? "OK" : "MISMATCH"}`
  )
}

const formatTable = (rows: ReadonlyArray<OperationRow>): string => {
  const table = new Table({
    head: [
      "operation",
      "count",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "CPU %",
      "RSS mean MiB",
      "RSS max MiB",
      "exported",
      "dropped",
    ],
    colAligns: [
      "left",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
    ],
    // Plain text: no color codes in logs or in redirected output.
    style: { head: [], border: [] },
    // No rule between body rows, so the table stays as tall as its row count.
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  })

  for (const row of rows) {
    table.push([
      row.operation,
      String(row.count),
      formatMs(row.p50Ms),
      formatMs(row.p95Ms),
      formatMs(row.p99Ms),
      row.meanCpuPercent === undefined ? "-" : row.meanCpuPercent.toFixed(1),
      row.meanMemoryBytes === undefined ? "-" : formatMiB(row.meanMemoryBytes),
      row.maxMemoryBytes === undefined ? "-" : formatMiB(row.maxMemoryBytes),
      row.exported === undefined ? "-" : String(row.exported),
      row.dropped === undefined ? "-" : String(row.dropped),
    ])
  }
  if (rows.length === 0) table.push([{ colSpan: 10, content: "no operations recorded" }])
  return table.toString()
}

/** Formats milliseconds with about three significant digits below 100 ms. */
const formatMs = (ms: number): string => {
  if (ms < 1) return ms.toFixed(3)
  if (ms < 100) return ms.toFixed(2)
  return ms.toFixed(1)
}

const compareCodePoints = (a: string, b: string): number => {
  if (a < b) return -1
  if (a > b) return 1
  return 0
}

const formatMiB = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1)

const sumOf = (values: Iterable<number>): number => {
  let total = 0
  for (const value of values) total += value
  return total
}
