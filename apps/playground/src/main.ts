/**
 * The playground's command-line entry point: parses flags, starts the
 * dashboard and `/metrics` server when asked, runs the playground, prints
 * its report, and keeps serving for `--linger-seconds`.
 *
 * Exit codes: 0 when every record is accounted for and the final export
 * delivered everything, 1 on a reconciliation mismatch or a failed run, 2
 * on an invalid flag or a `--port` in use, 3 when the records reconcile
 * but the final export did not deliver everything.
 */
import { getPerformanceMonitor, getTelemetryManager } from "@dinoair/api"
import { type MetricsServer, startMetricsServer } from "./metricsServer.js"
import { checkPaths, type PlaygroundOptions, parseCommand, UsageError, usage } from "./options.js"
import { runPlayground } from "./playground.js"
import { formatReport } from "./report.js"

const main = async (): Promise<number> => {
  let server: MetricsServer | undefined
  try {
    const command = parseCommand(process.argv.slice(2))
    if (command._tag === "Help") {
      process.stdout.write(usage())
      return 0
    }

    const options = command.options
    await checkPaths(options)
    server = options.serve === true ? await serveMetrics(options) : undefined
    const stop = new AbortController()
    const summary = await withStopSignal(options.repeatSeconds ?? 0, stop, () =>
      runPlayground(options, { onRecord: server?.observe, stop: stop.signal }),
    )
    process.stdout.write(formatReport(summary))
    server?.setState("finished")
    // A signal during the repeat asked the playground to end, so it does not linger.
    if (server !== undefined && !stop.signal.aborted) {
      await linger(server, options.lingerSeconds ?? 0)
    }
    if (!summary.records.ok) return 1
    return summary.exportComplete ? 0 : EXIT_NOT_DELIVERED
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`playground: ${error.message}\n`)
      return 2
    }
    process.stderr.write(
      `playground: the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    return 1
  } finally {
    await server?.close()
  }
}

/** The exit code of a run whose records reconcile but whose final export did not deliver everything. */
const EXIT_NOT_DELIVERED = 3

const serveMetrics = async (options: PlaygroundOptions): Promise<MetricsServer> => {
  const port = options.port ?? 0
  const consoleLogger = {
    debug: () => {},
    info: (message: string) => process.stderr.write(`[serve] ${message}\n`),
    warn: (message: string) => process.stderr.write(`[serve] ${message}\n`),
    error: (message: string) => process.stderr.write(`[serve] ${message}\n`),
  }

  let server: MetricsServer
  try {
    server = await startMetricsServer({
      port,
      logger: consoleLogger,
      // Read on every summary: the run replaces the process-wide monitor and manager when it starts.
      source: {
        summaries: () => getPerformanceMonitor().getMetricsSummary(),
        telemetry: () => getTelemetryManager().stats,
      },
    })
  } catch (error) {
    // Only a listen error is about the port; a missing page file is a failed run.
    if ((error as { syscall?: unknown } | null)?.syscall !== "listen") throw error
    const code = (error as { code?: unknown } | null)?.code
    throw new UsageError(
      `--port ${port} cannot be used on 127.0.0.1 (${typeof code === "string" ? code : String(error)}). Pass another port, or --port 0 for a free one.`,
    )
  }
  process.stdout.write(`Serving Prometheus metrics at ${server.url}\n`)
  process.stdout.write(`Serving the dashboard at ${server.dashboardUrl}\n`)
  return server
}

/**
 * Runs `work`, and when `repeatSeconds` is above 0, has SIGINT and SIGTERM
 * abort `stop` while it runs, so that Ctrl-C ends the repeated passes and
 * the report still prints. A single pass keeps the default handling, where
 * a signal ends the process at once.
 */
const withStopSignal = async <A>(
  repeatSeconds: number,
  stop: AbortController,
  work: () => Promise<A>,
): Promise<A> => {
  if (repeatSeconds <= 0) return work()

  const abort = (): void => stop.abort()
  process.on("SIGINT", abort)
  process.on("SIGTERM", abort)
  try {
    return await work()
  } finally {
    process.off("SIGINT", abort)
    process.off("SIGTERM", abort)
  }
}

/**
 * Waits `seconds`, or until SIGINT or SIGTERM, so that a Prometheus server
 * can scrape the final totals. A signal ends the wait, and the run then
 * exits with its own exit code.
 */
const linger = async (server: MetricsServer, seconds: number): Promise<void> => {
  if (seconds <= 0) return

  process.stdout.write(
    `Still serving ${server.dashboardUrl} and ${server.url} for ${seconds} s; press Ctrl-C to stop sooner.\n`,
  )
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      clearTimeout(timer)
      process.off("SIGINT", stop)
      process.off("SIGTERM", stop)
      resolve()
    }
    const timer = setTimeout(stop, seconds * 1000)
    process.on("SIGINT", stop)
    process.on("SIGTERM", stop)
  })
}

// Setting exitCode instead of calling process.exit lets stdout drain when it is a pipe.
process.exitCode = await main()
