import type { OperationMetrics } from "@dinoair/monitor"
import { Deferred, Effect, Latch } from "effect"
import { describe, expect, it } from "vitest"
import { type Exporter, type Sink, SinkError } from "../src/index.js"
import {
  deliveredIds,
  expectReconciled,
  forceExport,
  makeExporter,
  makeHarness,
  nextTurn,
  record,
} from "./fixtures.js"

const networkError = (): SinkError.SinkError =>
  new SinkError.SinkError({
    reason: "Network",
    message: "connection refused",
    destination: "memory",
  })

const rejectedError = (): SinkError.SinkError =>
  new SinkError.SinkError({
    reason: "Rejected",
    message: "payload rejected with status 400",
    destination: "memory",
    status: 400,
  })

const collectAll = (
  telemetry: { collect: (record: OperationMetrics) => void },
  records: ReadonlyArray<OperationMetrics>,
): void => {
  for (const each of records) telemetry.collect(each)
}

describe("Telemetry export", () => {
  it("drains the buffer in batches of batchSize", async () => {
    const { telemetry, sink } = makeHarness({ batchSize: 3 })
    const records = Array.from({ length: 7 }, () => record("job"))
    collectAll(telemetry, records)

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(true)
    expect(sink.payloads.map((payload) => payload.recordCount)).toEqual([3, 3, 1])
    expect(deliveredIds(sink)).toEqual(records.map((each) => each.id))
    expect(telemetry.stats.batchesDelivered).toBe(3)
    expect(telemetry.stats.buffered).toBe(0)
    expect(telemetry.stats.delivered).toBe(7)
    expectReconciled(telemetry)
  })

  it("failure message ending in period", async () => {
    const { telemetry, sink, logger } = makeHarness()
    collectAll(telemetry, [record("upload")])
    sink.failWith = new SinkError.SinkError({
      reason: "Network",
      message: "connection reset by peer.",
      destination: "memory",
    })

    await forceExport(telemetry)

    const warning = logger.at("warn")[0] ?? ""
    expect(warning).toContain("connection reset by peer. 1 records stay buffered")
    expect(warning).not.toContain("..")
  })

  it("empty buffer exports nothing and succeeds", async () => {
    const { telemetry, sink } = makeHarness()

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(true)
    expect(sink.payloads).toHaveLength(0)
  })

  it("failed export recovers with nothing lost", async () => {
    const { telemetry, sink, logger } = makeHarness({ batchSize: 2 })
    const records = Array.from({ length: 5 }, () => record("upload"))
    collectAll(telemetry, records)
    expectReconciled(telemetry)

    sink.failWith = networkError()
    const failed = await forceExport(telemetry)

    expect(failed).toBe(false)
    expect(sink.payloads).toHaveLength(0)
    expect(telemetry.stats.buffered).toBe(5)
    expect(telemetry.stats.delivered).toBe(0)
    expect(telemetry.stats.batchesFailed).toBe(1)
    expect(telemetry.stats.lastError?.reason).toBe("Network")
    expect(logger.at("warn")).toHaveLength(1)
    expect(logger.at("warn")[0]).toContain("DINOAIR_SINK_NETWORK")
    expectReconciled(telemetry)

    const failedAgain = await forceExport(telemetry)

    expect(failedAgain).toBe(false)
    expect(telemetry.stats.batchesFailed).toBe(2)
    expect(logger.at("warn")).toHaveLength(1)
    expectReconciled(telemetry)

    sink.failWith = undefined
    const recovered = await forceExport(telemetry)

    expect(recovered).toBe(true)
    expect(deliveredIds(sink)).toEqual(records.map((each) => each.id))
    expect(sink.payloads.map((payload) => payload.recordCount)).toEqual([2, 2, 1])
    expect(telemetry.stats.delivered).toBe(5)
    expect(telemetry.stats.buffered).toBe(0)
    expect(logger.at("info")).toHaveLength(1)
    expectReconciled(telemetry)
  })

  it("failure midway keeps the undelivered batches in order", async () => {
    const exporter = makeExporter()
    const accepted: Array<Exporter.Payload> = []
    let calls = 0
    const sink: Sink.SinkShape = {
      destination: "flaky",
      deliver: (payload) =>
        Effect.suspend(() => {
          calls++
          if (calls === 2) return Effect.fail(networkError())
          accepted.push(payload)
          return Effect.void
        }),
    }
    const { telemetry } = makeHarness({ batchSize: 2 }, { exporter, sink })
    const records = Array.from({ length: 6 }, () => record("step"))
    collectAll(telemetry, records)

    const first = await forceExport(telemetry)

    expect(first).toBe(false)
    expect(calls).toBe(2)
    expect(telemetry.stats.delivered).toBe(2)
    expect(telemetry.stats.buffered).toBe(4)
    expect(telemetry.bufferedRecords()).toEqual(records.slice(2))
    expectReconciled(telemetry)

    const second = await forceExport(telemetry)

    expect(second).toBe(true)
    expect(accepted.map((payload) => payload.recordCount)).toEqual([2, 2, 2])
    expect(exporter.calls.map((call) => call.records)).toEqual([
      records.slice(0, 2),
      records.slice(2, 4),
      records.slice(2, 4),
      records.slice(4, 6),
    ])
    expectReconciled(telemetry)
  })

  it("failed batch returns to a still-bounded buffer", async () => {
    const exporter = makeExporter()
    let telemetryRef: { collect: (record: OperationMetrics) => void } | undefined
    const sink: Sink.SinkShape = {
      destination: "busy",
      // Records keep arriving while the delivery fails.
      deliver: () =>
        Effect.suspend(() => {
          for (let i = 0; i < 3; i++) telemetryRef?.collect(record("burst"))
          return Effect.fail(networkError())
        }),
    }
    const { telemetry } = makeHarness({ maxTotalMetrics: 4 }, { exporter, sink })
    telemetryRef = telemetry
    collectAll(
      telemetry,
      Array.from({ length: 4 }, () => record("burst")),
    )

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(false)
    expect(telemetry.stats.produced).toBe(7)
    expect(telemetry.stats.buffered).toBe(4)
    expect(telemetry.stats.dropped.total).toBe(3)
    expect(telemetry.stats.inFlight).toBe(0)
    expectReconciled(telemetry)
  })

  it("rejected batch counts as dropped.rejected", async () => {
    const { telemetry, sink, logger } = makeHarness({ batchSize: 2 })
    collectAll(
      telemetry,
      Array.from({ length: 3 }, () => record("bad")),
    )
    sink.failWith = rejectedError()

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(false)
    expect(telemetry.stats.dropped.rejected).toBe(3)
    expect(telemetry.stats.buffered).toBe(0)
    expect(telemetry.stats.delivered).toBe(0)
    expect(telemetry.stats.batchesFailed).toBe(2)
    expect(telemetry.stats.lastError?.code).toBe("DINOAIR_SINK_REJECTED")
    expect(logger.at("error")).toHaveLength(2)
    expectReconciled(telemetry)
  })

  it("throwing exporter counts as rejected", async () => {
    const exporter: Exporter.ExporterShape = {
      format: "broken",
      contentType: "text/plain",
      fileExtension: "txt",
      encode: () => {
        throw new Error("cannot encode")
      },
    }
    const { telemetry, sink } = makeHarness({}, { exporter })
    telemetry.collect(record("encode"))

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(false)
    expect(sink.payloads).toHaveLength(0)
    expect(telemetry.stats.dropped.rejected).toBe(1)
    expect(telemetry.stats.lastError?.reason).toBe("Encode")
    expect(telemetry.stats.lastError?.message).toContain("cannot encode")
    expectReconciled(telemetry)
  })

  it("missing pipeline keeps records and logs once", async () => {
    const { telemetry, logger } = makeHarness()
    telemetry.setPipeline(undefined)
    telemetry.collect(record("orphan"))

    const first = await forceExport(telemetry)
    const second = await forceExport(telemetry)

    expect(first).toBe(false)
    expect(second).toBe(false)
    expect(telemetry.stats.buffered).toBe(1)
    expect(logger.at("error")).toHaveLength(1)
    expectReconciled(telemetry)
  })

  it("runs at most one export at a time", async () => {
    const gate = Latch.makeUnsafe(false)
    const firstStarted = Deferred.makeUnsafe<void>()
    const deliveries: Array<Exporter.Payload> = []
    let active = 0
    let maxActive = 0
    const sink: Sink.SinkShape = {
      destination: "gated",
      deliver: (payload) =>
        Effect.gen(function* () {
          active++
          maxActive = Math.max(maxActive, active)
          yield* Deferred.succeed(firstStarted, undefined)
          yield* gate.await
          deliveries.push(payload)
          active--
        }),
    }
    const { telemetry } = makeHarness({}, { exporter: makeExporter(), sink })
    collectAll(telemetry, [record("slow"), record("slow")])

    const first = forceExport(telemetry)
    await Effect.runPromise(Deferred.await(firstStarted))
    telemetry.collect(record("slow"))
    const second = forceExport(telemetry)
    await nextTurn()

    expect(telemetry.stats.inFlight).toBe(2)
    expect(telemetry.stats.buffered).toBe(1)
    expect(deliveries).toHaveLength(0)
    expect(active).toBe(1)
    expectReconciled(telemetry)

    gate.openUnsafe()
    const results = await Promise.all([first, second])

    expect(results).toEqual([true, true])
    expect(maxActive).toBe(1)
    expect(deliveries.map((payload) => payload.recordCount)).toEqual([2, 1])
    expect(telemetry.stats.inFlight).toBe(0)
    expectReconciled(telemetry)
  })

  it("forceExport exports only what was buffered at its start", async () => {
    let telemetryRef: { collect: (record: OperationMetrics) => void } | undefined
    const accepted: Array<Exporter.Payload> = []
    const sink: Sink.SinkShape = {
      destination: "growing",
      deliver: (payload) =>
        Effect.sync(() => {
          accepted.push(payload)
          telemetryRef?.collect(record("late"))
        }),
    }
    const { telemetry } = makeHarness({ batchSize: 1 }, { exporter: makeExporter(), sink })
    telemetryRef = telemetry
    collectAll(telemetry, [record("early"), record("early")])

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(true)
    expect(accepted).toHaveLength(2)
    expect(telemetry.stats.buffered).toBe(2)
    expectReconciled(telemetry)
  })
})

