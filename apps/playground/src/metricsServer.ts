/**
 * The scrape endpoint of `--serve`: an HTTP server on 127.0.0.1 whose
 * `/metrics` path renders the run's operations for a Prometheus server.
 *
 * A `Registry` of `@dinoair/exporter-prometheus` counts every record that
 * the facade's monitor records, and a `PullHandler` renders it, with the
 * process metrics, in OpenMetrics 1.0.0 or text 0.0.4 as the scraper's
 * `Accept` header requests. The counter `dinoair_operations_total` and the
 * histogram `dinoair_operation_latency_seconds` therefore grow for the life
 * of the process, as Prometheus expects, whatever telemetry exports.
 *
 * The server listens on 127.0.0.1 only, so nothing outside this machine
 * can scrape it.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { DinoLogger, OperationMetrics } from "@dinoair/api"
import { PullHandler, Registry } from "@dinoair/exporter-prometheus"

/** The address the server listens on. */
export const METRICS_HOST = "127.0.0.1"

/** The path that serves the metrics. */
export const METRICS_PATH = "/metrics"

/**
 * A running scrape endpoint.
 */
export interface MetricsServer {
  /** The scrape URL, `http://127.0.0.1:<port>/metrics`. */
  readonly url: string
  readonly port: number
  /** Counts one ended operation. It is bound, so it can be passed as a listener. */
  readonly observe: (record: OperationMetrics) => void
  /** Stops listening, closes open connections and stops the process-metrics collector. */
  close(): Promise<void>
}

/**
 * Starts the server on `port` (0 picks a free one). Rejects with the
 * listen error, such as `EADDRINUSE`, when the port cannot be used.
 */
export const startMetricsServer = async (
  port: number,
  logger: DinoLogger,
): Promise<MetricsServer> => {
  const registry = Registry.make()
  const metrics = PullHandler.make({ registry }, { logger })
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0]
    if (path === METRICS_PATH) {
      metrics(request, response)
      return
    }
    response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" })
    response.end(`Not found. The metrics are at ${METRICS_PATH}.\n`)
  })

  try {
    await listen(server, port)
  } catch (error) {
    metrics.close()
    throw error
  }

  const actualPort = (server.address() as AddressInfo).port
  return {
    url: `http://${METRICS_HOST}:${actualPort}${METRICS_PATH}`,
    port: actualPort,
    observe: registry.observe,
    close: async () => {
      metrics.close()
      // A Prometheus server keeps its connection alive between scrapes, so close waits for none.
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const listen = (server: Server, port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, METRICS_HOST, () => {
      server.off("error", reject)
      resolve()
    })
  })
