/**
 * The Monitor service: starts and ends operations, measures them, keeps the
 * recent ones under bounds and summarizes them.
 *
 * The hot path (`startOperation`, `endOperation`, `run` and scopes) is plain
 * synchronous code on the service object: no effect runs there, no promise
 * is created, and nothing is allocated beyond the id and the record.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Monitor } from "@dinoair/monitor"
 *
 * const program = Effect.succeed(42).pipe(Monitor.track("answer"))
 * Effect.runPromise(program.pipe(Effect.provide(Monitor.layer())))
 * ```
 *
 * @since 0.1.0
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks"
import { availableParallelism } from "node:os"
import { Context, Effect, type Fiber, Layer, Tracer } from "effect"
import { OVERFLOW_OPERATION } from "./BoundedStore.js"
import { configInput, describe, resolveLenient } from "./Config.js"
import { ActiveSet } from "./internal/ActiveSet.js"
import { ownKeys, readOwn, readSafely, textOf, UNREADABLE } from "./internal/guards.js"
import { EMPTY_METRICS, RecordColumns } from "./internal/RecordColumns.js"
import {
  endWithExit,
  isUnsampled,
  parentOperation,
  TrackedSpan,
  UNSAMPLED_MARK,
} from "./internal/tracking.js"
import { CurrentLogger, type DinoLogger, guardedLogger, LogOnce } from "./Logging.js"
import { type OperationListener, publishAll, publishTo } from "./OperationBus.js"
import {
  type CustomMetrics,
  type OperationMetrics,
  type OperationStatus,
  systemInfo,
} from "./OperationMetrics.js"
import {
  defaultPerformanceConfig,
  type PerformanceConfig,
  performanceConfigFields,
} from "./PerformanceConfig.js"
import {
  liveClock,
  liveResourceReader,
  type MonitorClock,
  type ResourceReader,
} from "./Resources.js"
import { type OperationSummary, RunningTotals, summarizeDurations } from "./Summary.js"

/**
 * Options of `make` and `layer`: any subset of `PerformanceConfig`, plus the
 * sources a test may replace.
 *
 * @since 0.1.0
 */
export interface MonitorOptions extends Partial<PerformanceConfig> {
  /** Clocks for durations and timestamps. Default `performance.now()` and `Date.now()`. */
  readonly clock?: MonitorClock | undefined
  /** CPU, heap and RSS readings. Default: the live process. */
  readonly resources?: ResourceReader | undefined
  /** Random numbers in [0, 1) for sampling. Default `Math.random`. */
  readonly random?: (() => number) | undefined
  /** Whether ended operations go to the process-wide bus for telemetry. Default `true`. */
  readonly publish?: boolean | undefined
  /** The logger for warnings. Default: the `CurrentLogger` of the context. */
  readonly logger?: DinoLogger | undefined
}

/**
 * An operation that started and has not ended, as `getActiveOperations`
 * reports it.
 *
 * @since 0.1.0
 */
export interface ActiveOperationInfo {
  /** Id that `startOperation` returned. */
  readonly id: string
  /** Operation name, after the distinct-name cap. */
  readonly operation: string
  /** Seconds since the operation started. */
  readonly elapsed: number
  /** Id of the monitored operation that this one runs inside, or `undefined` at top level. */
  readonly parentId: string | undefined
}

/**
 * Counters of the monitor itself.
 *
 * @since 0.1.0
 */
export interface MonitorStats {
  /** Operations started while enabled, sampled or not. */
  readonly started: number
  /** Operations that sampling left out. */
  readonly sampledOut: number
  /** Operations ended and recorded. */
  readonly recorded: number
  /** Active operations evicted by the `maxActiveOperations` cap. */
  readonly evictedActive: number
  /** `endOperation` calls with an id that was not active. */
  readonly unknownIds: number
  /** Operations recorded under `dinoair_overflow` because of the name cap. */
  readonly overflowedNames: number
  /** Operations slower than `thresholdDurationMs`. */
  readonly slowOperations: number
  /** Custom metric values left out because their operation already had `maxCustomMetrics` names. */
  readonly droppedCustomMetrics: number
  /** Custom metric names cut to `MAX_CUSTOM_METRIC_NAME_LENGTH` characters. */
  readonly truncatedCustomMetricNames: number
  /** Operation names cut to `MAX_OPERATION_NAME_LENGTH` characters. */
  readonly truncatedOperationNames: number
}

/**
 * A running operation bound to a block with `using`. It ends when the block
 * exits, with status `ok` unless `fail` was called.
 *
 * @since 0.1.0
 */
