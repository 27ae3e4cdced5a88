import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { OperationSummary } from "@dinoair/api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  buildOperationRows,
  formatReconciliation,
  formatReport,
  type PlaygroundSummary,
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

describe("reconcile", () => {
  it("accepts counts that add up", () => {
    const records = reconcile(counts(), 6, 10)

    expect(records.ok).toBe(true)
    expect(records.droppedTotal).toBe(3)
    expect(records.problems).toEqual([])
  })

  it("flags records that are missing", () => {
    const records = reconcile(counts({ produced: 11 }), 6, 11)

    expect(records.ok).toBe(false)
    expect(records.problems).toEqual([
      "telemetry produced 11 records, but exported + buffered + in flight + dropped is 10",
    ])
  })

  it("flags a file that differs from delivered", () => {
    const records = reconcile(counts({ buffered: 2 }), 5, 10)

    expect(records.ok).toBe(false)
    expect(records.problems).toEqual([
      "the sink reported 6 records delivered, but the file holds 5",
    ])
  })

  it("flags a monitor count that differs", () => {
    const records = reconcile(counts(), 6, 9)

    expect(records.ok).toBe(false)
    expect(records.problems).toEqual([
      "the monitor recorded 9 operations, but telemetry collected 10",
    ])
  })

  it("formats OK and MISMATCH", () => {
    expect(formatReconciliation(reconcile(counts(), 6, 10))).toBe(
      "Records: produced 10 = exported 6 + buffered 1 + in flight 0 + dropped 3 (per-operation cap 2, total cap 0, retention 0, cleared 0, rejected 1): OK",
    )
    expect(formatReconciliation(reconcile(counts(), 6, 9)).endsWith(": MISMATCH")).toBe(true)
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
    expect(Object.fromEntries(exported.byOperation)).toEqual({ read: 2, gzip: 1 })
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

describe("buildOperationRows", () => {
  const exported = {
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
})

describe("formatReport", () => {
  const rows = buildOperationRows(
    { read: summaryOf("read", 2) },
    { fileExists: true, total: 2, byOperation: new Map([["read", 2]]) },
    {},
    ["read"],
  )
  const summary: PlaygroundSummary = {
    dir: "/tree",
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
    filesProcessed: 2,
    filesFailed: 0,
    bytesRead: 2 * 1024 * 1024,
    bytesGzipped: 1024 * 1024,
    concurrency: 8,
    sampleRate: 1,
    operations: rows,
    records: reconcile(
      { produced: 2, delivered: 2, buffered: 0, inFlight: 0, dropped: noDrops },
      2,
      2,
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
    expect(text).toContain("Walked /tree: 2 files in 1 directories; skipped 3 symbolic links")
  })

  it("mentions an incomplete export", () => {
    const failed = formatReport({ ...summary, exportComplete: false, lastExportError: "disk full" })

    expect(failed).toContain("The final export did not deliver everything: disk full.")
  })
})