describe("Telemetry observe hook", () => {
  it("observes each record once", async () => {
    const observed: Array<string> = []
    const exporter = {
      ...makeExporter(),
      observe: (each: { id: string }) => observed.push(each.id),
    }
    const harness = makeHarness({ includeSystemMetrics: false })
    harness.telemetry.setPipeline({ exporter, sink: harness.sink })
    await Effect.runPromise(harness.telemetry.enable())
    harness.sink.failWith = new SinkError.SinkError({ reason: "Network", message: "down" })

    harness.emit(record("work"))
    await forceExport(harness.telemetry)
    harness.sink.failWith = undefined
    await forceExport(harness.telemetry)

    expect(observed).toHaveLength(1)
    expect(harness.telemetry.stats.delivered).toBe(1)
    await Effect.runPromise(harness.telemetry.shutdown)
  })

  it("new exporter observes buffered records", async () => {
    const observed: Array<string> = []
    const harness = makeHarness({ includeSystemMetrics: false })
    await Effect.runPromise(harness.telemetry.enable())
    harness.emit(record("early"))
    harness.emit(record("early"))

    const exporter = {
      ...makeExporter(),
      observe: (each: { id: string }) => observed.push(each.id),
    }
    harness.telemetry.setPipeline({ exporter, sink: harness.sink })
    harness.emit(record("late"))

    expect(observed).toHaveLength(3)
    await Effect.runPromise(harness.telemetry.shutdown)
  })
})

