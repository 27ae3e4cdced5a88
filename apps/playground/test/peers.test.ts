/**
 * The playground against the real Prometheus consumers: it pushes to a
 * Pushgateway, and a Prometheus server scrapes its `/metrics`. Each test
 * starts its own peer on 127.0.0.1 with a free port, in a fresh temporary
 * directory, and stops every process it started. Without the peers the
 * tests are skipped with a message, unless `DINOAIR_REQUIRE_PEERS=1`.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  freePort,
  peerTool,
  type StartedProcess,
  startProcess,
  waitFor,
} from "@dinoair/test-support"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { buildPlayground, mainJs, makeTree, runCli, type TestTree } from "./helpers.js"

const OPERATIONS = ["read", "gzip", "sha256"] as const

let tree: TestTree
const cleanups: Array<() => Promise<void>> = []

beforeAll(async () => {
  buildPlayground()
  tree = await makeTree()
}, 180_000)

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

afterAll(async () => {
  await rm(tree.root, { recursive: true, force: true })
})

const temporaryDirectory = async (): Promise<string> => {
  const directory = await mkdtemp(join(tmpdir(), "dinoair-playground-peers-"))
  cleanups.push(() => rm(directory, { recursive: true, force: true }))
  return directory
}

/** Starts a process and registers its stop, so that it ends after the test. */
const started = (peer: StartedProcess): StartedProcess => {
  cleanups.push(() => peer.stop())
  return peer
}

/** Finds the sample value of an exact series line: `name{labels} value`. */
const sampleValue = (text: string, series: string): string | undefined =>
  text
    .split("\n")
    .find((line) => line.startsWith(`${series} `))
    ?.slice(series.length + 1)

describe("Pushgateway", () => {
  it("receives the playground's push", { timeout: 60_000 }, async (test) => {
    const pushgateway = peerTool("prometheus-pushgateway", "prometheus-pushgateway")
    if (pushgateway === undefined) return test.skip()

    const directory = await temporaryDirectory()
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    // An empty persistence file keeps the metrics in memory only.
    const peer = started(
      startProcess(
        pushgateway,
        [`--web.listen-address=127.0.0.1:${port}`, "--persistence.file="],
        directory,
      ),
    )
    await waitFor(async () => (await fetch(`${base}/-/ready`)).ok, {
      what: `the Pushgateway to start; its output: ${peer.output()}`,
    })

    const run = runCli([
      "--dir",
      tree.root,
      "--format",
      "prometheus",
      "--destination",
      "http",
      "--endpoint",
      `${base}/metrics/job/dinoair_playground`,
      "--quiet",
    ])
    const stored = await (await fetch(`${base}/metrics`)).text()

    const files = String(tree.files.length)
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^Records: produced \d+ = .*: OK$/m)
    for (const operation of OPERATIONS) {
      const labels = `instance="",job="dinoair_playground",operation="${operation}"`
      expect(sampleValue(stored, `dinoair_operations_total{${labels},status="ok"}`)).toBe(files)
      expect(sampleValue(stored, `dinoair_operation_latency_seconds_count{${labels}}`)).toBe(files)
    }
  })
})

interface VectorResult {
  readonly metric: Readonly<Record<string, string>>
  readonly value: readonly [number, string]
}

const query = async (base: string, promql: string): Promise<Array<VectorResult>> => {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`)
  const body = (await response.json()) as {
    readonly data?: { readonly result?: Array<VectorResult> }
  }
  return body.data?.result ?? []
}

/** The value of each series by its `operation` label. */
const byOperation = (results: ReadonlyArray<VectorResult>): Record<string, string> =>
  Object.fromEntries(results.map((result) => [result.metric.operation ?? "", result.value[1]]))

describe("Prometheus server", () => {
  it("scrapes the playground's /metrics", { timeout: 90_000 }, async (test) => {
    const prometheus = peerTool("prometheus", "prometheus")
    if (prometheus === undefined) return test.skip()

    const directory = await temporaryDirectory()
    const playgroundPort = await freePort()
    const prometheusPort = await freePort()
    const base = `http://127.0.0.1:${prometheusPort}`
    await writeFile(
      join(directory, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: dinoair_playground",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${playgroundPort}"]`,
        "",
      ].join("\n"),
    )
    const server = started(
      startProcess(prometheus, [
        `--config.file=${join(directory, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(directory, "data")}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ]),
    )
    // The linger is a ceiling: the test stops the playground as soon as Prometheus has the totals.
    const playground = started(
      startProcess(process.execPath, [
        mainJs,
        "--dir",
        tree.root,
        "--out",
        join(directory, "telemetry.json"),
        "--quiet",
        "--serve",
        "--port",
        String(playgroundPort),
        "--linger-seconds",
        "80",
      ]),
    )

    const files = String(tree.files.length)
    const expected = Object.fromEntries(OPERATIONS.map((operation) => [operation, files]))
    await waitFor(
      async () => {
        const totals = byOperation(
          await query(base, "sum by (operation) (dinoair_operations_total)"),
        )
        return OPERATIONS.every((operation) => totals[operation] === files)
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `Prometheus to scrape every operation's final count; Prometheus output: ${server.output()}; playground output: ${playground.output()}`,
      },
    )

    const counters = await query(base, "dinoair_operations_total")
    const counts = await query(base, "dinoair_operation_latency_seconds_count")
    const buckets = await query(base, "dinoair_operation_latency_seconds_bucket")
    const infBuckets = await query(base, 'dinoair_operation_latency_seconds_bucket{le="+Inf"}')
    const targets = (await (await fetch(`${base}/api/v1/targets`)).json()) as {
      readonly data: { readonly activeTargets: ReadonlyArray<{ readonly health: string }> }
    }
    // A signal before the linger starts would end the run itself, not only the linger.
    await waitFor(async () => playground.output().includes("Still serving"), {
      what: `the playground to print its report; its output: ${playground.output()}`,
    })
    await playground.stop()

    expect(targets.data.activeTargets.map((target) => target.health)).toEqual(["up"])
    expect(counters.map((result) => result.metric.status)).toEqual(["ok", "ok", "ok"])
    expect(byOperation(counters)).toEqual(expected)
    expect(byOperation(counts)).toEqual(expected)
    expect(byOperation(infBuckets)).toEqual(expected)
    expect(buckets.length).toBeGreaterThan(OPERATIONS.length)
    for (const bucket of buckets) expect(bucket.metric.le).toMatch(/^(\+Inf|\d+(\.\d+)?(e-?\d+)?)$/)
    expect(playground.child.exitCode).toBe(0)
    expect(playground.output()).toMatch(/^Records: produced \d+ = .*: OK$/m)
  })
})
