import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { OperationSummary } from "@dinoair/api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  buildOperationRows,
  type ExportedRecords,
  formatReconciliation,
  formatReport,
  type PlaygroundSummary,
  readExported,
  readExportedRecords,
  reconcile,
  type TelemetryCounts,
} from "../src/report.js"

const noDrops = { perOperation: 0, total: 0, retention: 0, cleared: 0, rejected: 0 }

const counts = (overrides: Partial<TelemetryCounts> = {}): TelemetryCounts => ({
  produced: 10,
  delivered: 6,
  buffered: 1,
  inFlight: 0,
  dropped: { ...noDrops, perOperation: 2, rejected: 1 },
  ...overrides,
})

const summaryOf = (operation: string, count: number): OperationSummary => ({
  operation,
  count,
  errorCount: 0,
  totalDuration: count * 0.002,
  meanDuration: 0.002,
  minDuration: 0.001,
  maxDuration: 0.004,
  p50Duration: 0.002,
  p95Duration: 0.003,
  p99Duration: 0.004,
  meanCpuUsage: 12.5,
  maxCpuUsage: 50,
  meanMemoryUsage: 64 * 1024 * 1024,
  maxMemoryUsage: 80 * 1024 * 1024,
  retained: count,
})

/** Records counted in a JSON or CSV file. */
const inFile = (total: number): ExportedRecords => ({
  source: "file",
  fileExists: true,
  total,
  byOperation: new Map([["read", total]]),
})

/** Records counted only by the sink's delivered count. */
const delivered = (total: number, counters?: ReadonlyMap<string, number>): ExportedRecords => ({
  source: "delivered",
  fileExists: counters !== undefined,
  total,
  byOperation: undefined,
  counters,
})

const recorded = (count: number): ReadonlyMap<string, number> => new Map([["read", count]])

describe("reconcile", () => {
  it("accepts counts that add up", () => {
    const records = reconcile(counts(), inFile(6), recorded(10))

    expect(records.ok).toBe(true)
    expect(records.droppedTotal).toBe(3)
    expect(records.problems).toEqual([])
  })

  it("flags records that are missing", () => {
    const records = reconcile(counts({ produced: 11 }), inFile(6), recorded(11))

    expect(records.ok).toBe(false)
    expect(records.problems).toEqual([
      "telemetry produced 11 records, but exported + buffered + in flight + dropped is 10",
    ])
  })

  it("flags a file that differs from delivered", () => {
    const records = reconcile(counts({ buffered: 2 }), inFile(5), recorded(10))

    expect(records.ok).toBe(false)
    expect(records.problems).toEqual([
      "the sink reported 6 records delivered, but the file holds 5",
    ])
  })

  it("flags a monitor count that differs", () => {
    const records = reconcile(counts(), inFile(6), recorded(9))

    expect(records.ok).toBe(false)
    expect(records.problems).toEqual([
      "the monitor recorded 9 operations, but telemetry collected 10",
    ])
  })

  it("formats OK and MISMATCH", () => {
    expect(formatReconciliation(reconcile(counts(), inFile(6), recorded(10)))).toBe(
      "Records: produced 10 = exported 6 + buffered 1 + in flight 0 + dropped 3 (per-operation cap 2, total cap 0, retention 0, cleared 0, rejected 1): OK",
    )
    expect(
      formatReconciliation(reconcile(counts(), inFile(6), recorded(9))).endsWith(": MISMATCH"),
    ).toBe(true)
  })

  it("uses the delivered count without a file", () => {
    const records = reconcile(counts({ delivered: 6 }), delivered(6), recorded(10))

    expect(records.exportedSource).toBe("delivered")
    expect(records.problems).toEqual([])
  })

  it("accepts Prometheus counters that match", () => {
    const records = reconcile(counts(), delivered(6, new Map([["read", 10]])), recorded(10))

    expect(records.problems).toEqual([])
  })

  it("flags Prometheus counters that differ", () => {
    const counters = new Map([
      ["read", 7],
      ["stray", 1],
    ])
    const records = reconcile(counts(), delivered(6, counters), recorded(10))

    expect(records.problems).toEqual([
      "the file's dinoair_operations_total for read is 7, but the monitor recorded 10 operations",
      "the file's dinoair_operations_total for stray is 1, but the monitor recorded 0 operations",
    ])
  })
})

