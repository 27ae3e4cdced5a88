/**
 * Property tests: records with hostile names, keys and values are encoded,
 * read back with `JSON.parse`, and compared with the documented mapping.
 */
import { Monitor, type OperationMetrics } from "@dinoair/monitor"
import { Exporter } from "@dinoair/telemetry"
import {
  expectedCustomMetrics,
  hostileKey,
  hostileMetadata,
  hostileRecord,
  hostileString,
  nestedValue,
  objectOf,
} from "@dinoair/test-support/records"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { JsonExporter } from "../src/index.js"

const NUM_RUNS = 150

/**
 * The time limit of each property test. One takes up to a few seconds alone, and the whole
 * suite runs two packages at a time on two cores, so the default 5 s limit is too tight.
 */
const PROPERTY_TIMEOUT_MS = 60_000

// The checks use `toEqual`: `toStrictEqual` compares the `constructor` property of two
// objects, and a custom metric named `constructor` makes that an ordinary value.

const context = (includeCustomMetrics = true): Exporter.ExportContext => ({
  timestamp: 1699123460,
  processMetrics: undefined,
  includeCustomMetrics,
  source: "checkout",
})

interface Document {
  readonly metrics: ReadonlyArray<Record<string, unknown>>
}

const finiteOrNull = (value: number | undefined): number | null => {
  if (value === undefined || !Number.isFinite(value)) return null
  return value === 0 ? 0 : value
}

/** The record object that the README's "Records" section promises. */
const expectedRecord = (
  record: OperationMetrics,
  maxDepth: number,
  includeCustomMetrics: boolean,
): Record<string, unknown> => {
  const expected: Record<string, unknown> = {
    operation: record.operation,
    duration: finiteOrNull(record.duration),
    memory_usage: finiteOrNull(record.memoryUsage),
    cpu_usage: finiteOrNull(record.cpuUsage),
    timestamp: finiteOrNull(record.timestamp),
    custom_metrics: includeCustomMetrics
      ? expectedCustomMetricsOfRecord(record.customMetrics, maxDepth)
      : {},
    id: record.id,
    status: record.status,
  }
  if (record.error !== undefined) expected.error = record.error
  if (record.memoryDelta !== undefined) expected.memory_delta = finiteOrNull(record.memoryDelta)
  if (record.parentId !== undefined) expected.parent_id = record.parentId
  return expected
}

/**
 * A record built by hand has its custom metrics object itself as the root,
 * so a link back to it is a cycle at once; the model takes that root as an
 * ancestor by writing it as the single member of a wrapper.
 */
const expectedCustomMetricsOfRecord = (customMetrics: object, maxDepth: number): unknown => {
  const root = expectedCustomMetrics(objectOf([["root", customMetrics]]), maxDepth + 1).root
  // Custom metrics that come out as anything but an object, such as "[Truncated]", are `{}`.
  return typeof root === "object" && root !== null && !Array.isArray(root) ? root : {}
}

const options = fc.record(
  {
    indent: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constant(undefined)),
    maxDepth: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(undefined)),
  },
  { requiredKeys: [] },
)

