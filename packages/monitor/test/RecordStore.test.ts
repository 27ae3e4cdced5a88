import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { BoundedStore, type OperationMetrics } from "../src/index.js"

/** An ended operation named `operation` that ended at `timestamp` Unix seconds. */
const record = (operation: string, id: string, timestamp: number): OperationMetrics => ({
  id,
  operation,
  duration: 0.01,
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

const ids = (records: ReadonlyArray<OperationMetrics>) => records.map((each) => each.id)

describe("BoundedStore.RecordStore", () => {
  it("layer provides a store with its bounds", async () => {
    const program = Effect.gen(function* () {
      const store = yield* BoundedStore.RecordStore
      for (let i = 1; i <= 3; i++) store.add(record("load", `load-${i}`, 100))
      return store
    })

    const store = await Effect.runPromise(
      program.pipe(Effect.provide(BoundedStore.layer({ maxPerOperation: 2 }))),
    )

    expect(ids(store.records())).toEqual(["load-2", "load-3"])
    expect(store.dropped.perOperation).toBe(1)
  })

  it("each layer build is a fresh store", async () => {
    const StoreLive = BoundedStore.layer()
    const addOne = Effect.gen(function* () {
      const store = yield* BoundedStore.RecordStore
      store.add(record("load", "load-1", 100))
      return store.size
    })

    const first = await Effect.runPromise(addOne.pipe(Effect.provide(StoreLive)))
    const second = await Effect.runPromise(addOne.pipe(Effect.provide(StoreLive)))

    expect(first).toBe(1)
    expect(second).toBe(1)
  })

  it("retention follows the TestClock", async () => {
    const program = Effect.gen(function* () {
      const store = yield* BoundedStore.make({ retentionSeconds: 60 })
      store.add(record("load", "old", 0))
      yield* TestClock.adjust("30 seconds")
      store.add(record("load", "new", 30))
      const before = store.size
      yield* TestClock.adjust("45 seconds")
      store.pruneExpired()
      return { before, after: ids(store.records()), dropped: store.dropped.retention }
    })

    const result = await Effect.runPromise(program.pipe(Effect.provide(TestClock.layer())))

    expect(result.before).toBe(2)
    expect(result.after).toEqual(["new"])
    expect(result.dropped).toBe(1)
  })

  it("nowSeconds option overrides the Effect clock", async () => {
    const program = Effect.gen(function* () {
      const store = yield* BoundedStore.make({ retentionSeconds: 60, nowSeconds: () => 1_000 })
      store.add(record("load", "stale", 100))
      return store.size
    })

    const size = await Effect.runPromise(program.pipe(Effect.provide(TestClock.layer())))

    expect(size).toBe(0)
  })

  it("makeUnsafe builds a plain store", () => {
    const store = BoundedStore.makeUnsafe({ maxTotal: 1 })

    store.add(record("a", "a-1", 100))
    store.add(record("b", "b-1", 100))

    expect(store).toBeInstanceOf(BoundedStore.BoundedStore)
    expect(store.size).toBe(1)
    expect(store.dropped.total).toBe(1)
  })
})