describe("Telemetry observe before the pipeline", () => {
  const observingExporter = (observed: Array<string>): Exporter.ExporterShape => ({
    ...makeExporter(),
    observe: (each) => {
      observed.push(each.id)
    },
  })

  it("late exporter observes records the buffer dropped", () => {
    const observed: Array<string> = []
    const harness = makeHarness({ maxMetricsPerOperation: 100 })
    harness.telemetry.setPipeline(undefined)
    const records = Array.from({ length: 1000 }, () => record("work"))
    collectAll(harness.telemetry, records)

    harness.telemetry.setPipeline({ exporter: observingExporter(observed), sink: harness.sink })

    expect(harness.telemetry.stats.buffered).toBe(100)
    expect(observed).toHaveLength(1000)
    expect(new Set(observed).size).toBe(1000)
  })

  it("waiting records are bounded by maxTotalMetrics", () => {
    const observed: Array<string> = []
    const harness = makeHarness({ maxTotalMetrics: 50, maxMetricsPerOperation: 10 })
    harness.telemetry.setPipeline(undefined)
    const records = Array.from({ length: 80 }, () => record("work"))
    collectAll(harness.telemetry, records)

    harness.telemetry.setPipeline({ exporter: observingExporter(observed), sink: harness.sink })

    expect(observed).toEqual(records.slice(30).map((each) => each.id))
    expect(harness.telemetry.stats.unobservedDropped).toBe(30)
    expectReconciled(harness.telemetry)
  })

  it("records are observed once after install", () => {
    const observed: Array<string> = []
    const harness = makeHarness()
    harness.telemetry.setPipeline(undefined)
    collectAll(harness.telemetry, [record("early")])

    harness.telemetry.setPipeline({ exporter: observingExporter(observed), sink: harness.sink })
    collectAll(harness.telemetry, [record("late")])

    expect(observed).toHaveLength(2)
  })

  it("exporter without observe ends the wait", () => {
    const observed: Array<string> = []
    const harness = makeHarness()
    harness.telemetry.setPipeline(undefined)
    collectAll(harness.telemetry, [record("early")])
    harness.telemetry.clearMetrics()

    harness.telemetry.setPipeline({ exporter: makeExporter(), sink: harness.sink })
    harness.telemetry.setPipeline({ exporter: observingExporter(observed), sink: harness.sink })

    expect(observed).toHaveLength(0)
  })
})

