/**
 * The Telemetry service: the manager that collects ended operations into a
 * bounded buffer and exports them in batches through one Exporter and one
 * Sink.
 *
 * Lifecycle contract:
 * - Collection is opt-in. `enable` starts collecting at once, starts the
 *   export schedule, and registers a final flush on `beforeExit`.
 * - Each export drains what the buffer held when it started, in batches of
 *   `batchSize`. A batch that fails with a transient error goes back to the
 *   buffer, which stays bounded. A batch that the destination rejects for
 *   good is counted as `rejected`.
 * - At most one export is in flight; a second request waits for the first.
 * - `forceExport` succeeds with `true` only when everything that was
 *   buffered has been delivered.
 * - `disable` flushes within `shutdownTimeoutMs` and then stops; records
 *   that the flush did not deliver stay buffered. `shutdown` disables the
 *   same way, closes the sink, and is idempotent. The final
 *   flush on `beforeExit` also stops after `shutdownTimeoutMs`.
 * - Counts are exact at all times:
 *   produced = delivered + buffered + in flight + dropped, where dropped
 *   includes the rejected records.
 * - A sink whose `deliver` returns something other than an Effect, or an
 *   exporter whose `encode` returns no payload, fails each batch for good:
 *   the batch is counted as rejected and the plugin is reported once.
 *
 * @since 0.1.0
 * @module
 */
import { hostname } from "node:os"
import {
  BoundedStore,
  Config,
  type DinoLogger,
  Logging,
  OperationBus,
  type OperationMetrics,
} from "@dinoair/monitor"
import { type Cause, Clock, Context, Effect, Exit, Layer, type Scope, Semaphore } from "effect"
import { type ExportContext, Exporter, type ExporterShape, type Payload } from "./Exporter.js"
import { BoundedQueue } from "./internal/BoundedQueue.js"
import { ProcessMetricsCollector } from "./ProcessMetrics.js"
import * as SchedulerModule from "./Scheduler.js"
import { Scheduler, type SchedulerShape } from "./Scheduler.js"
import { Sink, type SinkShape } from "./Sink.js"
import { SinkError } from "./SinkError.js"
import {
  defaultTelemetryConfig,
  type TelemetryConfig,
  telemetryConfigFields,
} from "./TelemetryConfig.js"

/**
 * Options of `make` and `layer`: any subset of `TelemetryConfig`, plus the
 * sources a test may replace.
 *
 * @since 0.1.0
 */
export interface TelemetryOptions extends Partial<TelemetryConfig> {
  /** The logger for warnings. Default: the context's `CurrentLogger`. */
  readonly logger?: DinoLogger | undefined
  /** Wall clock in Unix seconds, for retention and export timestamps. Default `Date.now() / 1000`. */
  readonly nowSeconds?: (() => number) | undefined
  /**
   * The source of records: `"process"` for every monitor in the process,
   * or a function that subscribes a listener and returns its remover, such
   * as `monitor.subscribe`. Default `"process"`.
   */
  readonly source?:
    | "process"
    | ((listener: (record: OperationMetrics) => void) => () => void)
    | undefined
  /** The name written as the source of each export. Default `<hostname>:<pid>`. */
  readonly sourceName?: string | undefined
}

/**
 * Counts of buffered records that left without being delivered, by reason.
 *
 * @since 0.1.0
 */
export type TelemetryDropCounts = BoundedStore.DropCounts & {
  /** Records in batches that the destination rejected for good. */
  readonly rejected: number
}

/**
 * Counters of a telemetry manager. They reconcile exactly:
 * `produced = delivered + buffered + inFlight + sum(dropped)`.
 *
 * @since 0.1.0
 */
export interface TelemetryStats {
  /** Records collected since the manager was created or last reset. */
  readonly produced: number
  /** Records that a sink accepted. */
  readonly delivered: number
  /** Records in the buffer now. */
  readonly buffered: number
  /** Records in the batch being delivered now. */
  readonly inFlight: number
  /** Records that left the buffer without being delivered, by reason. */
  readonly dropped: TelemetryDropCounts
  /** Batches delivered. */
  readonly batchesDelivered: number
  /** Batches that failed, transient or not. */
  readonly batchesFailed: number
  /**
   * The failure of the last export that failed, with credentials already
   * removed by the sink. A later export that delivers records and fails no
   * batch clears it.
   */
  readonly lastError: SinkError | undefined
  /** Records that went to the overflow bucket because of `maxOperationNames`. */
  readonly overflowedNames: number
  /**
   * Records that no exporter's `observe` will see: they were collected
   * while no pipeline was set, and more than `maxTotalMetrics` records were
   * collected after them before an exporter was set. Not part of `dropped`,
   * because these records may still be buffered and delivered.
   */
  readonly unobservedDropped: number
}

