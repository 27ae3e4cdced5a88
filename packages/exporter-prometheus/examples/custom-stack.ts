/**
 * A worked example: a DinoAir stack composed from layers, with a sink of
 * your own.
 *
 * - `QueueSinkLive` is a user-written Sink. It offers each payload, as one
 *   document, to an Effect `Queue` that the rest of the program reads.
 * - `PrometheusExporter.layer` formats the records as Prometheus text.
 * - `Telemetry.make` builds the manager. It collects from the stack's own
 *   `Monitor`, and `Scheduler.layer` runs its exports on an interval.
 * - The program records operations with `Monitor.track`, then moves
 *   Effect's `TestClock` past the export interval. The scheduled export
 *   runs at once, so no real time passes.
 *
 * `test/custom-stack.test.ts` runs `main` and checks the counters in the
 * text that reached the queue.
 */
import { PrometheusExporter } from "@dinoair/exporter-prometheus"
import { Monitor } from "@dinoair/monitor"
import { Exporter, Scheduler, Sink, Telemetry } from "@dinoair/telemetry"
import { Context, Effect, Layer, type Option, Queue } from "effect"
import { TestClock } from "effect/testing"

/** Seconds between scheduled exports. */
export const EXPORT_INTERVAL_SECONDS = 60

/** The queue that the custom sink writes exported documents to. */
export class Documents extends Context.Service<Documents, Queue.Queue<string>>()(
  "custom-stack/Documents",
) {}

const DocumentsLive = Layer.effect(Documents, Queue.unbounded<string>())

/**
 * A user-written sink. A sink is a thin transport: the manager buffers,
 * batches and retries, so `deliver` only hands the document on.
 */
export const QueueSinkLive: Layer.Layer<Sink.Sink, never, Documents> = Layer.effect(
  Sink.Sink,
  Effect.map(
    Effect.service(Documents),
    (queue): Sink.SinkShape => ({
      destination: "queue",
      deliver: (payload) => Effect.asVoid(Queue.offer(queue, Exporter.documentOf(payload))),
    }),
  ),
)

/** A monitor of the stack's own, kept off the process-wide bus. */
const MonitorLive = Monitor.layer({ publish: false })

/** A telemetry manager that collects from the stack's monitor and starts enabled. */
const TelemetryLive = Layer.effect(
  Telemetry.Telemetry,
  Effect.gen(function* () {
    const monitor = yield* Monitor.Monitor
    return yield* Telemetry.make({
      enabled: true,
      exportIntervalSeconds: EXPORT_INTERVAL_SECONDS,
      includeSystemMetrics: false,
      flushOnExit: false,
      source: monitor.subscribe,
    })
  }),
)

/** The whole stack: monitor, telemetry, Prometheus exporter, queue sink and scheduler. */
export const StackLive = TelemetryLive.pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      MonitorLive,
      // Without timestamps, the text depends only on the records.
      PrometheusExporter.layer({ timestamps: false }),
      QueueSinkLive,
      Scheduler.layer,
    ),
  ),
  Layer.provideMerge(DocumentsLive),
)

/** Contents of the queue at three points of the program. */
export interface Exported {
  /** Before the first interval passed: nothing. */
  readonly beforeInterval: Option.Option<string>
  /** After the first interval: two checkouts and a refund. */
  readonly first: Option.Option<string>
  /** After the second interval: one more checkout. */
  readonly second: Option.Option<string>
}

/** Records operations, moves the test clock, and reads what the sink delivered. */
export const program = Effect.gen(function* () {
  const documents = yield* Documents
  const checkout = Effect.succeed("paid").pipe(Monitor.track("checkout"))
  const refund = Effect.fail("card declined").pipe(Monitor.track("refund"))

  yield* checkout
  yield* checkout
  yield* Effect.ignore(refund)
  const beforeInterval = yield* Queue.poll(documents)

  yield* TestClock.adjust(`${EXPORT_INTERVAL_SECONDS} seconds`)
  const first = yield* Queue.poll(documents)

  yield* checkout
  yield* TestClock.adjust(`${EXPORT_INTERVAL_SECONDS} seconds`)
  const second = yield* Queue.poll(documents)

  const exported: Exported = { beforeInterval, first, second }
  return exported
})

/** The program with the stack and a fresh test clock. */
export const main = program.pipe(Effect.provide(StackLive), Effect.provide(TestClock.layer()))
