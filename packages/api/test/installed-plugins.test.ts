/**
 * The optional formats and destinations through the facade, with the real
 * plugin packages. Prometheus text goes to a file that promtool checks, and
 * CSV to a file that csv-parse reads back. JSON goes over HTTP to a server
 * of the test's own, and Prometheus text to a real Pushgateway. Every
 * server listens on 127.0.0.1 and is stopped after its test.
 */
import { readdir, readFile, stat } from "node:fs/promises"
import path from "node:path"
import {
  freePort,
  peerTool,
  promtoolCheck,
  type StartedProcess,
  startProcess,
  waitFor,
} from "@dinoair/test-support"
import { parse } from "csv-parse/sync"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  configureTelemetry,
  ExportError,
  enableTelemetry,
  exportTelemetry,
  getTelemetryManager,
  monitorPerformance,
  resetGlobals,
  setLogger,
  TelemetryManager,
} from "../src/index.js"
import {
  type CapturingLogger,
  capturingLogger,
  type ExportedDocument,
  makeTempDir,
  removeTempDirs,
  startCollector,
  stopCollectors,
} from "./helpers.js"

let logger: CapturingLogger
let directory: string
const cleanups: Array<() => Promise<void>> = []

beforeEach(async () => {
  logger = capturingLogger()
  setLogger(logger)
  directory = await makeTempDir()
})

afterEach(async () => {
  await resetGlobals()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await stopCollectors()
  await removeTempDirs()
})

/** Runs `count` monitored operations named `operation`, each recording `index` as a custom metric. */
const runOperations = (operation: string, count: number, status: "ok" | "error" = "ok"): void => {
  for (let index = 0; index < count; index++) {
    try {
      monitorPerformance(
        operation,
        () => {
          if (status === "error") throw new Error(`${operation} failed on purpose`)
        },
        { index },
      )
    } catch {
      // The test wants the error status, not the rethrown error.
    }
  }
}

/** Finds the sample of a series in exposition text: `name{labels} value [timestamp]`. */
const sampleValue = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((each) => each.startsWith(`${series} `))
  if (line === undefined) return undefined
  return Number(line.slice(series.length + 1).split(" ")[0])
}

const countLines = (text: string, line: string): number =>
  text.split("\n").filter((each) => each === line).length

