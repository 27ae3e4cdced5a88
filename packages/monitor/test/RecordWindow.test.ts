import { describe, expect, it } from "vitest"
import { Monitor, type OperationMetrics } from "../src/index.js"
import { ActiveSet } from "../src/internal/ActiveSet.js"
import { EMPTY_METRICS, RecordWindow } from "../src/internal/RecordWindow.js"
import { capturingLogger, manualClock } from "./helpers.js"

const recordOf = (
  sequence: number,
  overrides: Partial<OperationMetrics> = {},
): OperationMetrics => ({
  id: `op#${sequence}`,
  operation: "op",
  duration: sequence / 1000,
  timestamp: 1_700_000_000 + sequence,
  memoryUsage: undefined,
  memoryDelta: undefined,
  cpuUsage: undefined,
  status: "ok",
  error: undefined,
  customMetrics: EMPTY_METRICS,
  parentId: undefined,
  systemInfo: undefined,
  ...overrides,
})

const fill = (window: RecordWindow, from: number, to: number): Array<OperationMetrics> => {
  const added: Array<OperationMetrics> = []
  for (let sequence = from; sequence <= to; sequence++) {
    const record = recordOf(sequence)
    window.add(record, sequence)
    added.push(record)
  }
  return added
}

describe("RecordWindow", () => {
  it("rebuilds records equal to added", () => {
    const window = new RecordWindow("op", 100, false)
    const plain = recordOf(1)
    const full = recordOf(2, {
      memoryUsage: 52_428_800,
      memoryDelta: -4096,
      cpuUsage: 37.5,
      status: "error",
      error: "timeout",
      customMetrics: { rows: 3 },
      parentId: "parent#9",
      systemInfo: {
        hostname: "h",
        platform: "linux",
        arch: "x64",
        runtimeVersion: "v20",
        cpuCount: 2,
        totalMemory: 1,
      },
    })

    window.add(plain, 1)
    window.add(full, 2)

    expect(window.appendTo([])).toEqual([plain, full])
    expect(window.appendTo([])[1]?.customMetrics).toBe(full.customMetrics)
  })

  it("overwrites oldest when full", () => {
    const window = new RecordWindow("op", 3, false)

    const added = fill(window, 1, 5)

    expect(window.size).toBe(3)
    expect(window.appendTo([])).toEqual(added.slice(2))
    expect(window.durations()).toEqual([0.003, 0.004, 0.005])
  })

  it("add reports overwrite", () => {
    const window = new RecordWindow("op", 2, false)

    expect(window.add(recordOf(1), 1)).toBe(false)
    expect(window.add(recordOf(2), 2)).toBe(false)
    expect(window.add(recordOf(3), 3)).toBe(true)
  })

  it("grows past initial length", () => {
    const window = new RecordWindow("op", 1000, false)

    const added = fill(window, 1, 700)

    expect(window.size).toBe(700)
    expect(window.appendTo([])).toEqual(added)
  })

  it("resize keeps newest records", () => {
    const window = new RecordWindow("op", 10, false)
    const added = fill(window, 1, 14)

    const dropped = window.resize(4)

    expect(dropped).toBe(6)
    expect(window.appendTo([])).toEqual(added.slice(10))
    const more = fill(window, 15, 16)
    expect(window.appendTo([])).toEqual([...added.slice(12), ...more])
  })

  it("resize larger keeps all", () => {
    const window = new RecordWindow("op", 3, false)
    const added = fill(window, 1, 5)

    expect(window.resize(5)).toBe(0)
    const more = fill(window, 6, 8)

    expect(window.size).toBe(5)
    expect(window.appendTo([])).toEqual([...added.slice(3), ...more])
  })

  it("keeps ids when asked", () => {
    const window = new RecordWindow("dinoair_overflow", 10, true)
    const record = recordOf(7, { id: "user_name#7", operation: "dinoair_overflow" })

    window.add(record, 7)

    expect(window.appendTo([])[0]?.id).toBe("user_name#7")
  })

  it("sparse column keeps rare values", () => {
    const window = new RecordWindow("op", 50, false)
    fill(window, 1, 20)
    window.add(recordOf(21, { error: "late", status: "error" }), 21)
    fill(window, 22, 40)

    const records = window.appendTo([])

    expect(records.filter((record) => record.error !== undefined)).toHaveLength(1)
    expect(records[20]?.error).toBe("late")
    expect(records[20]?.status).toBe("error")
  })

  it("clear empties window", () => {
    const window = new RecordWindow("op", 10, false)
    fill(window, 1, 5)

    window.clear()

    expect(window.size).toBe(0)
    expect(window.appendTo([])).toEqual([])
    fill(window, 6, 6)
    expect(window.size).toBe(1)
  })
})

