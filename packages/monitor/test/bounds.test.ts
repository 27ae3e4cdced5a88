import { describe, expect, it } from "vitest"
import { BoundedStore, Monitor } from "../src/index.js"
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