describe("prometheus format to a file", () => {
  it("writes text that promtool accepts", { timeout: 20_000 }, async () => {
    const outputFile = path.join(directory, "metrics.prom")
    const ready = await enableTelemetry({ exportFormat: "prometheus", outputFile })
    runOperations("checkout", 3)
    runOperations("checkout", 1, "error")
    runOperations("db_query", 2)
    const exported = await exportTelemetry()

    const text = await readFile(outputFile, "utf8")
    const check = await promtoolCheck(text)
    expect(ready).toBe(true)
    expect(exported).toBe(true)
    if (check !== undefined) {
      expect(check.output).toBe("")
      expect(check.code).toBe(0)
    }
  })

  it("counts operations by status", async () => {
    const outputFile = path.join(directory, "metrics.prom")
    await enableTelemetry({ exportFormat: "prometheus", outputFile })
    runOperations("checkout", 3)
    runOperations("checkout", 1, "error")
    runOperations("db_query", 2)
    await exportTelemetry()

    const text = await readFile(outputFile, "utf8")
    expect(sampleValue(text, 'dinoair_operations_total{operation="checkout",status="ok"}')).toBe(3)
    expect(sampleValue(text, 'dinoair_operations_total{operation="checkout",status="error"}')).toBe(
      1,
    )
    expect(sampleValue(text, 'dinoair_operations_total{operation="db_query",status="ok"}')).toBe(2)
  })

  it("writes the latency histogram", async () => {
    const outputFile = path.join(directory, "metrics.prom")
    // Every synchronous no-op takes far less than 60 s and more than 0 s.
    await enableTelemetry({
      exportFormat: "prometheus",
      outputFile,
      exporterOptions: { buckets: [0, 60] },
    })
    runOperations("checkout", 4)
    await exportTelemetry()

    const text = await readFile(outputFile, "utf8")
    const bucket = (le: string) =>
      sampleValue(text, `dinoair_operation_latency_seconds_bucket{operation="checkout",le="${le}"}`)
    expect(bucket("0")).toBe(0)
    expect(bucket("60")).toBe(4)
    expect(bucket("+Inf")).toBe(4)
    expect(sampleValue(text, 'dinoair_operation_latency_seconds_count{operation="checkout"}')).toBe(
      4,
    )
  })

  it("replaces the file atomically on each export", async () => {
    const outputFile = path.join(directory, "metrics.prom")
    await enableTelemetry({ exportFormat: "prometheus", outputFile })
    runOperations("checkout", 2)
    await exportTelemetry()
    const first = await stat(outputFile)

    runOperations("checkout", 1)
    await exportTelemetry()
    const second = await stat(outputFile)
    const text = await readFile(outputFile, "utf8")

    // The file sink renames a new file over the old one, so the inode changes.
    expect(second.ino).not.toBe(first.ino)
    expect(await readdir(directory)).toEqual(["metrics.prom"])
    expect(countLines(text, "# TYPE dinoair_operations_total counter")).toBe(1)
    expect(sampleValue(text, 'dinoair_operations_total{operation="checkout",status="ok"}')).toBe(3)
  })

  it("keeps counting across a new outputFile", async () => {
    const firstFile = path.join(directory, "first.prom")
    const secondFile = path.join(directory, "second.prom")
    await enableTelemetry({ exportFormat: "prometheus", outputFile: firstFile })
    runOperations("checkout", 2)
    await exportTelemetry()

    // Two records stay buffered while the pipeline is rebuilt, and each must count once.
    runOperations("checkout", 2)
    configureTelemetry({ outputFile: secondFile, exporterOptions: { timestamps: false } })
    runOperations("checkout", 1)
    const exported = await exportTelemetry()

    const text = await readFile(secondFile, "utf8")
    expect(exported).toBe(true)
    expect(getTelemetryManager().stats.delivered).toBe(5)
    expect(text).toContain('dinoair_operations_total{operation="checkout",status="ok"} 5\n')
    expect(text).toContain('dinoair_operation_latency_seconds_count{operation="checkout"} 5\n')
  })

  it("counts records collected while loading once", async () => {
    const outputFile = path.join(directory, "metrics.prom")
    const ready = enableTelemetry({
      exportFormat: "prometheus",
      outputFile,
      exporterOptions: { timestamps: false },
    })
    runOperations("early", 3)
    await ready
    runOperations("early", 1)
    await exportTelemetry()

    const text = await readFile(outputFile, "utf8")
    expect(text).toContain('dinoair_operations_total{operation="early",status="ok"} 4\n')
  })

  it("restarts the counters with new buckets", async () => {
    const outputFile = path.join(directory, "metrics.prom")
    await enableTelemetry({
      exportFormat: "prometheus",
      outputFile,
      exporterOptions: { timestamps: false },
    })
    runOperations("checkout", 2)
    await exportTelemetry()

    configureTelemetry({ exporterOptions: { timestamps: false, buckets: [60] } })
    runOperations("checkout", 1)
    await exportTelemetry()

    const text = await readFile(outputFile, "utf8")
    expect(text).toContain('dinoair_operations_total{operation="checkout",status="ok"} 1\n')
    expect(text).toContain(
      'dinoair_operation_latency_seconds_bucket{operation="checkout",le="60"} 1\n',
    )
  })

  it("restarts the counters after a failed setup", async () => {
    const outputFile = path.join(directory, "metrics.prom")
    await enableTelemetry({
      exportFormat: "prometheus",
      outputFile,
      exporterOptions: { timestamps: false },
    })
    runOperations("checkout", 2)
    await exportTelemetry()

    // Without httpEndpoint the HTTP sink cannot be set up, so no exporter counts the next record.
    const failed = await enableTelemetry({ exportDestination: "http" })
    runOperations("checkout", 1)
    const recovered = await enableTelemetry({ exportDestination: "file" })
    await exportTelemetry()

    const text = await readFile(outputFile, "utf8")
    expect(failed).toBe(false)
    expect(recovered).toBe(true)
    expect(text).toContain('dinoair_operations_total{operation="checkout",status="ok"} 1\n')
  })

  it("gives each manager its own counters", async () => {
    const firstFile = path.join(directory, "first.prom")
    const secondFile = path.join(directory, "second.prom")
    const options = { exportFormat: "prometheus", exporterOptions: { timestamps: false } }
    const first = new TelemetryManager({ ...options, outputFile: firstFile })
    const second = new TelemetryManager({ ...options, outputFile: secondFile })
    cleanups.push(
      () => first.shutdown(),
      () => second.shutdown(),
    )
    await first.enable()
    runOperations("checkout", 2)
    await second.enable()
    runOperations("checkout", 1)
    await first.forceExport()
    await second.forceExport()

    expect(await readFile(firstFile, "utf8")).toContain(
      'dinoair_operations_total{operation="checkout",status="ok"} 3\n',
    )
    expect(await readFile(secondFile, "utf8")).toContain(
      'dinoair_operations_total{operation="checkout",status="ok"} 1\n',
    )
  })
})

