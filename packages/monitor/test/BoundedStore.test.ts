import { describe, expect, it } from "vitest"
import { BoundedStore, type OperationMetrics } from "../src/index.js"

type TestRecord = OperationMetrics

/** A record whose id serves as its label in the checks. */
const record = (operation: string, index: number, timestamp = 1_000): TestRecord => ({
  id: `${operation}${index}`,
  operation,
  duration: index / 1000,
  timestamp,
  memoryUsage: undefined,
  memoryDelta: undefined,
  cpuUsage: undefined,
  status: "ok",
  error: undefined,
  customMetrics: {},
  parentId: undefined,
  systemInfo: undefined,
})

const labels = (records: ReadonlyArray<TestRecord>) => records.map((each) => each.id)

/** Checks the store's accounting: every record added is stored, taken or dropped. */
const expectBalanced = (store: BoundedStore.BoundedStore<TestRecord>) => {
  const dropped = store.dropped
  const droppedTotal = dropped.perOperation + dropped.total + dropped.retention + dropped.cleared
  expect(store.added).toBe(store.size + store.taken + droppedTotal)
}

// Every case runs on both queue kinds: record objects in a ring, and columns.
const queueKinds = [
  ["object queue", undefined],
  ["column queue", BoundedStore.columnQueue],
] as const