/**
 * The exporter and sink that an export goes through.
 *
 * @since 0.1.0
 */
export interface Pipeline {
  /** Format that encodes each batch. */
  readonly exporter: ExporterShape
  /** Destination that receives the encoded payloads. */
  readonly sink: SinkShape
}

/**
 * A telemetry manager. Build one with `make` or `layer` in Effect code, or
 * with `makeUnsafe` in plain code.
 *
 * @since 0.1.0
 */
export class TelemetryInstance {
  #config: TelemetryConfig
  readonly #logger: DinoLogger
  readonly #nowSeconds: () => number
  readonly #subscribe: (listener: (record: OperationMetrics) => void) => () => void
  readonly #sourceName: string
  readonly #scheduler: SchedulerShape
  readonly #buffer: BoundedStore.BoundedStore<OperationMetrics>
  readonly #exportLock = Semaphore.makeUnsafe(1)
  readonly #processMetrics = new ProcessMetricsCollector()
  readonly #warnings = new Logging.LogOnce()
  #pipeline: Pipeline | undefined
  /** Sinks replaced by `setPipeline`, closed by the next export, when none of them can be in use. */
  #retiredSinks: Array<SinkShape> = []
  #observe: ((record: OperationMetrics) => void) | undefined
  /**
   * Records collected while no pipeline is set. The next exporter's
   * `observe` receives them, including those that the buffer dropped meanwhile.
   */
  readonly #unobserved: BoundedQueue<OperationMetrics>
  #missingPipeline: SinkError | undefined
  #unsubscribe: (() => void) | undefined
  #exitHandler: (() => void) | undefined
  #produced = 0
  #delivered = 0
  #inFlight = 0
  #rejected = 0
  #batchesDelivered = 0
  #batchesFailed = 0
  #failureStreak = 0
  #lastError: SinkError | undefined
  #shutdown: Promise<void> | undefined

