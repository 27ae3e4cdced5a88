import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { forceExport, makeHarness, nextTurn, record } from "./fixtures.js"

/** More records than the manager takes from its buffer per turn of the event loop. */
const COUNT = 4500

const largeHarness = () =>
  makeHarness({
    batchSize: COUNT * 2,
    maxTotalMetrics: COUNT * 2,
    maxMetricsPerOperation: COUNT * 2,
    includeSystemMetrics: false,
  })

describe("Telemetry large batch", () => {
  it("is taken in slices as one batch", async () => {
    const { telemetry, exporter } = largeHarness()
    const records = Array.from({ length: COUNT }, () => record("large"))
    for (const each of records) telemetry.collect(each)

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(true)
    expect(exporter.calls).toHaveLength(1)
    expect(exporter.calls[0]?.records.map((each) => each.id)).toStrictEqual(
      records.map((each) => each.id),
    )
    expect(telemetry.stats.delivered).toBe(COUNT)
    expect(telemetry.stats.inFlight).toBe(0)
    expect(telemetry.stats.buffered).toBe(0)
  })

  it("interrupted while taken goes back to the buffer", async () => {
    const { telemetry, exporter } = largeHarness()
    for (let index = 0; index < COUNT; index++) telemetry.collect(record("large"))

    const fiber = Effect.runFork(telemetry.forceExport)
    // One turn lets the first slice be taken, and the export waits for the next turn.
    await nextTurn()
    const inFlightWhileTaking = telemetry.stats.inFlight
    await Effect.runPromise(Fiber.interrupt(fiber))

    expect(inFlightWhileTaking).toBeGreaterThan(0)
    expect(inFlightWhileTaking).toBeLessThan(COUNT)
    expect(exporter.calls).toHaveLength(0)
    expect(telemetry.stats.inFlight).toBe(0)
    expect(telemetry.stats.buffered).toBe(COUNT)
  })
})
