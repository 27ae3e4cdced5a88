import { describe, expect, it } from "vitest"
import { BoundedStore, Monitor, PerformanceConfig } from "../src/index.js"
import { capturingLogger, manualClock } from "./helpers.js"

const boundedMonitor = (options: Monitor.MonitorOptions) => {
  const logger = capturingLogger()
  const clock = manualClock()
  const monitor = Monitor.makeUnsafe({
    enableCpuTracking: false,
    enableMemoryTracking: false,
    clock,
    ...options,
    publish: false,
    logger,
  })
  return { monitor, logger, clock }
}

describe("maxMetricsRetained", () => {
  it("keeps newest records per operation", () => {
    const { monitor } = boundedMonitor({ maxMetricsRetained: 3 })

    const ids: Array<string> = []
    for (let i = 0; i < 5; i++) {
      const id = monitor.startOperation("a")
      ids.push(id)
      monitor.endOperation(id)
    }

    expect(monitor.getRecords("a").map((record) => record.id)).toEqual(ids.slice(2))
  })

  it("bounds each operation separately", () => {
    const { monitor } = boundedMonitor({ maxMetricsRetained: 2 })

    for (let i = 0; i < 4; i++) monitor.endOperation(monitor.startOperation("a"))
    monitor.endOperation(monitor.startOperation("b"))

    expect(monitor.getRecords("a")).toHaveLength(2)
    expect(monitor.getRecords("b")).toHaveLength(1)
    expect(monitor.getRecords()).toHaveLength(3)
  })

  it("summary count covers dropped records", () => {
    const { monitor } = boundedMonitor({ maxMetricsRetained: 3 })

    for (let i = 0; i < 5; i++) monitor.endOperation(monitor.startOperation("a"))
    const summary = monitor.getMetricsSummary("a").a

    expect(summary?.count).toBe(5)
    expect(summary?.retained).toBe(3)
  })

  it("lowering it drops oldest", () => {
    const { monitor } = boundedMonitor({ maxMetricsRetained: 10 })
    const ids: Array<string> = []
    for (let i = 0; i < 6; i++) {
      const id = monitor.startOperation("a")
      ids.push(id)
      monitor.endOperation(id)
    }

    monitor.configure({ maxMetricsRetained: 2 })

    expect(monitor.getRecords("a").map((record) => record.id)).toEqual(ids.slice(4))
  })
})

describe("maxOperationNames", () => {
  it("overflow names share one bucket", () => {
    const { monitor } = boundedMonitor({ maxOperationNames: 2 })

    for (const name of ["a", "b", "c", "d", "a"]) {
      monitor.endOperation(monitor.startOperation(name))
    }
    const summaries = monitor.getMetricsSummary()

    expect(Object.keys(summaries).sort()).toEqual(["a", "b", BoundedStore.OVERFLOW_OPERATION])
    expect(summaries.a?.count).toBe(2)
    expect(summaries[BoundedStore.OVERFLOW_OPERATION]?.count).toBe(2)
    expect(monitor.stats.overflowedNames).toBe(2)
  })

  it("overflow operation is dinoair_overflow", () => {
    expect(BoundedStore.OVERFLOW_OPERATION).toBe("dinoair_overflow")
  })

  it("overflow record keeps its id", () => {
    const { monitor } = boundedMonitor({ maxOperationNames: 1 })

    monitor.endOperation(monitor.startOperation("a"))
    const id = monitor.startOperation("user/42")
    const record = monitor.endOperation(id)

    expect(record?.operation).toBe("dinoair_overflow")
    expect(record?.id).toBe(id)
    expect(id).toContain("user/42")
  })

  it("overflow warns once", () => {
    const { monitor, logger } = boundedMonitor({ maxOperationNames: 1 })

    for (const name of ["a", "b", "c", "d"]) monitor.endOperation(monitor.startOperation(name))

    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain('"b"')
    expect(logger.warnings[0]).toContain("dinoair_overflow")
  })

  it("known names still admitted", () => {
    const { monitor } = boundedMonitor({ maxOperationNames: 2 })

    for (const name of ["a", "b", "c", "b", "a"]) monitor.endOperation(monitor.startOperation(name))

    expect(monitor.getRecords("a")).toHaveLength(2)
    expect(monitor.getRecords("b")).toHaveLength(2)
    expect(monitor.getRecords("dinoair_overflow")).toHaveLength(1)
  })
})

describe("maxActiveOperations", () => {
  it("evicts oldest active operation", () => {
    const { monitor } = boundedMonitor({ maxActiveOperations: 3 })

    const ids = [1, 2, 3, 4].map(() => monitor.startOperation("leak"))
    const active = monitor.getActiveOperations().map((each) => each.id)

    expect(active).toEqual(ids.slice(1))
    expect(monitor.stats.evictedActive).toBe(1)
  })

  it("counts every eviction", () => {
    const { monitor } = boundedMonitor({ maxActiveOperations: 2 })

    for (let i = 0; i < 10; i++) monitor.startOperation("leak")

    expect(monitor.getActiveOperations()).toHaveLength(2)
    expect(monitor.stats.evictedActive).toBe(8)
  })

  it("eviction warns once", () => {
    const { monitor, logger } = boundedMonitor({ maxActiveOperations: 1 })

    const first = monitor.startOperation("leak")
    for (let i = 0; i < 5; i++) monitor.startOperation("leak")

    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain(first)
  })

  it("evicted id ends as unknown", () => {
    const { monitor } = boundedMonitor({ maxActiveOperations: 1 })

    const evicted = monitor.startOperation("leak")
    const newest = monitor.startOperation("leak")

    expect(monitor.endOperation(evicted)).toBeUndefined()
    expect(monitor.endOperation(newest)?.id).toBe(newest)
    expect(monitor.stats.unknownIds).toBe(1)
  })
})