  constructor(
    given: TelemetryOptions,
    logger: DinoLogger,
    scheduler: SchedulerShape,
    pipeline?: Pipeline,
  ) {
    // Plain JavaScript callers can pass `null`, a primitive or an array. All mean no options,
    // and the configuration decode below logs the last two.
    const options: TelemetryOptions =
      typeof given === "object" && given !== null && !Array.isArray(given) ? given : {}
    this.#logger = options.logger ?? logger
    this.#nowSeconds = options.nowSeconds ?? (() => Date.now() / 1000)
    this.#sourceName = options.sourceName ?? `${hostname()}:${process.pid}`
    const source = options.source ?? "process"
    this.#subscribe = source === "process" ? OperationBus.subscribeAll : source
    this.#scheduler = scheduler
    this.#pipeline = pipeline
    this.#observe = pipeline?.exporter.observe
    this.#config = this.#resolve(
      defaultTelemetryConfig,
      options === given ? Config.configInput(options, SOURCE_OPTIONS) : given,
    )
    // Buffered records are stored by column, at about a quarter of the memory of the objects.
    this.#buffer = new BoundedStore.BoundedStore<OperationMetrics>(
      { ...this.#bounds(), nowSeconds: this.#nowSeconds },
      BoundedStore.columnQueue,
    )
    this.#unobserved = new BoundedQueue(this.#config.maxTotalMetrics)
    this.#buffer.onFirstOverflow((name) => {
      this.#logger.warn(
        `telemetry: more than ${this.#config.maxOperationNames} distinct operation names are buffered; "${name}" and later new names share the "${BoundedStore.OVERFLOW_OPERATION}" bucket. Raise maxOperationNames if they are real.`,
      )
    })
  }

  /** The configuration in force. */
  get config(): TelemetryConfig {
    return this.#config
  }

  /** Whether records are being collected. */
  get enabled(): boolean {
    return this.#unsubscribe !== undefined
  }

  /**
   * Sets the exporter and sink, or clears them with the reason exports will fail.
   *
   * Details: a new exporter with `observe` first observes the records
   * collected while no pipeline was set (the last `maxTotalMetrics` of
   * them, even those the buffer dropped since) and every record still
   * buffered, each once.
   */
  setPipeline(pipeline: Pipeline | undefined, missing?: SinkError): void {
    const previousExporter = this.#pipeline?.exporter
    const previous = this.#pipeline?.sink
    if (previous !== undefined && previous !== pipeline?.sink) this.#retiredSinks.push(previous)
    this.#pipeline = pipeline
    this.#missingPipeline = pipeline === undefined ? missing : undefined

    const observe = pipeline?.exporter.observe
    this.#observe = observe
    if (pipeline === undefined) return

    // A new exporter with running totals has seen none of these records,
    // for example those collected while its plugin was loading.
    const waiting = this.#unobserved.drain()
    if (observe !== undefined && pipeline.exporter !== previousExporter) {
      // The buffer rebuilds its records as new objects, so a buffered record
      // is matched to a waiting one by id, operation and timestamp.
      const seen = new Set(waiting.map(replayKeyOf))
      for (const record of waiting) observeSafely(observe, record)
      for (const record of this.#buffer.records()) {
        if (!seen.has(replayKeyOf(record))) observeSafely(observe, record)
      }
    }
  }

  /** The exporter and sink in use, if any. */
  get pipeline(): Pipeline | undefined {
    return this.#pipeline
  }

  /**
   * Buffers one ended operation. It is the listener that `enable`
   * subscribes; call it directly to feed records from elsewhere.
   */
  readonly collect = (record: OperationMetrics): void => {
    this.#produced++
    this.#buffer.add(record)
    if (this.#observe !== undefined) observeSafely(this.#observe, record)
    else if (this.#pipeline === undefined) this.#unobserved.push(record)
  }

  /**
   * Applies `overrides`, starts collecting, starts the export schedule and
   * registers the final flush on `beforeExit`. Collection starts before the
   * returned effect completes its first step, so nothing ended after this
   * call is missed.
   */
  enable(overrides?: Partial<TelemetryConfig>): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.#config = { ...this.#resolve(this.#config, overrides), enabled: true }
      this.#buffer.reconfigure(this.#bounds())
      this.#unobserved.resize(this.#config.maxTotalMetrics)
      this.#unsubscribe ??= this.#subscribe(this.collect)
      if (this.#config.includeSystemMetrics) this.#processMetrics.start()
      this.#registerExitFlush()
      return this.#scheduler.start(this.#config.exportIntervalSeconds, this.#scheduledExport)
    })
  }

  /**
   * Flushes what is buffered, waiting at most `shutdownTimeoutMs`, then
   * stops collecting and exporting. Succeeds with `true` when the flush
   * delivered everything.
   *
   * Gotchas: when the time limit is hit, the batch in flight goes back to
   * the buffer, the number of records left is logged, and they stay
   * buffered for a later `enable` and export. They are not dropped.
   */
  get disable(): Effect.Effect<boolean> {
    return this.#disableWithin("disable")
  }

  /**
   * Applies a partial update. Invalid fields are logged and keep their
   * current value. Bounds apply at once; a new interval restarts the
   * schedule. `enabled` in the update is ignored: use `enable` and `disable`.
   */
  configure(update: unknown): Effect.Effect<TelemetryConfig> {
    return Effect.suspend(() => {
      const previous = this.#config
      const next = this.#resolve(previous, update)
      this.#config = { ...next, enabled: previous.enabled }
      this.#buffer.reconfigure(this.#bounds())
      this.#unobserved.resize(next.maxTotalMetrics)
      if (this.enabled && next.includeSystemMetrics) this.#processMetrics.start()
      if (!next.includeSystemMetrics) this.#processMetrics.stop()
      const restart =
        this.enabled &&
        this.#scheduler.running &&
        next.exportIntervalSeconds !== previous.exportIntervalSeconds
      const done = Effect.succeed(this.#config)
      return restart
        ? Effect.andThen(
            this.#scheduler.start(next.exportIntervalSeconds, this.#scheduledExport),
            done,
          )
        : done
    })
  }

  /**
   * Exports everything buffered now and succeeds with `true` when all of it
   * was delivered. It never fails: errors are logged, counted and turned
   * into `false`.
   */
  get forceExport(): Effect.Effect<boolean> {
    return this.#exportLock.withPermits(1)(
      Effect.suspend(() => Effect.andThen(this.#closeRetiredSinks(), this.#drain())),
    )
  }

  /**
   * Disables, waiting at most `shutdownTimeoutMs` for the final flush, then
   * closes the sink. Later calls wait for the first one and do nothing more.
   */
  get shutdown(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.#shutdown === undefined) {
        const run = Effect.gen({ self: this }, function* () {
          yield* this.#disableWithin("shutdown")
          yield* this.#closeRetiredSinks()
          yield* closeSafely(this.#pipeline?.sink)
        })
        this.#shutdown = Effect.runPromise(run)
      }
      const pending = this.#shutdown
      return Effect.promise(() => pending)
    })
  }

  /** Buffered records per operation name. */
  getMetricsCount(): Record<string, number> {
    return this.#buffer.counts()
  }

  /** Buffered records in all. */
  getTotalMetricsCount(): number {
    this.#buffer.pruneExpired()
    return this.#buffer.size
  }

  /** Returns a fresh array of the buffered records, oldest first within each operation. */
  bufferedRecords(): Array<OperationMetrics> {
    return this.#buffer.records()
  }

  /** Drops every buffered record, counting them as `cleared`. */
  clearMetrics(): void {
    this.#buffer.clear()
  }

  /** Counters that reconcile exactly; see `TelemetryStats`. */
  get stats(): TelemetryStats {
    this.#buffer.pruneExpired()
    return {
      produced: this.#produced,
      delivered: this.#delivered,
      buffered: this.#buffer.size,
      inFlight: this.#inFlight,
      dropped: { ...this.#buffer.dropped, rejected: this.#rejected },
      batchesDelivered: this.#batchesDelivered,
      batchesFailed: this.#batchesFailed,
      lastError: this.#lastError,
      overflowedNames: this.#buffer.overflowed,
      unobservedDropped: this.#unobserved.dropped,
    }
  }

  /** Zeroes the counters and clears the record of logged warnings. Buffered records stay and count as produced. */
  resetStats(): void {
    this.#buffer.resetCounters()
    this.#produced = this.#buffer.size + this.#inFlight
    this.#delivered = 0
    this.#rejected = 0
    this.#batchesDelivered = 0
    this.#batchesFailed = 0
    this.#failureStreak = 0
    this.#lastError = undefined
    this.#unobserved.dropped = 0
    this.#warnings.reset()
  }

  /**
   * A scheduled export. Its waits (attempt timeouts, retry backoff) sleep
   * on unref'd timers, so that it does not keep a finished program alive.
   * The final flush on `beforeExit` then waits for it within its time limit.
   */
  get #scheduledExport(): Effect.Effect<boolean> {
    // No pipeline and no reason for its absence means that none was set
    // yet, such as while the facade imports a plugin. That is not a
    // failure, so the scheduled export skips without logging or recording
    // an error. A plugin that failed to load has a reason, which is reported.
    return Effect.suspend(() => {
      if (this.#pipeline === undefined && this.#missingPipeline === undefined) {
        return Effect.succeed(false)
      }
      return Effect.flatMap(Effect.service(Clock.Clock), (clock) =>
        this.forceExport.pipe(
          Effect.provideService(Clock.Clock, SchedulerModule.unreferencedClock(clock)),
        ),
      )
    })
  }

  /** Sends the records buffered at the start, batch after batch. Runs under the export lock. */
  #drain(): Effect.Effect<boolean> {
    const pipeline = this.#pipeline
    if (pipeline === undefined) return Effect.succeed(this.#reportMissingPipeline())

    this.#buffer.pruneExpired()
    let remaining = this.#buffer.size
    if (remaining === 0) return Effect.succeed(true)

    const context = {
      timestamp: this.#nowSeconds(),
      processMetrics: this.#config.includeSystemMetrics
        ? this.#processMetrics.read(this.#nowSeconds())
        : undefined,
      includeCustomMetrics: this.#config.includeCustomMetrics,
      source: this.#sourceName,
      // `collect` and `setPipeline` pass every buffered record to the current exporter's observe.
      recordsObserved: pipeline.exporter.observe !== undefined,
    }

    return Effect.gen({ self: this }, function* () {
      let allDelivered = true
      while (remaining > 0) {
        const batch = yield* this.#takeBatch(Math.min(this.#config.batchSize, remaining))
        if (batch.length === 0) break
        remaining -= batch.length

        const delivery = Effect.suspend(() => deliverChecked(pipeline, batch, context)).pipe(
          // An interrupted delivery (a shutdown timeout) must not lose its batch.
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              this.#inFlight = 0
              this.#buffer.giveBack(batch)
            }),
          ),
        )
        const exit = yield* Effect.exit(delivery)
        this.#inFlight = 0
        if (Exit.isSuccess(exit)) {
          this.#recordSuccess(batch.length)
          continue
        }

        allDelivered = false
        const error = toSinkError(exit.cause, pipeline)
        this.#recordFailure(error, batch)
        if (error.retryable) break
      }
      // An export that delivered records and failed no batch clears the
      // failure of an earlier one. An export with nothing to send keeps it.
      if (allDelivered) this.#lastError = undefined
      return allDelivered
    })
  }

  /**
   * Takes up to `count` records from the buffer, `TAKE_SLICE_RECORDS` at a
   * time with a turn of the event loop between slices. Records taken so far
   * count as in flight, and an interruption puts them back.
   */
  #takeBatch(count: number): Effect.Effect<Array<OperationMetrics>> {
    const batch: Array<OperationMetrics> = []
    const takeSlice = (): Effect.Effect<Array<OperationMetrics>> => {
      const wanted = Math.min(TAKE_SLICE_RECORDS, count - batch.length)
      const slice = this.#buffer.take(wanted)
      for (const record of slice) batch.push(record)
      this.#inFlight = batch.length
      if (slice.length < wanted || batch.length >= count) return Effect.succeed(batch)
      return Effect.flatMap(Effect.yieldNow, takeSlice)
    }

    return Effect.suspend(takeSlice).pipe(
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          this.#inFlight = 0
          this.#buffer.giveBack(batch)
        }),
      ),
    )
  }

  /**
   * Stops the schedule, flushes within `shutdownTimeoutMs`, then stops
   * collecting. `caller` names the call in the warning about the time limit.
   */
  #disableWithin(caller: "disable" | "shutdown"): Effect.Effect<boolean> {
    return Effect.gen({ self: this }, function* () {
      const timeoutMs = this.#config.shutdownTimeoutMs
      const limited = Effect.gen({ self: this }, function* () {
        yield* this.#scheduler.stop
        // A manager that never collected has nothing to flush, and may have no pipeline at all.
        const idle = !this.enabled && this.#buffer.size === 0
        return idle ? true : yield* this.forceExport
      })
      const flushed = yield* limited.pipe(Effect.timeoutOption(timeoutMs))
      this.#stopCollecting()
      this.#config = { ...this.#config, enabled: false }
      if (flushed._tag === "Some") return flushed.value

      const outcome = caller === "disable" ? "stay buffered" : "stay unexported"
      this.#logger.warn(
        `telemetry: the flush in ${caller} did not finish within ${timeoutMs} ms (shutdownTimeoutMs); ${this.#buffer.size} records ${outcome}.`,
      )
      return false
    })
  }

  #closeRetiredSinks(): Effect.Effect<void> {
    const retired = this.#retiredSinks
    if (retired.length === 0) return Effect.void
    this.#retiredSinks = []
    return Effect.forEach(retired, closeSafely, { discard: true })
  }

  #recordSuccess(count: number): void {
    this.#delivered += count
    this.#batchesDelivered++
    if (this.#failureStreak > 0) {
      this.#logger.info(
        `telemetry: export recovered after ${this.#failureStreak} failed batches; delivering to ${this.#destination()} again.`,
      )
      this.#failureStreak = 0
    }
  }

  #recordFailure(error: SinkError, batch: ReadonlyArray<OperationMetrics>): void {
    this.#batchesFailed++
    this.#failureStreak++
    this.#lastError = error
    if (error.retryable) {
      this.#buffer.giveBack(batch)
      if (this.#failureStreak === 1) {
        this.#logger.warn(
          `telemetry: export to ${this.#destination()} failed (${error.code}): ${Logging.withoutFinalPeriod(error.message)}. ${batch.length} records stay buffered for the next export, ${this.#buffer.size} in all.`,
        )
      }
      return
    }
    this.#rejected += batch.length
    // A broken plugin fails every batch the same way, so it is reported once.
    if (isContractViolation(error) && !this.#warnings.first(`contract:${error.message}`)) return
    this.#logger.error(
      `telemetry: export to ${this.#destination()} was rejected (${error.code}): ${Logging.withoutFinalPeriod(error.message)}. ${batch.length} records were dropped and counted as rejected.`,
    )
  }

  #reportMissingPipeline(): boolean {
    const reason =
      this.#missingPipeline?.message ??
      "no exporter and sink are set; pass them to makeUnsafe or setPipeline"
    this.#lastError =
      this.#missingPipeline ?? new SinkError({ reason: "PluginMissing", message: reason })
    if (this.#warnings.first(`missing:${reason}`)) {
      this.#logger.error(`telemetry: export skipped: ${reason}. Records stay buffered.`)
    }
    return false
  }

  #destination(): string {
    const sink = this.#pipeline?.sink.destination ?? this.#config.exportDestination
    return sink === "file" && this.#config.outputFile !== null
      ? `file ${this.#config.outputFile}`
      : sink
  }

  #registerExitFlush(): void {
    if (!this.#config.flushOnExit || this.#exitHandler !== undefined) return
    // `beforeExit` fires again after async work it started has finished, so
    // the flush runs once and the handler then removes itself: a sink that
    // keeps failing cannot hold the process open. The time limit keeps a
    // destination that never responds from holding it open either.
    const handler = (): void => {
      process.removeListener("beforeExit", handler)
      this.#exitHandler = undefined
      // Records in flight count too: a scheduled export does not keep the
      // process alive, so the flush waits for it within the time limit.
      if (this.#buffer.size === 0 && this.#inFlight === 0) return
      Effect.runFork(this.#exitFlush())
    }
    this.#exitHandler = handler
    process.on("beforeExit", handler)
  }

  /**
   * Flushes within `shutdownTimeoutMs`; an interrupted batch goes back to the buffer.
   *
   * The schedule stops for the flush: a scheduled export that came due
   * during it would wait on the export lock, then run one more delivery and
   * hold the process open past the time limit. It starts again afterwards,
   * on its unref'd timer, for a program that goes on running.
   */
  #exitFlush(): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      const scheduled = this.#scheduler.running
      const timeoutMs = this.#config.shutdownTimeoutMs
      const flushed = yield* Effect.gen({ self: this }, function* () {
        // A scheduled export does not keep the process alive, so `beforeExit`
        // can fire while one is in flight. Stopping the schedule interrupts
        // it, which would put back a batch the server may already have
        // accepted, so the flush waits for it first, within the time limit.
        yield* this.#exportLock.withPermits(1)(Effect.void)
        yield* this.#scheduler.stop
        return yield* this.forceExport
      }).pipe(Effect.timeoutOption(timeoutMs))
      if (flushed._tag === "None") {
        this.#logger.warn(
          `telemetry: the final flush on process exit did not finish within ${timeoutMs} ms; ${this.#buffer.size + this.#inFlight} records stay unexported.`,
        )
      } else if (!flushed.value) {
        // The failure itself may not be logged, because only the first failure of a streak is.
        this.#logger.warn(
          `telemetry: the final flush on process exit failed (${this.#lastError?.code ?? "unknown"}); ${this.#buffer.size + this.#inFlight} records stay unexported.`,
        )
      }
      if (scheduled && this.enabled) {
        yield* this.#scheduler.start(this.#config.exportIntervalSeconds, this.#scheduledExport)
      }
    })
  }

  #stopCollecting(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    this.#processMetrics.stop()
    if (this.#exitHandler !== undefined) {
      process.removeListener("beforeExit", this.#exitHandler)
      this.#exitHandler = undefined
    }
  }

  #resolve(base: TelemetryConfig, input: unknown): TelemetryConfig {
    return Config.resolveLenient({
      label: "TelemetryConfig",
      fields: telemetryConfigFields,
      base,
      input,
      logger: this.#logger,
    }).config
  }

  #bounds(): BoundedStore.BoundedStoreOptions {
    return {
      maxPerOperation: this.#config.maxMetricsPerOperation,
      maxTotal: this.#config.maxTotalMetrics,
      retentionSeconds: this.#config.retentionHours * 3600,
      maxOperations: this.#config.maxOperationNames,
    }
  }
}

