/**
 * The reference API's `TelemetryManager`, in TypeScript idioms: I/O returns
 * promises, and nothing throws.
 *
 * @since 0.1.0
 */
import { Config, Logging } from "@dinoair/monitor"
import { JsonText, Telemetry, type TelemetryConfig } from "@dinoair/telemetry"
import { Effect } from "effect"
import { type DinoAirError, toError } from "./errors.js"
import { loadPipeline } from "./plugins.js"
import { RegistryKeeper } from "./registryKeeper.js"

/**
 * Telemetry options: any subset of the reference `TelemetryConfig`, in
 * camelCase, plus options passed through to the exporter and the sink.
 *
 * @since 0.1.0
 */
export interface TelemetryOptions extends Partial<TelemetryConfig.TelemetryConfig> {
  /** Options for the exporter that `exportFormat` names, such as `{ indent: 2 }` for JSON. */
  readonly exporterOptions?: Record<string, unknown> | undefined
  /** Options for the sink that `exportDestination` names, such as HTTP headers. */
  readonly sinkOptions?: Record<string, unknown> | undefined
}

/**
 * Collects ended operations and exports them, when enabled, on a schedule.
 *
 * Details: collection starts as soon as `enable` is called, before its
 * promise settles, so code that does not await it loses nothing. Exports
 * run every `exportIntervalSeconds` on a timer that never keeps the
 * process alive, and a final flush runs on `beforeExit`. The Prometheus
 * counter and histogram keep their totals when a configuration change
 * rebuilds the exporter, unless the format or the `buckets` change or a
 * setup fails in between.
 *
 * @example
 * ```ts
 * import { TelemetryManager } from "@dinoair/api"
 *
 * const manager = new TelemetryManager({
 *   enabled: true,
 *   exportFormat: "json",
 *   exportDestination: "file",
 *   outputFile: "telemetry.json",
 *   maxTotalMetrics: 10000,
 * })
 * const delivered = await manager.forceExport()
 * await manager.shutdown()
 * ```
 *
 * @since 0.1.0
 */
export class TelemetryManager {
  /** The underlying Effect service object, for code that mixes both APIs. */
  readonly instance: Telemetry.TelemetryInstance
  #exporterOptions: Record<string, unknown> = {}
  #sinkOptions: Record<string, unknown> = {}
  #pipelineKey: string | undefined
  #ready: Promise<boolean> = Promise.resolve(true)
  readonly #registries = new RegistryKeeper()

  constructor(config?: TelemetryOptions, instance?: Telemetry.TelemetryInstance) {
    const { exporterOptions, sinkOptions, rest } = splitOptions(config)
    this.#exporterOptions = exporterOptions ?? {}
    this.#sinkOptions = sinkOptions ?? {}
    this.instance = instance ?? Telemetry.makeUnsafe({ enabled: false })
    // configure checks every field, `enabled` and non-object input included, and
    // logs each invalid one. It never enables, so that step is left to `enable`.
    if (rest !== undefined) Effect.runSync(this.instance.configure(rest))
    if (rest?.enabled === true) void this.enable()
  }

  /** The configuration in force. */
  get config(): TelemetryConfig.TelemetryConfig {
    return this.instance.config
  }

  /** Whether records are being collected. */
  get enabled(): boolean {
    return this.instance.enabled
  }

  /**
   * Applies `overrides`, starts collecting at once, then loads the exporter
   * and sink. Resolves `true` when both are ready, `false` (after logging
   * the package to install) when one is missing.
   */
  enable(overrides?: TelemetryOptions): Promise<boolean> {
    const { exporterOptions, sinkOptions, rest } = splitOptions(overrides)
    this.#exporterOptions = exporterOptions ?? this.#exporterOptions
    this.#sinkOptions = sinkOptions ?? this.#sinkOptions
    try {
      Effect.runSync(this.instance.enable(rest))
    } catch (error) {
      logger().error(`telemetry: enable failed unexpectedly: ${String(error)}`)
      return Promise.resolve(false)
    }
    return this.#refreshPipeline("enable")
  }

  /**
   * Flushes what is buffered, then stops. Resolves `true` when the flush
   * delivered everything. On a disabled manager it flushes nothing and
   * resolves `true` only when nothing is buffered.
   *
   * Gotchas: the flush stops after `shutdownTimeoutMs`. It then resolves
   * `false`, logs how many records were left, and keeps them buffered for
   * a later `enable` and export.
   */
  async disable(): Promise<boolean> {
    await this.#ready
    if (!this.enabled) return this.instance.getTotalMetricsCount() === 0
    return Effect.runPromise(this.instance.disable)
  }

