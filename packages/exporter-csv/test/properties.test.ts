/**
 * Property tests: records with hostile names, keys and values are encoded,
 * read back with csv-parse, and compared with the README's "Field rules".
 */
import type { OperationMetrics } from "@dinoair/monitor"
import { Exporter } from "@dinoair/telemetry"
import {
  expectedCustomMetrics,
  hostileRecord,
  hostileString,
  objectOf,
} from "@dinoair/test-support/records"
import { parse } from "csv-parse/sync"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { CsvCell, CsvExporter } from "../src/index.js"

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

/** Parses a whole file as csv-parse does for a reader, without mapping rows to objects. */
const parseRows = (text: string): Array<Array<string>> =>
  parse(text, { bom: true, relax_column_count: false }) as Array<Array<string>>

/** Lone UTF-16 surrogates, which the exporter replaces with U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const wellFormed = (text: string): string => text.replace(LONE_SURROGATE, "\uFFFD")

/** The formula triggers other than the prefix itself, which may start a written field. */
const DANGEROUS_FIRST = [...CsvCell.FORMULA_TRIGGERS].filter(
  (character) => character !== CsvCell.FORMULA_PREFIX,
)

/** Plain decimal notation: no exponent, no `+`, no leading `.`. */
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/

const expectNumberField = (field: string | undefined, value: number | undefined): void => {
  if (value === undefined || !Number.isFinite(value)) {
    expect(field).toBe("")
    return
  }
  expect(field).toMatch(PLAIN_DECIMAL)
  expect(Number(field)).toBe(value === 0 ? 0 : value)
}

/** Returns the expected custom metrics of a record built by hand, whose own object is the root of any cycle. */
const expectedCustomMetricsOfRecord = (customMetrics: object, maxDepth: number): unknown => {
  const root = expectedCustomMetrics(objectOf([["root", customMetrics]]), maxDepth + 1).root
  // Custom metrics that come out as anything but an object, such as "[Truncated]", are `{}`.
  return typeof root === "object" && root !== null && !Array.isArray(root) ? root : {}
}

const expectRow = (
  row: ReadonlyArray<string> | undefined,
  record: OperationMetrics,
  maxDepth: number,
  includeCustomMetrics: boolean,
): void => {
  expect(row).toHaveLength(CsvExporter.COLUMNS.length)
  const [operation, duration, memory, cpu, timestamp, status, customMetrics] = row ?? []

  expect(CsvCell.restoreFormula(operation ?? "")).toBe(wellFormed(record.operation))
  expect(DANGEROUS_FIRST).not.toContain(operation?.charAt(0))
  expectNumberField(duration, record.duration)
  expectNumberField(memory, record.memoryUsage)
  expectNumberField(cpu, record.cpuUsage)
  expectNumberField(timestamp, record.timestamp)
  expect(status).toBe(record.status)
  expect(JSON.parse(customMetrics ?? "")).toEqual(
    includeCustomMetrics ? expectedCustomMetricsOfRecord(record.customMetrics, maxDepth) : {},
  )
}

const options = fc.record(
  {
    maxDepth: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(undefined)),
    byteOrderMark: fc.boolean(),
  },
  { requiredKeys: [] },
)

describe("CsvExporter properties", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("hostile records read back as mapped", () => {
    fc.assert(
      fc.property(
        fc.array(hostileRecord, { maxLength: 5 }),
        options,
        fc.boolean(),
        (records, exporterOptions, includeCustomMetrics) => {
          const payload = CsvExporter.make(exporterOptions).encode(
            records,
            context(includeCustomMetrics),
          )
          const rows = parseRows(Exporter.documentOf(payload))

          expect(rows).toHaveLength(records.length + 1)
          expect(rows[0]).toEqual([...CsvExporter.COLUMNS])
          records.forEach((record, index) => {
            expectRow(rows[index + 1], record, exporterOptions.maxDepth ?? 32, includeCustomMetrics)
          })
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("appended batches keep one header", () => {
    fc.assert(
      fc.property(
        fc.array(hostileRecord, { minLength: 1, maxLength: 3 }),
        fc.array(hostileRecord, { minLength: 1, maxLength: 3 }),
        (first, second) => {
          const exporter = CsvExporter.make()
          const one = exporter.encode(first, context())
          const two = exporter.encode(second, context())
          // The file sink appends by writing `body + CRLF` over the file's last CRLF.
          const file = one.header + one.body + two.body + two.footer

          const rows = parseRows(file)

          expect(rows).toHaveLength(first.length + second.length + 1)
          expect(rows.slice(1).map((row) => CsvCell.restoreFormula(row[0] ?? ""))).toEqual(
            [...first, ...second].map((record) => wellFormed(record.operation)),
          )
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})

/** Names that start like a formula, a DDE payload or a quoted field. */
const formulaName: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(
      ...CsvCell.FORMULA_TRIGGERS,
      "=cmd|' /C calc'!A0",
      '=HYPERLINK("http://example.invalid","x")',
      "@SUM(A1:A2)",
      "+1+1",
      "-2",
      "'=1",
      '"=1',
      ",=1",
      "\r\n=1",
    ),
    hostileString,
  )
  .map(([start, rest]) => start + rest)

describe("CsvExporter hostile operation names", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("no name makes a formula, row or column", () => {
    fc.assert(
      fc.property(fc.array(formulaName, { minLength: 1, maxLength: 6 }), (names) => {
        const records = names.map(
          (name, index): OperationMetrics => ({
            id: `${name}#${index}`,
            operation: name,
            duration: 0.5,
            timestamp: 1699123456.789,
            memoryUsage: undefined,
            memoryDelta: undefined,
            cpuUsage: undefined,
            status: "ok",
            error: undefined,
            customMetrics: objectOf([[name, name]]) as Record<string, unknown>,
            parentId: undefined,
            systemInfo: undefined,
          }),
        )

        const rows = parseRows(Exporter.documentOf(CsvExporter.make().encode(records, context())))

        expect(rows).toHaveLength(names.length + 1)
        names.forEach((name, index) => {
          const row = rows[index + 1] ?? []
          expect(row).toHaveLength(CsvExporter.COLUMNS.length)
          for (const field of row) expect(DANGEROUS_FIRST).not.toContain(field.charAt(0))
          expect(CsvCell.restoreFormula(row[0] ?? "")).toBe(wellFormed(name))
          expect(row[6]?.charAt(0)).toBe("{")
        })
      }),
      { numRuns: NUM_RUNS },
    )
  })
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

describe("CsvExporter encodeInSteps", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("steps give the payload of encode", () => {
    fc.assert(
      fc.property(longBatch, options, (records, exporterOptions) => {
        const exporter = CsvExporter.make(exporterOptions)

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
