/**
 * End-to-end property tests: operations with hostile names and metadata
 * are monitored through the facade, exported twice to a real file in each
 * format, and the file is read back by its real consumer: `JSON.parse`,
 * csv-parse, and `promtool check metrics` with a count of the series.
 */
import { readFile } from "node:fs/promises"
import path from "node:path"
import { CsvCell } from "@dinoair/exporter-csv"
import { Monitor } from "@dinoair/monitor"
import { promtoolCheck } from "@dinoair/test-support"
import { objectOf } from "@dinoair/test-support/options"
import { parse } from "csv-parse/sync"
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import {
  disableTelemetry,
  enableTelemetry,
  exportTelemetry,
  monitorPerformance,
  resetGlobals,
  setLogger,
} from "../src/index.js"
import { capturingLogger, makeTempDir, readExport, removeTempDirs } from "./helpers.js"

const NUM_RUNS = 15

/**
 * The time limit of each property test. One takes up to a few seconds alone, and the whole
 * suite runs two packages at a time on two cores, so the default 5 s limit is too tight.
 */
const PROPERTY_TIMEOUT_MS = 60_000

afterEach(async () => {
  await resetGlobals()
  await removeTempDirs()
})

const hostileCharacter = fc.constantFrom(
  '"',
  "\\",
  "\n",
  "\r",
  "\u0000",
  ",",
  "=",
  "-",
  "@",
  "'",
  "}",
  "{",
  " ",
  "\ud800",
  "😀",
  "名",
  "a",
)

/** Hostile names, a 10,000-character one ending in a backslash among them. */
const hostileName: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: hostileCharacter, maxLength: 16 }),
  fc.constantFrom("__proto__", "constructor", "", `${"x".repeat(9_999)}\\`),
)

/** The operation name a record carries: the monitor cuts names longer than its maximum. */
const recordedName = (name: string): string => {
  const max = Monitor.MAX_OPERATION_NAME_LENGTH
  if (name.length <= max) return name
  const last = name.charCodeAt(max - 1)
  return name.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)
}

const circular = (): object => {
  const object: Record<string, unknown> = { depth: 1 }
  object.self = object
  return object
}

/** Metadata with hostile keys and values JSON cannot hold. */
const hostileMetadata: fc.Arbitrary<object> = fc
  .uniqueArray(
    fc.tuple(
      hostileName,
      fc.oneof(
        fc.double(),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 2n ** 70n, 5n, true, null),
        hostileName,
        fc.constant(null).map(circular),
      ),
    ),
    { selector: ([key]) => key, maxLength: 4 },
  )
  .map((entries) => objectOf(entries))

/** Two batches of operations, exported one after the other to the same file. */
const batches = fc.tuple(
  fc.array(fc.tuple(hostileName, hostileMetadata), { minLength: 1, maxLength: 4 }),
  fc.array(fc.tuple(hostileName, hostileMetadata), { minLength: 1, maxLength: 4 }),
)

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const wellFormed = (text: string): string => text.replace(LONE_SURROGATE, "\uFFFD")

const sorted = (items: ReadonlyArray<string>): Array<string> =>
  [...items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * Enables telemetry to a new file in `format`, monitors and exports each
 * batch in turn, and returns the file's path.
 */
const exportBatches = async (
  format: string,
  operations: ReadonlyArray<ReadonlyArray<readonly [string, object]>>,
  exporterOptions: Record<string, unknown> = {},
): Promise<string> => {
  setLogger(capturingLogger())
  const outputFile = path.join(await makeTempDir(), `telemetry.${format}`)
  const enabled = await enableTelemetry({
    exportFormat: format,
    outputFile,
    flushOnExit: false,
    includeSystemMetrics: false,
    exporterOptions,
  })
  expect(enabled).toBe(true)

  for (const batch of operations) {
    for (const [name, metadata] of batch) {
      monitorPerformance(name, () => undefined, metadata as Record<string, unknown>)
    }
    expect(await exportTelemetry()).toBe(true)
  }
  await disableTelemetry()
  return outputFile
}

describe("facade exports of hostile operations", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("JSON file reads back every record", async () => {
    await fc.assert(
      fc.asyncProperty(
        batches,
        fc.integer({ min: 0, max: 10 }),
        async ([first, second], indent) => {
          const file = await exportBatches("json", [first, second], { indent })

          const document = await readExport(file)

          const names = [...first, ...second].map(([name]) => recordedName(name))
          expect(sorted(document.metrics.map((record) => record.operation))).toEqual(sorted(names))
          for (const record of document.metrics) {
            expect(typeof record.custom_metrics).toBe("object")
          }
          await resetGlobals()
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("CSV file reads back every row", async () => {
    await fc.assert(
      fc.asyncProperty(batches, fc.boolean(), async ([first, second], byteOrderMark) => {
        const file = await exportBatches("csv", [first, second], { byteOrderMark })

        const bytes = await readFile(file)
        const rows = parse(bytes, { bom: true }) as Array<Array<string>>

        // The byte order mark starts the file once, and only when asked for.
        const mark = bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))
        expect(mark).toBe(byteOrderMark)
        expect(bytes.indexOf(Buffer.from([0xef, 0xbb, 0xbf]), 1)).toBe(-1)

        const names = [...first, ...second].map(([name]) => wellFormed(recordedName(name)))
        expect(rows).toHaveLength(names.length + 1)
        for (const row of rows) expect(row).toHaveLength(7)
        const read = rows.slice(1).map((row) => CsvCell.restoreFormula(row[0] ?? ""))
        expect(sorted(read)).toEqual(sorted(names))
        for (const row of rows.slice(1)) expect(() => JSON.parse(row[6] ?? "")).not.toThrow()
        await resetGlobals()
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("Prometheus file passes promtool", async () => {
    await fc.assert(
      fc.asyncProperty(batches, async ([first, second]) => {
        const file = await exportBatches("prometheus", [first, second], { timestamps: false })

        const text = await readFile(file, "utf8")
        const check = await promtoolCheck(text)

        if (check !== undefined) {
          expect(check.output).toBe("")
          expect(check.code).toBe(0)
        }
        // One gauge series per operation name, however many records the name has.
        const labels = new Set(
          [...first, ...second].map(([name]) => wellFormed(recordedName(name))),
        )
        const series = text
          .split("\n")
          .filter((line) => line.startsWith("dinoair_operation_duration_seconds{"))
        expect(series).toHaveLength(labels.size)
        await resetGlobals()
      }),
      { numRuns: NUM_RUNS },
    )
  })
})
