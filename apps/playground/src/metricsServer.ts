/**
 * The server of `--serve`: an HTTP server on 127.0.0.1 that serves the
 * live dashboard at `/`, its JSON summary at `/api/summary`, and the run's
 * operations for a Prometheus server at `/metrics`.
 *
 * A `Registry` of `@dinoair/exporter-prometheus` counts every record that
 * the facade's monitor records, and a `PullHandler` renders it, with the
 * process metrics, in OpenMetrics 1.0.0 or text 0.0.4 as the scraper's
 * `Accept` header requests. The counter `dinoair_operations_total` and the
 * histogram `dinoair_operation_latency_seconds` therefore grow for the life
 * of the process, as Prometheus expects, whatever telemetry exports.
 *
 * The dashboard's page, script and uPlot's files are read from disk when
 * the server starts (see `dashboardAssets.ts`), so the page needs no
 * network beyond this server. The page polls `/api/summary`, which
 * `dashboard.ts` builds.
 *
 * The server listens on 127.0.0.1 only, so nothing outside this machine
 * can reach it. The dashboard's paths serve only requests whose `Host` is
 * this address or `localhost` with the server's port, so that a web page
 * elsewhere cannot read them through a DNS name that it points at
 * 127.0.0.1. Their responses carry a Content-Security-Policy that allows
 * scripts, styles and requests from the server itself only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { DinoLogger, OperationMetrics } from "@dinoair/api"
import { PullHandler, Registry } from "@dinoair/exporter-prometheus"
import { type DashboardSource, makeDashboard, type RunState } from "./dashboard.js"
import { type Asset, loadAssets } from "./dashboardAssets.js"

/** The address the server listens on. */
const METRICS_HOST = "127.0.0.1"

/** The path that serves the metrics. */
const METRICS_PATH = "/metrics"

/** The path that serves the dashboard's JSON summary. */
const SUMMARY_PATH = "/api/summary"

/** The Content-Security-Policy of the dashboard's responses. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * Options of `startMetricsServer`.
 */
export interface MetricsServerOptions {
  /** The port to listen on; 0 picks a free one. Default 0. */
  readonly port?: number | undefined
  /** The logger of scrape failures and dashboard failures. */
  readonly logger: DinoLogger
  /** The readers of the monitor's summaries and the telemetry counters, for the dashboard. */
  readonly source: DashboardSource
}

/**
 * A running server.
 */
export interface MetricsServer {
  /** The scrape URL, `http://127.0.0.1:<port>/metrics`. */
  readonly url: string
  /** The dashboard's URL, `http://127.0.0.1:<port>/`. */
  readonly dashboardUrl: string
  readonly port: number
  /**
   * Counts one ended operation for `/metrics` and keeps it for the
   * dashboard's export previews. It is bound, so it can be passed as a
   * listener.
   */
  readonly observe: (record: OperationMetrics) => void
  /** Sets the run state that the dashboard shows. */
  readonly setState: (state: RunState) => void
  /** Stops listening, closes open connections and stops the process-metrics collector. */
  close(): Promise<void>
}

/**
 * Starts the server. Rejects with the listen error, such as `EADDRINUSE`,
 * when the port cannot be used, and with the read error when a file of
 * the page is missing.
 */
export const startMetricsServer = async (options: MetricsServerOptions): Promise<MetricsServer> => {
  const assets = await loadAssets()
  const registry = Registry.make()
  const dashboard = makeDashboard(options.source, { registry })
  const metrics = PullHandler.make({ registry }, { logger: options.logger })
  let port = 0
  let summaryFailureLogged = false

  const sendSummary = (response: ServerResponse, head: boolean): void => {
    let body: string
    try {
      body = JSON.stringify(dashboard.summary())
    } catch (error) {
      if (!summaryFailureLogged) {
        summaryFailureLogged = true
        options.logger.warn(`the dashboard summary could not be built: ${String(error)}`)
      }
      send(response, 500, "text/plain; charset=utf-8", "The summary could not be built.\n", head)
      return
    }
    send(response, 200, "application/json; charset=utf-8", body, head)
  }

  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/"
    if (path === METRICS_PATH) {
      metrics(request, response)
      return
    }

    const asset = assets.get(path)
    if (asset === undefined && path !== SUMMARY_PATH) {
      send(
        response,
        404,
        "text/plain; charset=utf-8",
        `Not found. The dashboard is at /, its data at ${SUMMARY_PATH} and the metrics at ${METRICS_PATH}.\n`,
      )
      return
    }
    if (!isOwnHost(request, port)) {
      send(
        response,
        403,
        "text/plain; charset=utf-8",
        `Forbidden: open the dashboard as http://${METRICS_HOST}:${port}/.\n`,
      )
      return
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("Allow", "GET, HEAD")
      send(response, 405, "text/plain; charset=utf-8", "Only GET and HEAD are allowed.\n")
      return
    }

    const head = request.method === "HEAD"
    if (asset === undefined) sendSummary(response, head)
    else sendAsset(response, asset, head)
  })

  try {
    await listen(server, options.port ?? 0)
  } catch (error) {
    metrics.close()
    throw error
  }

  port = (server.address() as AddressInfo).port
  return {
    url: `http://${METRICS_HOST}:${port}${METRICS_PATH}`,
    dashboardUrl: `http://${METRICS_HOST}:${port}/`,
    port,
    observe: (record) => {
      registry.observe(record)
      dashboard.observe(record)
    },
    setState: dashboard.setState,
    close: async () => {
      metrics.close()
      // A Prometheus server and the dashboard page keep their connections alive, so close waits for none.
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

const isOwnHost = (request: IncomingMessage, port: number): boolean => {
  const host = request.headers.host
  return host === `${METRICS_HOST}:${port}` || host === `localhost:${port}`
}

const sendAsset = (response: ServerResponse, asset: Asset, head: boolean): void => {
  response.writeHead(200, {
    ...DASHBOARD_HEADERS,
    "Content-Type": asset.contentType,
    "Content-Length": asset.body.length,
    "Cache-Control": "no-cache",
  })
  response.end(head ? undefined : asset.body)
}

const send = (
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  head = false,
): void => {
  response.writeHead(status, {
    ...DASHBOARD_HEADERS,
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  })
  response.end(head ? undefined : body)
}

const DASHBOARD_HEADERS = {
  "Content-Security-Policy": DASHBOARD_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
} as const
