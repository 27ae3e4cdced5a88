/**
 * The output read by the real consumers: a Prometheus server that scrapes
 * the pull handler (and so parses OpenMetrics), and a Pushgateway that
 * takes a push of the exporter's text. Each test starts its own instance on
 * 127.0.0.1 with a free port, in a fresh temporary directory, and stops it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  freePort,
  peerTool,
  type StartedProcess,
  startProcess,
  waitFor,
} from "@dinoair/test-support"
import { afterEach, describe, expect, it } from "vitest"
import { Exposition, PrometheusExporter, PullHandler, Registry } from "../src/index.js"
import { context, HOSTILE_OPERATIONS, processMetrics, record } from "./helpers.js"

const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const temporaryDirectory = async (): Promise<string> => {
  const directory = await mkdtemp(join(tmpdir(), "dinoair-prometheus-"))
  cleanups.push(() => rm(directory, { recursive: true, force: true }))
  return directory
}

const started = (peer: StartedProcess): StartedProcess => {
  cleanups.push(() => peer.stop())
  return peer
}

const getJson = async (url: string): Promise<unknown> => {
  const response = await fetch(url)
  return response.json()
}

interface VectorResult {
  readonly metric: Record<string, string>
  readonly value: readonly [number, string]
}

const query = async (base: string, promql: string): Promise<Array<VectorResult>> => {
  const body = (await getJson(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`)) as {
    readonly data?: { readonly result?: Array<VectorResult> }
  }
  return body.data?.result ?? []
}

// Prometheus drops a label whose value is empty, and stores the rest as given.
const operationOf = (result: VectorResult): string => result.metric.operation ?? ""

describe("Prometheus server", () => {
  it("scrapes the pull handler over OpenMetrics", { timeout: 60_000 }, async (test) => {
    const prometheus = peerTool("prometheus", "prometheus")
    if (prometheus === undefined) return test.skip()

    const registry = Registry.make({ buckets: [0.1, 1] })
    for (const operation of HOSTILE_OPERATIONS) {
      registry.observeAll([
        record({ operation, duration: 0.05 }),
        record({ operation, duration: 0.5, status: "error" }),
      ])
    }
    const handler = PullHandler.make({ registry }, { processMetrics: () => processMetrics })
    const acceptHeaders: Array<string | undefined> = []
    const server: Server = createServer((request, response) => {
      acceptHeaders.push(request.headers.accept)
      handler(request, response)
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    )
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`

    const directory = await temporaryDirectory()
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    await writeFile(
      join(directory, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: dinoair",
        "    static_configs:",
        `      - targets: ["${target}"]`,
        "",
      ].join("\n"),
    )
    const prometheusProcess = started(
      startProcess(prometheus, [
        `--config.file=${join(directory, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(directory, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ]),
    )

    await waitFor(
      async () =>
        (await query(base, "dinoair_operation_latency_seconds_count")).length ===
        HOSTILE_OPERATIONS.length,
      {
        timeoutMs: 40_000,
        what: `Prometheus to scrape the handler; its output: ${prometheusProcess.output()}`,
      },
    )

    const targets = (await getJson(`${base}/api/v1/targets`)) as {
      readonly data: {
        readonly activeTargets: ReadonlyArray<{
          readonly health: string
          readonly lastError: string
        }>
      }
    }
    const counters = await query(base, "dinoair_operations_total")
    const counts = await query(base, "dinoair_operation_latency_seconds_count")
    const fastBuckets = await query(base, 'dinoair_operation_latency_seconds_bucket{le="0.1"}')

    expect(targets.data.activeTargets[0]?.health).toBe("up")
    expect(targets.data.activeTargets[0]?.lastError).toBe("")
    expect(Exposition.negotiate(acceptHeaders[0])).toBe("openmetrics")
    expect(counters).toHaveLength(HOSTILE_OPERATIONS.length * 2)
    expect([...new Set(counters.map(operationOf))].sort()).toStrictEqual(
      [...HOSTILE_OPERATIONS].sort(),
    )
    for (const result of counters) expect(result.value[1]).toBe("1")
    for (const result of counts) expect(result.value[1]).toBe("2")
    expect(fastBuckets).toHaveLength(HOSTILE_OPERATIONS.length)
    for (const result of fastBuckets) expect(result.value[1]).toBe("1")
  })
})

describe("Pushgateway", () => {
  const startPushgateway = async (): Promise<string | undefined> => {
    const pushgateway = peerTool("prometheus-pushgateway", "prometheus-pushgateway")
    if (pushgateway === undefined) return undefined

    const directory = await temporaryDirectory()
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const peer = started(
      startProcess(pushgateway, [
        `--web.listen-address=127.0.0.1:${port}`,
        `--persistence.file=${join(directory, "pushgateway.data")}`,
      ]),
    )
    await waitFor(async () => (await fetch(`${base}/-/ready`)).ok, {
      what: `the Pushgateway to start; its output: ${peer.output()}`,
    })
    return base
  }

  const pushText = (timestamps: boolean): string => {
    const exporter = PrometheusExporter.make({ timestamps })
    for (const operation of ["checkout", 'quote"d']) exporter.observe(record({ operation }))
    return exporter.encode([record()], context({ processMetrics })).body
  }

  it("accepts a push with timestamps off", { timeout: 30_000 }, async (test) => {
    const base = await startPushgateway()
    if (base === undefined) return test.skip()

    const push = await fetch(`${base}/metrics/job/dinoair`, {
      method: "PUT",
      headers: { "content-type": PrometheusExporter.CONTENT_TYPE },
      body: pushText(false),
    })
    const pushBody = await push.text()
    const stored = await (await fetch(`${base}/metrics`)).text()

    expect(pushBody).toBe("")
    expect(push.status).toBe(200)
    expect(stored).toContain(
      'dinoair_operations_total{instance="",job="dinoair",operation="quote\\"d",status="ok"} 1',
    )
  })

  it("rejects a push with timestamps on", { timeout: 30_000 }, async (test) => {
    const base = await startPushgateway()
    if (base === undefined) return test.skip()

    const push = await fetch(`${base}/metrics/job/dinoair`, {
      method: "PUT",
      headers: { "content-type": PrometheusExporter.CONTENT_TYPE },
      body: pushText(true),
    })
    const pushBody = await push.text()

    expect(push.status).toBe(400)
    expect(pushBody).toContain("must not have timestamps")
  })
})
