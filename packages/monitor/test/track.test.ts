import { Effect, Exit, Fiber, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { Logging, Monitor, type OperationMetrics } from "../src/index.js"
import { capturingLogger, manualClock } from "./helpers.js"

const testLayer = (options: Monitor.MonitorOptions = {}) => {
  const logger = capturingLogger()
  const clock = manualClock()
  const layer = Monitor.layer({
    enableCpuTracking: false,
    enableMemoryTracking: false,
    clock,
    ...options,
    publish: false,
    logger,
  })
  return { layer, logger, clock }
}

/** Runs `self` with the test layer and returns its exit and the records it left. */
const runTracked = async <A, E>(
  self: Effect.Effect<A, E, Monitor.Monitor>,
  options: Monitor.MonitorOptions = {},
) => {
  const { layer } = testLayer(options)
  const records: Array<OperationMetrics> = []
  const program = Effect.gen(function* () {
    const monitor = yield* Monitor.Monitor
    monitor.subscribe((record) => records.push(record))
    return yield* self
  })
  const exit = await Effect.runPromiseExit(program.pipe(Effect.provide(layer)))
  return { exit, records }
}

describe("Monitor.track", () => {
  it("success records ok", async () => {
    const { exit, records } = await runTracked(Effect.succeed(42).pipe(Monitor.track("answer")))

    expect(Exit.isSuccess(exit)).toBe(true)
    expect(records).toHaveLength(1)
    expect(records[0]?.operation).toBe("answer")
    expect(records[0]?.status).toBe("ok")
  })

  it("passes success value through", async () => {
    const { layer } = testLayer()

    const value = await Effect.runPromise(
      Effect.succeed("loaded").pipe(Monitor.track("load"), Effect.provide(layer)),
    )

    expect(value).toBe("loaded")
  })

  it("metadata becomes custom metrics", async () => {
    const { records } = await runTracked(
      Effect.succeed([1, 2, 3]).pipe(Monitor.track("load", { source: "cache" })),
    )

    expect(records[0]?.customMetrics).toEqual({ source: "cache" })
  })

  it("duration follows injected clock", async () => {
    const clock = manualClock()

    const { records } = await runTracked(
      Effect.sync(() => clock.advance(25)).pipe(Monitor.track("step")),
      { clock },
    )

    expect(records[0]?.duration).toBe(0.025)
  })

  it("failure records error", async () => {
    const { exit, records } = await runTracked(
      Effect.fail(new Error("not found")).pipe(Monitor.track("lookup")),
    )

    expect(Exit.isFailure(exit)).toBe(true)
    expect(records[0]?.status).toBe("error")
    expect(records[0]?.error).toBe("not found")
  })

  it("failure reaches caller unchanged", async () => {
    const error = new Error("not found")

    const { exit } = await runTracked(Effect.fail(error).pipe(Monitor.track("lookup")))

    expect(exit).toEqual(Exit.fail(error))
  })

  it("defect records error", async () => {
    const { records } = await runTracked(
      Effect.die(new Error("invariant broken")).pipe(Monitor.track("compute")),
    )

    expect(records[0]?.status).toBe("error")
    expect(records[0]?.error).toBe("invariant broken")
  })

  it("Effect.interrupt records interruption", async () => {
    const { exit, records } = await runTracked(Effect.interrupt.pipe(Monitor.track("cancelled")))

    expect(Exit.isFailure(exit)).toBe(true)
    expect(Exit.hasInterrupts(exit)).toBe(true)
    expect(records[0]?.status).toBe("error")
    expect(records[0]?.error).toBe("interrupted")
  })

  it("Fiber.interrupt records interruption", async () => {
    const program = Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Effect.never.pipe(Monitor.track("waiting")), {
        startImmediately: true,
      })
      yield* Fiber.interrupt(fiber)
    })

    const { exit, records } = await runTracked(program)

    expect(Exit.isSuccess(exit)).toBe(true)
    expect(records).toHaveLength(1)
    expect(records[0]?.operation).toBe("waiting")
    expect(records[0]?.error).toBe("interrupted")
  })

  it("every run records once", async () => {
    const tracked = Effect.succeed(1).pipe(Monitor.track("repeat"))

    const { records } = await runTracked(Effect.all([tracked, tracked, tracked]))

    expect(records).toHaveLength(3)
    expect(new Set(records.map((record) => record.id)).size).toBe(3)
  })

  it("unsampled effect still runs", async () => {
    const { exit, records } = await runTracked(Effect.succeed(7).pipe(Monitor.track("skip")), {
      samplingRate: 0,
    })

    expect(exit).toEqual(Exit.succeed(7))
    expect(records).toHaveLength(0)
  })

  it("layerNoop records nothing", async () => {
    const value = await Effect.runPromise(
      Effect.gen(function* () {
        const monitor = yield* Monitor.Monitor
        const result = yield* Effect.succeed(3).pipe(Monitor.track("noop"))
        return { result, records: monitor.getRecords().length }
      }).pipe(Effect.provide(Monitor.layerNoop)),
    )

    expect(value).toEqual({ result: 3, records: 0 })
  })
})

