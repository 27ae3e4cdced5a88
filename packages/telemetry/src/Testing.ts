/**
 * A testing kit for code that uses DinoAir through Effect: a stack of
 * layers that delivers to memory, a snapshot of what the monitor and the
 * telemetry manager hold, and a reset between tests.
 *
 * Each `Effect.provide(Testing.layer())` builds a fresh stack, which is the
 * simplest isolation between tests. `reset` is for a stack that several
 * tests share, such as one in a `ManagedRuntime`. Plain tests of the
 * Promise facade use the `Testing` module of `@dinoair/api` instead.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Monitor } from "@dinoair/monitor"
 * import { JsonExporter } from "@dinoair/exporter-json"
 * import { Testing } from "@dinoair/telemetry"
 *
 * const TestLive = Testing.layer().pipe(Layer.provide(JsonExporter.layer()))
 *
 * const program = Effect.gen(function* () {
 *   yield* Effect.succeed("rows").pipe(Monitor.track("load"))
 *   const before = yield* Testing.snapshot
 *   yield* Testing.flush
 *   const after = yield* Testing.snapshot
 *   return { buffered: before.buffered.length, delivered: after.payloads.length }
 * })
 * Effect.runPromise(program.pipe(Effect.provide(TestLive)))
 * // { buffered: 1, delivered: 1 }
 * ```
 *
 * @since 0.1.0
 * @module
 */
import { Monitor, type OperationMetrics, type OperationSummary } from "@dinoair/monitor"
import { Effect, Layer, Option } from "effect"
import type { Exporter, Payload } from "./Exporter.js"
import * as Scheduler from "./Scheduler.js"
import * as Sink from "./Sink.js"
import {
  make as makeTelemetry,
  Telemetry,
  type TelemetryInstance,
  type TelemetryOptions,
  type TelemetryStats,
} from "./Telemetry.js"

/**
 * Options of the test stack.
 *
 * @since 0.1.0
 */
export interface TestStackOptions {
  /**
   * Options of the stack's monitor. Default: the monitor's defaults with
   * `publish: false`, so that the stack's telemetry collects records from
   * its own monitor only, and from no other test's.
   */
  readonly monitor?: Monitor.MonitorOptions | undefined
  /**
   * Options of the stack's telemetry manager. Default: `enabled: true`,
   * `flushOnExit: false`, `includeSystemMetrics: false`, and the stack's
   * monitor as `source`.
   */
  readonly telemetry?: TelemetryOptions | undefined
}

/**
 * The contents of a monitor, a telemetry manager and a memory sink at one
 * moment. Every array is a fresh copy.
 *
 * @since 0.1.0
 */
export interface Snapshot {
  /** Summaries per operation name, from the monitor. Empty without a monitor. */
  readonly summaries: Readonly<Record<string, OperationSummary>>
  /** Records the monitor retains for its summaries, oldest first. Empty without a monitor. */
  readonly retained: ReadonlyArray<OperationMetrics>
  /** Records buffered by the telemetry manager for the next export. Empty without a manager. */
  readonly buffered: ReadonlyArray<OperationMetrics>
  /** The monitor's counters, or `undefined` without a monitor. */
  readonly monitorStats: Monitor.MonitorStats | undefined
  /** The telemetry manager's counters, or `undefined` without a manager. */
  readonly telemetryStats: TelemetryStats | undefined
  /** Payloads that the memory sink received, oldest first. Empty without a memory sink. */
  readonly payloads: ReadonlyArray<Payload>
}

/**
 * The objects a snapshot or a reset reads. Each one is optional.
 *
 * @since 0.1.0
 */
export interface Sources {
  /** The monitor whose summaries, records and counters are read. */
  readonly monitor?: Monitor.MonitorInstance | undefined
  /** The telemetry manager whose buffer and counters are read. */
  readonly telemetry?: TelemetryInstance | undefined
  /** The memory sink whose payloads are read. */
  readonly sink?: Sink.MemorySink | undefined
}

/**
 * A layer with a test stack: a monitor, a telemetry manager that collects
 * from it and is enabled at once, a memory sink as `Sink` and `Sink.Memory`,
 * and a scheduler. It needs an Exporter, so the payloads are in the format
 * under test.
 *
 * Details: the scheduler follows Effect's `TestClock` when one is provided
 * around the layer, so `TestClock.adjust` triggers the scheduled exports.
 * Closing the layer's scope shuts the manager down, which flushes once more.
 *
 * @since 0.1.0
 */
