/**
 * One playground run: walk a tree, run the monitored workload on every
 * file with telemetry exporting JSON to a file, then reconcile what was
 * produced with what the file holds.
 */
import { mkdir, rm } from "node:fs/promises"
import { dirname } from "node:path"
import {
  disableTelemetry,
  enablePerformanceMonitoring,
  enableTelemetry,
  exportTelemetry,
  getPerformanceMonitor,
  getTelemetryManager,
  resetGlobals,
  setLogger,
} from "@dinoair/api"
import { RunConsole } from "./console.js"
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_SAMPLE_RATE,
  type PlaygroundOptions,
  type TelemetryBounds,
} from "./options.js"
import {
  buildOperationRows,
  type PlaygroundSummary,
  readExportedRecords,
  reconcile,
} from "./report.js"
import { listFiles } from "./walk.js"
import { OPERATIONS, processFile, runPool } from "./workload.js"

/**
 * Telemetry bounds for a run. Scheduled exports every second keep the
 * buffer small, and the caps are far above what a second of work produces,
 * so a normal run drops nothing.
 */
export const RUN_TELEMETRY: TelemetryBounds = {
  exportIntervalSeconds: 1,
  maxMetricsPerOperation: 20_000,
  maxTotalMetrics: 60_000,
  batchSize: 1000,
}

/** Records per operation that the monitor keeps for percentiles; older ones only count. */
export const RETAINED_PER_OPERATION = 20_000

/**
 * Runs the playground once and returns what it measured.
 *
 * Details:
 * - It works on the facade's process-wide monitor and telemetry manager,
 *   which it resets first, so each run starts from zero. Two runs must not
 *   overlap in one process.
 * - It deletes `outputFile` before it starts, so that the file contains
 *   this run's records only, and creates its directory.
 * - It replaces the process-wide DinoAir logger with one that writes above
 *   the progress bar and counts warnings. The logger stays installed after
 *   the run.
 * - It rejects when telemetry cannot be enabled or the file is not valid
 *   JSON. A reconciliation mismatch does not reject: it is reported in
 *   `records.ok` and `records.problems`.
 *
 * @example
 * ```ts
 * const summary = await runPlayground({ dir: "/tmp/tree", outputFile: "/tmp/out/telemetry.json" })
 * summary.records.ok // true when every record is accounted for
 * ```
 */
export const runPlayground = async (options: PlaygroundOptions): Promise<PlaygroundSummary> => {
  const started = performance.now()
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  const sampleRate = options.sampleRate ?? DEFAULT_SAMPLE_RATE
  const quiet = options.quiet ?? false
  const output = new RunConsole({
    progress: !quiet && process.stdout.isTTY === true,
    printWarnings: !quiet,
  })

  await resetGlobals()
  setLogger(output.logger)
  await mkdir(dirname(options.outputFile), { recursive: true })
  await rm(options.outputFile, { force: true })

  const { files, counts: walk } = await listFiles(options.dir, {
    limit: options.limit,
    exclude: [options.outputFile],
    onUnreadable: (path, error) =>
      output.warn(`[playground] skipped unreadable directory ${path}: ${describeError(error)}`),
  })

  enablePerformanceMonitoring({
    enableMemoryTracking: true,
    enableCpuTracking: true,
    samplingRate: sampleRate,
    maxMetricsRetained: RETAINED_PER_OPERATION,
  })
  const ready = await enableTelemetry({
    exportFormat: "json",
    exportDestination: "file",
    outputFile: options.outputFile,
    ...RUN_TELEMETRY,
    ...options.telemetry,
  })
  if (!ready) {
    await disableTelemetry()
    throw new Error(
      "telemetry could not be enabled: the JSON exporter or the file sink did not load (see the error above)",
    )
  }

  let filesProcessed = 0
  let filesFailed = 0
  let bytesRead = 0
  let bytesGzipped = 0
  output.startProgress(files.length)
  await runPool(files, processFile, {
    concurrency,
    onSuccess: (_file, result) => {
      filesProcessed++
      bytesRead += result.bytes
      bytesGzipped += result.gzipBytes
      output.tick()
    },
    onFailure: (file, error) => {
      filesFailed++
      output.warn(`[playground] skipped file ${file.path}: ${describeError(error)}`)
      output.tick()
    },
  })
  output.stopProgress()

  const exportComplete = await exportTelemetry()
  // Disabling stops collection and the export schedule, so the counters
  // read after it and the file read below describe the same moment.
  await disableTelemetry()
  const telemetry = getTelemetryManager()
  const stats = telemetry.stats
  const buffered = telemetry.getMetricsCount()
  const lastExportError = telemetry.lastError?.message
  // Shutdown closes the file sink; the buffer is empty after a complete export, so it writes nothing.
  await telemetry.shutdown()

  const monitor = getPerformanceMonitor()
  const summaries = monitor.getMetricsSummary()
  const exported = await readExportedRecords(options.outputFile)
  const operations = buildOperationRows(summaries, exported, buffered, OPERATIONS)
  const monitorRecorded = operations.reduce((sum, row) => sum + row.count, 0)
  const records = reconcile(
    {
      produced: stats.produced,
      delivered: stats.delivered,
      buffered: stats.buffered,
      inFlight: stats.inFlight,
      dropped: { ...stats.dropped },
    },
    exported.total,
    monitorRecorded,
  )

  return {
    dir: options.dir,
    outputFile: options.outputFile,
    elapsedSeconds: (performance.now() - started) / 1000,
    walk,
    filesProcessed,
    filesFailed,
    bytesRead,
    bytesGzipped,
    concurrency,
    sampleRate,
    operations,
    records,
    exportComplete,
    lastExportError,
    slowOperations: monitor.stats.slowOperations,
    slowThresholdMs: monitor.config.thresholdDurationMs,
    warnings: output.warnings,
    unprintedWarnings: output.unprintedWarnings,
    errors: output.errors,
  }
}

const describeError = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : String(error)
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message
}