/**
 * Creates a telemetry manager without Effect, for the facade and plain code.
 *
 * @since 0.1.0
 */
export const makeUnsafe = (
  options: TelemetryOptions = {},
  pipeline?: Pipeline,
  scheduler?: SchedulerShape,
): TelemetryInstance => {
  const { makeUnsafe: makeScheduler } = SchedulerModule
  return new TelemetryInstance(
    options,
    Logging.CurrentLogger.defaultValue(),
    scheduler ?? makeScheduler(),
    pipeline,
  )
}

/**
 * The Telemetry service.
 *
 * @since 0.1.0
 */
export class Telemetry extends Context.Service<Telemetry, TelemetryInstance>()(
  "@dinoair/telemetry/Telemetry",
) {}

/**
 * Creates a telemetry manager from the context's Exporter, Sink and
 * Scheduler. It is enabled at once when `options.enabled` is `true`, and
 * shut down when the scope closes.
 *
 * @since 0.1.0
 */
export const make = (
  options: TelemetryOptions = {},
): Effect.Effect<TelemetryInstance, never, Exporter | Sink | Scheduler | Scope.Scope> =>
  Effect.gen(function* () {
    const logger = yield* Effect.service(Logging.CurrentLogger)
    const exporter = yield* Effect.service(Exporter)
    const sink = yield* Effect.service(Sink)
    const scheduler = yield* Effect.service(Scheduler)
    const telemetry = new TelemetryInstance(options, logger, scheduler, { exporter, sink })
    yield* Effect.addFinalizer(() => telemetry.shutdown)
    // The decoded config, not `options`, which may be `null` from an untyped caller.
    if (telemetry.config.enabled) yield* telemetry.enable()
    return telemetry
  })

