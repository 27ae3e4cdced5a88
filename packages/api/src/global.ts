/**
 * The reference API's global functions, working on one process-wide
 * monitor and one process-wide telemetry manager, both created lazily on
 * first use.
 *
 * @since 0.1.0
 */
import { type CustomMetrics, type DinoLogger, Logging, type Monitor } from "@dinoair/monitor"
import type { TelemetryConfig } from "@dinoair/telemetry"
import { monitorWith, PerformanceMonitor, type PerformanceOptions } from "./PerformanceMonitor.js"
import { TelemetryManager, type TelemetryOptions } from "./TelemetryManager.js"

let globalMonitor: PerformanceMonitor | undefined
let globalTelemetry: TelemetryManager | undefined

/**
 * Returns the process-wide monitor, creating it on first use with the
 * default configuration.
 *
 * @since 0.1.0
 */
export const getPerformanceMonitor = (): PerformanceMonitor => {
  globalMonitor ??= new PerformanceMonitor()
  return globalMonitor
}

/**
 * Enables the process-wide monitor, applying `config` first.
 *
 * @since 0.1.0
 */
export const enablePerformanceMonitoring = (config?: PerformanceOptions): void => {
  const monitor = getPerformanceMonitor()
  if (config !== undefined) monitor.configure(config)
  monitor.configure({ enabled: true })
}

/**
 * Disables the process-wide monitor: operations become cheap no-ops.
 *
 * @since 0.1.0
 */
export const disablePerformanceMonitoring = (): void => {
  getPerformanceMonitor().configure({ enabled: false })
}

/**
 * Applies a partial update to the process-wide monitor.
 *
 * @since 0.1.0
 */
export const configurePerformance = (update: PerformanceOptions): void => {
  getPerformanceMonitor().configure(update)
}

/**
 * Monitors `fn` with the process-wide monitor and returns its result, or,
 * without `fn`, returns a scope for `using`.
 *
 * Gotchas: a second argument that is neither a function, a metadata
 * object nor `undefined` (such as `42` or `null`) is logged and starts no
 * operation, and the returned scope records nothing. Metadata that is not
 * an object is logged and left out.
 *
 * @example
 * ```ts
 * import { monitorPerformance } from "@dinoair/api"
 *
 * const rows = await monitorPerformance("database_query", async () => [1, 2, 3])
 * {
 *   using query = monitorPerformance("database_query")
 *   query.recordMetric("rows", rows.length)
 * }
 * ```
 *
 * @since 0.1.0
 */
export function monitorPerformance<A>(name: string, fn: () => A, metadata?: CustomMetrics): A
export function monitorPerformance(name: string, metadata?: CustomMetrics): Monitor.OperationScope
export function monitorPerformance<A>(
  name: string,
  fnOrMetadata?: (() => A) | CustomMetrics,
  metadata?: CustomMetrics,
): A | Monitor.OperationScope {
  return monitorWith(
    getPerformanceMonitor().instance,
    "monitorPerformance",
    name,
    fnOrMetadata,
    metadata,
  )
}

/**
 * Returns the process-wide telemetry manager, creating it disabled on first use.
 *
 * @since 0.1.0
 */
export const getTelemetryManager = (): TelemetryManager => {
  globalTelemetry ??= new TelemetryManager()
  return globalTelemetry
}

/**
 * Enables telemetry with `options`. Collection starts at once; the promise
 * resolves `true` when the exporter and sink are ready.
 *
 * @since 0.1.0
 */
export const enableTelemetry = (options?: TelemetryOptions): Promise<boolean> =>
  getTelemetryManager().enable(options)

/**
 * Flushes and disables telemetry. Resolves `true` when the flush delivered everything.
 *
 * Gotchas: the flush stops after `shutdownTimeoutMs`. It then resolves
 * `false`, logs how many records were left, and keeps them buffered.
 *
 * @since 0.1.0
 */
export const disableTelemetry = (): Promise<boolean> => getTelemetryManager().disable()

/**
 * Applies a partial update to the process-wide telemetry manager.
 *
 * @since 0.1.0
 */
export const configureTelemetry = (update: TelemetryOptions): TelemetryConfig.TelemetryConfig =>
  getTelemetryManager().configure(update)

/**
 * Exports everything buffered now. Resolves `false`, and never rejects,
 * when something was not delivered.
 *
 * @since 0.1.0
 */
export const exportTelemetry = (): Promise<boolean> => getTelemetryManager().forceExport()

/**
 * Buffered records per operation name in the process-wide telemetry manager.
 *
 * @since 0.1.0
 */
export const getMetricsCount = (): Record<string, number> => getTelemetryManager().getMetricsCount()

/**
 * Replaces the logger of every DinoAir object in the process. Any object
 * with `debug`, `info`, `warn` and `error` methods fits: `console`, pino,
 * winston.
 *
 * @since 0.1.0
 */
export const setLogger = (logger: DinoLogger): void => {
  const valid = hasLevelMethods(logger)
  if (!valid) {
    Logging.CurrentLogger.defaultValue().warn(
      "setLogger: ignored a logger without debug, info, warn and error methods; the current logger stays.",
    )
    return
  }
  Logging.setProcessLogger(logger)
}

/**
 * Shuts down the process-wide telemetry manager and drops both
 * singletons, so that the next call creates fresh ones. For tests.
 *
 * @since 0.1.0
 */
export const resetGlobals = async (): Promise<void> => {
  const telemetry = globalTelemetry
  globalTelemetry = undefined
  globalMonitor = undefined
  if (telemetry !== undefined) await telemetry.shutdown()
}

/**
 * Returns the process-wide monitor and telemetry manager without creating
 * them, for the testing kit.
 */
export const peekGlobals = (): {
  readonly monitor: PerformanceMonitor | undefined
  readonly telemetry: TelemetryManager | undefined
} => ({ monitor: globalMonitor, telemetry: globalTelemetry })

/** Checks a logger's four methods, treating a throwing getter or Proxy trap as missing. */
const hasLevelMethods = (logger: unknown): boolean => {
  if (logger === null || typeof logger !== "object") return false
  try {
    const candidate = logger as Record<string, unknown>
    return ["debug", "info", "warn", "error"].every(
      (level) => typeof candidate[level] === "function",
    )
  } catch {
    return false
  }
}
