import { describe, expect, it } from "vitest"
import { Registry } from "../src/index.js"
import { record } from "./helpers.js"

const totalsOf = (registry: Registry.Registry, operation = "data_processing") => {
  const totals = registry.snapshot().operations.find((each) => each.operation === operation)
  if (totals === undefined) throw new Error(`no totals for ${operation}`)
  return totals
}

describe("Registry counts", () => {
  it("counts by operation and status", () => {
    const registry = Registry.make()
    registry.observeAll([
      record(),
      record(),
      record({ status: "error" }),
      record({ operation: "other" }),
    ])

    expect(totalsOf(registry).statuses).toStrictEqual([
      ["error", 1],
      ["ok", 2],
    ])
    expect(totalsOf(registry, "other").statuses).toStrictEqual([["ok", 1]])
  })

  it("buckets hold each duration once", () => {
    const registry = Registry.make({ buckets: [0.1, 1, 10] })
    registry.observeAll(
      [0, 0.1, 0.10001, 1, 9.99, 10, 11, 1e9].map((duration) => record({ duration })),
    )
    const totals = totalsOf(registry)

    // Bounds are inclusive: a duration equal to a bound falls in that bound's bucket.
    expect(totals.bucketCounts).toStrictEqual([2, 2, 2, 2])
    expect(totals.count).toBe(8)
    expect(totals.sum).toBeCloseTo(1_000_000_032.19001, 3)
  })

  it("invalid durations are counted but not observed", () => {
    const registry = Registry.make()
    registry.observeAll(
      [Number.NaN, Number.POSITIVE_INFINITY, -1, 0.5].map((duration) => record({ duration })),
    )
    const totals = totalsOf(registry)

    expect(totals.statuses).toStrictEqual([["ok", 4]])
    expect(totals.count).toBe(1)
    expect(totals.sum).toBe(0.5)
  })

  it("snapshot is a copy", () => {
    const registry = Registry.make()
    registry.observe(record())
    const before = registry.snapshot()
    registry.observe(record())

    expect(before.operations[0]?.statuses).toStrictEqual([["ok", 1]])
    expect(before.operations[0]?.count).toBe(1)
  })

  it("keeps the latest record per operation", () => {
    const registry = Registry.make()
    const newest = record({ timestamp: 3 })
    registry.observeAll([record({ timestamp: 1 }), newest, record({ timestamp: 2 })])

    expect(totalsOf(registry).latest).toBe(newest)
  })

  it("observe works as a detached listener", () => {
    const registry = Registry.make()
    const listener = registry.observe
    listener(record())

    expect(totalsOf(registry).count).toBe(1)
  })

  it("operations are sorted", () => {
    const registry = Registry.make()
    registry.observeAll(["b", "a", "c"].map((operation) => record({ operation })))

    expect(registry.snapshot().operations.map((each) => each.operation)).toStrictEqual([
      "a",
      "b",
      "c",
    ])
  })

  it("lone surrogates share one operation", () => {
    const registry = Registry.make()
    registry.observeAll([record({ operation: "x\uD800" }), record({ operation: "x\uDBFF" })])

    expect(registry.snapshot().operations.map((each) => each.operation)).toStrictEqual(["x\uFFFD"])
  })
})

describe("Registry bounds", () => {
  it("names past maxOperations share the overflow bucket", () => {
    const registry = Registry.make({ maxOperations: 2 })
    registry.observeAll(["a", "b", "c", "d", "a"].map((operation) => record({ operation })))
    const snapshot = registry.snapshot()

    expect(snapshot.operations.map((each) => [each.operation, each.count])).toStrictEqual([
      ["a", 2],
      ["b", 1],
      [Registry.OVERFLOW_OPERATION, 2],
    ])
    expect(snapshot.overflowedRecords).toBe(2)
    expect(registry.overflowedRecords).toBe(2)
  })

  it("the overflow bucket takes no slot", () => {
    const registry = Registry.make({ maxOperations: 1 })
    registry.observeAll(
      [Registry.OVERFLOW_OPERATION, "a", "b"].map((operation) => record({ operation })),
    )

    expect(registry.snapshot().operations.map((each) => each.operation)).toStrictEqual([
      "a",
      Registry.OVERFLOW_OPERATION,
    ])
  })
})

describe("Registry options", () => {
  it("defaults to prom-client's buckets", () => {
    expect(Registry.make().buckets).toStrictEqual([
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ])
  })

  it("empty buckets leave only +Inf", () => {
    const registry = Registry.make({ buckets: [] })
    registry.observe(record())

    expect(totalsOf(registry).bucketCounts).toStrictEqual([1])
  })

  it.each([
    [{ buckets: [0.5, 0.5] }, /strictly increasing/],
    [{ buckets: [Number.NaN] }, /buckets\[0\] must be a finite number/],
    [{ buckets: "0.1,1" as unknown as Array<number> }, /must be an array/],
    [{ maxOperations: 0 }, /maxOperations must be a whole number/],
    [{ maxOperations: 1.5 }, /maxOperations must be a whole number/],
  ])("make rejects %j", (options, message) => {
    expect(() => Registry.make(options)).toThrow(message)
  })

  it("isRegistry recognises registries", () => {
    expect(Registry.isRegistry(Registry.make())).toBe(true)
    expect(Registry.isRegistry({ observe: 1 })).toBe(false)
    expect(Registry.isRegistry(null)).toBe(false)
  })
})
