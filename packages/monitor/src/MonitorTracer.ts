/**
 * An Effect `Tracer` that records spans as monitored operations, so code
 * already instrumented with `Effect.withSpan` reports to DinoAir with no
 * change to that code.
 *
 * Each span becomes one operation of the `Monitor` service:
 *
 * | span | operation |
 * |---|---|
 * | name | operation name |
 * | attributes, as they are set | custom metrics |
 * | exit: success | status `ok` |
 * | exit: failure, defect or interruption | status `error`, with the error's message |
 * | nearest recorded parent span, or enclosing `Monitor.track` | `parentId` |
 *
 * The tracer wraps the tracer that was in place when it was built, and
 * hands every span to it as well. The wrapped tracer receives its own spans
 * as parents and links, so an OpenTelemetry tracer below this one exports
 * the same trace as without it.
 *
 * Details:
 * - Durations come from the monitor's clock, like every other operation,
 *   and the monitor's sampling and bounds apply.
 * - A span that Effect does not sample (`sampled: false`, for example below
 *   `Tracer.MinimumTraceLevel`) records no operation. Neither does a span
 *   that the `include` option leaves out. Spans below it then take the
 *   nearest recorded span above it as parent.
 * - Span events and links are passed to the wrapped tracer and not recorded.
 *
 * Gotchas:
 * - The wrapped tracer is the one in the context that builds this layer. To
 *   wrap another tracer, provide it to this layer with `Layer.provide`,
 *   not beside it with `Layer.mergeAll`.
 * - The service behind `Tracer.Tracer` is this module's wrapper, so code
 *   that reads the current span gets a wrapper, not the wrapped tracer's
 *   span object.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Monitor, MonitorTracer } from "@dinoair/monitor"
 *
 * // Existing code, instrumented with spans only.
 * const loadUser = Effect.succeed({ id: 1 }).pipe(
 *   Effect.withSpan("load_user", { attributes: { cache: "miss" } }),
 * )
 *
 * const MonitorLive = Monitor.layer({ thresholdDurationMs: 50 })
 * const TracingLive = MonitorTracer.layer().pipe(Layer.provideMerge(MonitorLive))
 *
 * const summary = Effect.gen(function* () {
 *   yield* loadUser
 *   const monitor = yield* Monitor.Monitor
 *   return monitor.getMetricsSummary("load_user")
 * })
 * Effect.runPromise(summary.pipe(Effect.provide(TracingLive)))
 * ```
 *
 * @since 0.1.0
 * @module
 */
import { Effect, Fiber, Layer, Option, Tracer } from "effect"
import {
  isUnsampled,
  MonitoredSpan,
  parentOperation,
  TrackedSpan,
  unwrapLink,
  unwrapSpan,
} from "./internal/tracking.js"
import { CurrentOperationId, Monitor, type MonitorInstance } from "./Monitor.js"

/**
 * Options of the tracer.
 *
 * @since 0.1.0
 */
export interface MonitorTracerOptions {
  /** Whether span attributes become custom metrics of the operation. Default `true`. */
  readonly recordAttributes?: boolean | undefined
  /**
   * Decides by span name which spans become operations. The others are
   * still passed to the wrapped tracer. Default: every span.
   */
  readonly include?: ((spanName: string) => boolean) | undefined
}

/**
 * The default of `recordAttributes`: span attributes become custom metrics.
 *
 * @since 0.1.0
 */
export const DEFAULT_RECORD_ATTRIBUTES = true

/**
 * Creates a tracer that records spans with `monitor` and passes them on to
 * `inner`, Effect's built-in tracer by default. For plain code and for
 * tracers assembled by hand.
 *
 * @since 0.1.0
 */
export const makeUnsafe = (
  monitor: MonitorInstance,
  inner: Tracer.Tracer = Tracer.nativeTracer,
  options: MonitorTracerOptions = {},
): Tracer.Tracer => {
  const recordAttributes = options.recordAttributes ?? DEFAULT_RECORD_ATTRIBUTES
  const include = options.include

  return Tracer.make({
    span(spanOptions) {
      const span = inner.span({
        ...spanOptions,
        parent: Option.map(spanOptions.parent, unwrapSpan),
        links: spanOptions.links.map(unwrapLink),
      })

      const recorded = spanOptions.sampled && (include === undefined || include(spanOptions.name))
      const id = recorded ? startFor(monitor, spanOptions) : undefined
      const operationId = id === undefined || isUnsampled(id) ? undefined : id
      return new MonitoredSpan(span, spanOptions.parent, operationId, monitor, recordAttributes)
    },
    ...(inner.context === undefined ? {} : { context: inner.context }),
  })
}

/**
 * Creates a tracer that records spans with the context's `Monitor` and
 * passes them on to the context's current tracer.
 *
 * @since 0.1.0
 */
export const make = (
  options: MonitorTracerOptions = {},
): Effect.Effect<Tracer.Tracer, never, Monitor> =>
  Effect.gen(function* () {
    const monitor = yield* Monitor
    const inner = yield* Effect.tracer
    return makeUnsafe(monitor, inner, options)
  })

/**
 * A layer that installs the tracer as Effect's `Tracer.Tracer`. It needs a
 * `Monitor`, and wraps the tracer of the context it is built in.
 *
 * @since 0.1.0
 */
export const layer = (options: MonitorTracerOptions = {}): Layer.Layer<never, never, Monitor> =>
  Layer.effect(Tracer.Tracer, make(options))

/** Starts the operation of a new span, under the nearest recorded operation. */
const startFor = (
  monitor: MonitorInstance,
  spanOptions: { readonly name: string; readonly parent: Option.Option<Tracer.AnySpan> },
): string => {
  // Effect creates spans inside the fiber that runs `withSpan`, so the fiber's references are
  // the ones of that code. A tracer called by hand outside any fiber has none.
  const fiber = Fiber.getCurrent()
  const parentId = parentOperation(
    Option.getOrUndefined(spanOptions.parent),
    fiber?.getRef(TrackedSpan),
    fiber?.getRef(CurrentOperationId),
  )
  return parentId === undefined
    ? monitor.startOperation(spanOptions.name)
    : monitor.runWithin(parentId, () => monitor.startOperation(spanOptions.name))
}