describe("maxCustomMetrics", () => {
  it("defaults to 64 names per operation", () => {
    const { monitor } = boundedMonitor({})
    const id = monitor.startOperation("load")

    for (let i = 0; i < 100_000; i++) monitor.recordCustomMetric(id, `metric_${i}`, i)
    const record = monitor.endOperation(id)

    expect(Object.keys(record?.customMetrics ?? {})).toHaveLength(64)
    expect(monitor.stats.droppedCustomMetrics).toBe(100_000 - 64)
  })

  it("keeps the first names", () => {
    const { monitor } = boundedMonitor({ maxCustomMetrics: 2 })
    const id = monitor.startOperation("load")

    const results = ["a", "b", "c"].map((name) => monitor.recordCustomMetric(id, name, 1))
    const record = monitor.endOperation(id)

    expect(results).toEqual([true, true, false])
    expect(record?.customMetrics).toEqual({ a: 1, b: 1 })
  })

  it("a known name still updates at the cap", () => {
    const { monitor } = boundedMonitor({ maxCustomMetrics: 1 })
    const id = monitor.startOperation("load")

    monitor.recordCustomMetric(id, "a", 1)
    const updated = monitor.recordCustomMetric(id, "a", 2)
    const record = monitor.endOperation(id)

    expect(updated).toBe(true)
    expect(record?.customMetrics).toEqual({ a: 2 })
    expect(monitor.stats.droppedCustomMetrics).toBe(0)
  })

  it("metadata counts toward the cap", () => {
    const { monitor } = boundedMonitor({ maxCustomMetrics: 2 })

    const id = monitor.startOperation("load", { a: 1, b: 2, c: 3 })
    const recorded = monitor.recordCustomMetric(id, "d", 4)
    const record = monitor.endOperation(id)

    expect(record?.customMetrics).toEqual({ a: 1, b: 2 })
    expect(recorded).toBe(false)
    expect(monitor.stats.droppedCustomMetrics).toBe(2)
  })

  it("each operation has its own cap", () => {
    const { monitor } = boundedMonitor({ maxCustomMetrics: 1 })
    const first = monitor.startOperation("load")
    const second = monitor.startOperation("load")

    monitor.recordCustomMetric(first, "a", 1)
    const recorded = monitor.recordCustomMetric(second, "b", 1)

    expect(recorded).toBe(true)
  })

  it("cap warns once", () => {
    const { monitor, logger } = boundedMonitor({ maxCustomMetrics: 1 })

    for (let operation = 0; operation < 3; operation++) {
      const id = monitor.startOperation("load")
      for (let i = 0; i < 5; i++) monitor.recordCustomMetric(id, `m${i}`, i)
      monitor.endOperation(id)
    }

    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain("maxCustomMetrics")
  })

  it("zero keeps no custom metrics", () => {
    const { monitor } = boundedMonitor({ maxCustomMetrics: 0 })

    const record = monitor.endOperation(monitor.startOperation("load", { a: 1 }))

    expect(record?.customMetrics).toEqual({})
    expect(monitor.stats.droppedCustomMetrics).toBe(1)
  })

  it.each([-1, 1.5, "8", Number.NaN])("invalid value %j keeps the default", (invalid) => {
    const { monitor, logger } = boundedMonitor({ maxCustomMetrics: invalid as number })
    const id = monitor.startOperation("load")

    for (let i = 0; i < 70; i++) monitor.recordCustomMetric(id, `m${i}`, i)
    const record = monitor.endOperation(id)

    expect(Object.keys(record?.customMetrics ?? {})).toHaveLength(
      PerformanceConfig.defaultPerformanceConfig.maxCustomMetrics,
    )
    expect(logger.warnings[0]).toContain("maxCustomMetrics")
  })
})

describe("custom metric name length", () => {
  const long = "n".repeat(Monitor.MAX_CUSTOM_METRIC_NAME_LENGTH + 50)

  it("recorded name is truncated", () => {
    const { monitor } = boundedMonitor({})
    const id = monitor.startOperation("load")

    monitor.recordCustomMetric(id, long, 1)
    const record = monitor.endOperation(id)

    expect(Object.keys(record?.customMetrics ?? {})).toEqual([
      long.slice(0, Monitor.MAX_CUSTOM_METRIC_NAME_LENGTH),
    ])
    expect(monitor.stats.truncatedCustomMetricNames).toBe(1)
  })

  it("metadata name is truncated", () => {
    const { monitor } = boundedMonitor({})

    const record = monitor.endOperation(monitor.startOperation("load", { [long]: 1 }))

    expect(Object.keys(record?.customMetrics ?? {})[0]).toHaveLength(
      Monitor.MAX_CUSTOM_METRIC_NAME_LENGTH,
    )
  })

  it("truncation keeps surrogate pairs whole", () => {
    const { monitor } = boundedMonitor({})
    const name = `${"a".repeat(Monitor.MAX_CUSTOM_METRIC_NAME_LENGTH - 1)}😀tail`
    const id = monitor.startOperation("load")

    monitor.recordCustomMetric(id, name, 1)
    const [key] = Object.keys(monitor.endOperation(id)?.customMetrics ?? {})

    expect(key).toBe("a".repeat(Monitor.MAX_CUSTOM_METRIC_NAME_LENGTH - 1))
  })

  it("truncation warns once", () => {
    const { monitor, logger } = boundedMonitor({})
    const id = monitor.startOperation("load")

    monitor.recordCustomMetric(id, `${long}1`, 1)
    monitor.recordCustomMetric(id, `${long}2`, 1)

    expect(logger.warnings).toHaveLength(1)
  })
})
