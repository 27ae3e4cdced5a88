/**
 * Code that `Monitor.track` and `MonitorTracer` share. It marks unsampled
 * ids, ends an operation from an `Exit`, and wraps spans. It also picks
 * the parent of a new operation when tracked effects and traced spans nest
 * inside each other.
 */
import { Cause, Context, Exit, Option, type Tracer } from "effect"
import type { MonitorInstance } from "../Monitor.js"

/** The suffix of an id that `startOperation` returned without starting a record. */
export const UNSAMPLED_MARK = "#-"

// Plain JavaScript callers may pass any value as an id, and the hot path must not throw.
export const isUnsampled = (id: string): boolean =>
  typeof id === "string" && id.endsWith(UNSAMPLED_MARK)

/**
 * The span that was the parent span when the innermost `Monitor.track`
 * started. A span below it in the parent chain started inside that
 * operation, and a span at it or above it started outside.
 */
export const TrackedSpan: Context.Reference<Tracer.AnySpan | undefined> = Context.Reference<
  Tracer.AnySpan | undefined
>("@dinoair/monitor/TrackedSpan", { defaultValue: () => undefined })

/**
 * Ends an operation with the outcome of an exit: `ok` on success, `error`
 * on failure, defect or interruption.
 */
export const endWithExit = (
  monitor: MonitorInstance,
  id: string,
  exit: Exit.Exit<unknown, unknown>,
): void => {
  if (Exit.isSuccess(exit)) {
    monitor.endOperation(id)
    return
  }
  const error = Cause.hasInterruptsOnly(exit.cause)
    ? new Error("interrupted")
    : Cause.squash(exit.cause)
  monitor.endOperation(id, { status: "error", error })
}

/**
 * A span made by `MonitorTracer`: it delegates to the span of the tracer
 * it wraps and, when `operationId` is set, mirrors its life as a monitored
 * operation. Its `parent` is the parent that Effect gave, so walking up
 * the chain meets only these wrappers and spans made before the tracer
 * was in place.
 */
export class MonitoredSpan implements Tracer.Span {
  readonly _tag = "Span"
  #ended = false

  constructor(
    readonly inner: Tracer.Span,
    readonly parent: Option.Option<Tracer.AnySpan>,
    /** The operation this span records, or `undefined` when it records none. */
    readonly operationId: string | undefined,
    readonly monitor: MonitorInstance,
    readonly recordAttributes: boolean,
  ) {}

  get name(): string {
    return this.inner.name
  }

  get spanId(): string {
    return this.inner.spanId
  }

  get traceId(): string {
    return this.inner.traceId
  }

  get annotations(): Context.Context<never> {
    return this.inner.annotations
  }

  get status(): Tracer.SpanStatus {
    return this.inner.status
  }

  get attributes(): ReadonlyMap<string, unknown> {
    return this.inner.attributes
  }

  get links(): ReadonlyArray<Tracer.SpanLink> {
    return this.inner.links
  }

  get sampled(): boolean {
    return this.inner.sampled
  }

  get kind(): Tracer.SpanKind {
    return this.inner.kind
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.inner.end(endTime, exit)
    if (this.#ended) return
    this.#ended = true
    if (this.operationId !== undefined) endWithExit(this.monitor, this.operationId, exit)
  }

  attribute(key: string, value: unknown): void {
    this.inner.attribute(key, value)
    if (this.#ended || this.operationId === undefined || !this.recordAttributes) return
    this.monitor.recordCustomMetric(this.operationId, key, value)
  }

  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    this.inner.event(name, startTime, attributes)
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.inner.addLinks(links.map(unwrapLink))
  }
}

/** Returns the span that the wrapped tracer made, for a span that `MonitorTracer` made. */
export const unwrapSpan = (span: Tracer.AnySpan): Tracer.AnySpan =>
  span instanceof MonitoredSpan ? span.inner : span

/** Returns a link whose span is the wrapped tracer's own. */
export const unwrapLink = (link: Tracer.SpanLink): Tracer.SpanLink =>
  link.span instanceof MonitoredSpan ? { ...link, span: link.span.inner } : link

/**
 * Picks the parent of an operation that starts under `span`.
 *
 * Details: the nearest recorded operation wins. Walking up from `span`,
 * the first span that records an operation is nearer than the innermost
 * `track`, unless the walk reaches `trackedSpan` first. Spans from there
 * up were already in place when that `track` started, so then the tracked
 * operation is the nearer one.
 */
export const parentOperation = (
  span: Tracer.AnySpan | undefined,
  trackedSpan: Tracer.AnySpan | undefined,
  trackedId: string | undefined,
): string | undefined => {
  let current = span
  while (current !== undefined && current !== trackedSpan) {
    if (current instanceof MonitoredSpan && current.operationId !== undefined) {
      return current.operationId
    }
    current = current._tag === "Span" ? Option.getOrUndefined(current.parent) : undefined
  }
  return trackedId
}
