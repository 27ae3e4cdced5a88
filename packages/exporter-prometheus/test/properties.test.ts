/**
 * Property tests: records with hostile operation names, custom metric names
 * and values are encoded, read back with the strict parser of `helpers.ts`,
 * and compared series by series with the README's "Metric families". The
 * text of every run then goes through `promtool check metrics` in one call.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { OperationMetrics } from "@dinoair/monitor"
import { Exporter } from "@dinoair/telemetry"
import { hostileKey, hostileNumber, hostileString, objectOf } from "@dinoair/test-support/records"
import fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { Names, PrometheusExporter, PullHandler, Registry } from "../src/index.js"
import { context, expectPromtoolAccepts, type ParsedFamily, parseExposition } from "./helpers.js"

const NUM_RUNS = 100

/**
 * The time limit of each property test. One takes up to a few seconds alone, and the whole
 * suite runs two packages at a time on two cores, so the default 5 s limit is too tight.
 */
const PROPERTY_TIMEOUT_MS = 60_000
/** Runs of the injection properties, whose 10,000-character names make each run slower. */
const INJECTION_RUNS = 60

/** Text of every run, each under its own prefix, checked by one promtool call at the end. */
const outputs: Array<string> = []
let runs = 0

/** Returns a prefix of letters that no other run uses, so that the outputs join into one exposition. */
const nextPrefix = (): string => {
  let number = runs++
  let letters = ""
  do {
    letters = String.fromCharCode(97 + (number % 26)) + letters
    number = Math.floor(number / 26)
  } while (number > 0)
  return `run${letters}_`
}

afterAll(async () => {
  await expectPromtoolAccepts(outputs.join("\n"))
}, 60_000)

const customValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  fc.boolean(),
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 1100n), max: 2n ** 1100n }),
  hostileString,
  fc.constant(null),
  fc.constant(undefined),
  fc.constant({ nested: 1 }),
)

/** Custom metric names: hostile short ones, and long ones whose sanitised family names are long too. */
const customName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: hostileKey },
  { weight: 1, arbitrary: hostileString },
)

const customMetrics: fc.Arbitrary<Record<string, unknown>> = fc
  .uniqueArray(fc.tuple(customName, customValue), { selector: ([key]) => key, maxLength: 4 })
  .map((entries) => objectOf(entries) as Record<string, unknown>)

/** Records of a few hostile names, so that names repeat and the latest record matters. */
const recordsOf = (names: ReadonlyArray<string>): fc.Arbitrary<Array<OperationMetrics>> =>
  fc.array(
    fc
      .record({
        operation: fc.constantFrom(...names),
        duration: hostileNumber,
        // Few distinct times, so that ties between records of one name are common.
        timestamp: fc.integer({ min: 1_699_123_450, max: 1_699_123_453 }),
        memoryUsage: fc.option(hostileNumber, { nil: undefined }),
        cpuUsage: fc.option(hostileNumber, { nil: undefined }),
        status: fc.constantFrom("ok" as const, "error" as const),
        customMetrics,
      })
      .map(
        (fields): OperationMetrics => ({
          id: `${fields.operation}#1`,
          memoryDelta: undefined,
          error: undefined,
          parentId: undefined,
          systemInfo: undefined,
          ...fields,
        }),
      ),
    { minLength: 1, maxLength: 8 },
  )

const batch = fc
  .uniqueArray(hostileString, { minLength: 1, maxLength: 4 })
  .chain((names) => recordsOf(names))

/** Reads a sample value as Prometheus does. */
const sampleValue = (text: string): number => {
  if (text === "+Inf") return Number.POSITIVE_INFINITY
  if (text === "-Inf") return Number.NEGATIVE_INFINITY
  return Number(text)
}

/** The value a number is written as: itself, with `-0` as `0`. */
const written = (value: number): number => (value === 0 ? 0 : value)

/** The record of each operation label: the greatest timestamp, the later one on a tie. */
const latestByOperation = (
  records: ReadonlyArray<OperationMetrics>,
): Map<string, OperationMetrics> => {
  const latest = new Map<string, OperationMetrics>()
  for (const record of records) {
    const label = Names.toWellFormed(record.operation)
    const previous = latest.get(label)
    if (previous === undefined || record.timestamp >= previous.timestamp) latest.set(label, record)
  }
  return latest
}

/** Returns the number a custom metric is written as, or `undefined` when it is skipped. */
const customNumber = (value: unknown): number | undefined => {
  if (typeof value === "number") return value
  if (typeof value === "boolean") return value ? 1 : 0
  if (typeof value === "bigint" && Number.isFinite(Number(value))) return Number(value)
  return undefined
}

