import { describe, expect, it } from "vitest"
import { Monitor, Summary } from "../src/index.js"
import { capturingLogger, fakeResources, manualClock } from "./helpers.js"

const summaryMonitor = (options: Monitor.MonitorOptions = {}) => {
  const clock = manualClock()
  const resources = fakeResources()
  const monitor = Monitor.makeUnsafe({
    enableCpuTracking: false,
    enableMemoryTracking: false,
    clock,
    resources,
    ...options,
    publish: false,
    logger: capturingLogger(),
  })
  return { monitor, clock, resources }
}

/** Records one operation per duration, in milliseconds, in the given order. */
const recordDurations = (
  monitor: Monitor.MonitorInstance,
  clock: ReturnType<typeof manualClock>,
  name: string,
  durationsMs: ReadonlyArray<number>,
) => {
  for (const ms of durationsMs) {
    const id = monitor.startOperation(name)
    clock.advance(ms)
    monitor.endOperation(id)
  }
}

// 1..20 ms in a shuffled order, so the summary must sort them.
const SHUFFLED_MS = [7, 19, 3, 12, 1, 20, 15, 9, 4, 18, 11, 2, 16, 6, 13, 10, 5, 17, 8, 14]

describe("getMetricsSummary", () => {
  it("duration statistics are exact", () => {
    const { monitor, clock } = summaryMonitor()

    recordDurations(monitor, clock, "query", SHUFFLED_MS)
    const summary = monitor.getMetricsSummary("query").query

    expect(summary?.operation).toBe("query")
    expect(summary?.count).toBe(20)
    expect(summary?.totalDuration).toBeCloseTo(0.21, 12)
    expect(summary?.meanDuration).toBeCloseTo(0.0105, 12)
    expect(summary?.minDuration).toBe(0.001)
    expect(summary?.maxDuration).toBe(0.02)
    expect(summary?.retained).toBe(20)
  })

  it("percentiles use nearest rank", () => {
    const { monitor, clock } = summaryMonitor()

    recordDurations(monitor, clock, "query", SHUFFLED_MS)
    const summary = monitor.getMetricsSummary("query").query

    // Nearest rank over 20 values: p50 is the 10th, p95 the 19th, p99 the 20th.
    expect(summary?.p50Duration).toBe(0.01)
    expect(summary?.p95Duration).toBe(0.019)
    expect(summary?.p99Duration).toBe(0.02)
  })

  it("single record gives its duration", () => {
    const { monitor, clock } = summaryMonitor()

    recordDurations(monitor, clock, "once", [40])
    const summary = monitor.getMetricsSummary("once").once

    expect(summary?.p50Duration).toBe(0.04)
    expect(summary?.p99Duration).toBe(0.04)
    expect(summary?.minDuration).toBe(0.04)
  })

  it("percentiles cover retained window", () => {
    const { monitor, clock } = summaryMonitor({ maxMetricsRetained: 4 })

    recordDurations(monitor, clock, "query", [100, 1, 2, 3, 4])
    const summary = monitor.getMetricsSummary("query").query

    expect(summary?.count).toBe(5)
    expect(summary?.maxDuration).toBe(0.1)
    expect(summary?.p99Duration).toBe(0.004)
    expect(summary?.retained).toBe(4)
  })

  it("counts errors", () => {
    const { monitor } = summaryMonitor()

    monitor.endOperation(monitor.startOperation("save"))
    monitor.endOperation(monitor.startOperation("save"), { status: "error" })
    const summary = monitor.getMetricsSummary("save").save

    expect(summary?.count).toBe(2)
    expect(summary?.errorCount).toBe(1)
  })

  it("CPU and memory mean and max", () => {
    const { monitor, clock, resources } = summaryMonitor({
      enableCpuTracking: true,
      enableMemoryTracking: true,
    })

    const first = monitor.startOperation("work")
    clock.advance(10)
    resources.cpu += 5_000
    resources.rss = 1_000
    monitor.endOperation(first)
    const second = monitor.startOperation("work")
    clock.advance(10)
    resources.cpu += 2_000
    resources.rss = 3_000
    monitor.endOperation(second)
    const summary = monitor.getMetricsSummary("work").work

    expect(summary?.meanCpuUsage).toBe(35)
    expect(summary?.maxCpuUsage).toBe(50)
    expect(summary?.meanMemoryUsage).toBe(2_000)
    expect(summary?.maxMemoryUsage).toBe(3_000)
  })

  it("no readings leave CPU and memory undefined", () => {
    const { monitor } = summaryMonitor()

    monitor.endOperation(monitor.startOperation("work"))
    const summary = monitor.getMetricsSummary("work").work

    expect(summary?.meanCpuUsage).toBeUndefined()
    expect(summary?.maxCpuUsage).toBeUndefined()
    expect(summary?.meanMemoryUsage).toBeUndefined()
    expect(summary?.maxMemoryUsage).toBeUndefined()
  })

  it("lists every operation", () => {
    const { monitor } = summaryMonitor()

    monitor.endOperation(monitor.startOperation("a"))
    monitor.endOperation(monitor.startOperation("b"))

    expect(Object.keys(monitor.getMetricsSummary()).sort()).toEqual(["a", "b"])
  })

  it("unknown operation gives empty object", () => {
    const { monitor } = summaryMonitor()

    monitor.endOperation(monitor.startOperation("a"))

    expect(monitor.getMetricsSummary("missing")).toEqual({})
  })
})

describe("Summary.percentile", () => {
  it.each([
    [0.5, 2],
    [0.75, 3],
    [0.76, 4],
    [1, 4],
    [0, 1],
  ])("fraction %s of 1..4 is %s", (fraction, expected) => {
    expect(Summary.percentile([1, 2, 3, 4], fraction)).toBe(expected)
  })

  it("empty input gives zero", () => {
    expect(Summary.percentile([], 0.5)).toBe(0)
  })
})