describe("Monitor.track context", () => {
  const idAfter = <E>(inner: Effect.Effect<unknown, E, Monitor.Monitor>) =>
    Effect.gen(function* () {
      const during: Array<string | undefined> = []
      const tracked = Effect.flatMap(Effect.service(Monitor.CurrentOperationId), (id) => {
        during.push(id)
        return inner
      }).pipe(Monitor.track("outer"))
      const exit = yield* Effect.exit(tracked)
      const after = yield* Effect.service(Monitor.CurrentOperationId)
      return { during, after, exit }
    })

  it("sets current id inside", async () => {
    const { exit, records } = await runTracked(idAfter(Effect.void))

    expect(Exit.isSuccess(exit)).toBe(true)
    const result = Exit.isSuccess(exit) ? exit.value : undefined
    expect(result?.during).toEqual([records[0]?.id])
    expect(result?.after).toBeUndefined()
  })

  it("restores context after failure", async () => {
    const { exit } = await runTracked(idAfter(Effect.fail("boom")))

    const result = Exit.isSuccess(exit) ? exit.value : undefined
    expect(result?.during).toHaveLength(1)
    expect(result?.during[0]).toBeDefined()
    expect(Exit.isFailure(result?.exit ?? Exit.void)).toBe(true)
    expect(result?.after).toBeUndefined()
  })

  it("restores context after defect", async () => {
    const { exit } = await runTracked(idAfter(Effect.die(new Error("defect"))))

    const result = Exit.isSuccess(exit) ? exit.value : undefined
    expect(result?.during[0]).toBeDefined()
    expect(result?.after).toBeUndefined()
  })

  it("sequential tracks are siblings", async () => {
    const { records } = await runTracked(
      Effect.gen(function* () {
        yield* Effect.void.pipe(Monitor.track("first"))
        yield* Effect.void.pipe(Monitor.track("second"))
      }).pipe(Monitor.track("parent")),
    )

    const parent = records.find((record) => record.operation === "parent")
    const first = records.find((record) => record.operation === "first")
    const second = records.find((record) => record.operation === "second")
    expect(first?.parentId).toBe(parent?.id)
    expect(second?.parentId).toBe(parent?.id)
    expect(parent?.parentId).toBeUndefined()
  })

  it("missing Monitor fails with service error", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.succeed(1).pipe(Monitor.track("orphan")) as Effect.Effect<number>,
    )

    expect(Exit.isFailure(exit)).toBe(true)
  })
})

describe("Monitor.layer", () => {
  it("invalid option logs to CurrentLogger", async () => {
    const logger = capturingLogger()

    const config = await Effect.runPromise(
      Effect.gen(function* () {
        const monitor = yield* Monitor.Monitor
        return monitor.config
      }).pipe(
        Effect.provide(Monitor.layer({ samplingRate: 5, publish: false })),
        Effect.provideService(Logging.CurrentLogger, logger),
      ),
    )

    expect(config.samplingRate).toBe(1)
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain('"samplingRate"')
  })

  it("make builds a monitor", async () => {
    const monitor = await Effect.runPromise(Monitor.make({ publish: false, samplingRate: 0.5 }))

    expect(monitor.config.samplingRate).toBe(0.5)
  })

  it("layer composes with Layer.provide", async () => {
    const logger = capturingLogger()
    const layer = Monitor.layer({ maxOperationNames: 0, publish: false }).pipe(
      Layer.provide(Layer.succeed(Logging.CurrentLogger, logger)),
    )

    await Effect.runPromise(Effect.provide(Effect.service(Monitor.Monitor), layer))

    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain('"maxOperationNames"')
  })
})
