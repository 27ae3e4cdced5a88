/**
 * The playground's command-line entry point: parses flags, starts the
 * `/metrics` server when asked, runs the playground, prints its report,
 * and keeps serving for `--linger-seconds`.
 *
 * Exit codes: 0 when every record is accounted for, 1 on a reconciliation
 * mismatch or a failed run, 2 on an invalid flag or a `--port` in use.
 */
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
    const summary = await runPlayground(options, { onRecord: server?.observe })
    process.stdout.write(formatReport(summary))
    if (server !== undefined) await linger(server, options.lingerSeconds ?? 0)
    return summary.records.ok ? 0 : 1
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

const serveMetrics = async (options: PlaygroundOptions): Promise<MetricsServer> => {
  const port = options.port ?? 0
  const consoleLogger = {
    debug: () => {},
    info: (message: string) => process.stderr.write(`[metrics] ${message}\n`),
    warn: (message: string) => process.stderr.write(`[metrics] ${message}\n`),
    error: (message: string) => process.stderr.write(`[metrics] ${message}\n`),
  }

  let server: MetricsServer
  try {
    server = await startMetricsServer(port, consoleLogger)
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    throw new UsageError(
      `--port ${port} cannot be used on 127.0.0.1 (${typeof code === "string" ? code : String(error)}). Pass another port, or --port 0 for a free one.`,
    )
  }
  process.stdout.write(`Serving Prometheus metrics at ${server.url}\n`)
  return server
}

/**
 * Waits `seconds`, or until SIGINT or SIGTERM, so that a Prometheus server
 * can scrape the final totals. A signal ends the wait, and the run then
 * exits with its own exit code.
 */
const linger = async (server: MetricsServer, seconds: number): Promise<void> => {
  if (seconds <= 0) return

  process.stdout.write(
    `Still serving ${server.url} for ${seconds} s; press Ctrl-C to stop sooner.\n`,
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
