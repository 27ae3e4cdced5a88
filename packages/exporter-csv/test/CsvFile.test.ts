import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import type { OperationMetrics } from "@dinoair/monitor"
import { FileSink, type MovedAside } from "@dinoair/sink-file"
import type { Exporter } from "@dinoair/telemetry"
import { parse } from "csv-parse/sync"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { CsvCell, CsvExporter } from "../src/index.js"

let directory: string

beforeEach(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), "dinoair-exporter-csv-"))
})

afterEach(async () => {
  await rm(directory, { recursive: true, force: true })
})

const record = (
  operation: string,
  overrides: Partial<OperationMetrics> = {},
): OperationMetrics => ({
  id: `${operation}_1`,
  operation,
  duration: 0.25,
  timestamp: 1699123456.5,
  memoryUsage: 2048,
  memoryDelta: undefined,
  cpuUsage: 12.5,
  status: "ok",
  error: undefined,
  customMetrics: { batch: operation },
  parentId: undefined,
  systemInfo: undefined,
  ...overrides,
})

const context: Exporter.ExportContext = {
  timestamp: 1699123460,
  processMetrics: undefined,
  includeCustomMetrics: true,
  source: "checkout",
}

/** Three batches whose names and custom metrics try to break rows apart. */
const batches: ReadonlyArray<ReadonlyArray<OperationMetrics>> = [
  [record("first"), record('=HYPERLINK("http://127.0.0.1")', { cpuUsage: undefined })],
  [record('line\r\nbreak, "quoted"', { customMetrics: { text: "a\r\nb", n: Number.NaN } })],
  [record("-1"), record("日本語 🦕", { status: "error" }), record("last")],
]

const deliverAll = async (
  sink: ReturnType<typeof FileSink.make>,
  exporter: Exporter.ExporterShape,
  payloadBatches: ReadonlyArray<ReadonlyArray<OperationMetrics>>,
): Promise<void> => {
  for (const batch of payloadBatches) {
    await Effect.runPromise(sink.deliver(exporter.encode(batch, context)))
  }
}

const expectedRows = (payloadBatches: ReadonlyArray<ReadonlyArray<OperationMetrics>>) =>
  payloadBatches.flat().map((item) => [
    CsvCell.neutralizeFormula(item.operation),
    "0.25",
    "2048",
    item.cpuUsage === undefined ? "" : String(item.cpuUsage),
    "1699123456.5",
    item.status,
    // The one NaN in these batches is written as the string "NaN".
    JSON.stringify(item.customMetrics, (_key, value) =>
      typeof value === "number" && Number.isNaN(value) ? "NaN" : value,
    ),
  ])

describe("CsvExporter with the file sink", () => {
  it("three exports write the header once", async () => {
    const file = path.join(directory, "telemetry.csv")
    const sink = FileSink.make({ path: file })

    await deliverAll(sink, CsvExporter.make(), batches)
    const rows: Array<Array<string>> = parse(await readFile(file, "utf8"))

    expect(rows[0]).toStrictEqual([...CsvExporter.COLUMNS])
    expect(rows.filter((row) => row[0] === "operation")).toHaveLength(1)
  })

  it("three exports read back to the same values", async () => {
    const file = path.join(directory, "telemetry.csv")
    const sink = FileSink.make({ path: file })

    await deliverAll(sink, CsvExporter.make(), batches)
    const rows: Array<Array<string>> = parse(await readFile(file, "utf8"))

    expect(rows.slice(1)).toStrictEqual(expectedRows(batches))
  })

  it("file ends with one CRLF", async () => {
    const file = path.join(directory, "telemetry.csv")
    const sink = FileSink.make({ path: file })

    await deliverAll(sink, CsvExporter.make(), batches)
    const text = await readFile(file, "utf8")

    expect(text.endsWith("\r\n")).toBe(true)
    expect(text.endsWith("\r\n\r\n")).toBe(false)
  })

  it("empty export leaves the file unchanged", async () => {
    const file = path.join(directory, "telemetry.csv")
    const sink = FileSink.make({ path: file })
    const exporter = CsvExporter.make()

    await deliverAll(sink, exporter, [batches[0] ?? []])
    const before = await readFile(file, "utf8")
    await deliverAll(sink, exporter, [[]])

    expect(await readFile(file, "utf8")).toBe(before)
  })

  it("byte order mark appears once", async () => {
    const file = path.join(directory, "telemetry.csv")
    const sink = FileSink.make({ path: file })

    await deliverAll(sink, CsvExporter.make({ byteOrderMark: true }), batches)
    const text = await readFile(file, "utf8")

    expect(text.startsWith("\uFEFFoperation,")).toBe(true)
    expect(text.split("\uFEFF")).toHaveLength(2)
    expect(parse(text, { bom: true }).slice(1)).toStrictEqual(expectedRows(batches))
  })

  it("file cut short mid-row is moved aside", async () => {
    const file = path.join(directory, "telemetry.csv")
    const moved: Array<MovedAside> = []
    const sink = FileSink.make({ path: file, onMovedAside: (entry) => moved.push(entry) })
    const cutShort = `${CsvExporter.HEADER_LINE}\r\nfirst,0.25,2048,12.5,1699123456.5,ok,"{""bat`
    await writeFile(file, cutShort)

    await deliverAll(sink, CsvExporter.make(), [batches[2] ?? []])
    const rows: Array<Array<string>> = parse(await readFile(file, "utf8"))

    expect(moved).toHaveLength(1)
    expect(await readFile(moved[0]?.to ?? "", "utf8")).toBe(cutShort)
    expect(rows.slice(1)).toStrictEqual(expectedRows([batches[2] ?? []]))
  })

  it("appends after another program's CRLF file", async () => {
    const file = path.join(directory, "telemetry.csv")
    const sink = FileSink.make({ path: file })
    await writeFile(file, `${CsvExporter.HEADER_LINE}\r\n`)

    await deliverAll(sink, CsvExporter.make(), [batches[0] ?? []])
    const rows: Array<Array<string>> = parse(await readFile(file, "utf8"))

    expect(rows).toHaveLength(3)
    expect(await readdir(directory)).toStrictEqual(["telemetry.csv"])
  })
})
