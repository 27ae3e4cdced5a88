/**
 * Property tests of the telemetry buffer: records with hostile names, ids,
 * readings and custom metrics go in through the collector and come out of
 * an export unchanged, or are counted as dropped. Records from a real
 * monitor, whose ids the buffer may rebuild from the name, are checked the
 * same way.
 */
import { Monitor, type OperationMetrics } from "@dinoair/monitor"
import { hostileNumber, objectOf, PROTOTYPE_KEYS } from "@dinoair/test-support/options"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { droppedTotal, makeHarness, START_SECONDS } from "./fixtures.js"

const NUM_RUNS = 150

/**
 * The time limit of each property test. One takes up to a few seconds alone, and the whole
 * suite runs two packages at a time on two cores, so the default 5 s limit is too tight.
 */
const PROPERTY_TIMEOUT_MS = 60_000

const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.string({
    unit: fc.constantFrom("#", "\\", '"', "\n", "\u0000", "\ud800", "😀", "a", "1", " "),
    maxLength: 12,
  }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom(...PROTOTYPE_KEYS, "", "a#1", "#", "dinoair_overflow", "x".repeat(10_000)),
)

const customValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  hostileText,
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(null).map(() => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    return circular
  }),
)

const customMetrics: fc.Arbitrary<Record<string, unknown>> = fc
  .uniqueArray(fc.tuple(hostileText, customValue), { selector: ([key]) => key, maxLength: 4 })
  .map((entries) => objectOf(entries) as Record<string, unknown>)

const reading = fc.option(hostileNumber, { nil: undefined })

/** Hand-made records with every field hostile, each with a unique id. */
const hostileRecords: fc.Arbitrary<Array<OperationMetrics>> = fc
  .array(
    fc.record({
      operation: fc.oneof(hostileText, fc.constantFrom("a", "b")),
      idSuffix: hostileText,
      duration: hostileNumber,
      timestamp: fc.oneof(
        { weight: 3, arbitrary: fc.constant(START_SECONDS) },
        { weight: 1, arbitrary: hostileNumber },
      ),
      memoryUsage: reading,
      memoryDelta: reading,
      cpuUsage: reading,
      status: fc.constantFrom("ok" as const, "error" as const),
      error: fc.option(hostileText, { nil: undefined }),
      customMetrics,
      parentId: fc.option(hostileText, { nil: undefined }),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((drafts) =>
    drafts.map(
      ({ idSuffix, ...fields }, index): OperationMetrics => ({
        ...fields,
        id: `${index}:${idSuffix}`,
        systemInfo: undefined,
      }),
    ),
  )

const FIELDS = [
  "id",
  "operation",
  "duration",
  "timestamp",
  "memoryUsage",
  "memoryDelta",
  "cpuUsage",
  "status",
  "error",
  "parentId",
] as const

/** Expects two records to be equal field by field, with `Object.is` for `-0` and `NaN`. */
const expectSameRecord = (
  actual: OperationMetrics | undefined,
  expected: OperationMetrics,
): void => {
  for (const field of FIELDS) expect(Object.is(actual?.[field], expected[field])).toBe(true)
  expect(actual?.customMetrics).toEqual(expected.customMetrics)
}

const exportedOf = (calls: ReadonlyArray<{ records: ReadonlyArray<OperationMetrics> }>) =>
  calls.flatMap((call) => call.records)

describe("Telemetry buffer properties", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("hostile records export unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(hostileRecords, async (records) => {
        const { telemetry, exporter, emit } = makeHarness()
        await Effect.runPromise(telemetry.enable())

        for (const record of records) emit(record)
        const delivered = await Effect.runPromise(telemetry.forceExport)
        const stats = telemetry.stats
        await Effect.runPromise(telemetry.shutdown)

        expect(delivered).toBe(true)
        const exported = new Map(exportedOf(exporter.calls).map((record) => [record.id, record]))
        // A record older than retentionHours, by its own timestamp, is dropped and counted.
        expect(exported.size + droppedTotal(stats)).toBe(records.length)
        expect(droppedTotal(stats)).toBe(stats.dropped.retention)
        for (const record of records) {
          const out = exported.get(record.id)
          if (out !== undefined) expectSameRecord(out, record)
        }
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("monitor records export unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(hostileText, customMetrics), { minLength: 1, maxLength: 8 }),
        async (operations) => {
          const monitor = Monitor.makeUnsafe({ publish: false, thresholdDurationMs: 1e9 })
          const { telemetry, exporter } = makeHarness({}, {})
          await Effect.runPromise(telemetry.enable())

          const ended: Array<OperationMetrics> = []
          for (const [name, metadata] of operations) {
            const id = monitor.startOperation(name, metadata)
            const record = monitor.endOperation(id)
            if (record === undefined)
              throw new Error(`operation ${JSON.stringify(name)} was not recorded`)
            ended.push(record)
            telemetry.collect(record)
          }
          const delivered = await Effect.runPromise(telemetry.forceExport)
          await Effect.runPromise(telemetry.shutdown)

          expect(delivered).toBe(true)
          const exported = new Map(exportedOf(exporter.calls).map((record) => [record.id, record]))
          expect(exported.size).toBe(ended.length)
          for (const record of ended) expectSameRecord(exported.get(record.id), record)

          const kept = new Map(monitor.getRecords().map((record) => [record.id, record]))
          for (const record of ended) expectSameRecord(kept.get(record.id), record)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})
