import { BoundedStore } from "@dinoair/monitor"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { expectReconciled, makeHarness, record, START_SECONDS } from "./fixtures.js"

describe("Telemetry bounds", () => {
  it("maxMetricsPerOperation drops the oldest", () => {
    const { telemetry } = makeHarness({ maxMetricsPerOperation: 3 })
    const records = Array.from({ length: 5 }, () => record("query"))

    for (const each of records) telemetry.collect(each)

    expect(telemetry.getMetricsCount()).toEqual({ query: 3 })
    expect(telemetry.bufferedRecords().map((each) => each.id)).toEqual(
      records.slice(2).map((each) => each.id),
    )
    expect(telemetry.stats.dropped.perOperation).toBe(2)
    expect(telemetry.stats.dropped.total).toBe(0)
    expectReconciled(telemetry)
  })

  it("maxMetricsPerOperation is per name", () => {
    const { telemetry } = makeHarness({ maxMetricsPerOperation: 2 })

    for (let i = 0; i < 3; i++) telemetry.collect(record("a"))
    for (let i = 0; i < 2; i++) telemetry.collect(record("b"))

    expect(telemetry.getMetricsCount()).toEqual({ a: 2, b: 2 })
    expect(telemetry.stats.dropped.perOperation).toBe(1)
    expectReconciled(telemetry)
  })

  it("maxTotalMetrics evicts from the largest operation", () => {
    const { telemetry } = makeHarness({ maxTotalMetrics: 5 })
    const a = Array.from({ length: 3 }, () => record("a"))
    const b = Array.from({ length: 2 }, () => record("b"))
    for (const each of [...a, ...b]) telemetry.collect(each)

    telemetry.collect(record("c"))

    expect(telemetry.getTotalMetricsCount()).toBe(5)
    expect(telemetry.getMetricsCount()).toEqual({ a: 2, b: 2, c: 1 })
    expect(telemetry.bufferedRecords().filter((each) => each.operation === "a")).toEqual(a.slice(1))
    expect(telemetry.stats.dropped.total).toBe(1)
    expect(telemetry.stats.dropped.perOperation).toBe(0)
    expectReconciled(telemetry)
  })

  it("maxTotalMetrics holds after every record", () => {
    const { telemetry } = makeHarness({ maxTotalMetrics: 4 })

    for (let i = 0; i < 20; i++) {
      telemetry.collect(record(`op-${i % 3}`))
      expect(telemetry.getTotalMetricsCount()).toBeLessThanOrEqual(4)
      expectReconciled(telemetry)
    }

    expect(telemetry.stats.produced).toBe(20)
    expect(telemetry.stats.dropped.total).toBe(16)
  })

  it("retentionHours drops expired records", () => {
    const { telemetry, clock } = makeHarness({ retentionHours: 1 })
    telemetry.collect(record("old"))
    telemetry.collect(record("old"))
    clock.seconds = START_SECONDS + 1800
    telemetry.collect(record("new", { timestamp: clock.seconds }))

    clock.seconds = START_SECONDS + 3600
    expect(telemetry.getTotalMetricsCount()).toBe(3)
    expect(telemetry.stats.dropped.retention).toBe(0)

    clock.seconds = START_SECONDS + 3601
    expect(telemetry.getTotalMetricsCount()).toBe(1)
    expect(telemetry.getMetricsCount().new).toBe(1)
    expect(telemetry.getMetricsCount()).not.toHaveProperty("old")
    expect(telemetry.stats.dropped.retention).toBe(2)
    expectReconciled(telemetry)
  })

  it("retention applies before an export", async () => {
    const { telemetry, clock, sink } = makeHarness({ retentionHours: 1 })
    telemetry.collect(record("old"))
    clock.seconds = START_SECONDS + 2 * 3600
    telemetry.collect(record("new", { timestamp: clock.seconds }))

    const delivered = await Effect.runPromise(telemetry.forceExport)

    expect(delivered).toBe(true)
    expect(sink.payloads.map((payload) => payload.recordCount)).toEqual([1])
    expect(telemetry.stats.delivered).toBe(1)
    expect(telemetry.stats.dropped.retention).toBe(1)
    expectReconciled(telemetry)
  })

  it("configure tightens bounds at once", async () => {
    const { telemetry } = makeHarness()
    for (let i = 0; i < 6; i++) telemetry.collect(record("a"))
    for (let i = 0; i < 2; i++) telemetry.collect(record("b"))

    await Effect.runPromise(telemetry.configure({ maxMetricsPerOperation: 4, maxTotalMetrics: 5 }))

    expect(telemetry.getMetricsCount()).toEqual({ a: 3, b: 2 })
    expect(telemetry.stats.dropped.perOperation).toBe(2)
    expect(telemetry.stats.dropped.total).toBe(1)
    expectReconciled(telemetry)
  })

  it("maxOperationNames sends further names to the overflow bucket", () => {
    const { telemetry, logger } = makeHarness({ maxOperationNames: 2 })

    for (const name of ["a", "b", "c", "d"]) telemetry.collect(record(name))

    expect(telemetry.getMetricsCount()).toEqual({
      a: 1,
      b: 1,
      [BoundedStore.OVERFLOW_OPERATION]: 2,
    })
    expect(telemetry.stats.overflowedNames).toBe(2)
    expect(logger.at("warn")).toHaveLength(1)
    expect(logger.at("warn")[0]).toContain('"c"')
    expectReconciled(telemetry)
  })

  it("clearMetrics counts cleared records", () => {
    const { telemetry } = makeHarness()
    for (let i = 0; i < 3; i++) telemetry.collect(record("a"))

    telemetry.clearMetrics()

    expect(telemetry.getTotalMetricsCount()).toBe(0)
    expect(telemetry.stats.dropped.cleared).toBe(3)
    expectReconciled(telemetry)
  })

  it("resetStats keeps buffered records as produced", () => {
    const { telemetry } = makeHarness({ maxMetricsPerOperation: 2 })
    for (let i = 0; i < 5; i++) telemetry.collect(record("a"))

    telemetry.resetStats()

    expect(telemetry.stats.produced).toBe(2)
    expect(telemetry.stats.buffered).toBe(2)
    expect(telemetry.stats.dropped.perOperation).toBe(0)
    expectReconciled(telemetry)
  })
})