describe("readExportedRecords", () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dinoair-playground-report-"))
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it("counts records by operation", async () => {
    const file = join(dir, "good.json")
    await writeFile(
      file,
      JSON.stringify({
        metrics: [{ operation: "read" }, { operation: "gzip" }, { operation: "read" }],
      }),
    )
    const exported = await readExportedRecords(file)

    expect(exported.total).toBe(3)
    expect(Object.fromEntries(exported.byOperation ?? [])).toEqual({ read: 2, gzip: 1 })
  })

  it("returns zero for a missing file", async () => {
    const exported = await readExportedRecords(join(dir, "missing.json"))

    expect(exported.fileExists).toBe(false)
    expect(exported.total).toBe(0)
  })

  it("rejects invalid JSON", async () => {
    const file = join(dir, "broken.json")
    await writeFile(file, '{"metrics":[{"operation":"read"},')

    await expect(readExportedRecords(file)).rejects.toThrow(
      `the telemetry file ${file} is not valid JSON`,
    )
  })

  it("rejects a document without metrics", async () => {
    const file = join(dir, "other.json")
    await writeFile(file, "[]")

    await expect(readExportedRecords(file)).rejects.toThrow('has no "metrics" array')
  })
})

describe("readExported", () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dinoair-playground-read-"))
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const target = (format: "json" | "prometheus" | "csv", outputFile: string) => ({
    format,
    destination: "file" as const,
    outputFile,
    delivered: 3,
  })

  it("counts CSV rows by operation", async () => {
    const file = join(dir, "rows.csv")
    await writeFile(
      file,
      [
        "operation,duration,memory_usage,cpu_usage,timestamp,status,custom_metrics",
        'read,0.1,,,1,ok,"{""file"":""a,\r\nb""}"',
        "'=sum,0.2,,,2,ok,{}",
        'read,0.3,,,3,error,"{""note"":""line',
        'break""}"',
        "",
      ].join("\r\n"),
    )
    const exported = await readExported(target("csv", file))

    expect(exported.source).toBe("file")
    expect(exported.total).toBe(3)
    expect(Object.fromEntries(exported.byOperation ?? [])).toEqual({ read: 2, "=sum": 1 })
  })

  it("rejects a CSV file with other columns", async () => {
    const file = join(dir, "other.csv")
    await writeFile(file, "name,size\r\nread,1\r\n")

    await expect(readExported(target("csv", file))).rejects.toThrow(
      "does not start with the CSV header",
    )
  })

  it("reads the counters of a Prometheus file", async () => {
    const file = join(dir, "metrics.prom")
    await writeFile(
      file,
      [
        "# TYPE dinoair_operations_total counter",
        'dinoair_operations_total{operation="read",status="ok"} 5 1699123460000',
        'dinoair_operations_total{operation="read",status="error"} 2 1699123460000',
        'dinoair_operations_total{operation="quo\\"te",status="ok"} 1',
        'dinoair_operation_latency_seconds_count{operation="read"} 7',
        "",
      ].join("\n"),
    )
    const exported = await readExported(target("prometheus", file))

    expect(exported.source).toBe("delivered")
    expect(exported.total).toBe(3)
    expect(Object.fromEntries(exported.counters ?? [])).toEqual({ read: 7, 'quo"te': 1 })
  })

  it("uses the delivered count over HTTP", async () => {
    const exported = await readExported({
      format: "json",
      destination: "http",
      outputFile: join(dir, "unused.json"),
      delivered: 4,
    })

    expect(exported).toEqual({
      source: "delivered",
      fileExists: false,
      total: 4,
      byOperation: undefined,
    })
  })
})

describe("buildOperationRows", () => {
  const exported: ExportedRecords = {
    source: "file",
    fileExists: true,
    total: 7,
    byOperation: new Map([
      ["gzip", 3],
      ["read", 4],
      ["extra", 0],
    ]),
  }
  const rows = buildOperationRows(
    { sha256: summaryOf("sha256", 4), read: summaryOf("read", 4), gzip: summaryOf("gzip", 4) },
    exported,
    { gzip: 1 },
    ["read", "gzip", "sha256"],
  )

  it("orders known operations first", () => {
    expect(rows.map((row) => row.operation)).toEqual(["read", "gzip", "sha256", "extra"])
  })

  it("derives dropped from count, exported and buffered", () => {
    expect(rows.map((row) => row.dropped)).toEqual([0, 0, 4, 0])
  })

  it("converts durations to milliseconds", () => {
    expect(rows[0]!.p95Ms).toBeCloseTo(3)
  })

  it("leaves exported and dropped unknown without records", () => {
    const unknown = buildOperationRows({ read: summaryOf("read", 4) }, delivered(4), {}, ["read"])

    expect(unknown.map((row) => [row.exported, row.dropped])).toEqual([[undefined, undefined]])
  })
})