export interface OperationScope extends Disposable {
  /** Id that `startOperation` returned for this operation. */
  readonly id: string
  /** Records a custom metric on this operation. */
  recordMetric(name: string, value: unknown): void
  /** Marks the operation as failed; it still ends when the block exits. */
  fail(error?: unknown): void
  /** Ends the operation now and returns its record; later calls return `undefined`. */
  end(): OperationMetrics | undefined
}

/**
 * The outcome given to `endOperation`.
 *
 * @since 0.1.0
 */
export interface EndOptions {
  /** Outcome to record, default `ok`. Any value other than `ok` records `error`. */
  readonly status?: OperationStatus | undefined
  /** The cause of an `error` status; its message is stored on the record. */
  readonly error?: unknown
}

/**
 * The maximum length of a custom metric name, in UTF-16 code units. A
 * longer name is cut to this length, one less when the cut would split a
 * surrogate pair, so two long names that share their first 200 characters
 * become one metric and the later value wins.
 *
 * @since 0.1.0
 */
export const MAX_CUSTOM_METRIC_NAME_LENGTH = 200

/**
 * The maximum length of an operation name, in UTF-16 code units. A longer
 * name is cut to this length, one less when the cut would split a
 * surrogate pair, so that one huge name cannot make every record and every
 * exported series huge. Two long names that share their first 200
 * characters become one operation.
 *
 * @since 0.1.0
 */
export const MAX_OPERATION_NAME_LENGTH = 200

const SLOW_WARNINGS_PER_SECOND = 10

/**
 * The context that `scope` enters. In an async function, a `using` block
 * also enters it in the caller's context, where the end of the block cannot
 * undo it. So a reader skips an ended frame and uses the context it replaced.
 */
interface ScopeFrame {
  readonly id: string
  readonly previous: OperationContext
  ended: boolean
}

type OperationContext = string | ScopeFrame | undefined

/** The running totals and the retained records of one operation name. */
class OperationState {
  readonly totals = new RunningTotals()
  /** The retained records, at most `maxMetricsRetained`. */
  readonly retained: RecordColumns

  /** `overflow` marks the state of `OVERFLOW_OPERATION`, whose ids carry other names and are stored. */
  constructor(
    readonly name: string,
    overflow: boolean,
  ) {
    this.retained = new RecordColumns(name, overflow ? "stored" : "sequence")
  }

  clear(): void {
    this.totals.reset()
    this.retained.clear()
  }
}

class ActiveOperation {
  constructor(
    readonly id: string,
    readonly sequence: number,
    readonly state: OperationState,
    readonly startMs: number,
    readonly startCpu: number,
    readonly startHeap: number,
    readonly parentId: string | undefined,
  ) {}

  /** `EMPTY_METRICS` until the first value is recorded, then an object of its own. */
  customMetrics: CustomMetrics = EMPTY_METRICS
  /** Distinct names in `customMetrics`, for the `maxCustomMetrics` cap. */
  metricCount = 0

  get operation(): string {
    return this.state.name
  }
}

/**
 * A monitor. Build one with `make` or `layer` in Effect code, or with
 * `makeUnsafe` in plain code.
 *
 * @since 0.1.0
 */
export class MonitorInstance {
  #config: PerformanceConfig
  readonly #clock: MonitorClock
  readonly #resources: ResourceReader
  readonly #random: () => number
  readonly #publish: boolean
  readonly #logger: DinoLogger
  readonly #wallMsAt: (monotonicMs: number) => number
  readonly #context = new AsyncLocalStorage<OperationContext>()
  readonly #active = new ActiveSet<ActiveOperation>()
  /** The admitted operation names, at most `maxOperationNames`, in order of admission. */
  readonly #names = new Map<string, OperationState>()
  /** The state of `OVERFLOW_OPERATION`, created when the first name overflows. */
  #overflow: OperationState | undefined
  readonly #warnings = new LogOnce()
  #listeners: ReadonlyArray<OperationListener> = []
  #sequence = 0
  #started = 0
  #sampledOut = 0
  #recorded = 0
  #evictedActive = 0
  #unknownIds = 0
  #overflowedNames = 0
  #slowOperations = 0
  #droppedCustomMetrics = 0
  #truncatedCustomMetricNames = 0
  #truncatedOperationNames = 0
  #slowWindowStart = Number.NEGATIVE_INFINITY
  #slowInWindow = 0
  #slowSuppressed = 0