  /**
   * Applies a partial update. Invalid fields are logged and keep their
   * value. A new format or destination is loaded before the next export.
   */
  configure(update: TelemetryOptions): TelemetryConfig.TelemetryConfig {
    const { exporterOptions, sinkOptions, rest } = splitOptions(update)
    this.#exporterOptions = exporterOptions ?? this.#exporterOptions
    this.#sinkOptions = sinkOptions ?? this.#sinkOptions
    const config = Effect.runSync(this.instance.configure(rest))
    if (this.enabled || this.#pipelineKey !== undefined) void this.#refreshPipeline("configure")
    return config
  }

  /**
   * Exports everything buffered now. Resolves `true` only when all of it
   * was delivered; `false` when telemetry is disabled, a plugin is
   * missing, or a delivery failed (the records then stay buffered).
   */
  async forceExport(): Promise<boolean> {
    await this.#ready
    if (!this.enabled) {
      logger().debug("telemetry: export skipped because telemetry is disabled. Call enable first.")
      return false
    }
    if (this.#pipelineKey === undefined) await this.#refreshPipeline("forceExport")
    return Effect.runPromise(this.instance.forceExport)
  }

  /** Drops every buffered record, counting them as `cleared`. */
  clearMetrics(): void {
    this.instance.clearMetrics()
  }

  /** Disables with a bounded final flush and closes the sink. Safe to call more than once. */
  async shutdown(): Promise<void> {
    await this.#ready
    // A manager that was never enabled has no sink to close and nothing it could export.
    if (!this.enabled && this.#pipelineKey === undefined) return
    await Effect.runPromise(this.instance.shutdown)
  }

  /** Buffered records per operation name. */
  getMetricsCount(): Record<string, number> {
    return this.instance.getMetricsCount()
  }

  /** Buffered records in all. */
  getTotalMetricsCount(): number {
    return this.instance.getTotalMetricsCount()
  }

  /** Counters that reconcile exactly: produced = delivered + buffered + inFlight + dropped. */
  get stats(): Telemetry.TelemetryStats {
    return this.instance.stats
  }

  /**
   * The failure of the last export that failed, as an `Error` with a
   * stable `code`. A later export that delivers records and fails no batch
   * clears it.
   */
  get lastError(): DinoAirError | undefined {
    const error = this.instance.stats.lastError
    return error === undefined ? undefined : toError(error)
  }

  /**
   * Loads the exporter and sink when the configuration names other ones
   * than those in use. `caller` names the public method in the log line
   * about a load that a later call replaced.
   */
  #refreshPipeline(caller: "enable" | "configure" | "forceExport"): Promise<boolean> {
    const config = this.instance.config
    // JsonText never throws, so options holding a BigInt or a cycle still get a key.
    const key =
      JsonText.stringify([
        config.exportFormat,
        config.exportDestination,
        config.outputFile,
        config.httpEndpoint,
        this.#exporterOptions,
        this.#sinkOptions,
      ]) ?? ""
    if (key === this.#pipelineKey) return this.#ready

    this.#pipelineKey = key
    const exporterOptions = this.#exporterOptions
    const sinkOptions = this.#sinkOptions
    // Chain on the previous load, so that an older, slower load cannot
    // overwrite a newer pipeline.
    this.#ready = this.#ready.then(async () => {
      const format = config.exportFormat
      const withRegistry = this.#registries.exporterOptions(
        format,
        exporterOptions,
        this.instance.pipeline,
      )
      const loaded = await loadPipeline(
        config,
        { exporterOptions: withRegistry, sinkOptions },
        logger(),
      )
      if (this.#pipelineKey !== key) {
        // A newer configuration replaced this one while it loaded, so its sink is never used.
        if ("exporter" in loaded && loaded.sink.close !== undefined) {
          await Effect.runPromise(loaded.sink.close).catch(() => undefined)
        }
        const ready = this.instance.pipeline !== undefined
        logger().info(
          `telemetry: ${caller} was superseded by a later call that changed the format, the destination or their options before the ${format} exporter and ${config.exportDestination} sink finished loading; it resolves ${ready} and the later call's configuration applies.`,
        )
        return ready
      }
      if ("exporter" in loaded) {
        this.#registries.install(this.instance, format, exporterOptions, loaded)
        return true
      }
      this.instance.setPipeline(undefined, loaded)
      logger().error(
        `telemetry: ${Logging.withoutFinalPeriod(loaded.message)}. Exports return false until this is fixed; records stay buffered.`,
      )
      return false
    })
    return this.#ready
  }
}

const logger = () => Logging.CurrentLogger.defaultValue()

const splitOptions = (
  options: unknown,
): {
  exporterOptions: Record<string, unknown> | undefined
  sinkOptions: Record<string, unknown> | undefined
  rest: Record<string, unknown>
} => {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    // The config resolver logs a non-object input by itself.
    return {
      exporterOptions: undefined,
      sinkOptions: undefined,
      rest: options as Record<string, unknown>,
    }
  }
  // Read every key once, through guards, so that a throwing getter or a
  // Proxy trap cannot throw out of a facade call.
  const rest = Config.configInput(options, NO_KEYS)
  const { exporterOptions, sinkOptions } = rest
  delete rest.exporterOptions
  delete rest.sinkOptions
  return {
    exporterOptions: plainRecord(exporterOptions, "exporterOptions"),
    sinkOptions: plainRecord(sinkOptions, "sinkOptions"),
    rest,
  }
}

const NO_KEYS: ReadonlySet<string> = new Set()

const plainRecord = (value: unknown, name: string): Record<string, unknown> | undefined => {
  if (value === undefined) return undefined
  if (value !== null && typeof value === "object" && !Array.isArray(value))
    return value as Record<string, unknown>
  logger().warn(`TelemetryConfig: ignored ${name}: expected an object.`)
  return undefined
}