/**
 * A layer with a telemetry manager. It needs an Exporter, a Sink and a
 * Scheduler.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Monitor } from "@dinoair/monitor"
 * import { JsonExporter } from "@dinoair/exporter-json"
 * import { Scheduler, Sink, Telemetry } from "@dinoair/telemetry"
 *
 * const TelemetryLive = Telemetry.layer({ enabled: true, exportIntervalSeconds: 30 }).pipe(
 *   Layer.provide(Layer.mergeAll(JsonExporter.layer(), Sink.layerConsole(), Scheduler.layer)),
 * )
 * const program = Effect.succeed("done").pipe(Monitor.track("job"))
 * Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(Monitor.layer(), TelemetryLive))))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  options: TelemetryOptions = {},
): Layer.Layer<Telemetry, never, Exporter | Sink | Scheduler> =>
  Layer.effect(Telemetry, make(options))

/**
 * A layer with a manager that does nothing: it subscribes to no monitor,
 * never exports on a schedule, and an export on request discards what it
 * sends. It needs no Exporter, Sink or Scheduler.
 *
 * Gotchas: `collect` called directly still buffers the record, within the
 * default bounds, until an export discards it.
 *
 * @since 0.1.0
 */
export const layerNoop: Layer.Layer<Telemetry> = Layer.effect(
  Telemetry,
  Effect.map(
    Effect.service(Logging.CurrentLogger),
    (logger) =>
      new TelemetryInstance(NOOP_OPTIONS, logger, SchedulerModule.noop, {
        exporter: noopExporter,
        sink: noopSink,
      }),
  ),
)

