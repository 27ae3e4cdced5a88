import { Logging, Monitor } from "@dinoair/monitor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Sink, Telemetry } from "../src/index.js"
import { expectReconciled, makeExporter, makeLogger } from "./fixtures.js"

const pipeline = () => ({ exporter: makeExporter(), sink: Sink.makeMemory() })

const quietOptions = {
  flushOnExit: false,
  includeSystemMetrics: false,
} as const

describe("record sources", () => {
  it("collects from the process-wide bus", async () => {
    const monitor = Monitor.makeUnsafe({ publish: true }, Logging.silentLogger)
    const telemetry = Telemetry.makeUnsafe({ ...quietOptions, logger: makeLogger() }, pipeline())
    await Effect.runPromise(telemetry.enable())

    monitor.run("bus-operation", () => 42)
    monitor.run("bus-operation", () => 43)

    expect(telemetry.getMetricsCount()).toEqual({ "bus-operation": 2 })
    expectReconciled(telemetry)
    await Effect.runPromise(telemetry.shutdown)
  })

  it("stops collecting from the bus after disable", async () => {
    const monitor = Monitor.makeUnsafe({ publish: true }, Logging.silentLogger)
    const telemetry = Telemetry.makeUnsafe({ ...quietOptions, logger: makeLogger() }, pipeline())
    await Effect.runPromise(telemetry.enable())
    monitor.run("before", () => undefined)

    await Effect.runPromise(telemetry.disable)
    monitor.run("after", () => undefined)

    expect(telemetry.stats.produced).toBe(1)
    expect(telemetry.stats.delivered).toBe(1)
  })

  it("unpublished monitor stays off the bus", async () => {
    const monitor = Monitor.makeUnsafe({ publish: false }, Logging.silentLogger)
    const telemetry = Telemetry.makeUnsafe({ ...quietOptions, logger: makeLogger() }, pipeline())
    await Effect.runPromise(telemetry.enable())

    monitor.run("private", () => undefined)

    expect(telemetry.stats.produced).toBe(0)
    await Effect.runPromise(telemetry.shutdown)
  })

  it("scoped source collects from one monitor only", async () => {
    const mine = Monitor.makeUnsafe({ publish: false }, Logging.silentLogger)
    const other = Monitor.makeUnsafe({ publish: true }, Logging.silentLogger)
    const telemetry = Telemetry.makeUnsafe(
      {
        ...quietOptions,
        logger: makeLogger(),
        source: mine.subscribe,
      },
      pipeline(),
    )
    await Effect.runPromise(telemetry.enable())

    mine.run("mine", () => undefined)
    other.run("other", () => undefined)

    expect(telemetry.getMetricsCount()).toEqual({ mine: 1 })
    await Effect.runPromise(telemetry.shutdown)
    mine.run("mine", () => undefined)
    expect(telemetry.stats.produced).toBe(1)
  })

  it("records a failed operation with status error", async () => {
    const monitor = Monitor.makeUnsafe({ publish: false }, Logging.silentLogger)
    const telemetry = Telemetry.makeUnsafe(
      { ...quietOptions, logger: makeLogger(), source: (listener) => monitor.subscribe(listener) },
      pipeline(),
    )
    await Effect.runPromise(telemetry.enable())

    expect(() =>
      monitor.run("failing", () => {
        throw new Error("boom")
      }),
    ).toThrow("boom")

    expect(telemetry.bufferedRecords()[0]?.status).toBe("error")
    await Effect.runPromise(telemetry.shutdown)
  })
})