describe.each(queueKinds)("%s", (_kind, newQueue) => {
  const newStore = (options?: BoundedStore.BoundedStoreOptions) =>
    new BoundedStore.BoundedStore<TestRecord>(options, newQueue)

  describe("maxPerOperation", () => {
    it("drops oldest of that operation", () => {
      const store = newStore({ maxPerOperation: 3 })

      for (let i = 1; i <= 5; i++) store.add(record("a", i))

      expect(labels(store.recordsOf("a"))).toEqual(["a3", "a4", "a5"])
      expect(store.dropped.perOperation).toBe(2)
      expect(store.size).toBe(3)
      expect(store.added).toBe(5)
      expectBalanced(store)
    })

    it("leaves other operations alone", () => {
      const store = newStore({ maxPerOperation: 2 })

      store.add(record("b", 1))
      for (let i = 1; i <= 4; i++) store.add(record("a", i))

      expect(labels(store.recordsOf("b"))).toEqual(["b1"])
      expect(store.counts()).toEqual({ b: 1, a: 2 })
    })

    it("defaults to 1000", () => {
      const store = newStore()

      for (let i = 1; i <= 1_001; i++) store.add(record("a", i))

      expect(store.size).toBe(BoundedStore.DEFAULT_MAX_PER_OPERATION)
      expect(store.dropped.perOperation).toBe(1)
    })
  })

  describe("maxTotal", () => {
    it("evicts oldest of largest operation", () => {
      const store = newStore({ maxTotal: 5 })
      for (let i = 1; i <= 4; i++) store.add(record("a", i))
      store.add(record("b", 1))

      store.add(record("b", 2))

      expect(labels(store.recordsOf("a"))).toEqual(["a2", "a3", "a4"])
      expect(labels(store.recordsOf("b"))).toEqual(["b1", "b2"])
      expect(store.dropped.total).toBe(1)
      expect(store.size).toBe(5)
      expectBalanced(store)
    })

    it("keeps total at cap", () => {
      const store = newStore({ maxTotal: 4 })

      for (let i = 1; i <= 6; i++) store.add(record("a", i))
      store.add(record("b", 1))
      store.add(record("c", 1))

      expect(store.size).toBe(4)
      expect(labels(store.recordsOf("a"))).toEqual(["a5", "a6"])
      expect(store.counts()).toEqual({ a: 2, b: 1, c: 1 })
      expect(store.dropped.total).toBe(4)
      expectBalanced(store)
    })

    it("counts per-operation drops apart", () => {
      const store = newStore({ maxPerOperation: 2, maxTotal: 3 })

      for (let i = 1; i <= 4; i++) store.add(record("a", i))
      for (let i = 1; i <= 2; i++) store.add(record("b", i))

      expect(store.dropped.perOperation).toBe(2)
      expect(store.dropped.total).toBe(1)
      expect(store.size).toBe(3)
      expectBalanced(store)
    })
  })

  describe("retentionSeconds", () => {
    it("drops records past retention", () => {
      let now = 1_000
      const store = newStore({
        retentionSeconds: 60,
        nowSeconds: () => now,
      })
      store.add(record("a", 1, 950))
      store.add(record("a", 2, 960))
      store.add(record("b", 1, 990))

      now = 1_015
      store.pruneExpired()

      expect(labels(store.records())).toEqual(["a2", "b1"])
      expect(store.dropped.retention).toBe(1)
      expectBalanced(store)
    })

    it("keeps record exactly at cutoff", () => {
      let now = 1_000
      const store = newStore({
        retentionSeconds: 60,
        nowSeconds: () => now,
      })
      store.add(record("a", 1, 960))

      now = 1_020
      store.pruneExpired()

      expect(store.size).toBe(1)
      expect(store.dropped.retention).toBe(0)
    })

    it("add prunes expired records", () => {
      let now = 1_000
      const store = newStore({
        retentionSeconds: 10,
        nowSeconds: () => now,
      })
      store.add(record("a", 1, 995))

      now = 1_020
      store.add(record("a", 2, 1_020))

      expect(labels(store.recordsOf("a"))).toEqual(["a2"])
      expect(store.dropped.retention).toBe(1)
    })

    it("take skips expired records", () => {
      let now = 1_000
      const store = newStore({
        retentionSeconds: 10,
        nowSeconds: () => now,
      })
      store.add(record("a", 1, 995))
      store.add(record("b", 1, 1_000))

      now = 1_008
      const taken = store.take(10)

      expect(labels(taken)).toEqual(["b1"])
      expect(store.dropped.retention).toBe(1)
      expectBalanced(store)
    })

    it("unlimited when not set", () => {
      let now = 1_000
      const store = newStore({ nowSeconds: () => now })
      store.add(record("a", 1, 0))

      now = 1_000_000
      store.pruneExpired()

      expect(store.size).toBe(1)
    })
  })

  describe("maxOperations", () => {
    it("further names go to overflow", () => {
      const store = newStore({ maxOperations: 2 })

      for (const name of ["a", "b", "c", "d", "a"]) store.add(record(name, 1))

      expect(store.operations()).toEqual(["a", "b", BoundedStore.OVERFLOW_OPERATION])
      expect(labels(store.recordsOf(BoundedStore.OVERFLOW_OPERATION))).toEqual(["c1", "d1"])
      expect(store.overflowed).toBe(2)
      expectBalanced(store)
    })

    it("first overflow calls back once", () => {
      const store = newStore({ maxOperations: 1 })
      const names: Array<string> = []
      store.onFirstOverflow((name) => names.push(name))

      for (const name of ["a", "b", "c"]) store.add(record(name, 1))

      expect(names).toEqual(["b"])
    })

    it("custom overflow operation name", () => {
      const store = newStore({
        maxOperations: 1,
        overflowOperation: "other",
      })

      store.add(record("a", 1))
      store.add(record("b", 1))

      expect(store.operations()).toEqual(["a", "other"])
    })
  })

  describe("take and giveBack", () => {
    it("take returns oldest first", () => {
      const store = newStore()
      store.add(record("a", 1))
      store.add(record("a", 2))
      store.add(record("b", 1))
      store.add(record("b", 2))

      const taken = store.take(3)

      expect(labels(taken)).toEqual(["a1", "a2", "b1"])
      expect(store.taken).toBe(3)
      expect(store.size).toBe(1)
      expectBalanced(store)
    })

    it("giveBack restores order", () => {
      const store = newStore()
      store.add(record("a", 1))
      store.add(record("a", 2))
      store.add(record("b", 1))
      store.add(record("b", 2))
      const taken = store.take(3)

      store.giveBack(taken)

      expect(labels(store.recordsOf("a"))).toEqual(["a1", "a2"])
      expect(labels(store.recordsOf("b"))).toEqual(["b1", "b2"])
      expect(store.taken).toBe(0)
      expect(store.size).toBe(4)
      expectBalanced(store)
    })

    it("giveBack drops returned first", () => {
      const store = newStore({ maxPerOperation: 2 })
      store.add(record("a", 1))
      store.add(record("a", 2))
      const taken = store.take(2)
      store.add(record("a", 3))
      store.add(record("a", 4))

      store.giveBack(taken)

      expect(labels(store.recordsOf("a"))).toEqual(["a3", "a4"])
      expect(store.dropped.perOperation).toBe(2)
      expect(store.taken).toBe(0)
      expectBalanced(store)
    })

    it("giveBack respects maxTotal", () => {
      const store = newStore({ maxTotal: 3 })
      store.add(record("a", 1))
      store.add(record("a", 2))
      const taken = store.take(2)
      store.add(record("b", 1))
      store.add(record("b", 2))

      store.giveBack(taken)

      expect(store.size).toBe(3)
      expect(store.dropped.total).toBe(1)
      expectBalanced(store)
    })
  })

  describe("clear", () => {
    it("clear one counts as cleared", () => {
      const store = newStore()
      store.add(record("a", 1))
      store.add(record("a", 2))
      store.add(record("b", 1))

      store.clear("a")

      expect(store.dropped.cleared).toBe(2)
      expect(store.recordsOf("a")).toHaveLength(0)
      expect(store.size).toBe(1)
      expectBalanced(store)
    })

    it("clear all counts as cleared", () => {
      const store = newStore()
      store.add(record("a", 1))
      store.add(record("b", 1))
      store.add(record("c", 1))

      store.clear()

      expect(store.dropped.cleared).toBe(3)
      expect(store.size).toBe(0)
      expectBalanced(store)
    })

    it("clear unknown operation changes nothing", () => {
      const store = newStore()
      store.add(record("a", 1))

      store.clear("missing")

      expect(store.dropped.cleared).toBe(0)
      expect(store.size).toBe(1)
    })
  })

  describe("accounting", () => {
    it("mixed sequence stays balanced", () => {
      let now = 1_000
      const store = newStore({
        maxPerOperation: 4,
        maxTotal: 10,
        retentionSeconds: 30,
        maxOperations: 3,
        nowSeconds: () => now,
      })

      for (let i = 0; i < 40; i++) {
        now += 2
        store.add(record(`op${i % 5}`, i, now))
        if (i % 7 === 6) store.giveBack(store.take(3).slice(1))
        if (i === 25) store.clear("op1")
      }
      now += 100
      store.pruneExpired()

      expect(store.added).toBe(40)
      expect(store.size).toBe(0)
      expectBalanced(store)
    })

    it("resetCounters keeps records", () => {
      const store = newStore({ maxPerOperation: 1 })
      store.add(record("a", 1))
      store.add(record("a", 2))

      store.resetCounters()

      expect(store.size).toBe(1)
      expect(store.added).toBe(1)
      expect(store.dropped.perOperation).toBe(0)
      expectBalanced(store)
    })

    it("reconfigure applies new bounds", () => {
      const store = newStore()
      for (let i = 1; i <= 5; i++) store.add(record("a", i))
      for (let i = 1; i <= 2; i++) store.add(record("b", i))

      store.reconfigure({ maxPerOperation: 3, maxTotal: 4 })

      expect(store.counts()).toEqual({ a: 2, b: 2 })
      expect(store.dropped.perOperation).toBe(2)
      expect(store.dropped.total).toBe(1)
      expectBalanced(store)
    })
  })
})
