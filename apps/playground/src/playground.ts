/**
 * One playground run: walk a tree, run the monitored workload on every
 * file with telemetry exporting in the chosen format to the chosen
 * destination, then reconcile what was produced with what was exported.
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
  type OperationMetrics,
  resetGlobals,
  setLogger,
  type TelemetryOptions,
} from "@dinoair/api"
import { RunConsole } from "./console.js"
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_SAMPLE_RATE,
  type Destination,
  type ExportFormat,
  type PlaygroundOptions,
  type TelemetryBounds,
} from "./options.js"
import { buildOperationRows, type PlaygroundSummary, readExported, reconcile } from "./report.js"
import { type ListedFile, listFiles } from "./walk.js"
import { OPERATIONS, processFile, runPool, scanOperationName } from "./workload.js"

/**
 * Telemetry bounds for a run. Scheduled exports every second keep the
 * buffer small, and the caps are far above what a second of work produces,
 * so a normal run drops nothing.
 */
const RUN_TELEMETRY: TelemetryBounds = {
  exportIntervalSeconds: 1,
  maxMetricsPerOperation: 20_000,
  maxTotalMetrics: 60_000,
  batchSize: 1000,
}

/** Records per operation that the monitor keeps for percentiles; older ones only count. */
const RETAINED_PER_OPERATION = 20_000

/**
 * Callbacks into a run, for code that watches it.
 */
export interface RunHooks {
  /**
   * Called with every record that the process-wide monitor records during
   * the run, on the monitor's hot path, so it must be cheap and must not
   * throw. `--serve` counts them in its registry.
   */
  readonly onRecord?: ((record: OperationMetrics) => void) | undefined
  /**
   * Ends the workload early once aborted: no new file starts, and the run
   * goes on to its final export and report. The entry point aborts it on
   * Ctrl-C during `--repeat-seconds`.
   */
  readonly stop?: AbortSignal | undefined
}

/**
 * Runs the playground once and returns what it measured.
 *
 * Details:
 * - It works on the facade's process-wide monitor and telemetry manager,
 *   which it resets first, so each run starts from zero. Two runs must not
 *   overlap in one process.
 * - With destination `file`, it deletes `outputFile` before it starts, so
 *   that the file contains this run's records only, and creates its
 *   directory.
 * - With the Prometheus format and destination `http`, it turns exporter
 *   timestamps off and sends with `PUT`, as a Pushgateway requires; see
 *   `telemetryTarget`.
 * - It replaces the process-wide DinoAir logger with one that writes above
 *   the progress bar and counts warnings. The logger stays installed after
 *   the run.
 * - With `repeatSeconds`, it processes the tree again and again: after the
 *   first full pass, it stops taking new files once that many seconds have
 *   passed since the first pass started, or once `hooks.stop` is aborted.
 * - It rejects when telemetry cannot be enabled or the file cannot be read
 *   as its format. A reconciliation mismatch does not reject: it is
 *   reported in `records.ok` and `records.problems`.
 *
 * @example
 * ```ts
 * const summary = await runPlayground({ dir: "/tmp/tree", outputFile: "/tmp/out/telemetry.json" })
 * summary.records.ok // true when every record is accounted for
 * ```
 */
export const runPlayground = async (
  options: PlaygroundOptions,
  hooks: RunHooks = {},
): Promise<PlaygroundSummary> => {
  const started = performance.now()
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  const sampleRate = options.sampleRate ?? DEFAULT_SAMPLE_RATE
  const quiet = options.quiet ?? false
  const format = options.format ?? "json"
  const destination = options.destination ?? "file"
  const output = new RunConsole({
    progress: !quiet && process.stdout.isTTY === true,
    printWarnings: !quiet,
  })

  await resetGlobals()
  setLogger(output.logger)
  if (destination === "file") {
    await mkdir(dirname(options.outputFile), { recursive: true })
    await rm(options.outputFile, { force: true })
  }

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
  const unsubscribe =
    hooks.onRecord === undefined
      ? undefined
      : getPerformanceMonitor().instance.subscribe(hooks.onRecord)
  const ready = await enableTelemetry({
    ...telemetryTarget(format, destination, options),
    ...RUN_TELEMETRY,
    ...options.telemetry,
  })
  if (!ready) {
    unsubscribe?.()
    await disableTelemetry()
    throw new Error(
      `telemetry could not be enabled: the ${format} exporter or the ${destination} sink could not be set up (see the error above)`,
    )
  }

  let filesProcessed = 0
  let filesFailed = 0
  let bytesRead = 0
  let bytesGzipped = 0
  let passes = 0
  const extraOperations = options.extraOperations ?? 0
  const work =
    extraOperations === 0
      ? (file: ListedFile) => processFile(file)
      : (file: ListedFile, index: number) =>
          processFile(file, scanOperationName(index, extraOperations))
  const repeatMs = (options.repeatSeconds ?? 0) * 1000
  const workStarted = performance.now()
  // The first pass always completes unless stopped; later ones end when the time is up.
  const stopped = () =>
    hooks.stop?.aborted === true || (passes > 0 && performance.now() - workStarted >= repeatMs)

  // Only the first pass draws the progress bar; ticks after stopProgress do nothing.
  output.startProgress(files.length)
  do {
    await runPool(files, work, {
      concurrency,
      stopped,
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
    passes++
  } while (files.length > 0 && !stopped())
  unsubscribe?.()

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
  const exported = await readExported({
    format,
    destination,
    outputFile: options.outputFile,
    delivered: stats.delivered,
  })
  const operations = buildOperationRows(summaries, exported, buffered, OPERATIONS)
  const records = reconcile(
    {
      produced: stats.produced,
      delivered: stats.delivered,
      buffered: stats.buffered,
      inFlight: stats.inFlight,
      dropped: { ...stats.dropped },
    },
    exported,
    new Map(operations.map((row) => [row.operation, row.count])),
  )

  return {
    dir: options.dir,
    format,
    destination,
    outputFile: options.outputFile,
    endpoint: options.endpoint === undefined ? undefined : displayUrl(options.endpoint),
    elapsedSeconds: (performance.now() - started) / 1000,
    walk,
    passes,
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

/**
 * Builds the telemetry options that send a run's records to the chosen destination.
 *
 * A Pushgateway rejects samples with timestamps (HTTP 400), so the
 * Prometheus format over HTTP turns them off. It is sent with `PUT`, which
 * replaces the whole group of the URL with each push. Every push carries
 * the counter and histogram totals since the start of the run, so the
 * group contains the latest totals. `POST` would keep families that a later
 * push leaves out.
 */
const telemetryTarget = (
  format: ExportFormat,
  destination: Destination,
  options: Pick<PlaygroundOptions, "outputFile" | "endpoint">,
): TelemetryOptions => {
  const base = { exportFormat: format, exportDestination: destination }
  if (destination === "file") return { ...base, outputFile: options.outputFile }
  if (destination === "console") return base

  const http = { ...base, httpEndpoint: options.endpoint ?? null }
  if (format !== "prometheus") return http
  return { ...http, exporterOptions: { timestamps: false }, sinkOptions: { method: "PUT" } }
}

/** Removes the user name, password, query and fragment, which may contain credentials, from a URL. */
const displayUrl = (value: string): string => {
  try {
    const url = new URL(value)
    return `${url.origin}${url.pathname}`
  } catch {
    return "the HTTP endpoint"
  }
}

const describeError = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : String(error)
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message
}