describe("Telemetry with broken plugins", () => {
  const brokenSink = (result: unknown): Sink.SinkShape => ({
    destination: "broken",
    deliver: () => result as Effect.Effect<void, SinkError.SinkError>,
  })

  it.each([
    ["a promise", Promise.resolve()],
    ["undefined", undefined],
    ["a function", () => undefined],
  ])("deliver returning %s is rejected", async (_kind, result) => {
    const harness = makeHarness({}, { sink: brokenSink(result) })
    collectAll(harness.telemetry, [record("work"), record("work")])

    const delivered = await forceExport(harness.telemetry)

    expect(delivered).toBe(false)
    expect(harness.telemetry.stats.dropped.rejected).toBe(2)
    expect(harness.telemetry.stats.lastError?.reason).toBe("InvalidConfig")
    expect(harness.telemetry.stats.lastError?.message).toContain("broken")
    expectReconciled(harness.telemetry)
  })

  it("broken sink is logged once", async () => {
    const harness = makeHarness({}, { sink: brokenSink(Promise.resolve()) })

    collectAll(harness.telemetry, [record("work")])
    await forceExport(harness.telemetry)
    collectAll(harness.telemetry, [record("work")])
    await forceExport(harness.telemetry)

    expect(harness.logger.at("error")).toHaveLength(1)
    expect(harness.telemetry.stats.dropped.rejected).toBe(2)
  })

  it.each([
    ["undefined", undefined],
    ["an object without text", { body: 1 }],
    ["a string", "text"],
  ])("encode returning %s is rejected", async (_kind, payload) => {
    const exporter: Exporter.ExporterShape = {
      ...makeExporter(),
      encode: () => payload as unknown as Exporter.Payload,
    }
    const harness = makeHarness({}, { exporter })
    collectAll(harness.telemetry, [record("work")])

    const delivered = await forceExport(harness.telemetry)

    expect(delivered).toBe(false)
    expect(harness.sink.payloads).toHaveLength(0)
    expect(harness.telemetry.stats.dropped.rejected).toBe(1)
    expect(harness.telemetry.stats.lastError?.reason).toBe("Encode")
  })

  it("close that is no effect still shuts down", async () => {
    const sink = {
      ...brokenSink(Effect.void),
      close: Promise.resolve() as unknown as Effect.Effect<void>,
    }
    const harness = makeHarness({}, { sink })
    await Effect.runPromise(harness.telemetry.enable())

    await expect(Effect.runPromise(harness.telemetry.shutdown)).resolves.toBeUndefined()
  })
})