/** Expected samples of every custom family, as family name → operation label → value. */
const expectedCustomFamilies = (
  prefix: string,
  latest: ReadonlyMap<string, OperationMetrics>,
): Map<string, Map<string, number>> => {
  const families = new Map<string, Map<string, number>>()
  for (const [label, record] of latest) {
    // The first name in UTF-16 code-unit order with a numeric value gives the family's value.
    const keys = Object.keys(record.customMetrics).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    for (const key of keys) {
      const value = customNumber(record.customMetrics[key])
      if (value === undefined) continue
      const family = Names.customMetricName(Names.sanitizePrefix(prefix), key)
      const samples = families.get(family) ?? new Map<string, number>()
      if (!samples.has(label)) samples.set(label, value)
      families.set(family, samples)
    }
  }
  return families
}

/** Samples of a family as operation label → value; fails on any other label. */
const gaugeSamples = (family: ParsedFamily | undefined): Map<string, number> => {
  const samples = new Map<string, number>()
  for (const sample of family?.samples ?? []) {
    expect(Object.keys(sample.labels)).toEqual(["operation"])
    samples.set(sample.labels.operation ?? "", sampleValue(sample.value))
  }
  return samples
}

const expectSameSamples = (
  actual: ReadonlyMap<string, number>,
  expected: ReadonlyMap<string, number>,
): void => {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort())
  for (const [label, value] of expected) expect(actual.get(label)).toBe(written(value))
}

const gaugeOf = (
  latest: ReadonlyMap<string, OperationMetrics>,
  reading: (record: OperationMetrics) => number | undefined,
): Map<string, number> => {
  const samples = new Map<string, number>()
  for (const [label, record] of latest) {
    const value = reading(record)
    if (value !== undefined) samples.set(label, value)
  }
  return samples
}

/** Counts of records by a key. */
const countBy = (
  records: ReadonlyArray<OperationMetrics>,
  keyOf: (record: OperationMetrics) => string | undefined,
): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const record of records) {
    const key = keyOf(record)
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

const encodeObserved = (
  records: ReadonlyArray<OperationMetrics>,
  options: PrometheusExporter.PrometheusExporterOptions,
): string => {
  const exporter = PrometheusExporter.make(options)
  for (const record of records) exporter.observe(record)
  return Exporter.documentOf(exporter.encode(records, context()))
}

describe("PrometheusExporter properties", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("hostile records read back as mapped", () => {
    fc.assert(
      fc.property(batch, fc.boolean(), (records, timestamps) => {
        const prefix = nextPrefix()
        const text = encodeObserved(records, { prefix, timestamps })
        outputs.push(text)

        const families = new Map(
          parseExposition(text, "text").map((family) => [family.name, family]),
        )
        const latest = latestByOperation(records)
        const customFamilies = expectedCustomFamilies(prefix, latest)

        expectSameSamples(
          gaugeSamples(families.get(`${prefix}operation_duration_seconds`)),
          gaugeOf(latest, (record) => record.duration),
        )
        expectSameSamples(
          gaugeSamples(families.get(`${prefix}operation_memory_bytes`)),
          gaugeOf(latest, (record) => record.memoryUsage),
        )
        expectSameSamples(
          gaugeSamples(families.get(`${prefix}operation_cpu_percent`)),
          gaugeOf(latest, (record) => record.cpuUsage),
        )
        for (const [name, expected] of customFamilies) {
          expectSameSamples(gaugeSamples(families.get(name)), expected)
        }

        const counter = families.get(`${prefix}operations_total`)
        const counted = new Map<string, number>()
        for (const sample of counter?.samples ?? []) {
          expect(Object.keys(sample.labels).sort()).toEqual(["operation", "status"])
          counted.set(
            JSON.stringify([sample.labels.operation, sample.labels.status]),
            Number(sample.value),
          )
        }
        expect(counted).toEqual(
          countBy(records, (record) =>
            JSON.stringify([Names.toWellFormed(record.operation), record.status]),
          ),
        )

        const histogram = families.get(`${prefix}operation_latency_seconds`)
        const observed = new Map<string, number>()
        for (const sample of histogram?.samples ?? []) {
          if (sample.name.endsWith("_count") && sample.value !== "0") {
            observed.set(sample.labels.operation ?? "", Number(sample.value))
          }
        }
        expect(observed).toEqual(
          countBy(records, (record) =>
            Number.isFinite(record.duration) && record.duration >= 0
              ? Names.toWellFormed(record.operation)
              : undefined,
          ),
        )

        // No family beyond the documented ones, so no input adds a series of its own.
        const documented = new Set([
          `${prefix}operation_duration_seconds`,
          `${prefix}operation_memory_bytes`,
          `${prefix}operation_cpu_percent`,
          `${prefix}operations_total`,
          `${prefix}operation_latency_seconds`,
          `${prefix}operation_names_overflowed_total`,
          ...customFamilies.keys(),
        ])
        for (const name of families.keys()) expect(documented).toContain(name)
      }),
      { numRuns: NUM_RUNS },
    )
  })
})