export const layer = (
  options: TestStackOptions = {},
): Layer.Layer<
  Monitor.Monitor | Telemetry | Sink.Sink | Sink.Memory | Scheduler.Scheduler,
  never,
  Exporter
> => {
  const MonitorLive = Monitor.layer({ publish: false, ...options.monitor })
  const TelemetryLive = Layer.effect(
    Telemetry,
    Effect.gen(function* () {
      const monitor = yield* Monitor.Monitor
      return yield* makeTelemetry({
        enabled: true,
        flushOnExit: false,
        includeSystemMetrics: false,
        source: monitor.subscribe,
        ...options.telemetry,
      })
    }),
  )
  return TelemetryLive.pipe(
    Layer.provideMerge(Layer.mergeAll(MonitorLive, Sink.layerMemory, Scheduler.layer)),
  )
}

/**
 * Reads what the context's `Monitor`, `Telemetry` and `Sink.Memory` hold.
 * Services missing from the context leave their fields empty.
 *
 * @since 0.1.0
 */
export const snapshot: Effect.Effect<Snapshot> = Effect.map(
  Effect.all([
    Effect.serviceOption(Monitor.Monitor),
    Effect.serviceOption(Telemetry),
    Effect.serviceOption(Sink.Memory),
  ]),
  ([monitor, telemetry, sink]) =>
    snapshotOf({
      monitor: Option.getOrUndefined(monitor),
      telemetry: Option.getOrUndefined(telemetry),
      sink: Option.getOrUndefined(sink),
    }),
)

/**
 * Reads what `sources` hold, without Effect.
 *
 * @since 0.1.0
 */
export const snapshotOf = (sources: Sources): Snapshot => {
  const { monitor, telemetry, sink } = sources
  return {
    summaries: monitor?.getMetricsSummary() ?? {},
    retained: monitor?.getRecords() ?? [],
    buffered: telemetry?.bufferedRecords() ?? [],
    monitorStats: monitor?.stats,
    telemetryStats: telemetry?.stats,
    payloads: sink === undefined ? [] : [...sink.payloads],
  }
}

/**
 * Exports what the context's `Telemetry` buffers now, as the schedule
 * would, and succeeds with `true` when all of it was delivered. Succeeds
 * with `true` without a manager.
 *
 * @since 0.1.0
 */
export const flush: Effect.Effect<boolean> = Effect.flatMap(
  Effect.serviceOption(Telemetry),
  (telemetry) => (Option.isSome(telemetry) ? telemetry.value.forceExport : Effect.succeed(true)),
)

/**
 * Resets the context's `Monitor`, `Telemetry` and `Sink.Memory`, as
 * `resetOf` does.
 *
 * @since 0.1.0
 */
export const reset: Effect.Effect<void> = Effect.map(
  Effect.all([
    Effect.serviceOption(Monitor.Monitor),
    Effect.serviceOption(Telemetry),
    Effect.serviceOption(Sink.Memory),
  ]),
  ([monitor, telemetry, sink]) =>
    resetOf({
      monitor: Option.getOrUndefined(monitor),
      telemetry: Option.getOrUndefined(telemetry),
      sink: Option.getOrUndefined(sink),
    }),
)

/**
 * Returns `sources` to their state after creation, without Effect. The
 * monitor clears its records, summaries, active operations and counters.
 * The manager drops its buffer and zeroes its counters. The memory sink
 * removes its payloads and its `failWith`.
 *
 * Gotchas: configuration stays, and so does whether the manager is enabled.
 * An exporter's own state, such as the running totals of a Prometheus
 * registry, is not reset. Build a fresh stack for that.
 *
 * @since 0.1.0
 */
export const resetOf = (sources: Sources): void => {
  const { monitor, telemetry, sink } = sources
  monitor?.reset()
  if (telemetry !== undefined) {
    telemetry.clearMetrics()
    telemetry.resetStats()
  }
  if (sink !== undefined) {
    sink.clear()
    sink.failWith = undefined
  }
}
