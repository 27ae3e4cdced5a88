/**
 * The reference API's `PerformanceMonitor`, in TypeScript idioms.
 *
 * @since 0.1.0
 */
import {
  type CustomMetrics,
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
    if (typeof fnOrMetadata === "function") return this.instance.run(name, fnOrMetadata, metadata)
    return this.instance.scope(name, fnOrMetadata)
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