  constructor(given: MonitorOptions, logger: DinoLogger) {
    // Plain JavaScript callers can pass `null`, a primitive or an array. All mean no options,
    // and the configuration decode below logs the last two.
    const options: MonitorOptions =
      typeof given === "object" && given !== null && !Array.isArray(given) ? given : {}
    // The hot path logs, and it must return normally even when the logger throws.
    this.#logger = guardedLogger(options.logger ?? logger)
    // The sources run on the hot path, so a wrong shape is replaced here rather than thrown there.
    const clock = this.#checkSource("clock", options.clock, ["monotonicMs", "wallMs"]) ?? liveClock
    this.#clock = clock
    this.#wallMsAt =
      typeof clock.wallMsAt === "function"
        ? (monotonicMs) => (clock.wallMsAt as (at: number) => number)(monotonicMs)
        : () => clock.wallMs()
    this.#resources =
      this.#checkSource("resources", options.resources, [
        "cpuMicros",
        "heapUsedBytes",
        "rssBytes",
      ]) ?? liveResourceReader()
    this.#random = this.#checkFunction("random", options.random) ?? Math.random
    this.#publish = this.#checkBoolean("publish", options.publish) ?? true
    this.#config = resolveLenient({
      label: "PerformanceConfig",
      fields: performanceConfigFields,
      base: defaultPerformanceConfig,
      input: options === given ? configInput(options, SOURCE_OPTIONS) : given,
      logger: this.#logger,
    }).config
  }

  /** The configuration in force. */
  get config(): PerformanceConfig {
    return this.#config
  }

  /**
   * Applies a partial update. Invalid fields are logged and keep their
   * current value. Lowering `maxMetricsRetained` drops what no longer fits.
   */
  configure(update: unknown): PerformanceConfig {
    this.#config = resolveLenient({
      label: "PerformanceConfig",
      fields: performanceConfigFields,
      base: this.#config,
      input: update,
      logger: this.#logger,
    }).config
    for (const state of this.#states()) state.retained.trimTo(this.#config.maxMetricsRetained)
    return this.#config
  }

  /**
   * Starts an operation and returns its id, which contains `name`.
   *
   * Details: sampling is decided here. An operation that sampling leaves
   * out, or any operation while the monitor is disabled, gets an id that
   * `endOperation` accepts and ignores. `metadata` becomes the start of the
   * record's custom metrics; its own enumerable properties are copied, so
   * later changes to the object do not reach the record. A property whose
   * getter throws is left out, and the `maxCustomMetrics` cap applies.
   *
   * Never throws: a name that is not a string is logged once and gets an
   * id that records nothing.
   */
  startOperation(given: string, metadata?: CustomMetrics): string {
    const config = this.#config
    if (!config.enabled) {
      return typeof given === "string" ? given + UNSAMPLED_MARK : unsampledIdOf(given)
    }
    if (typeof given !== "string") return this.#rejectName(given)
    const name =
      given.length > MAX_OPERATION_NAME_LENGTH ? this.#truncateOperationName(given) : given

    this.#started++
    if (config.samplingRate < 1 && !(this.#random() < config.samplingRate)) {
      this.#sampledOut++
      return name + UNSAMPLED_MARK
    }

    const sequence = ++this.#sequence
    const id = `${name}#${sequence}`
    const state = this.#names.get(name) ?? this.#admitName(name)
    const active = new ActiveOperation(
      id,
      sequence,
      state,
      this.#clock.monotonicMs(),
      config.enableCpuTracking ? this.#resources.cpuMicros() : 0,
      config.enableMemoryTracking ? this.#resources.heapUsedBytes() : 0,
      currentId(this.#context.getStore()),
    )
    if (metadata !== undefined) this.#copyMetadata(active, metadata)

    if (this.#active.size >= config.maxActiveOperations) this.#evictOldestActive()
    this.#active.add(active)
    return id
  }

  /**
   * Ends an operation and returns its record, or `undefined` when the id was
   * not sampled, already ended, evicted, or never started.
   *
   * Details: a `status` other than `ok` or `undefined` records `error`.
   * Never throws, whatever `id` and `options` are.
   */
  endOperation(id: string, options?: EndOptions): OperationMetrics | undefined {
    const active = this.#active.take(id)
    if (active === undefined) {
      this.#reportUnknownId(id)
      return undefined
    }

    const config = this.#config
    const endMs = this.#clock.monotonicMs()
    const elapsedMs = endMs - active.startMs
    const status = options === undefined ? "ok" : statusOf(options)

    let cpuUsage: number | undefined
    if (config.enableCpuTracking) {
      const cpuMicros = this.#resources.cpuMicros() - active.startCpu
      // The CPU clock advances in steps. A step inside a very short operation can
      // read as more time than the cores had, so the cap keeps that noise in range.
      cpuUsage =
        elapsedMs > 0 ? Math.min((cpuMicros / (elapsedMs * 1000)) * 100, maxCpuPercent()) : 0
    }
    let memoryUsage: number | undefined
    let memoryDelta: number | undefined
    if (config.enableMemoryTracking) {
      memoryUsage = this.#resources.rssBytes()
      memoryDelta = this.#resources.heapUsedBytes() - active.startHeap
    }

    const record: OperationMetrics = {
      id,
      operation: active.state.name,
      duration: elapsedMs / 1000,
      timestamp: this.#wallMsAt(endMs) / 1000,
      memoryUsage,
      memoryDelta,
      cpuUsage,
      status,
      error: status === "error" ? errorMessage(readSafely(Object(options), "error")) : undefined,
      customMetrics: active.customMetrics,
      parentId: active.parentId,
      systemInfo: config.includeSystemInfo ? systemInfo() : undefined,
    }

    this.#recorded++
    active.state.totals.add(record)
    const retained = active.state.retained
    if (retained.size >= config.maxMetricsRetained) retained.dropFirst()
    retained.pushBuilt(record, active.sequence)
    if (elapsedMs > config.thresholdDurationMs) this.#warnSlow(record, elapsedMs)
    if (this.#listeners.length > 0) publishTo(this.#listeners, record)
    if (this.#publish) publishAll(record)
    return record
  }

  /**
   * Records a custom metric on an active operation, and returns whether it
   * was kept.
   *
   * Details: returns `false`, and logs once, when the id is not active,
   * when `name` is not a string and cannot be converted to one, or when
   * the operation already has `maxCustomMetrics` other names. A name
   * longer than `MAX_CUSTOM_METRIC_NAME_LENGTH` is cut to that length.
   * Never throws.
   */
  recordCustomMetric(id: string, name: string, value: unknown): boolean {
    const active = this.#active.get(id)
    if (active === undefined) {
      if (!isUnsampled(id))
        this.#warnOnce(
          `metric:${typeof id === "string" ? id : describe(id)}`,
          `recordCustomMetric: no active operation with id ${describe(id)}; the value for ${describe(name)} was not recorded.`,
        )
      return false
    }

    const key = typeof name === "string" ? name : textOf(name)
    if (key === undefined) {
      this.#warnOnce(
        "bad-metric-name",
        `recordCustomMetric: the metric name ${describe(name)} could not be converted to a string; the value was not recorded.`,
      )
      return false
    }
    return this.#setMetric(active, key, value)
  }

  /**
   * Runs `fn` as a monitored operation and returns what it returns.
   *
   * Details: a returned promise or other thenable is awaited before the
   * operation ends, and its value is passed on in a new promise. A throw or
   * rejection records status `error` and is rethrown unchanged. A value
   * whose `then` getter throws counts as a plain value. Operations started
   * inside `fn`, synchronously or after an `await`, record this one as
   * parent.
   */
  run<A>(name: string, fn: () => A, metadata?: CustomMetrics): A {
    if (!this.#config.enabled) return fn()

    const id = this.startOperation(name, metadata)
    // An unsampled id has no record, so it must not become anyone's parent.
    const entered = this.#active.has(id)
    const previous = entered ? this.#context.getStore() : undefined
    let result: A
    try {
      // `enterWith` and the restore in `finally` do what `AsyncLocalStorage.run`
      // does, without the rest-argument array that `run` allocates per call.
      if (entered) this.#context.enterWith(id)
      result = fn()
    } catch (error) {
      this.endOperation(id, { status: "error", error })
      throw error
    } finally {
      if (entered) this.#context.enterWith(previous)
    }

    // A value whose `then` getter throws is no promise: it is returned as it is.
    const then = thenOf(result)
    if (then !== undefined) return this.#endWhenSettled(id, result, then) as A
    this.endOperation(id)
    return result
  }

  /**
   * Starts an operation bound to a block with `using`.
   *
   * Details: inside the block, operations started later, synchronously or
   * after an `await`, record this one as parent. A `using` block cannot see
   * the exception that leaves it, so call `fail` to record status `error`.
   *
   * Gotchas: the scope is entered with `AsyncLocalStorage.enterWith`, so in
   * an async function it is also the parent for the caller's operations
   * until the block ends. After that the caller's previous parent applies
   * again.
   */
  scope(name: string, metadata?: CustomMetrics): OperationScope {
    const id = this.startOperation(name, metadata)
    let frame: ScopeFrame | undefined
    if (this.#active.has(id)) {
      frame = { id, previous: liveContext(this.#context.getStore()), ended: false }
      this.#context.enterWith(frame)
    }

    let ended = false
    let failure: { error: unknown } | undefined
    const end = (): OperationMetrics | undefined => {
      if (ended) return undefined
      ended = true
      if (frame !== undefined) {
        frame.ended = true
        if (this.#context.getStore() === frame) this.#context.enterWith(frame.previous)
      }
      return failure === undefined
        ? this.endOperation(id)
        : this.endOperation(id, { status: "error", error: failure.error })
    }
    return {
      id,
      recordMetric: (metric, value) => {
        this.recordCustomMetric(id, metric, value)
      },
      fail: (error) => {
        failure = { error }
      },
      end,
      [Symbol.dispose]: () => {
        end()
      },
    }
  }

  /** Returns the id of the monitored operation that the caller runs inside, if any. */
  currentOperationId(): string | undefined {
    return currentId(this.#context.getStore())
  }

  /** Runs `fn` with `id` as the current operation, for parent tracking. */
  runWithin<A>(id: string, fn: () => A): A {
    return this.#context.run(id, fn)
  }

  /** Summaries per operation name, or of one name (empty when unknown). */
  getMetricsSummary(operation?: string): Record<string, OperationSummary> {
    const out: Record<string, OperationSummary> = Object.create(null)
    for (const state of this.#states()) {
      if (state.totals.count === 0) continue
      if (operation !== undefined && state.name !== operation) continue
      out[state.name] = summarizeDurations(state.name, state.totals, state.retained.durations())
    }
    return out
  }

  /** Lists the operations that started and have not ended, oldest first. */
  getActiveOperations(): Array<ActiveOperationInfo> {
    const now = this.#clock.monotonicMs()
    const out: Array<ActiveOperationInfo> = []
    for (const active of this.#active.values()) {
      out.push({
        id: active.id,
        operation: active.operation,
        elapsed: (now - active.startMs) / 1000,
        parentId: active.parentId,
      })
    }
    return out
  }

  /** Returns the retained records of one operation, or of all, oldest first. */
  getRecords(operation?: string): Array<OperationMetrics> {
    const out: Array<OperationMetrics> = []
    if (operation !== undefined) return this.#stateOf(operation)?.retained.appendTo(out) ?? out
    for (const state of this.#states()) state.retained.appendTo(out)
    return out
  }

  /** Forgets retained records and summaries of one operation, or of all. */
  clearMetrics(operation?: string): void {
    if (operation !== undefined) {
      this.#stateOf(operation)?.clear()
      return
    }
    for (const state of this.#states()) state.clear()
  }

  /** Resets everything: records, summaries, active operations, names, counters and warnings. */
  reset(): void {
    this.#active.clear()
    this.#names.clear()
    this.#overflow = undefined
    this.#warnings.reset()
    this.#started = 0
    this.#sampledOut = 0
    this.#recorded = 0
    this.#evictedActive = 0
    this.#unknownIds = 0
    this.#overflowedNames = 0
    this.#slowOperations = 0
    this.#droppedCustomMetrics = 0
    this.#truncatedCustomMetricNames = 0
    this.#truncatedOperationNames = 0
  }

  /** Counters of the monitor itself. */
  get stats(): MonitorStats {
    return {
      started: this.#started,
      sampledOut: this.#sampledOut,
      recorded: this.#recorded,
      evictedActive: this.#evictedActive,
      unknownIds: this.#unknownIds,
      overflowedNames: this.#overflowedNames,
      slowOperations: this.#slowOperations,
      droppedCustomMetrics: this.#droppedCustomMetrics,
      truncatedCustomMetricNames: this.#truncatedCustomMetricNames,
      truncatedOperationNames: this.#truncatedOperationNames,
    }
  }

  /**
   * Adds a listener for the records of this monitor only, and returns the
   * function that removes it. It is bound, so `source: monitor.subscribe`
   * works as a telemetry source.
   */
  readonly subscribe = (listener: OperationListener): (() => void) => {
    this.#listeners = [...this.#listeners, listener]
    return () => {
      this.#listeners = this.#listeners.filter((each) => each !== listener)
    }
  }

  /** Returns `value` when it is an object with every method in `methods`, and logs any other value but `undefined`. */
  #checkSource<T>(
    name: string,
    value: T | undefined,
    methods: ReadonlyArray<string>,
  ): T | undefined {
    if (value === undefined) return undefined
    const usable =
      typeof value === "object" &&
      value !== null &&
      methods.every((method) => typeof readSafely(value, method) === "function")
    if (usable) return value
    this.#logger.warn(
      `MonitorOptions.${name} must be an object with the methods ${methods.join(", ")}, got ${describe(value)}; the live ${name} is used instead.`,
    )
    return undefined
  }

  #checkFunction<T>(name: string, value: T | undefined): T | undefined {
    if (value === undefined || typeof value === "function") return value
    this.#logger.warn(
      `MonitorOptions.${name} must be a function, got ${describe(value)}; the default is used instead.`,
    )
    return undefined
  }

  #checkBoolean(name: string, value: boolean | undefined): boolean | undefined {
    if (value === undefined || typeof value === "boolean") return value
    this.#logger.warn(
      `MonitorOptions.${name} must be true or false, got ${describe(value)}; the default is used instead.`,
    )
    return undefined
  }

  /** The states of the admitted names in order of admission, then the overflow state. */
  #states(): Array<OperationState> {
    const states = [...this.#names.values()]
    if (this.#overflow !== undefined) states.push(this.#overflow)
    return states
  }

  #stateOf(operation: string): OperationState | undefined {
    return operation === OVERFLOW_OPERATION && this.#overflow !== undefined
      ? this.#overflow
      : this.#names.get(operation)
  }

  /** Copies the readable own properties of `metadata`, under the same caps as `recordCustomMetric`. */
  #copyMetadata(active: ActiveOperation, metadata: unknown): void {
    if (metadata === null || typeof metadata !== "object") return
    for (const key of ownKeys(metadata)) {
      const value = readOwn(metadata, key)
      if (value !== UNREADABLE) this.#setMetric(active, key, value)
    }
  }

  #setMetric(active: ActiveOperation, name: string, value: unknown): boolean {
    const key = name.length > MAX_CUSTOM_METRIC_NAME_LENGTH ? this.#truncateName(name) : name
    let metrics = active.customMetrics

    if (!(key in metrics)) {
      if (active.metricCount >= this.#config.maxCustomMetrics) {
        this.#droppedCustomMetrics++
        this.#warnOnce(
          "custom-metrics-cap",
          `operation ${describe(active.operation)} reached maxCustomMetrics (${this.#config.maxCustomMetrics} names); the value for ${describe(key)} and further new names beyond the cap on any operation are dropped and counted in stats.droppedCustomMetrics. Raise maxCustomMetrics, or record fewer distinct names.`,
        )
        return false
      }
      active.metricCount++
    }

    if (metrics === EMPTY_METRICS) {
      metrics = Object.create(null) as CustomMetrics
      active.customMetrics = metrics
    }
    metrics[key] = value
    return true
  }

  #truncateName(name: string): string {
    this.#truncatedCustomMetricNames++
    this.#warnOnce(
      "custom-metric-name-length",
      `custom metric name ${describe(name)} is longer than ${MAX_CUSTOM_METRIC_NAME_LENGTH} characters and was cut to that length; later long names are cut too and counted in stats.truncatedCustomMetricNames.`,
    )
    return cutAt(name, MAX_CUSTOM_METRIC_NAME_LENGTH)
  }

  #truncateOperationName(name: string): string {
    this.#truncatedOperationNames++
    this.#warnOnce(
      "operation-name-length",
      `operation name ${describe(name)} is longer than ${MAX_OPERATION_NAME_LENGTH} characters and was cut to that length; later long names are cut too and counted in stats.truncatedOperationNames. Put the varying part in metadata instead.`,
    )
    return cutAt(name, MAX_OPERATION_NAME_LENGTH)
  }

  /**
   * Ends the operation when the thenable settles. It calls the `then` that
   * `run` already read, so a getter runs once, and it adopts the thenable
   * as `Promise.resolve` would but without reading its `constructor`. A
   * `then` that throws becomes a rejection.
   */
  #endWhenSettled(id: string, thenable: unknown, then: ThenMethod): Promise<unknown> {
    const adopted = new Promise<unknown>((resolve, reject) => {
      Reflect.apply(then, thenable, [resolve, reject])
    })
    return adopted.then(
      (value) => {
        this.endOperation(id)
        return value
      },
      (error: unknown) => {
        this.endOperation(id, { status: "error", error })
        throw error
      },
    )
  }

  #admitName(name: string): OperationState {
    // A name equal to the overflow bucket's shares its records rather than
    // showing up twice in summaries.
    if (name === OVERFLOW_OPERATION) return this.#overflowState()
    if (this.#names.size < this.#config.maxOperationNames) {
      const state = new OperationState(name, false)
      this.#names.set(name, state)
      return state
    }
    this.#overflowedNames++
    this.#warnOnce(
      "overflow",
      `more than ${this.#config.maxOperationNames} distinct operation names; ${describe(name)} and later new names are recorded as "${OVERFLOW_OPERATION}". Raise maxOperationNames, or use fewer names and put the varying part in metadata.`,
    )
    return this.#overflowState()
  }

  #overflowState(): OperationState {
    this.#overflow ??= new OperationState(OVERFLOW_OPERATION, true)
    return this.#overflow
  }

  #evictOldestActive(): void {
    const oldest = this.#active.takeOldest()
    if (oldest === undefined) return
    this.#evictedActive++
    this.#warnOnce(
      "evict-active",
      `more than ${this.#config.maxActiveOperations} operations are active; evicted the oldest (${describe(oldest.id)}). Operations that start and never end are usually a missing endOperation call; raise maxActiveOperations if they are real.`,
    )
  }

  #reportUnknownId(id: string): void {
    if (typeof id === "string" && isUnsampled(id)) return
    this.#unknownIds++
    this.#warnOnce(
      `unknown:${typeof id === "string" ? id : describe(id)}`,
      `endOperation: no active operation with id ${describe(id)}. It may have ended already, been evicted by maxActiveOperations, or never started.`,
    )
  }

  #rejectName(name: unknown): string {
    this.#warnOnce(
      "bad-name",
      `startOperation: operation name must be a string, got ${describe(name)}; the operation is not recorded.`,
    )
    return unsampledIdOf(name)
  }

  #warnSlow(record: OperationMetrics, elapsedMs: number): void {
    this.#slowOperations++
    const now = this.#clock.monotonicMs()
    if (now - this.#slowWindowStart >= 1000) {
      this.#slowWindowStart = now
      this.#slowInWindow = 0
    }
    if (this.#slowInWindow >= SLOW_WARNINGS_PER_SECOND) {
      this.#slowSuppressed++
      return
    }
    this.#slowInWindow++
    const suppressed = this.#slowSuppressed
    this.#slowSuppressed = 0
    this.#logger.warn(
      `slow operation ${describe(record.operation)} took ${elapsedMs.toFixed(1)} ms (threshold ${this.#config.thresholdDurationMs} ms, id ${record.id})` +
        (suppressed > 0 ? `; ${suppressed} more slow-operation warnings were suppressed` : ""),
    )
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warnings.first(key)) this.#logger.warn(message)
  }
}

