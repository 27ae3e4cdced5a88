/**
 * Time limits of `disable` and the scheduled export before a pipeline is
 * set. Time is driven by Effect's TestClock, so no real time passes.
 */
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Sink, SinkError, Telemetry } from "../src/index.js"
import {
  expectReconciled,
  makeClock,
  makeExporter,
  makeHarness,
  makeLogger,
  record,
} from "./fixtures.js"

/** Runs `program` with a fresh TestClock. */
const runWithTestClock = <A>(program: Effect.Effect<A>): Promise<A> =>
  Effect.runPromise(Effect.provide(program, TestClock.layer()))

/** A sink whose deliveries never complete, like an endpoint that never responds. */
const silentSink: Sink.SinkShape = { destination: "silent", deliver: () => Effect.never }

describe("disable time limit", () => {
  it("stops after shutdownTimeoutMs", async () => {
    const harness = makeHarness(
      { includeSystemMetrics: false, shutdownTimeoutMs: 500, batchSize: 50 },
      { sink: silentSink },
    )
    await Effect.runPromise(harness.telemetry.enable({ exportIntervalSeconds: 3600 }))
    // Two names, because each operation keeps at most 100 records by default.
    for (let i = 0; i < 170; i++) harness.emit(record(i % 2 === 0 ? "slow-even" : "slow-odd"))

    const outcome = await runWithTestClock(
      Effect.gen(function* () {
        const disabling = yield* Effect.forkChild(harness.telemetry.disable)
        yield* TestClock.adjust("499 millis")
        const early = disabling.pollUnsafe()
        yield* TestClock.adjust("1 millis")
        const flushed = yield* Fiber.join(disabling)
        return { early, flushed }
      }),
    )

    expect(outcome.early).toBeUndefined()
    expect(outcome.flushed).toBe(false)
    expect(harness.telemetry.enabled).toBe(false)
    expect(harness.telemetry.stats.buffered).toBe(170)
    expect(harness.telemetry.stats.inFlight).toBe(0)
    expectReconciled(harness.telemetry)
    const warnings = harness.logger.at("warn")
    expect(warnings).toContain(
      "telemetry: the flush in disable did not finish within 500 ms (shutdownTimeoutMs); 170 records stay buffered.",
    )
  })

  it("returns the flush result within the limit", async () => {
    const harness = makeHarness({ includeSystemMetrics: false, shutdownTimeoutMs: 500 })
    await Effect.runPromise(harness.telemetry.enable({ exportIntervalSeconds: 3600 }))
    harness.emit(record("fast"))

    const flushed = await runWithTestClock(harness.telemetry.disable)

    expect(flushed).toBe(true)
    expect(harness.telemetry.stats.delivered).toBe(1)
    expect(harness.logger.at("warn")).toEqual([])
  })
})

describe("scheduled export before a pipeline", () => {
  it("skips without an error", async () => {
    const logger = makeLogger()
    const telemetry = Telemetry.makeUnsafe({
      flushOnExit: false,
      includeSystemMetrics: false,
      logger,
      nowSeconds: makeClock().now,
      source: () => () => {},
    })

    await runWithTestClock(
      Effect.gen(function* () {
        yield* telemetry.enable({ exportIntervalSeconds: 1 })
        telemetry.collect(record("early"))
        yield* TestClock.adjust("3 seconds")
      }),
    )

    expect(telemetry.stats.lastError).toBeUndefined()
    expect(logger.at("error")).toEqual([])
    expect(telemetry.stats.buffered).toBe(1)
    telemetry.setPipeline({ exporter: makeExporter(), sink: Sink.makeMemory() })
    await Effect.runPromise(telemetry.shutdown)
    expect(telemetry.stats.delivered).toBe(1)
  })

  it("reports a missing plugin", async () => {
    const logger = makeLogger()
    const telemetry = Telemetry.makeUnsafe({
      flushOnExit: false,
      includeSystemMetrics: false,
      logger,
      nowSeconds: makeClock().now,
      source: () => () => {},
    })
    const missing = new SinkError.SinkError({
      reason: "PluginMissing",
      message: 'export destination "http" needs the package @dinoair/sink-http',
    })
    telemetry.setPipeline(undefined, missing)

    await runWithTestClock(
      Effect.gen(function* () {
        yield* telemetry.enable({ exportIntervalSeconds: 1 })
        telemetry.collect(record("early"))
        yield* TestClock.adjust("3 seconds")
      }),
    )

    expect(telemetry.stats.lastError?.code).toBe("DINOAIR_PLUGIN_MISSING")
    expect(logger.at("error")).toEqual([
      'telemetry: export skipped: export destination "http" needs the package @dinoair/sink-http. Records stay buffered.',
    ])
    telemetry.setPipeline({ exporter: makeExporter(), sink: Sink.makeMemory() })
    expect(await Effect.runPromise(telemetry.forceExport)).toBe(true)
    expect(telemetry.stats.lastError).toBeUndefined()
    await Effect.runPromise(telemetry.shutdown)
  })

  it("explicit export without pipeline names no layers", async () => {
    const logger = makeLogger()
    const telemetry = Telemetry.makeUnsafe({ flushOnExit: false, logger, source: () => () => {} })
    telemetry.collect(record("early"))

    expect(await Effect.runPromise(telemetry.forceExport)).toBe(false)

    expect(logger.at("error").join("\n")).not.toContain("layers")
    expect(telemetry.stats.lastError?.code).toBe("DINOAIR_PLUGIN_MISSING")
  })
})