describe("ActiveSet", () => {
  const item = (id: string) => ({ id })

  it("takes out of order", () => {
    const set = new ActiveSet<{ id: string }>()
    const items = ["a", "b", "c", "d", "e", "f", "g"].map(item)
    for (const each of items) set.add(each)

    expect(set.take("c")).toBe(items[2])
    expect(set.take("f")).toBe(items[5])
    expect(set.take("c")).toBeUndefined()
    expect(set.size).toBe(5)
    expect(set.values().map((each) => each.id)).toEqual(["a", "b", "d", "e", "g"])
  })

  it("takeOldest follows start order", () => {
    const set = new ActiveSet<{ id: string }>()
    for (const id of ["a", "b", "c", "d", "e", "f"]) set.add(item(id))

    const order: Array<string> = []
    for (let each = set.takeOldest(); each !== undefined; each = set.takeOldest())
      order.push(each.id)

    expect(order).toEqual(["a", "b", "c", "d", "e", "f"])
    expect(set.size).toBe(0)
  })

  it("get finds old and new", () => {
    const set = new ActiveSet<{ id: string }>()
    for (const id of ["a", "b", "c", "d", "e", "f"]) set.add(item(id))

    expect(set.get("a")?.id).toBe("a")
    expect(set.get("f")?.id).toBe("f")
    expect(set.has("z")).toBe(false)
  })
})

describe("Monitor retained records", () => {
  const monitorOf = (options: Monitor.MonitorOptions = {}) =>
    Monitor.makeUnsafe({
      clock: manualClock(),
      publish: false,
      logger: capturingLogger(),
      ...options,
    })

  it("getRecords equals ended records", () => {
    const monitor = monitorOf()
    const ended: Array<OperationMetrics | undefined> = []
    const parent = monitor.startOperation("parent")
    monitor.runWithin(parent, () => {
      const child = monitor.startOperation("child", { rows: 2, "a b": "x" })
      monitor.recordCustomMetric(child, "bytes", 10)
      ended.push(monitor.endOperation(child, { status: "error", error: new Error("late") }))
    })
    ended.push(monitor.endOperation(parent))

    const records = monitor.getRecords()

    expect(records).toHaveLength(2)
    expect(records).toContainEqual(ended[0])
    expect(records).toContainEqual(ended[1])
    expect(monitor.getRecords("child")).toEqual([ended[0]])
  })

  it("overflow records keep original ids", () => {
    const monitor = monitorOf({ maxOperationNames: 1 })
    monitor.endOperation(monitor.startOperation("first"))
    const id = monitor.startOperation("second")
    monitor.endOperation(id)

    const overflow = monitor.getRecords("dinoair_overflow")

    expect(overflow).toHaveLength(1)
    expect(overflow[0]?.id).toBe(id)
    expect(overflow[0]?.operation).toBe("dinoair_overflow")
  })

  it("name equal to overflow shares bucket", () => {
    const monitor = monitorOf({ maxOperationNames: 1 })
    monitor.endOperation(monitor.startOperation("dinoair_overflow"))
    monitor.endOperation(monitor.startOperation("first"))
    monitor.endOperation(monitor.startOperation("second"))

    const summary = monitor.getMetricsSummary()

    expect(Object.keys(summary).sort()).toEqual(["dinoair_overflow", "first"])
    expect(summary.dinoair_overflow?.count).toBe(2)
  })

  it("lowering maxMetricsRetained trims windows", () => {
    const monitor = monitorOf()
    for (let i = 0; i < 30; i++) monitor.endOperation(monitor.startOperation("op"))

    monitor.configure({ maxMetricsRetained: 5 })

    expect(monitor.getRecords("op")).toHaveLength(5)
    expect(monitor.getMetricsSummary().op?.count).toBe(30)
    expect(monitor.getMetricsSummary().op?.retained).toBe(5)
  })

  it("live timestamps follow wall clock", () => {
    const monitor = Monitor.makeUnsafe({ publish: false, logger: capturingLogger() })
    const before = Date.now() / 1000

    const record = monitor.endOperation(monitor.startOperation("op"))
    const after = Date.now() / 1000

    // The derived wall time may differ from Date.now() by the clocks' rounding, well under 50 ms.
    expect(record?.timestamp).toBeGreaterThanOrEqual(before - 0.05)
    expect(record?.timestamp).toBeLessThanOrEqual(after + 0.05)
  })
})
