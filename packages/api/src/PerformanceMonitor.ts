/**
 * The reference API's `PerformanceMonitor`, in TypeScript idioms.
 *
 * @since 0.1.0
 */
import {
  Config,
  type CustomMetrics,
  Logging,
  Monitor,
  type OperationMetrics,
  type OperationSummary,
  type PerformanceConfig,
} from "@dinoair/monitor"

/**
 * Monitor options: any subset of the reference `PerformanceConfig`, in
 * camelCase. See the configuration reference for units and defaults.
 *
 * @since 0.1.0
 */
export type PerformanceOptions = Partial<PerformanceConfig.PerformanceConfig>

/**
 * Tracks operations: their duration, CPU, memory and custom metrics.
 *
 * It never throws from a monitoring call. An invalid option is logged and
 * replaced by its default.
 *
 * @example
 * ```ts
 * import { PerformanceMonitor } from "@dinoair/api"
 *
 * const monitor = new PerformanceMonitor({ maxMetricsRetained: 1000 })
 * const id = monitor.startOperation("data_processing", { userId: "123" })
 * // ... do work ...
 * const record = monitor.endOperation(id)
 * ```
 *
 * @since 0.1.0
 */
export class PerformanceMonitor {
  /** The underlying Effect service object, for code that mixes both APIs. */
  readonly instance: Monitor.MonitorInstance

  constructor(config?: PerformanceOptions, instance?: Monitor.MonitorInstance) {
    this.instance = instance ?? Monitor.makeUnsafe()
    // configure logs each invalid field once and keeps its default.
    if (config !== undefined) this.instance.configure(config)
  }

  /** The configuration in force. */
  get config(): PerformanceConfig.PerformanceConfig {
    return this.instance.config
  }

  /** Starts an operation and returns its id, which contains `name`. */
  startOperation(name: string, metadata?: CustomMetrics): string {
    return this.instance.startOperation(name, metadata)
  }

  /** Ends an operation and returns its record, or `undefined` for an unknown or unsampled id. */
  endOperation(id: string): OperationMetrics | undefined {
    return this.instance.endOperation(id)
  }

  /**
   * Monitors `fn` and returns its result, or, without `fn`, returns a scope
   * to bind to a block with `using`.
   *
   * Details: a returned promise is awaited before the operation ends. A
   * throw or rejection records status `error` and is rethrown unchanged.
   *
   * @example
   * ```ts
   * import { PerformanceMonitor } from "@dinoair/api"
   *
   * const monitor = new PerformanceMonitor()
   * const total = monitor.monitorOperation("sum", () => 1 + 2)
   * {
   *   using upload = monitor.monitorOperation("file_upload")
   *   upload.recordMetric("bytes", 1024)
   * }
   * ```
   */
  monitorOperation<A>(name: string, fn: () => A, metadata?: CustomMetrics): A
  monitorOperation(name: string, metadata?: CustomMetrics): Monitor.OperationScope
  monitorOperation<A>(
    name: string,
    fnOrMetadata?: (() => A) | CustomMetrics,
    metadata?: CustomMetrics,
  ): A | Monitor.OperationScope {
    return monitorWith(this.instance, "monitorOperation", name, fnOrMetadata, metadata)
  }

  /** Records a custom metric on an active operation; returns `false` for an unknown id. */
  recordCustomMetric(id: string, name: string, value: unknown): boolean {
    return this.instance.recordCustomMetric(id, name, value)
  }

  /** Summaries per operation name, or of one operation. */
  getMetricsSummary(operation?: string): Record<string, OperationSummary> {
    return this.instance.getMetricsSummary(operation)
  }

  /** Operations that started and have not ended. */
  getActiveOperations(): Array<Monitor.ActiveOperationInfo> {
    return this.instance.getActiveOperations()
  }

  /** Forgets retained records and summaries of one operation, or of all. */
  clearMetrics(operation?: string): void {
    this.instance.clearMetrics(operation)
  }

  /** Applies a partial update; invalid fields are logged and keep their value. */
  configure(update: PerformanceOptions): PerformanceConfig.PerformanceConfig {
    return this.instance.configure(update)
  }

  /** Counters of the monitor itself: started, sampled out, evicted and so on. */
  get stats(): Monitor.MonitorStats {
    return this.instance.stats
  }
}

/**
 * Runs `fn` or opens a scope on `monitor`, after checking the arguments
 * that TypeScript cannot check for a JavaScript caller. `label` is the
 * public function's name, for the warnings.
 *
 * Details: a second argument that is neither a function, an object nor
 * `undefined` is logged, and no operation starts, because the caller
 * would never end it. The returned scope then records nothing. Metadata
 * that is not an object is logged and the function runs without it.
 */
export const monitorWith = <A>(
  monitor: Monitor.MonitorInstance,
  label: string,
  name: string,
  fnOrMetadata: (() => A) | CustomMetrics | undefined,
  metadata: CustomMetrics | undefined,
): A | Monitor.OperationScope => {
  if (typeof fnOrMetadata === "function") {
    if (metadata === undefined || isObject(metadata)) {
      return monitor.run(name, fnOrMetadata, metadata)
    }
    warnOnce(
      monitor,
      `${label}:metadata:${typeof metadata}`,
      `${label}: ignored the metadata ${Config.describe(metadata)} of ${Config.describe(name)}: expected an object such as { userId: "123" }. The function runs without metadata.`,
    )
    return monitor.run(name, fnOrMetadata)
  }

  if (fnOrMetadata === undefined || isObject(fnOrMetadata)) return monitor.scope(name, fnOrMetadata)
  warnOnce(
    monitor,
    `${label}:second:${typeof fnOrMetadata}`,
    `${label}: ignored ${Config.describe(fnOrMetadata)} as the second argument for ${Config.describe(name)}: pass a function to monitor, a metadata object, or nothing. No operation was started.`,
  )
  inertMonitor ??= Monitor.makeUnsafe({ enabled: false })
  return inertMonitor.scope(typeof name === "string" ? name : "invalid")
}

const isObject = (value: unknown): value is object => typeof value === "object" && value !== null

/** A disabled monitor, whose scopes record nothing, for calls with invalid arguments. */
let inertMonitor: Monitor.MonitorInstance | undefined

/**
 * The invalid arguments already logged, per monitor. Each kind is logged
 * once per label and type, so a hot loop cannot flood the log.
 */
const argumentWarnings = new WeakMap<Monitor.MonitorInstance, Logging.LogOnce>()

const warnOnce = (monitor: Monitor.MonitorInstance, key: string, message: string): void => {
  let warnings = argumentWarnings.get(monitor)
  if (warnings === undefined) {
    warnings = new Logging.LogOnce()
    argumentWarnings.set(monitor, warnings)
  }
  if (warnings.first(key)) Logging.CurrentLogger.defaultValue().warn(message)
}
