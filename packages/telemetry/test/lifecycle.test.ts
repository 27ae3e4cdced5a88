import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { type Sink, SinkError, Telemetry } from "../src/index.js"
import {
  deliveredIds,
  expectReconciled,
  forceExport,
  makeExporter,
  makeHarness,
  record,
} from "./fixtures.js"

/** Creates a sink that counts deliveries and calls of `close`. */
const closableSink = (): Sink.SinkShape & { closes: number; delivered: number } => {
  const sink = {
    destination: "closable",
    closes: 0,
    delivered: 0,
    deliver: () =>
      Effect.sync(() => {
        sink.delivered++
      }),
    close: Effect.sync(() => {
      sink.closes++
    }),
  }
  return sink
}

describe("Telemetry lifecycle", () => {
  it("enable subscribes to the source", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })

    await Effect.runPromise(harness.telemetry.enable())
    harness.emit(record("seen"))

    expect(harness.telemetry.enabled).toBe(true)
    expect(harness.telemetry.config.enabled).toBe(true)
    expect(harness.telemetry.stats.produced).toBe(1)
    await Effect.runPromise(harness.telemetry.shutdown)
  })

  it("replaced sink closes at next export", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })
    const first = closableSink()
    const second = closableSink()
    harness.telemetry.setPipeline({ exporter: makeExporter(), sink: first })
    await Effect.runPromise(harness.telemetry.enable())
    harness.emit(record("work"))

    harness.telemetry.setPipeline({ exporter: makeExporter(), sink: second })
    expect(first.closes).toBe(0)
    const delivered = await forceExport(harness.telemetry)

    expect(delivered).toBe(true)
    expect(first.closes).toBe(1)
    expect(first.delivered).toBe(0)
    expect(second.delivered).toBe(1)
    await Effect.runPromise(harness.telemetry.shutdown)
    expect(first.closes).toBe(1)
    expect(second.closes).toBe(1)
  })

  it("collects nothing before enable", () => {
    const harness = makeHarness()

    harness.emit(record("unseen"))

    expect(harness.subscribed).toBe(false)
    expect(harness.telemetry.stats.produced).toBe(0)
  })

  it("enable applies overrides", async () => {
    const { telemetry } = makeHarness({ includeSystemMetrics: false })

    await Effect.runPromise(telemetry.enable({ batchSize: 2, exportIntervalSeconds: 30 }))

    expect(telemetry.config.batchSize).toBe(2)
    expect(telemetry.config.exportIntervalSeconds).toBe(30)
    await Effect.runPromise(telemetry.shutdown)
  })

  it("disable flushes then stops collecting", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })
    await Effect.runPromise(harness.telemetry.enable())
    const before = [record("work"), record("work")]
    for (const each of before) harness.emit(each)

    const flushed = await Effect.runPromise(harness.telemetry.disable)
    harness.emit(record("after"))

    expect(flushed).toBe(true)
    expect(deliveredIds(harness.sink)).toEqual(before.map((each) => each.id))
    expect(harness.telemetry.enabled).toBe(false)
    expect(harness.telemetry.config.enabled).toBe(false)
    expect(harness.subscribed).toBe(false)
    expect(harness.telemetry.stats.produced).toBe(2)
    expect(harness.telemetry.stats.buffered).toBe(0)
    expectReconciled(harness.telemetry)
  })

  it("disable reports a failed flush", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })
    await Effect.runPromise(harness.telemetry.enable())
    harness.emit(record("work"))
    harness.sink.failWith = new SinkError.SinkError({
      reason: "Timeout",
      message: "no answer",
    })

    const flushed = await Effect.runPromise(harness.telemetry.disable)

    expect(flushed).toBe(false)
    expect(harness.telemetry.enabled).toBe(false)
    expect(harness.telemetry.stats.buffered).toBe(1)
    expectReconciled(harness.telemetry)
  })

  it("enable after disable collects again", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })
    await Effect.runPromise(harness.telemetry.enable())
    await Effect.runPromise(harness.telemetry.disable)

    await Effect.runPromise(harness.telemetry.enable())
    harness.emit(record("again"))

    expect(harness.telemetry.stats.produced).toBe(1)
    await Effect.runPromise(harness.telemetry.shutdown)
  })

  it("shutdown twice closes the sink once", async () => {
    const sink = closableSink()
    const { telemetry } = makeHarness(
      { includeSystemMetrics: false },
      { exporter: makeExporter(), sink },
    )
    await Effect.runPromise(telemetry.enable())
    telemetry.collect(record("last"))

    await Effect.runPromise(telemetry.shutdown)
    await Effect.runPromise(telemetry.shutdown)

    expect(sink.closes).toBe(1)
    expect(sink.delivered).toBe(1)
    expect(telemetry.enabled).toBe(false)
    expectReconciled(telemetry)
  })

  it("concurrent shutdowns close the sink once", async () => {
    const sink = closableSink()
    const { telemetry } = makeHarness(
      { includeSystemMetrics: false },
      { exporter: makeExporter(), sink },
    )
    await Effect.runPromise(telemetry.enable())

    await Promise.all([
      Effect.runPromise(telemetry.shutdown),
      Effect.runPromise(telemetry.shutdown),
    ])

    expect(sink.closes).toBe(1)
  })

  it("shutdown gives up after shutdownTimeoutMs", async () => {
    let closes = 0
    const sink: Sink.SinkShape = {
      destination: "stuck",
      deliver: () => Effect.never,
      close: Effect.sync(() => {
        closes++
      }),
    }
    const { telemetry, logger } = makeHarness(
      { includeSystemMetrics: false, shutdownTimeoutMs: 0 },
      { exporter: makeExporter(), sink },
    )
    await Effect.runPromise(telemetry.enable())
    telemetry.collect(record("stuck"))
    telemetry.collect(record("stuck"))

    await Effect.runPromise(telemetry.shutdown)

    expect(closes).toBe(1)
    expect(telemetry.enabled).toBe(false)
    expect(telemetry.config.enabled).toBe(false)
    expect(telemetry.stats.buffered).toBe(2)
    expect(telemetry.stats.inFlight).toBe(0)
    expect(telemetry.stats.dropped.rejected).toBe(0)
    expect(logger.at("warn").some((line) => line.includes("did not finish"))).toBe(true)
    expectReconciled(telemetry)
  })

  it("makeUnsafe without options uses the defaults", () => {
    const telemetry = Telemetry.makeUnsafe({ logger: makeHarness().logger, source: () => () => {} })

    expect(telemetry.enabled).toBe(false)
    expect(telemetry.config.exportIntervalSeconds).toBe(60)
  })

  it("forceExport works without enable", async () => {
    const { telemetry, sink } = makeHarness()
    telemetry.collect(record("manual"))

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(true)
    expect(sink.payloads).toHaveLength(1)
  })
})