/**
 * Creates a monitor without Effect, for the facade and plain code.
 *
 * @since 0.1.0
 */
export const makeUnsafe = (options: MonitorOptions = {}, logger?: DinoLogger): MonitorInstance =>
  new MonitorInstance(options, logger ?? CurrentLogger.defaultValue())

/**
 * The Monitor service.
 *
 * @since 0.1.0
 */
export class Monitor extends Context.Service<Monitor, MonitorInstance>()(
  "@dinoair/monitor/Monitor",
) {}

/**
 * Creates a monitor that logs to the context's `CurrentLogger`.
 *
 * @since 0.1.0
 */
export const make = (options: MonitorOptions = {}): Effect.Effect<MonitorInstance> =>
  Effect.map(Effect.service(CurrentLogger), (logger) => new MonitorInstance(options, logger))

/**
 * A layer with a monitor built from `options`.
 *
 * @since 0.1.0
 */
export const layer = (options: MonitorOptions = {}): Layer.Layer<Monitor> =>
  Layer.effect(Monitor, make(options))

/**
 * A layer with a disabled monitor: every operation is a cheap no-op.
 *
 * @since 0.1.0
 */
export const layerNoop: Layer.Layer<Monitor> = Layer.effect(
  Monitor,
  make({ enabled: false, publish: false }),
)

