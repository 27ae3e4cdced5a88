import { rm, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import {
  configurePerformance,
  configureTelemetry,
  type DinoLogger,
  disablePerformanceMonitoring,
  disableTelemetry,
  ExportError,
  enablePerformanceMonitoring,
  enableTelemetry,
  exportTelemetry,
  getMetricsCount,
  getPerformanceMonitor,
  getTelemetryManager,
  monitorPerformance,
  PerformanceMonitor,
  resetGlobals,
  setLogger,
} from "../src/index.js"
import {
  type CapturingLogger,
  capturingLogger,
  countByOperation,
  deferred,
  makeTempDir,
  readExport,
  removeTempDirs,
} from "./helpers.js"

let logger: CapturingLogger
let directory: string

beforeEach(async () => {
  logger = capturingLogger()
  setLogger(logger)
  directory = await makeTempDir()
})

afterEach(async () => {
  vi.restoreAllMocks()
  await resetGlobals()
  await removeTempDirs()
})

/** Runs `count` operations named `name` with the process-wide monitor. */
const runOperations = (name: string, count: number): void => {
  for (let i = 0; i < count; i++) monitorPerformance(name, () => i)
}

describe("global performance functions", () => {
  it("getPerformanceMonitor returns one instance", () => {
    const first = getPerformanceMonitor()
    const second = getPerformanceMonitor()

    expect(first).toBeInstanceOf(PerformanceMonitor)
    expect(second).toBe(first)
  })

  it("resetGlobals creates a fresh monitor next", async () => {
    const before = getPerformanceMonitor()

    await resetGlobals()

    expect(getPerformanceMonitor()).not.toBe(before)
  })

  it("enablePerformanceMonitoring applies config and enables", () => {
    disablePerformanceMonitoring()

    enablePerformanceMonitoring({ maxMetricsRetained: 20, thresholdDurationMs: 500 })

    const config = getPerformanceMonitor().config
    expect(config.enabled).toBe(true)
    expect(config.maxMetricsRetained).toBe(20)
    expect(config.thresholdDurationMs).toBe(500)
  })

  it("disablePerformanceMonitoring still runs bodies", () => {
    disablePerformanceMonitoring()

    const value = monitorPerformance("skipped", () => "body ran")

    expect(value).toBe("body ran")
    expect(getPerformanceMonitor().config.enabled).toBe(false)
    expect(getPerformanceMonitor().getMetricsSummary()).toEqual({})
  })

  it("configurePerformance updates the global monitor", () => {
    configurePerformance({ samplingRate: 0.75 })

    expect(getPerformanceMonitor().config.samplingRate).toBe(0.75)
  })

  it("monitorPerformance returns the result and records metadata", () => {
    const result = monitorPerformance("lookup", () => ({ found: true }), { table: "users" })

    expect(result).toEqual({ found: true })
    const record = getPerformanceMonitor().instance.getRecords("lookup")[0]
    expect(record?.customMetrics).toEqual({ table: "users" })
  })

  it("monitorPerformance waits for a promise", async () => {
    const gate = deferred<number>()

    const result = monitorPerformance("pending", () => gate.promise)

    expect(getPerformanceMonitor().getActiveOperations()).toHaveLength(1)
    gate.resolve(7)
    await expect(result).resolves.toBe(7)
    expect(getPerformanceMonitor().getActiveOperations()).toEqual([])
    expect(getPerformanceMonitor().getMetricsSummary("pending").pending?.count).toBe(1)
  })

  it("monitorPerformance rethrows with status error", async () => {
    const failure = new TypeError("bad row")

    const result = monitorPerformance("parse", async () => {
      throw failure
    })

    await expect(result).rejects.toBe(failure)
    expect(getPerformanceMonitor().instance.getRecords("parse")[0]?.status).toBe("error")
  })

  it("monitorPerformance without a function is a scope", () => {
    let id = ""
    {
      using query = monitorPerformance("database_query", { shard: 2 })
      id = query.id
      query.recordMetric("rows", 12)
    }

    expect(id).toContain("database_query")
    const record = getPerformanceMonitor().instance.getRecords("database_query")[0]
    expect(record?.customMetrics).toEqual({ shard: 2, rows: 12 })
  })
})

describe("global telemetry functions", () => {
  it("getTelemetryManager returns one disabled instance", () => {
    const manager = getTelemetryManager()

    expect(getTelemetryManager()).toBe(manager)
    expect(manager.enabled).toBe(false)
  })

  it("enableTelemetry then exportTelemetry writes the file", async () => {
    const outputFile = path.join(directory, "performance_data.json")

    const ready = await enableTelemetry({ outputFile })
    runOperations("checkout", 2)
    const exported = await exportTelemetry()

    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(countByOperation(await readExport(outputFile))).toEqual({ checkout: 2 })
  })

  it("exportTelemetry before enableTelemetry resolves false", async () => {
    runOperations("unexported", 1)

    const exported = await exportTelemetry()

    expect(exported).toBe(false)
  })

  it("getMetricsCount reports the global buffer", async () => {
    await enableTelemetry({ outputFile: path.join(directory, "t.json") })

    runOperations("search", 3)
    runOperations("render", 1)

    expect(getMetricsCount()).toEqual({ search: 3, render: 1 })
  })

  it("configureTelemetry returns the new configuration", () => {
    const config = configureTelemetry({
      maxTotalMetrics: 20000,
      exportIntervalSeconds: 30,
      retentionHours: 48,
    })

    expect(config.maxTotalMetrics).toBe(20000)
    expect(config.exportIntervalSeconds).toBe(30)
    expect(config.retentionHours).toBe(48)
    expect(getTelemetryManager().config).toEqual(config)
  })

  it("disableTelemetry flushes and stops", async () => {
    const outputFile = path.join(directory, "flush.json")
    await enableTelemetry({ outputFile })
    runOperations("last_call", 2)

    const flushed = await disableTelemetry()
    runOperations("ignored", 1)

    expect(flushed).toBe(true)
    expect(getTelemetryManager().enabled).toBe(false)
    expect(getMetricsCount()).toEqual({})
    expect(countByOperation(await readExport(outputFile))).toEqual({ last_call: 2 })
  })

  it("collection starts before enableTelemetry settles", async () => {
    const outputFile = path.join(directory, "early.json")

    const ready = enableTelemetry({ outputFile })
    monitorPerformance("startup", () => undefined)
    const exported = await exportTelemetry()

    expect(exported).toBe(true)
    expect(await ready).toBe(true)
    expect(countByOperation(await readExport(outputFile))).toEqual({ startup: 1 })
  })

  it("failed export keeps records and recovers", async () => {
    const blocker = path.join(directory, "logs")
    await writeFile(blocker, "a file where the directory should be")
    const outputFile = path.join(blocker, "telemetry.json")
    await enableTelemetry({ outputFile, batchSize: 2 })
    runOperations("ingest", 3)
    runOperations("report", 2)

    const failed = await exportTelemetry()

    expect(failed).toBe(false)
    expect(getMetricsCount()).toEqual({ ingest: 3, report: 2 })
    expect(getTelemetryManager().getTotalMetricsCount()).toBe(5)
    const error = getTelemetryManager().lastError
    expect(error).toBeInstanceOf(ExportError)
    expect(error?.code).toBe("DINOAIR_SINK_WRITE_FAILED")

    await rm(blocker)
    const recovered = await exportTelemetry()

    expect(recovered).toBe(true)
    expect(getMetricsCount()).toEqual({})
    const document = await readExport(outputFile)
    expect(countByOperation(document)).toEqual({ ingest: 3, report: 2 })
    expect(new Set(document.metrics.map((record) => record.id)).size).toBe(5)
    expect(logger.containing("recovered")).toHaveLength(1)
  })

  it("resetGlobals shuts the manager down", async () => {
    const outputFile = path.join(directory, "reset.json")
    await enableTelemetry({ outputFile })
    const manager = getTelemetryManager()
    runOperations("pending_at_reset", 1)

    await resetGlobals()

    expect(manager.enabled).toBe(false)
    expect(getTelemetryManager()).not.toBe(manager)
    expect(countByOperation(await readExport(outputFile))).toEqual({ pending_at_reset: 1 })
  })
})

describe("setLogger", () => {
  it("sends warnings to the logger set", () => {
    new PerformanceMonitor({ samplingRate: 2 })

    expect(logger.at("warn")).toHaveLength(1)
    expect(logger.at("warn")[0]).toContain("samplingRate")
  })

  it("accepts console", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined)

    setLogger(console)
    new PerformanceMonitor({ maxMetricsRetained: -1 })

    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]?.[0])).toContain("maxMetricsRetained")
  })

  it("reaches monitors built before it was called", () => {
    const monitor = new PerformanceMonitor()
    const later = capturingLogger()

    setLogger(later)
    monitor.configure({ thresholdDurationMs: -1 })

    expect(later.at("warn")).toHaveLength(1)
    expect(logger.entries).toEqual([])
  })

  it.each([
    ["an object without methods", {}],
    ["a partial logger", { warn: () => undefined, error: () => undefined }],
    ["null", null],
    ["a string", "console"],
  ])("rejects %s with a warning", (_label, invalid) => {
    setLogger(invalid as unknown as DinoLogger)
    new PerformanceMonitor({ samplingRate: -1 })

    expect(logger.containing("setLogger: ignored")).toHaveLength(1)
    expect(logger.containing("samplingRate")).toHaveLength(1)
  })

  it("a throwing logger breaks nothing", () => {
    const throwing: DinoLogger = {
      debug: () => {
        throw new Error("debug broke")
      },
      info: () => {
        throw new Error("info broke")
      },
      warn: () => {
        throw new Error("warn broke")
      },
      error: () => {
        throw new Error("error broke")
      },
    }
    setLogger(throwing)

    const construct = () => new PerformanceMonitor({ samplingRate: 9 })
    const end = () => getPerformanceMonitor().endOperation("unknown#1")

    expect(construct).not.toThrow()
    expect(end).not.toThrow()
  })
})
