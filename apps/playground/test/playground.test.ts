import { readFile, rm } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DEFAULT_CONCURRENCY } from "../src/options.js"
import { runPlayground } from "../src/playground.js"
import type { PlaygroundSummary } from "../src/report.js"
import { makeTree, type TestTree } from "./helpers.js"

describe("runPlayground with a small buffer", () => {
  const keptPerOperation = 5
  let tree: TestTree
  let outputFile: string
  let summary: PlaygroundSummary

  beforeAll(async () => {
    tree = await makeTree()
    outputFile = join(tree.root, "out", "telemetry.json")
    // No scheduled export within the run, so the buffer overflows and only
    // the newest records of each operation reach the final export.
    summary = await runPlayground({
      dir: tree.root,
      outputFile,
      quiet: true,
      telemetry: { exportIntervalSeconds: 3600, maxMetricsPerOperation: keptPerOperation },
    })
  }, 120_000)

  afterAll(async () => {
    await rm(tree.root, { recursive: true, force: true })
  })

  it("processes every file", () => {
    expect(summary.filesProcessed).toBe(tree.files.length)
    expect(summary.filesFailed).toBe(0)
  })

  it("exports the kept records per operation", () => {
    expect(summary.operations.map((row) => [row.operation, row.count, row.exported])).toEqual([
      ["read", tree.files.length, keptPerOperation],
      ["gzip", tree.files.length, keptPerOperation],
      ["sha256", tree.files.length, keptPerOperation],
    ])
  })

  it("shows the dropped records per operation", () => {
    expect(summary.operations.map((row) => row.dropped)).toEqual([
      tree.files.length - keptPerOperation,
      tree.files.length - keptPerOperation,
      tree.files.length - keptPerOperation,
    ])
  })

  it("counts them under the per-operation cap", () => {
    expect(summary.records.dropped.perOperation).toBe(3 * (tree.files.length - keptPerOperation))
    expect(summary.records.droppedTotal).toBe(summary.records.dropped.perOperation)
  })

  it("still reconciles", () => {
    expect(summary.records.problems).toEqual([])
    expect(summary.records.ok).toBe(true)
  })

  it("writes what it reports", async () => {
    const document = JSON.parse(await readFile(outputFile, "utf8")) as { metrics: Array<unknown> }

    expect(document.metrics.length).toBe(summary.records.exported)
  })
})

describe("runPlayground with repeated passes", () => {
  let tree: TestTree
  let summary: PlaygroundSummary

  beforeAll(async () => {
    tree = await makeTree()
    const stop = new AbortController()
    const firstPassRecords = tree.files.length * 4
    let recorded = 0
    // The repeat would last an hour; the first record of the second pass stops it instead.
    summary = await runPlayground(
      {
        dir: tree.root,
        outputFile: join(tree.root, "out", "telemetry.json"),
        quiet: true,
        repeatSeconds: 3600,
        extraOperations: 4,
      },
      {
        stop: stop.signal,
        onRecord: () => {
          recorded++
          if (recorded > firstPassRecords) stop.abort()
        },
      },
    )
  }, 120_000)

  afterAll(async () => {
    await rm(tree.root, { recursive: true, force: true })
  })

  it("stops in the pass where it is stopped", () => {
    expect(summary.passes).toBe(2)
  })

  it("finishes the files in progress and starts no other", () => {
    expect(summary.filesProcessed).toBe(tree.files.length + DEFAULT_CONCURRENCY)
  })

  it("adds the scan operations", () => {
    expect(summary.operations.map((row) => row.operation)).toEqual([
      "read",
      "gzip",
      "sha256",
      "scan-00",
      "scan-01",
      "scan-02",
      "scan-03",
    ])
  })

  it("still reconciles", () => {
    expect(summary.records.problems).toEqual([])
    expect(summary.records.ok).toBe(true)
  })
})