/**
 * The monitored operation that the current fiber runs inside. `track` sets
 * it, so that nested `track` calls record their parent.
 *
 * @since 0.1.0
 */
export const CurrentOperationId: Context.Reference<string | undefined> = Context.Reference<
  string | undefined
>("@dinoair/monitor/CurrentOperationId", { defaultValue: () => undefined })

/**
 * Wraps an effect in a monitored operation and records its exit: status
 * `ok` on success, `error` on failure or interruption.
 *
 * Details: the parent is the nearest enclosing operation, whether a
 * `track` or a span that `MonitorTracer` records.
 *
 * Gotchas: nested `track` calls see the parent through `CurrentOperationId`.
 * Plain `run`, `scope` and `startOperation` calls inside the effect do not,
 * so read `CurrentOperationId` and wrap them in `monitor.runWithin(id, ...)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Monitor } from "@dinoair/monitor"
 *
 * const load = Effect.succeed([1, 2, 3]).pipe(Monitor.track("load", { source: "cache" }))
 * ```
 *
 * @since 0.1.0
 */
export const track =
  (name: string, metadata?: CustomMetrics) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Monitor> =>
    Effect.withFiber((fiber) => {
      const monitor = Context.getOrUndefined(fiber.context, Monitor)
      // Without a Monitor the service lookup fails the effect with the usual error.
      if (monitor === undefined)
        return Effect.flatMap(Effect.service(Monitor), (found) =>
          trackWith(found, fiber, name, metadata, self),
        )
      return trackWith(monitor, fiber, name, metadata, self)
    })

