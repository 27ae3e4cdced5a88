import { describe, expect, it } from "vitest"
import { Monitor, type OperationMetrics } from "../src/index.js"
import { ActiveSet } from "../src/internal/ActiveSet.js"
import { EMPTY_METRICS, RecordColumns } from "../src/internal/RecordColumns.js"
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

const fill = (queue: RecordColumns, from: number, to: number): Array<OperationMetrics> => {
  const added: Array<OperationMetrics> = []
  for (let sequence = from; sequence <= to; sequence++) {
    const record = recordOf(sequence)
    queue.push(record, sequence)
    added.push(record)
  }
  return added
}

describe("RecordColumns", () => {
  const fullRecord = recordOf(2, {
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

  it("rebuilds records equal to added", () => {
    const queue = new RecordColumns("op", "sequence")
    const plain = recordOf(1)

    queue.push(plain, 1)
    queue.push(fullRecord, 2)

    expect(queue.appendTo([])).toEqual([plain, fullRecord])
    expect(queue.at(1)?.customMetrics).toBe(fullRecord.customMetrics)
  })

  it("stored ids come back", () => {
    const queue = new RecordColumns("dinoair_overflow", "stored")
    const record = recordOf(7, { id: "user_name#7", operation: "user_name" })

    queue.push(record)

    expect(queue.at(0)).toEqual(record)
  })

  it("memory delta without usage", () => {
    const queue = new RecordColumns("op", "stored")
    const record = recordOf(3, { memoryDelta: 128 })

    queue.push(record)

    expect(queue.at(0)?.memoryDelta).toBe(128)
    expect(queue.at(0)?.memoryUsage).toBeUndefined()
  })

  it("odd field types kept whole", () => {
    const queue = new RecordColumns("op", "stored")
    const odd = { ...recordOf(4), duration: "slow" } as unknown as OperationMetrics

    queue.push(odd)
    queue.push(recordOf(5))

    expect(queue.at(0)).toBe(odd)
    expect(queue.durations()).toEqual(["slow", 0.005])
    expect(queue.firstTimestamp()).toBe(odd.timestamp)
  })

  it("grows past initial length", () => {
    const queue = new RecordColumns("op", "sequence")

    const added = fill(queue, 1, 700)

    expect(queue.size).toBe(700)
    expect(queue.appendTo([])).toEqual(added)
  })

  it("works as a deque", () => {
    const queue = new RecordColumns("op", "stored")
    const added = fill(queue, 1, 20)
    for (let i = 0; i < 15; i++) queue.dropFirst()
    const more = fill(queue, 21, 30)
    const front = recordOf(0, { error: "given back", status: "error" })

    queue.unshift(front)

    expect(queue.size).toBe(16)
    expect(queue.shift()).toEqual(front)
    expect(queue.appendTo([])).toEqual([...added.slice(15), ...more])
    expect(queue.firstTimestamp()).toBe(added[15]?.timestamp)
  })

  it("dropped slots forget references", () => {
    const queue = new RecordColumns("op", "stored")
    queue.push(fullRecord)
    queue.dropFirst()

    queue.push(recordOf(6))

    expect(queue.at(0)).toEqual(recordOf(6))
  })

  it("trimTo keeps newest records", () => {
    const queue = new RecordColumns("op", "sequence")
    const added = fill(queue, 1, 14)

    const dropped = queue.trimTo(4)

    expect(dropped).toBe(10)
    expect(queue.appendTo([])).toEqual(added.slice(10))
    const more = fill(queue, 15, 16)
    expect(queue.appendTo([])).toEqual([...added.slice(10), ...more])
  })

  it("sparse column keeps rare values", () => {
    const queue = new RecordColumns("op", "sequence")
    fill(queue, 1, 20)
    queue.push(recordOf(21, { error: "late", status: "error" }), 21)
    fill(queue, 22, 40)

    const records = queue.appendTo([])

    expect(records.filter((record) => record.error !== undefined)).toHaveLength(1)
    expect(records[20]?.error).toBe("late")
    expect(records[20]?.status).toBe("error")
  })

  it("clear empties queue", () => {
    const queue = new RecordColumns("op", "sequence")
    fill(queue, 1, 5)

    queue.clear()

    expect(queue.size).toBe(0)
    expect(queue.appendTo([])).toEqual([])
    expect(queue.shift()).toBeUndefined()
    fill(queue, 6, 6)
    expect(queue.size).toBe(1)
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