describe("PrometheusExporter observed records", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("registry gauges match the batch", () => {
    fc.assert(
      fc.property(batch, (records) => {
        const exporter = PrometheusExporter.make({ prefix: nextPrefix() })
        for (const record of records) exporter.observe(record)

        const fromBatch = exporter.encode(records, context())
        const fromRegistry = exporter.encode(records, { ...context(), recordsObserved: true })

        expect(fromRegistry.body).toBe(fromBatch.body)
        outputs.push(fromRegistry.body)
      }),
      { numRuns: NUM_RUNS / 2 },
    )
  })

  it("steps give the payload of encode", () => {
    fc.assert(
      fc.property(batch, fc.boolean(), (records, recordsObserved) => {
        const exporter = PrometheusExporter.make({ prefix: nextPrefix() })
        for (const record of records) exporter.observe(record)
        const exportContext = { ...context(), recordsObserved }

        const iterator = exporter.encodeInSteps?.(records, exportContext)
        if (iterator === undefined) throw new Error("the exporter has no encodeInSteps")
        let step = iterator.next()
        while (step.done !== true) step = iterator.next()
        const whole = exporter.encode(records, exportContext)

        expect(step.value.body).toBe(whole.body)
        expect(Exporter.bodyChunksOf(step.value).join("")).toBe(whole.body)
        expect(step.value.recordCount).toBe(records.length)
      }),
      { numRuns: NUM_RUNS / 2 },
    )
  })
})

/** Operation names that try to close the label value, end the line and start a series. */
const injectingName: fc.Arbitrary<string> = fc
  .tuple(
    hostileString,
    fc.constantFrom(
      '"} 1\ndinoair_operation_duration_seconds{operation="x',
      '",status="ok',
      "\\",
      '\\"',
      "\n# TYPE injected gauge\ninjected 1\n",
      "\r\ninjected 1",
      '"}',
      "\u0000",
      "\ud800",
    ),
    hostileString,
  )
  .map(([before, payload, after]) => before + payload + after)

describe("PrometheusExporter hostile operation names", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("no name adds a series", () => {
    fc.assert(
      fc.property(fc.uniqueArray(injectingName, { minLength: 1, maxLength: 6 }), (names) => {
        const prefix = nextPrefix()
        const records = names.map(
          (operation, index): OperationMetrics => ({
            id: `${operation}#${index}`,
            operation,
            duration: 0.25,
            timestamp: 1_699_123_456 + index,
            memoryUsage: 1024,
            memoryDelta: undefined,
            cpuUsage: 1.5,
            status: "ok",
            error: undefined,
            customMetrics: {},
            parentId: undefined,
            systemInfo: undefined,
          }),
        )
        const text = encodeObserved(records, { prefix })
        outputs.push(text)

        const families = parseExposition(text, "text")
        const labels = new Set(names.map((name) => Names.toWellFormed(name)))

        expect(families.map((family) => family.name).sort()).toEqual(
          [
            "operation_cpu_percent",
            "operation_duration_seconds",
            "operation_latency_seconds",
            "operation_memory_bytes",
            "operation_names_overflowed_total",
            "operations_total",
          ].map((name) => prefix + name),
        )
        for (const family of families) {
          if (family.type !== "gauge") continue
          expect(family.samples).toHaveLength(labels.size)
          expect(new Set(family.samples.map((sample) => sample.labels.operation))).toEqual(labels)
        }
      }),
      { numRuns: INJECTION_RUNS },
    )
  })
})

const OPENMETRICS = "application/openmetrics-text; version=1.0.0"

describe("PullHandler hostile operation names", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("scrapes add no series", async () => {
    // One server for every run; each run installs its own handler, with its own prefix.
    let current: PullHandler.PullHandler | undefined
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      current?.(request, response)
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`

    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(injectingName, { minLength: 1, maxLength: 4 }),
          async (names) => {
            const prefix = nextPrefix()
            const registry = Registry.make()
            const records = names.map(
              (operation, index): OperationMetrics => ({
                id: `${operation}#${index}`,
                operation,
                duration: 0.25,
                timestamp: 1_699_123_456 + index,
                memoryUsage: 1024,
                memoryDelta: undefined,
                cpuUsage: undefined,
                status: "error",
                error: undefined,
                customMetrics: {},
                parentId: undefined,
                systemInfo: undefined,
              }),
            )
            for (const record of records) registry.observe(record)
            current = PullHandler.make(
              { registry, records: () => records },
              { prefix, processMetrics: false },
            )

            const openMetrics = await (
              await fetch(url, { headers: { accept: OPENMETRICS } })
            ).text()
            const text = await (await fetch(url)).text()
            outputs.push(text)

            const labels = new Set(names.map((name) => Names.toWellFormed(name)))
            for (const [body, format] of [
              [openMetrics, "openmetrics"],
              [text, "text"],
            ] as const) {
              const families = parseExposition(body, format)
              const duration = families.find(
                (family) => family.name === `${prefix}operation_duration_seconds`,
              )
              expect(duration?.samples).toHaveLength(labels.size)
              expect(new Set(duration?.samples.map((sample) => sample.labels.operation))).toEqual(
                labels,
              )
              for (const family of families) expect(family.name.startsWith(prefix)).toBe(true)
            }
          },
        ),
        { numRuns: INJECTION_RUNS / 2 },
      )
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
