/**
 * A request handler that Prometheus scrapes: it renders the live state of a
 * registry, and of records read at scrape time, as OpenMetrics 1.0.0 or
 * text 0.0.4, whichever the `Accept` header requests.
 *
 * It takes the `(request, response)` pair of `node:http`, so it also works
 * as Express or Connect middleware and in any framework that passes those
 * two objects. It serves every path it is given, so mount it on `/metrics`
 * yourself.
 *
 * Responses:
 * - `GET`: 200 with the rendered metrics, `Content-Type` of the negotiated
 *   format, `Content-Length` and `Vary: Accept`.
 * - `HEAD`: the same headers and no body.
 * - Any other method: 405 with `Allow: GET, HEAD`.
 * - A failure while rendering: 500 with a short plain-text body. The first
 *   failure of a streak is logged with its error, and the recovery after it
 *   is logged too. The handler never throws.
 *
 * Format negotiation follows `Exposition.negotiate`: a Prometheus server
 * gets OpenMetrics, and a scraper that sends no `Accept` header, or one
 * that names neither format, gets text 0.0.4. The body is not compressed.
 *
 * Timestamps are off by default here, unlike in the exporter: samples
 * scraped without timestamps get the scrape time, which Prometheus's
 * staleness handling relies on.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http"
 * import { Monitor } from "@dinoair/monitor"
 * import { PullHandler, Registry } from "@dinoair/exporter-prometheus"
 *
 * const monitor = Monitor.makeUnsafe()
 * const registry = Registry.make()
 * monitor.subscribe(registry.observe)
 * const metrics = PullHandler.make({ registry, records: () => monitor.getRecords() })
 * createServer((request, response) => {
 *   if (request.url === "/metrics") metrics(request, response)
 *   else response.writeHead(404).end()
 * }).listen(9464, "127.0.0.1")
 * ```
 *
 * @since 0.1.0
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import { type Exporter, ProcessMetrics } from "@dinoair/telemetry"
import { contentTypeOf, type Format, negotiate, render } from "./Exposition.js"
import { buildFamilies, type FamilyOptions, resolveFamilyOptions } from "./Families.js"
import type { Registry } from "./Registry.js"

/**
 * The inputs of a scrape. Every field is optional, and with none the
 * handler renders only process metrics.
 *
 * @since 0.1.0
 */
export interface ScrapeSource {
  /** The registry whose totals, and latest record per operation, are rendered. */
  readonly registry?: Registry | undefined
  /**
   * Records read at each scrape for the gauges, such as
   * `() => monitor.getRecords()` or `() => telemetry.bufferedRecords()`.
   * The latest one per operation is written.
   */
  readonly records?: (() => Iterable<OperationMetrics>) | undefined
}

/**
 * Options of the pull handler.
 *
 * @since 0.1.0
 */
export interface PullHandlerOptions extends FamilyOptions {
  /** Whether samples carry timestamps. Default `false`. */
  readonly timestamps?: boolean | undefined
  /** Whether custom metrics are written. Default `true`. */
  readonly includeCustomMetrics?: boolean | undefined
  /**
   * The source of process metrics: `true` for a collector that the handler
   * starts now and `close` stops, a function that returns them at each
   * scrape, or `false` for none. Default `true`.
   */
  readonly processMetrics?: boolean | (() => Exporter.ProcessMetrics | undefined) | undefined
  /** The logger for rendering failures. Default: `console` with a `[dinoair]` prefix. */
  readonly logger?: DinoLogger | undefined
  /** Wall clock in Unix seconds, for timestamps and process metrics. Default `Date.now() / 1000`. */
  readonly nowSeconds?: (() => number) | undefined
}

/**
 * A scrape handler: call it with a request and its response.
 *
 * @since 0.1.0
 */
export interface PullHandler {
  (request: IncomingMessage, response: ServerResponse): void
  /** Renders the live state in one format, as a `GET` would. It throws what rendering throws. */
  render(format: Format): string
  /** Stops the process-metrics collector that the handler started, if any. Safe to call twice. */
  close(): void
}

/**
 * The default of the pull handler's `timestamps`: samples get the scrape time.
 *
 * @since 0.1.0
 */
export const DEFAULT_TIMESTAMPS = false

/**
 * Creates a pull handler.
 *
 * @throws TypeError for an invalid option, naming it and the value given.
 *
 * @since 0.1.0
 */