describe("JsonExporter properties", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("hostile records read back as mapped", () => {
    fc.assert(
      fc.property(
        fc.array(hostileRecord, { maxLength: 5 }),
        options,
        fc.boolean(),
        (records, exporterOptions, includeCustomMetrics) => {
          const exporter = JsonExporter.make(exporterOptions)
          const payload = exporter.encode(records, context(includeCustomMetrics))
          const document = JSON.parse(Exporter.documentOf(payload)) as Document
          const maxDepth = exporterOptions.maxDepth ?? 32

          expect(document.metrics).toHaveLength(records.length)
          records.forEach((record, index) => {
            expect(document.metrics[index]).toEqual(
              expectedRecord(record, maxDepth, includeCustomMetrics),
            )
          })
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("appended batches stay one document", () => {
    fc.assert(
      fc.property(
        fc.array(hostileRecord, { minLength: 1, maxLength: 3 }),
        fc.array(hostileRecord, { minLength: 1, maxLength: 3 }),
        options,
        (first, second, exporterOptions) => {
          const exporter = JsonExporter.make(exporterOptions)
          const one = exporter.encode(first, context())
          const two = exporter.encode(second, context())
          const file = one.header + one.body + one.separator + two.body + two.footer

          const document = JSON.parse(file) as Document

          expect(document.metrics.map((metric) => metric.operation)).toEqual(
            [...first, ...second].map((record) => record.operation),
          )
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("monitor records read back as mapped", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(hostileString, hostileMetadata), { minLength: 1, maxLength: 4 }),
        (operations) => {
          const monitor = Monitor.makeUnsafe({
            publish: false,
            enableCpuTracking: false,
            enableMemoryTracking: false,
            thresholdDurationMs: Number.MAX_VALUE,
          })
          for (const [name, metadata] of operations) monitor.run(name, () => undefined, metadata)

          const records = monitor.getRecords()
          const payload = JsonExporter.make().encode(records, context())
          const document = JSON.parse(Exporter.documentOf(payload)) as Document

          expect(document.metrics).toHaveLength(operations.length)
          const read = document.metrics.map((metric) => [metric.operation, metric.custom_metrics])
          // The monitor cuts operation names longer than its maximum.
          const max = Monitor.MAX_OPERATION_NAME_LENGTH
          const recordedName = (name: string): string => {
            if (name.length <= max) return name
            const last = name.charCodeAt(max - 1)
            return name.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)
          }
          const expected = operations.map(([name, metadata]) => [
            recordedName(name),
            expectedCustomMetrics(metadata),
          ])
          expect(sortByText(read)).toEqual(sortByText(expected))
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("recorded values read back as mapped", () => {
    fc.assert(
      fc.property(hostileString, hostileKey, nestedValue, (name, key, value) => {
        const monitor = Monitor.makeUnsafe({ publish: false, thresholdDurationMs: 1e9 })
        const id = monitor.startOperation(name)
        monitor.recordCustomMetric(id, key, value)
        const record = monitor.endOperation(id)
        if (record === undefined) throw new Error("the operation was not recorded")

        const payload = JsonExporter.make().encode([record], context())
        const document = JSON.parse(Exporter.documentOf(payload)) as Document

        expect(document.metrics[0]?.custom_metrics).toEqual(
          expectedCustomMetrics(objectOf([[key, value]])),
        )
      }),
      { numRuns: NUM_RUNS },
    )
  })
})

/** The monitor's cut of a metric name to 200 UTF-16 code units, without splitting a surrogate pair. */
const cutName = (name: string): string => {
  if (name.length <= 200) return name
  const last = name.charCodeAt(199)
  return name.slice(0, last >= 0xd800 && last <= 0xdbff ? 199 : 200)
}

/** Metric names around the 200-unit cut, made of hostile characters and surrogate pairs. */
const longKey: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom("", "😀", "\\", '"'), fc.integer({ min: 195, max: 205 }))
  .chain(([start, length]) =>
    fc
      .string({ unit: fc.constantFrom("a", "😀", "\ud800", '"', "\n"), minLength: 1, maxLength: 8 })
      .map((piece) => (start + piece.repeat(Math.ceil(length / piece.length))).slice(0, length)),
  )

describe("JsonExporter long metric names", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("names past 200 units are cut", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(longKey, fc.integer()), { selector: ([key]) => key, maxLength: 4 }),
        (entries) => {
          const monitor = Monitor.makeUnsafe({ publish: false, thresholdDurationMs: 1e9 })
          monitor.run("long_names", () => undefined, objectOf(entries) as Record<string, unknown>)

          const payload = JsonExporter.make().encode(monitor.getRecords(), context())
          const document = JSON.parse(Exporter.documentOf(payload)) as Document

          const expected: Array<readonly [string, unknown]> = []
          for (const [key, value] of entries) {
            const cut = cutName(key)
            const index = expected.findIndex(([name]) => name === cut)
            if (index === -1) expected.push([cut, value])
            else expected[index] = [cut, value]
          }
          expect(document.metrics[0]?.custom_metrics).toEqual(objectOf(expected))
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})

/** Orders pairs by their JSON text, since the monitor returns records grouped by operation. */
const sortByText = (pairs: ReadonlyArray<ReadonlyArray<unknown>>): Array<ReadonlyArray<unknown>> =>
  [...pairs].sort((left, right) => {
    const a = JSON.stringify(left)
    const b = JSON.stringify(right)
    return a < b ? -1 : a > b ? 1 : 0
  })

/** Runs `encodeInSteps` to the end and returns its payload and the number of steps. */
const encodeStepwise = (
  exporter: Exporter.ExporterShape,
  records: ReadonlyArray<OperationMetrics>,
): { readonly payload: Exporter.Payload; readonly steps: number } => {
  const iterator = exporter.encodeInSteps?.(records, context())
  if (iterator === undefined) throw new Error("the exporter has no encodeInSteps")
  let steps = 0
  for (;;) {
    const step = iterator.next()
    if (step.done === true) return { payload: step.value, steps }
    steps++
  }
}

/** Batches long enough to take several steps, built by repeating a few hostile records. */
const longBatch: fc.Arbitrary<Array<OperationMetrics>> = fc
  .tuple(fc.array(hostileRecord, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 1200 }))
  .map(([records, length]) =>
    Array.from({ length }, (_, index) => records[index % records.length] as OperationMetrics),
  )

describe("JsonExporter encodeInSteps", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("steps give the payload of encode", () => {
    fc.assert(
      fc.property(longBatch, options, (records, exporterOptions) => {
        const exporter = JsonExporter.make(exporterOptions)

        const { payload, steps } = encodeStepwise(exporter, records)
        const whole = exporter.encode(records, context())

        // A batch of more than one step's records lets the event loop run at least once.
        if (records.length > Exporter.RECORDS_PER_STEP) expect(steps).toBeGreaterThan(0)
        expect(payload.header).toBe(whole.header)
        expect(payload.body).toBe(whole.body)
        expect(payload.footer).toBe(whole.footer)
        expect(payload.recordCount).toBe(records.length)
        expect(Exporter.bodyChunksOf(payload).join("")).toBe(whole.body)
      }),
      { numRuns: 12 },
    )
  })
})
