import { Effect, Exit, Fiber, Layer, Option, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import { Monitor, MonitorTracer, type OperationMetrics } from "../src/index.js"
import { capturingLogger, manualClock } from "./helpers.js"

interface Traced {
  readonly exit: Exit.Exit<unknown, unknown>
  readonly records: Array<OperationMetrics>
}

/**
 * Runs `self` with a private monitor and the tracer layer, and returns its
 * exit and the records in the order the operations ended.
 */
const runTraced = async (
  self: Effect.Effect<unknown, unknown, Monitor.Monitor>,
  options: {
    readonly tracer?: MonitorTracer.MonitorTracerOptions
    readonly monitor?: Monitor.MonitorOptions
    readonly inner?: Tracer.Tracer
  } = {},
): Promise<Traced> => {
  const MonitorLive = Monitor.layer({
    enableCpuTracking: false,
    enableMemoryTracking: false,
    clock: manualClock(),
    logger: capturingLogger(),
    ...options.monitor,
    publish: false,
  })
  const TracerLive = MonitorTracer.layer(options.tracer).pipe(
    options.inner === undefined
      ? (tracer) => tracer
      : Layer.provide(Layer.succeed(Tracer.Tracer, options.inner)),
    Layer.provideMerge(MonitorLive),
  )
  const records: Array<OperationMetrics> = []
  const program = Effect.gen(function* () {
    const monitor = yield* Monitor.Monitor
    monitor.subscribe((record) => records.push(record))
    return yield* self
  })
  const exit = await Effect.runPromiseExit(program.pipe(Effect.provide(TracerLive)))
  return { exit, records }
}

const byName = (records: ReadonlyArray<OperationMetrics>, name: string): OperationMetrics => {
  const found = records.find((record) => record.operation === name)
  if (found === undefined) throw new Error(`no record named ${name}`)
  return found
}

describe("MonitorTracer", () => {
  it("records a span as an operation", async () => {
    const { exit, records } = await runTraced(Effect.succeed(1).pipe(Effect.withSpan("load")))

    expect(Exit.isSuccess(exit)).toBe(true)
    expect(records).toHaveLength(1)
    expect(records[0]?.operation).toBe("load")
    expect(records[0]?.status).toBe("ok")
    expect(records[0]?.parentId).toBeUndefined()
  })

  it("failed span records error status", async () => {
    const { records } = await runTraced(
      Effect.fail(new Error("not found")).pipe(Effect.withSpan("lookup")),
    )

    expect(records[0]?.status).toBe("error")
    expect(records[0]?.error).toBe("not found")
  })

  it("defect records error status", async () => {
    const { records } = await runTraced(
      Effect.die(new Error("broken")).pipe(Effect.withSpan("parse")),
    )

    expect(records[0]?.status).toBe("error")
    expect(records[0]?.error).toBe("broken")
  })

  it("interrupted span records error", async () => {
    const program = Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Effect.never.pipe(Effect.withSpan("wait")))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
    })

    const { records } = await runTraced(program)

    expect(records[0]?.operation).toBe("wait")
    expect(records[0]?.status).toBe("error")
    expect(records[0]?.error).toBe("interrupted")
  })

  it("nested spans record parent ids", async () => {
    const program = Effect.succeed(1).pipe(
      Effect.withSpan("query"),
      Effect.andThen(Effect.succeed(2).pipe(Effect.withSpan("render"))),
      Effect.withSpan("request"),
    )

    const { records } = await runTraced(program)
    const request = byName(records, "request")

    expect(records.map((record) => record.operation)).toEqual(["query", "render", "request"])
    expect(byName(records, "query").parentId).toBe(request.id)
    expect(byName(records, "render").parentId).toBe(request.id)
    expect(request.parentId).toBeUndefined()
  })

  it("span attributes become custom metrics", async () => {
    const program = Effect.gen(function* () {
      yield* Effect.annotateCurrentSpan("rows", 42)
    }).pipe(Effect.withSpan("query", { attributes: { table: "users" } }))

    const { records } = await runTraced(program)

    expect(records[0]?.customMetrics).toEqual({ table: "users", rows: 42 })
  })

  it("recordAttributes false keeps metrics empty", async () => {
    const program = Effect.succeed(1).pipe(
      Effect.withSpan("query", { attributes: { table: "users" } }),
    )

    const { records } = await runTraced(program, { tracer: { recordAttributes: false } })

    expect(records[0]?.customMetrics).toEqual({})
  })

  it("include leaves spans out", async () => {
    const program = Effect.succeed(1).pipe(
      Effect.withSpan("db.query"),
      Effect.withSpan("http.request"),
      Effect.withSpan("handler"),
    )

    const { records } = await runTraced(program, {
      tracer: { include: (name) => !name.startsWith("http.") },
    })
    const handler = byName(records, "handler")

    expect(records.map((record) => record.operation)).toEqual(["db.query", "handler"])
    expect(byName(records, "db.query").parentId).toBe(handler.id)
  })

  it("unsampled span records nothing", async () => {
    const program = Effect.succeed(1).pipe(Effect.withSpan("quiet", { sampled: false }))

    const { records } = await runTraced(program)

    expect(records).toEqual([])
  })

  it("track inside span has span parent", async () => {
    const program = Effect.succeed(1).pipe(Monitor.track("step"), Effect.withSpan("job"))

    const { records } = await runTraced(program)

    expect(byName(records, "step").parentId).toBe(byName(records, "job").id)
  })

  it("span inside track has track parent", async () => {
    const program = Effect.succeed(1).pipe(Effect.withSpan("step"), Monitor.track("job"))

    const { records } = await runTraced(program)

    expect(byName(records, "step").parentId).toBe(byName(records, "job").id)
  })

  it("track between spans keeps nearest parent", async () => {
    const program = Effect.succeed(1).pipe(
      Effect.withSpan("inner"),
      Monitor.track("middle"),
      Effect.withSpan("outer"),
    )

    const { records } = await runTraced(program)

    expect(byName(records, "inner").parentId).toBe(byName(records, "middle").id)
    expect(byName(records, "middle").parentId).toBe(byName(records, "outer").id)
  })

  it("span between tracks keeps nearest parent", async () => {
    const program = Effect.succeed(1).pipe(
      Monitor.track("inner"),
      Effect.withSpan("middle"),
      Monitor.track("outer"),
    )

    const { records } = await runTraced(program)

    expect(byName(records, "inner").parentId).toBe(byName(records, "middle").id)
    expect(byName(records, "middle").parentId).toBe(byName(records, "outer").id)
  })

  it("unrecorded span inside track keeps track parent", async () => {
    const program = Effect.succeed(1).pipe(
      Monitor.track("inner"),
      Effect.withSpan("skipped"),
      Monitor.track("outer"),
      Effect.withSpan("root"),
    )

    const { records } = await runTraced(program, {
      tracer: { include: (name) => name !== "skipped" },
    })

    expect(byName(records, "inner").parentId).toBe(byName(records, "outer").id)
    expect(byName(records, "outer").parentId).toBe(byName(records, "root").id)
  })

  it("disabled monitor records nothing", async () => {
    const program = Effect.succeed(1).pipe(Effect.withSpan("load"))

    const { exit, records } = await runTraced(program, { monitor: { enabled: false } })

    expect(Exit.isSuccess(exit)).toBe(true)
    expect(records).toEqual([])
  })

  it("passes spans to the wrapped tracer", async () => {
    const spans: Array<Tracer.NativeSpan> = []
    const inner = Tracer.make({
      span(options) {
        const span = new Tracer.NativeSpan(options)
        spans.push(span)
        return span
      },
    })
    const program = Effect.succeed(1).pipe(
      Effect.withSpan("child", { attributes: { step: 1 } }),
      Effect.withSpan("parent"),
    )

    const { records } = await runTraced(program, { inner })
    const [parent, child] = spans

    expect(records).toHaveLength(2)
    expect(spans.map((span) => span.name)).toEqual(["parent", "child"])
    expect(child?.parent).toEqual(Option.some(parent))
    expect(child?.attributes.get("step")).toBe(1)
    expect(parent?.status._tag).toBe("Ended")
    expect(child?.status._tag).toBe("Ended")
  })

  it("current span is the wrapper with its name", async () => {
    const program = Effect.gen(function* () {
      const span = yield* Effect.currentSpan
      return span.name
    }).pipe(Effect.withSpan("named"))

    const { exit } = await runTraced(program)

    expect(exit).toEqual(Exit.succeed("named"))
  })

  it("makeUnsafe records without a layer", () => {
    const monitor = Monitor.makeUnsafe({
      enableCpuTracking: false,
      enableMemoryTracking: false,
      clock: manualClock(),
      publish: false,
    })
    const tracer = MonitorTracer.makeUnsafe(monitor)

    Effect.runSync(Effect.succeed(1).pipe(Effect.withSpan("sync"), Effect.withTracer(tracer)))

    expect(monitor.getRecords().map((record) => record.operation)).toEqual(["sync"])
  })
})