export const make = (source: ScrapeSource, given: PullHandlerOptions = {}): PullHandler => {
  // Options may come from an untyped configuration, where `null` stands for none.
  const options: PullHandlerOptions = typeof given === "object" && given !== null ? given : {}
  const settings = resolveFamilyOptions(options, { timestamps: DEFAULT_TIMESTAMPS }, (message) => {
    throw new TypeError(`PullHandler: ${message}`)
  })
  const includeCustomMetrics = options.includeCustomMetrics ?? true
  if (typeof includeCustomMetrics !== "boolean") {
    throw new TypeError(
      `PullHandler: includeCustomMetrics must be true or false, got ${describeOption(includeCustomMetrics)}`,
    )
  }
  const logger = options.logger ?? consoleLogger
  const nowSeconds = options.nowSeconds ?? (() => Date.now() / 1000)
  const processMetrics = processMetricsSource(options.processMetrics ?? true)
  let failureStreak = 0

  const renderState = (format: Format): string => {
    const now = nowSeconds()
    const families = buildFamilies(
      {
        records: source.records?.() ?? [],
        registry: source.registry?.snapshot(),
        processMetrics: processMetrics.read(now),
        includeCustomMetrics,
        nowSeconds: now,
      },
      settings,
    )
    return render(families, format)
  }

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    try {
      const method = request.method ?? "GET"
      if (method !== "GET" && method !== "HEAD") {
        response.writeHead(405, { Allow: "GET, HEAD", "Content-Type": PLAIN_TEXT })
        response.end(`${method} is not allowed here; use GET or HEAD.\n`)
        return
      }

      const format = negotiate(request.headers.accept)
      const body = Buffer.from(renderState(format), "utf8")
      if (failureStreak > 0) {
        safeLog(() =>
          logger.info(
            `prometheus pull handler: rendering works again after ${failureStreak} failed scrapes.`,
          ),
        )
        failureStreak = 0
      }

      response.writeHead(200, {
        "Content-Type": contentTypeOf(format),
        "Content-Length": body.length,
        Vary: "Accept",
      })
      response.end(method === "HEAD" ? undefined : body)
    } catch (error) {
      failureStreak++
      if (failureStreak === 1) {
        safeLog(() =>
          logger.error(
            `prometheus pull handler: rendering the metrics failed, so scrapes get 500 until it works again: ${describeError(error)}`,
          ),
        )
      }
      answerFailure(response)
    }
  }

  return Object.assign(handle, { render: renderState, close: processMetrics.close })
}

const PLAIN_TEXT = "text/plain; charset=utf-8"

const consoleLogger: DinoLogger = {
  debug: () => {},
  info: (message, ...details) => console.info("[dinoair]", message, ...details),
  warn: (message, ...details) => console.warn("[dinoair]", message, ...details),
  error: (message, ...details) => console.error("[dinoair]", message, ...details),
}

interface ProcessMetricsSource {
  read(nowSeconds: number): Exporter.ProcessMetrics | undefined
  close(): void
}

const processMetricsSource = (
  option: boolean | (() => Exporter.ProcessMetrics | undefined),
): ProcessMetricsSource => {
  if (typeof option === "function") return { read: () => option(), close: () => {} }
  if (option === false) return { read: () => undefined, close: () => {} }
  if (option !== true) {
    throw new TypeError(
      `PullHandler: processMetrics must be true, false or a function, got ${describeOption(option)}`,
    )
  }

  const collector = new ProcessMetrics.ProcessMetricsCollector()
  collector.start()
  return {
    read: (nowSeconds) => collector.read(nowSeconds),
    close: () => collector.stop(),
  }
}

/** Renders an option value for an error message; `String` throws for some objects. */
const describeOption = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "object" && value !== null)
    return Array.isArray(value) ? "an array" : "an object"
  return String(value)
}

const answerFailure = (response: ServerResponse): void => {
  try {
    if (response.headersSent) {
      response.destroy()
      return
    }
    response.writeHead(500, { "Content-Type": PLAIN_TEXT })
    response.end("Rendering the metrics failed; the error is in the server log.\n")
  } catch {
    // The connection is already closed, so no response can be sent.
  }
}

// A logger that throws must not turn a 500 into an uncaught exception in the server.
const safeLog = (log: () => void): void => {
  try {
    log()
  } catch {
    // Nothing better to report to.
  }
}

const describeError = (error: unknown): string => {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`
  try {
    return String(error)
  } catch {
    return "an error that cannot be turned into text"
  }
}