describe("formatReport", () => {
  const rows = buildOperationRows({ read: summaryOf("read", 2) }, inFile(2), {}, ["read"])
  const summary: PlaygroundSummary = {
    dir: "/tree",
    format: "json",
    destination: "file",
    outputFile: "/out/telemetry.json",
    elapsedSeconds: 1.5,
    walk: {
      files: 2,
      directories: 1,
      symlinks: 3,
      otherEntries: 0,
      unreadableDirectories: 0,
      truncated: false,
    },
    passes: 1,
    filesProcessed: 2,
    filesFailed: 0,
    bytesRead: 2 * 1024 * 1024,
    bytesGzipped: 1024 * 1024,
    concurrency: 8,
    sampleRate: 1,
    operations: rows,
    records: reconcile(
      { produced: 2, delivered: 2, buffered: 0, inFlight: 0, dropped: noDrops },
      inFile(2),
      recorded(2),
    ),
    exportComplete: true,
    lastExportError: undefined,
    slowOperations: 0,
    slowThresholdMs: 100,
    warnings: 0,
    unprintedWarnings: 0,
    errors: 0,
  }
  const text = formatReport(summary)

  it("prints the table row", () => {
    expect(text).toContain(
      "│ read      │     2 │   2.00 │   3.00 │   4.00 │  12.5 │         64.0 │        80.0 │        2 │       0 │",
    )
  })

  it("ends with the output path", () => {
    expect(text.endsWith("Telemetry written to /out/telemetry.json\n")).toBe(true)
  })

  it("prints the walk counts", () => {
    expect(text).toContain(
      "Walked /tree: 2 files in 1 directory; skipped 3 symbolic links, 0 other entries and 0 unreadable directories.",
    )
  })

  it("uses singular nouns for one", () => {
    const single = formatReport({
      ...summary,
      walk: { ...summary.walk, files: 1, symlinks: 1, otherEntries: 1, unreadableDirectories: 1 },
      filesProcessed: 1,
    })

    expect(single).toContain(
      "Walked /tree: 1 file in 1 directory; skipped 1 symbolic link, 1 other entry and 1 unreadable directory.",
    )
    expect(single).toContain("Processed 1 file (")
  })

  it("names the endpoint over HTTP", () => {
    const sent = formatReport({
      ...summary,
      format: "prometheus",
      destination: "http",
      endpoint: "http://127.0.0.1:9091/metrics/job/dinoair_playground",
      records: reconcile(
        { produced: 2, delivered: 2, buffered: 0, inFlight: 0, dropped: noDrops },
        delivered(2),
        recorded(2),
      ),
    })

    expect(sent).toContain(
      "Exported is the sink's delivered count, because the records went to an HTTP endpoint.\n",
    )
    expect(
      sent.endsWith(
        "Telemetry (Prometheus text) sent to http://127.0.0.1:9091/metrics/job/dinoair_playground\n",
      ),
    ).toBe(true)
  })

  it("says when the endpoint rejected everything", () => {
    const rejected = formatReport({
      ...summary,
      format: "prometheus",
      destination: "http",
      endpoint: "http://127.0.0.1:9091/metrics/job/dinoair_playground",
      records: reconcile(
        {
          produced: 2,
          delivered: 0,
          buffered: 0,
          inFlight: 0,
          dropped: { ...noDrops, rejected: 2 },
        },
        delivered(0),
        recorded(2),
      ),
    })

    expect(rejected).toContain(
      "Telemetry (Prometheus text) was rejected by http://127.0.0.1:9091/metrics/job/dinoair_playground: 2 records dropped",
    )
  })

  it("mentions an incomplete export", () => {
    const failed = formatReport({ ...summary, exportComplete: false, lastExportError: "disk full" })

    expect(failed).toContain("The final export did not deliver everything: disk full.")
  })

  it("says nothing was delivered over HTTP", () => {
    const endpoint = "http://127.0.0.1:1/x"
    const undelivered = formatReport({
      ...summary,
      destination: "http",
      endpoint,
      exportComplete: false,
      lastExportError: "connect ECONNREFUSED",
      records: reconcile(
        { produced: 150, delivered: 0, buffered: 150, inFlight: 0, dropped: noDrops },
        delivered(0),
        recorded(150),
      ),
    })

    expect(undelivered).not.toContain("sent to")
    expect(
      undelivered.endsWith(
        `Telemetry (JSON) was not delivered to ${endpoint}: 150 records still buffered\n`,
      ),
    ).toBe(true)
  })

  it("counts a partial delivery", () => {
    const partial = formatReport({
      ...summary,
      exportComplete: false,
      records: reconcile(
        {
          produced: 10,
          delivered: 6,
          buffered: 3,
          inFlight: 0,
          dropped: { ...noDrops, rejected: 1 },
        },
        inFile(6),
        recorded(10),
      ),
    })

    expect(
      partial.endsWith(
        "Telemetry (JSON) was not fully delivered to /out/telemetry.json: 6 delivered, 3 still buffered, 1 rejected\n",
      ),
    ).toBe(true)
  })
})