describe("csv format to a file", () => {
  it("writes the header once across exports", async () => {
    const outputFile = path.join(directory, "telemetry.csv")
    const ready = await enableTelemetry({ exportFormat: "csv", outputFile })
    for (const operation of ["first", "second", "third"]) {
      runOperations(operation, 2)
      await exportTelemetry()
    }

    const text = await readFile(outputFile, "utf8")
    expect(ready).toBe(true)
    expect(
      countLines(
        text.replaceAll("\r", ""),
        "operation,duration,memory_usage,cpu_usage,timestamp,status,custom_metrics",
      ),
    ).toBe(1)
  })

  it("reads back with csv-parse", async () => {
    const outputFile = path.join(directory, "telemetry.csv")
    await enableTelemetry({ exportFormat: "csv", outputFile })
    runOperations("first", 2)
    await exportTelemetry()
    runOperations('=formula, with "quotes"', 1, "error")
    await exportTelemetry()
    runOperations("third", 1)
    await exportTelemetry()

    const rows = parse(await readFile(outputFile), { columns: true }) as Array<
      Record<string, string>
    >
    expect(rows.map((row) => row.operation)).toEqual([
      "first",
      "first",
      '\'=formula, with "quotes"',
      "third",
    ])
    expect(rows.map((row) => row.status)).toEqual(["ok", "ok", "error", "ok"])
    expect(rows.map((row) => JSON.parse(row.custom_metrics ?? "null"))).toEqual([
      { index: 0 },
      { index: 1 },
      { index: 0 },
      { index: 0 },
    ])
    for (const row of rows) expect(Number(row.duration)).toBeGreaterThanOrEqual(0)
  })
})

describe("http destination", () => {
  it("posts the JSON document", async () => {
    const collector = await startCollector()
    const ready = await enableTelemetry({
      exportDestination: "http",
      httpEndpoint: collector.url,
    })
    runOperations("checkout", 2)
    runOperations("db_query", 1, "error")
    const exported = await exportTelemetry()

    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(collector.received).toHaveLength(1)
    const [request] = collector.received
    expect(request?.method).toBe("POST")
    expect(request?.url).toBe("/ingest")
    expect(request?.contentType).toContain("application/json")
    const document = JSON.parse(request?.body ?? "{}") as ExportedDocument
    expect(
      document.metrics.map((record) => [record.operation, record.status, record.custom_metrics]),
    ).toEqual([
      ["checkout", "ok", { index: 0 }],
      ["checkout", "ok", { index: 1 }],
      ["db_query", "error", { index: 0 }],
    ])
    expect(getTelemetryManager().stats.delivered).toBe(3)
  })

  it("counts a 400 as rejected", async () => {
    const collector = await startCollector(400)
    await enableTelemetry({ exportDestination: "http", httpEndpoint: collector.url })
    runOperations("checkout", 2)
    const exported = await exportTelemetry()

    const stats = getTelemetryManager().stats
    expect(exported).toBe(false)
    expect(collector.received).toHaveLength(1)
    expect(stats.dropped.rejected).toBe(2)
    expect(stats.delivered).toBe(0)
    expect(stats.buffered).toBe(0)
    expect(getTelemetryManager().lastError?.code).toBe("DINOAIR_SINK_REJECTED")
  })

  it("sends CSV with its content type", async () => {
    const collector = await startCollector()
    await enableTelemetry({
      exportFormat: "csv",
      exportDestination: "http",
      httpEndpoint: collector.url,
      sinkOptions: { method: "PUT" },
    })
    runOperations("checkout", 2)
    await exportTelemetry()

    const [request] = collector.received
    const rows = parse(request?.body ?? "", { columns: true }) as Array<Record<string, string>>
    expect(request?.method).toBe("PUT")
    expect(request?.contentType).toContain("text/csv")
    expect(rows.map((row) => row.operation)).toEqual(["checkout", "checkout"])
  })
})

