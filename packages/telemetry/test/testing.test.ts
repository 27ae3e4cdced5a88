import { Monitor } from "@dinoair/monitor"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Exporter, Sink, SinkError, Telemetry, Testing } from "../src/index.js"
import { deliveredIds, makeExporter, makeHarness, record } from "./fixtures.js"

/** The test stack with a capturing exporter that writes one record id per line. */
const stack = (options: Testing.TestStackOptions = {}) =>
  Testing.layer({
    ...options,
    monitor: { enableCpuTracking: false, enableMemoryTracking: false, ...options.monitor },
  }).pipe(Layer.provide(Layer.succeed(Exporter.Exporter, makeExporter())))

const operations = (records: ReadonlyArray<{ readonly operation: string }>) =>
  records.map((each) => each.operation)

describe("Testing.layer", () => {
  it("collects tracked operations", async () => {
    const snapshot = await Effect.runPromise(
      Effect.gen(function* () {
        yield* Effect.succeed(1).pipe(Monitor.track("load"))
        return yield* Testing.snapshot
      }).pipe(Effect.provide(stack())),
    )

    expect(operations(snapshot.buffered)).toEqual(["load"])
    expect(operations(snapshot.retained)).toEqual(["load"])
    expect(snapshot.summaries.load?.count).toBe(1)
    expect(snapshot.payloads).toEqual([])
  })

  it("flush delivers to the memory sink", async () => {
    const { delivered, snapshot } = await Effect.runPromise(
      Effect.gen(function* () {
        yield* Effect.succeed(1).pipe(Monitor.track("load"))
        const delivered = yield* Testing.flush
        return { delivered, snapshot: yield* Testing.snapshot }
      }).pipe(Effect.provide(stack())),
    )

    expect(delivered).toBe(true)
    expect(snapshot.buffered).toEqual([])
    expect(snapshot.payloads).toHaveLength(1)
    expect(snapshot.telemetryStats?.delivered).toBe(1)
  })

  it("schedule follows the TestClock", async () => {
    const payloads = await Effect.runPromise(
      Effect.gen(function* () {
        yield* Effect.succeed(1).pipe(Monitor.track("tick"))
        const memory = yield* Sink.Memory
        yield* TestClock.adjust("9 seconds")
        const early = memory.payloads.length
        yield* TestClock.adjust("1 second")
        return { early, late: memory.payloads.length }
      }).pipe(
        Effect.provide(stack({ telemetry: { exportIntervalSeconds: 10 } })),
        Effect.provide(TestClock.layer()),
      ),
    )

    expect(payloads).toEqual({ early: 0, late: 1 })
  })

  it("ignores monitors outside the stack", async () => {
    const outside = Monitor.makeUnsafe({ enableCpuTracking: false, enableMemoryTracking: false })

    const snapshot = await Effect.runPromise(
      Effect.gen(function* () {
        outside.run("elsewhere", () => 1)
        yield* Effect.succeed(1).pipe(Monitor.track("inside"))
        return yield* Testing.snapshot
      }).pipe(Effect.provide(stack())),
    )

    expect(operations(snapshot.buffered)).toEqual(["inside"])
  })

  it("closing the scope flushes", async () => {
    const memory = await Effect.runPromise(
      Effect.gen(function* () {
        yield* Effect.succeed(1).pipe(Monitor.track("last"))
        return yield* Sink.Memory
      }).pipe(Effect.provide(stack())),
    )

    expect(memory.documents()).toHaveLength(1)
  })
})

describe("Testing.reset", () => {
  it("clears monitor, buffer and sink", async () => {
    const snapshot = await Effect.runPromise(
      Effect.gen(function* () {
        yield* Effect.succeed(1).pipe(Monitor.track("first"))
        yield* Testing.flush
        yield* Effect.succeed(1).pipe(Monitor.track("second"))
        const memory = yield* Sink.Memory
        memory.failWith = new SinkError.SinkError({ reason: "Timeout", message: "slow" })
        yield* Testing.reset
        return yield* Testing.snapshot
      }).pipe(Effect.provide(stack())),
    )

    expect(snapshot.summaries).toEqual({})
    expect(snapshot.retained).toEqual([])
    expect(snapshot.buffered).toEqual([])
    expect(snapshot.payloads).toEqual([])
    expect(snapshot.monitorStats?.recorded).toBe(0)
    expect(snapshot.telemetryStats?.produced).toBe(0)
    expect(snapshot.telemetryStats?.delivered).toBe(0)
  })

  it("stack keeps working after reset", async () => {
    const snapshot = await Effect.runPromise(
      Effect.gen(function* () {
        yield* Effect.succeed(1).pipe(Monitor.track("before"))
        yield* Testing.reset
        yield* Effect.succeed(1).pipe(Monitor.track("after"))
        yield* Testing.flush
        return yield* Testing.snapshot
      }).pipe(Effect.provide(stack())),
    )

    expect(snapshot.payloads).toHaveLength(1)
    expect(snapshot.telemetryStats?.delivered).toBe(1)
    expect(Object.keys(snapshot.summaries)).toEqual(["after"])
  })
})

describe("Testing without services", () => {
  it("snapshot is empty", async () => {
    const snapshot = await Effect.runPromise(Testing.snapshot)

    expect(snapshot).toEqual({
      summaries: {},
      retained: [],
      buffered: [],
      monitorStats: undefined,
      telemetryStats: undefined,
      payloads: [],
    })
  })

  it("flush succeeds with true", async () => {
    const delivered = await Effect.runPromise(Testing.flush)

    expect(delivered).toBe(true)
  })
})

describe("Testing.snapshotOf and resetOf", () => {
  it("read and reset plain objects", () => {
    const harness = makeHarness()
    const monitor = Monitor.makeUnsafe({ publish: false })
    monitor.run("plain", () => 1)
    harness.telemetry.collect(record("buffered"))

    const before = Testing.snapshotOf({
      monitor,
      telemetry: harness.telemetry,
      sink: harness.sink,
    })
    Testing.resetOf({ monitor, telemetry: harness.telemetry, sink: harness.sink })
    const after = Testing.snapshotOf({ monitor, telemetry: harness.telemetry })

    expect(Object.keys(before.summaries)).toEqual(["plain"])
    expect(operations(before.buffered)).toEqual(["buffered"])
    expect(after.summaries).toEqual({})
    expect(after.buffered).toEqual([])
    expect(after.telemetryStats?.produced).toBe(0)
  })

  it("snapshot arrays are copies", async () => {
    const harness = makeHarness()
    harness.telemetry.collect(record("copied"))
    await Effect.runPromise(harness.telemetry.forceExport)

    const snapshot = Testing.snapshotOf({ sink: harness.sink })
    harness.sink.clear()

    expect(snapshot.payloads).toHaveLength(1)
    expect(deliveredIds(harness.sink)).toEqual([])
  })
})

describe("Telemetry made by the stack", () => {
  it("is a Telemetry service", async () => {
    const enabled = await Effect.runPromise(
      Effect.map(Effect.service(Telemetry.Telemetry), (telemetry) => telemetry.enabled).pipe(
        Effect.provide(stack()),
      ),
    )

    expect(enabled).toBe(true)
  })
})