const NOOP_OPTIONS: TelemetryOptions = {
  flushOnExit: false,
  includeSystemMetrics: false,
  source: () => () => {},
  sourceName: "noop",
}

const noopExporter: ExporterShape = {
  format: "noop",
  contentType: "text/plain",
  fileExtension: "txt",
  encode: (records) => ({
    contentType: "text/plain",
    fileExtension: "txt",
    fileMode: "replace",
    header: "",
    body: "",
    footer: "",
    separator: "",
    recordCount: records.length,
  }),
}

const noopSink: SinkShape = {
  destination: "noop",
  deliver: () => Effect.void,
}

const observeSafely = (
  observe: (record: OperationMetrics) => void,
  record: OperationMetrics,
): void => {
  try {
    observe(record)
  } catch {
    // A broken exporter must not break the code that ended the operation.
  }
}

/**
 * Records taken from the buffer per turn of the event loop. Taking 100,000
 * records in one call took 100 to 500 ms on an overloaded 2-core machine
 * (Node.js 20), so a slice of 2,000 stays well below the 50 ms that an
 * export may block the loop for.
 */
const TAKE_SLICE_RECORDS = 2000

/** Options that are not configuration fields, and so are not validated as such. */
const SOURCE_OPTIONS = new Set(["logger", "nowSeconds", "source", "sourceName"])