/**
 * Starts the operation of `track` and runs `self` inside it.
 *
 * This does what `Effect.updateContext` plus `Effect.onExit` would do, in
 * fewer steps. It sets the two references on the fiber only when they
 * change. Its one exit handler restores the previous context and ends the
 * operation without building a finalizer effect. The order is the one
 * those operators give: the context is restored when `self` exits, before
 * anything that runs after it.
 */
const trackWith = <A, E, R>(
  monitor: MonitorInstance,
  fiber: Fiber.Fiber<unknown, unknown>,
  name: string,
  metadata: CustomMetrics | undefined,
  self: Effect.Effect<A, E, R>,
): Effect.Effect<A, E, R> => {
  const previous = fiber.context
  const span = Context.getOrUndefined(previous, Tracer.ParentSpan)
  const trackedSpan = fiber.getRef(TrackedSpan)
  const currentId = fiber.getRef(CurrentOperationId)
  const parentId = parentOperation(span, trackedSpan, currentId)
  const id =
    parentId === undefined
      ? monitor.startOperation(name, metadata)
      : monitor.runWithin(parentId, () => monitor.startOperation(name, metadata))

  const nextId = isUnsampled(id) ? parentId : id
  let next = previous
  if (nextId !== currentId) next = Context.add(next, CurrentOperationId, nextId)
  if (span !== trackedSpan) next = Context.add(next, TrackedSpan, span)
  const changed = next !== previous
  if (changed) fiber.setContext(next)

  return Effect.onExitPrimitive(self, (exit) => {
    if (changed) fiber.setContext(previous)
    endWithExit(monitor, id, exit)
    return undefined
  })
}