describe("Pushgateway", () => {
  /** Starts a Pushgateway on a free port, or returns `undefined` when it is not installed. */
  const startPushgateway = async (): Promise<string | undefined> => {
    const pushgateway = peerTool("prometheus-pushgateway", "prometheus-pushgateway")
    if (pushgateway === undefined) return undefined

    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const peer: StartedProcess = startProcess(pushgateway, [
      `--web.listen-address=127.0.0.1:${port}`,
      `--persistence.file=${path.join(directory, "pushgateway.data")}`,
    ])
    cleanups.push(() => peer.stop())
    await waitFor(async () => (await fetch(`${base}/-/ready`)).ok, {
      what: `the Pushgateway to start; its output: ${peer.output()}`,
    })
    return base
  }

  it("accepts a push with timestamps off", { timeout: 30_000 }, async (test) => {
    const base = await startPushgateway()
    if (base === undefined) return test.skip()

    const ready = await enableTelemetry({
      exportFormat: "prometheus",
      exportDestination: "http",
      httpEndpoint: `${base}/metrics/job/dinoair_api`,
      exporterOptions: { timestamps: false },
      sinkOptions: { method: "PUT" },
    })
    runOperations("checkout", 3)
    runOperations("checkout", 1, "error")
    const exported = await exportTelemetry()
    const stored = await (await fetch(`${base}/metrics`)).text()

    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(getTelemetryManager().stats.delivered).toBe(4)
    expect(stored).toContain(
      'dinoair_operations_total{instance="",job="dinoair_api",operation="checkout",status="ok"} 3\n',
    )
    expect(stored).toContain(
      'dinoair_operations_total{instance="",job="dinoair_api",operation="checkout",status="error"} 1\n',
    )
    expect(stored).toContain(
      'dinoair_operation_latency_seconds_count{instance="",job="dinoair_api",operation="checkout"} 4\n',
    )
  })

  it("rejects a push with timestamps on", { timeout: 30_000 }, async (test) => {
    const base = await startPushgateway()
    if (base === undefined) return test.skip()

    await enableTelemetry({
      exportFormat: "prometheus",
      exportDestination: "http",
      httpEndpoint: `${base}/metrics/job/dinoair_api`,
      sinkOptions: { method: "PUT" },
    })
    runOperations("checkout", 3)
    const exported = await exportTelemetry()
    const stored = await (await fetch(`${base}/metrics`)).text()

    const manager = getTelemetryManager()
    const error = manager.lastError
    expect(exported).toBe(false)
    expect(manager.stats.dropped.rejected).toBe(3)
    expect(manager.stats.delivered).toBe(0)
    expect(manager.stats.buffered).toBe(0)
    expect(error).toBeInstanceOf(ExportError)
    expect(error?.code).toBe("DINOAIR_SINK_REJECTED")
    expect((error as ExportError | undefined)?.status).toBe(400)
    expect(error?.message).toContain("must not have timestamps")
    expect(stored).not.toContain("dinoair_operations_total")
  })
})