/** Runs a sink's `close`, ignoring its failures, defects and a value that is no effect. */
const closeSafely = (sink: SinkShape | undefined): Effect.Effect<void> => {
  const close = sink?.close
  if (close === undefined || !Effect.isEffect(close)) return Effect.void
  return Effect.catchCause(close, () => Effect.void)
}

/**
 * Encodes and delivers one batch, checking that the plugins keep their
 * contracts: `encode` must return a payload and `deliver` an Effect. A
 * plugin that breaks one fails the batch with a non-retryable SinkError
 * instead of a defect.
 */
const deliverChecked = (
  pipeline: Pipeline,
  batch: ReadonlyArray<OperationMetrics>,
  context: ExportContext,
): Effect.Effect<void, SinkError> => {
  const { exporter, sink } = pipeline
  return Effect.flatMap(encodeBatch(exporter, batch, context), (payload) => {
    if (!isPayload(payload)) {
      return Effect.fail(
        contractViolation(
          "Encode",
          `the ${exporter.format} exporter's encode returned ${Config.describe(payload)}, not a payload with string header, body, footer and separator`,
          sink.destination,
        ),
      )
    }

    const delivery: unknown = sink.deliver(payload)
    if (!Effect.isEffect(delivery)) {
      return Effect.fail(
        contractViolation(
          "InvalidConfig",
          `the ${sink.destination} sink's deliver returned ${Config.describe(delivery)}, not an Effect; a sink must return an Effect, such as Effect.tryPromise around a promise`,
          sink.destination,
        ),
      )
    }
    return delivery as Effect.Effect<void, SinkError>
  })
}