/** Options that are not configuration fields, and so are not validated as such. */
const SOURCE_OPTIONS = new Set(["clock", "resources", "random", "publish", "logger"])

/** The id returned for a name that is not a string: it records nothing and never throws. */
const unsampledIdOf = (name: unknown): string => (textOf(name) ?? "unprintable") + UNSAMPLED_MARK

/** The status of an `endOperation` call: anything but `ok` or a missing status is an error. */
const statusOf = (options: EndOptions): OperationStatus => {
  const status = readSafely(Object(options), "status")
  return status === undefined || status === "ok" ? "ok" : "error"
}

/** Skips scope frames that have ended, back to the context they replaced. */
const liveContext = (context: OperationContext): OperationContext => {
  let current = context
  while (typeof current === "object" && current.ended) current = current.previous
  return current
}

const currentId = (context: OperationContext): string | undefined => {
  const live = liveContext(context)
  return typeof live === "object" ? live.id : live
}

type ThenMethod = (
  onFulfilled: (value: unknown) => void,
  onRejected: (error: unknown) => void,
) => unknown

/** Returns the `then` method of a thenable, or `undefined` for any other value or when reading it throws. */
const thenOf = (value: unknown): ThenMethod | undefined => {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return undefined
  try {
    const then = (value as { then?: unknown }).then
    return typeof then === "function" ? (then as ThenMethod) : undefined
  } catch {
    return undefined
  }
}

const errorMessage = (error: unknown): string | undefined => {
  if (error === undefined) return undefined
  try {
    return error instanceof Error ? String(error.message) : String(error)
  } catch {
    return "unprintable error"
  }
}

/** Cuts `text` to `length` code units, one less when the cut would split a surrogate pair. */
const cutAt = (text: string, length: number): string => {
  const last = text.charCodeAt(length - 1)
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length)
}

let cachedMaxCpuPercent: number | undefined

/** 100 percent per core that the process may run on (`os.availableParallelism()`). */
const maxCpuPercent = (): number => {
  cachedMaxCpuPercent ??= 100 * availableParallelism()
  return cachedMaxCpuPercent
}