/**
 * Encodes one batch, through `encodeInSteps` when the exporter has it.
 * `Effect.yieldNow` between steps lets timers and I/O run, because the
 * default scheduler resumes the fiber from `setImmediate`. A throwing
 * exporter becomes a defect, which `toSinkError` turns into a SinkError.
 */
const encodeBatch = (
  exporter: ExporterShape,
  batch: ReadonlyArray<OperationMetrics>,
  context: ExportContext,
): Effect.Effect<unknown> => {
  const encodeInSteps: unknown = exporter.encodeInSteps
  if (typeof encodeInSteps !== "function") {
    return Effect.sync((): unknown => exporter.encode(batch, context))
  }

  return Effect.suspend(() => {
    const steps = (encodeInSteps as NonNullable<ExporterShape["encodeInSteps"]>).call(
      exporter,
      batch,
      context,
    )
    const next = (): Effect.Effect<unknown> => {
      const step = steps.next()
      // The sink starts its work in a turn of its own, apart from the last step.
      if (step.done === true) return Effect.as(Effect.yieldNow, step.value)
      return Effect.flatMap(Effect.yieldNow, next)
    }
    // The first step also gets a turn of its own, apart from taking the batch from the buffer.
    return Effect.flatMap(Effect.yieldNow, next)
  })
}

const isPayload = (value: unknown): value is Payload => {
  if (typeof value !== "object" || value === null) return false
  const payload = value as Record<string, unknown>
  return (
    typeof payload.header === "string" &&
    typeof payload.body === "string" &&
    typeof payload.footer === "string" &&
    typeof payload.separator === "string"
  )
}

/** The errors that `deliverChecked` made, so that each is logged once. */
const contractViolations = new WeakSet<SinkError>()

const contractViolation = (
  reason: "Encode" | "InvalidConfig",
  message: string,
  destination: string,
): SinkError => {
  const error = new SinkError({ reason, message, destination })
  contractViolations.add(error)
  return error
}

const isContractViolation = (error: SinkError): boolean => contractViolations.has(error)

/** Turns a failed delivery's cause into a SinkError, including defects and encoder throws. */
const toSinkError = (cause: Cause.Cause<SinkError>, pipeline: Pipeline): SinkError => {
  for (const reason of cause.reasons) {
    if (reason._tag === "Fail") return reason.error
  }
  return new SinkError({
    reason: "Encode",
    message: `the ${pipeline.exporter.format} exporter or the ${pipeline.sink.destination} sink threw: ${String(
      (cause.reasons[0] as { defect?: unknown } | undefined)?.defect ?? "interrupted",
    )}`,
    destination: pipeline.sink.destination,
  })
}

/**
 * The identity of a record for the replay to a late exporter: its id,
 * operation and timestamp, or the object itself when those are not a
 * string, a string and a number, which the buffer then keeps as it is.
 */
const replayKeyOf = (record: OperationMetrics): unknown =>
  typeof record.id === "string" &&
  typeof record.operation === "string" &&
  typeof record.timestamp === "number"
    ? `${record.id}\u0000${record.operation}\u0000${record.timestamp}`
    : record
