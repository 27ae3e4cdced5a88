import { readFile, rm, writeFile } from "node:fs/promises"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  ExportError,
  PerformanceMonitor,
  resetGlobals,
  setLogger,
  TelemetryManager,
  type TelemetryOptions,
} from "../src/index.js"
import {
  type CapturingLogger,
  capturingLogger,
  countByOperation,
  makeTempDir,
  readExport,
  removeTempDirs,
} from "./helpers.js"

let logger: CapturingLogger
let directory: string
let monitor: PerformanceMonitor
const managers: Array<TelemetryManager> = []

/** Creates a manager that writes JSON to `file` in the test's directory; the test's end shuts it down. */
const makeManager = (options: TelemetryOptions = {}, file = "telemetry.json"): TelemetryManager => {
  const manager = new TelemetryManager({
    exportFormat: "json",
    exportDestination: "file",
    outputFile: path.join(directory, file),
    ...options,
  })
  managers.push(manager)
  return manager
}

/** Runs `count` operations named `name` on the test's monitor. */
const runOperations = (name: string, count: number): void => {
  for (let i = 0; i < count; i++) monitor.monitorOperation(name, () => i)
}

beforeEach(async () => {
  logger = capturingLogger()
  setLogger(logger)
  directory = await makeTempDir()
  monitor = new PerformanceMonitor({ thresholdDurationMs: 60_000 })
})

afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.shutdown()
  await resetGlobals()
  await removeTempDirs()
})

describe("TelemetryManager collection", () => {
  it("collects nothing until enabled", async () => {
    const manager = makeManager()

    runOperations("before", 2)

    expect(manager.enabled).toBe(false)
    expect(manager.getTotalMetricsCount()).toBe(0)
  })

  it("enabled in the constructor collects at once", async () => {
    const manager = makeManager({ enabled: true })

    runOperations("job", 3)

    expect(manager.enabled).toBe(true)
    expect(manager.getMetricsCount()).toEqual({ job: 3 })
  })

  it("enable applies overrides and resolves true", async () => {
    const manager = makeManager()

    const ready = await manager.enable({ batchSize: 25, retentionHours: 2 })

    expect(ready).toBe(true)
    expect(manager.enabled).toBe(true)
    expect(manager.config.batchSize).toBe(25)
    expect(manager.config.retentionHours).toBe(2)
  })

  it("counts per operation and in total", async () => {
    const manager = makeManager()
    await manager.enable()

    runOperations("read", 4)
    runOperations("write", 2)

    expect(manager.getMetricsCount()).toEqual({ read: 4, write: 2 })
    expect(manager.getTotalMetricsCount()).toBe(6)
  })

  it("collects from every monitor in the process", async () => {
    const manager = makeManager()
    await manager.enable()
    const other = new PerformanceMonitor()

    runOperations("first", 1)
    other.monitorOperation("second", () => undefined)

    expect(manager.getMetricsCount()).toEqual({ first: 1, second: 1 })
  })

  it("clearMetrics drops buffered records", async () => {
    const manager = makeManager()
    await manager.enable()
    runOperations("noise", 5)

    manager.clearMetrics()

    expect(manager.getTotalMetricsCount()).toBe(0)
    expect(manager.stats.dropped.cleared).toBe(5)
  })

  it("configure applies the per-operation bound", async () => {
    const manager = makeManager()
    await manager.enable()

    const config = manager.configure({ maxMetricsPerOperation: 2 })
    runOperations("capped", 5)

    expect(config.maxMetricsPerOperation).toBe(2)
    expect(manager.getMetricsCount()).toEqual({ capped: 2 })
    expect(manager.stats.dropped.perOperation).toBe(3)
  })

  it("maxTotalMetrics bounds the whole buffer", async () => {
    const manager = makeManager({ maxTotalMetrics: 4 })
    await manager.enable()

    runOperations("a", 3)
    runOperations("b", 3)

    expect(manager.getTotalMetricsCount()).toBe(4)
  })
})

describe("TelemetryManager export", () => {
  it("forceExport writes every buffered record", async () => {
    const manager = makeManager()
    await manager.enable()
    runOperations("alpha", 3)
    runOperations("beta", 2)

    const delivered = await manager.forceExport()

    expect(delivered).toBe(true)
    const document = await readExport(path.join(directory, "telemetry.json"))
    expect(countByOperation(document)).toEqual({ alpha: 3, beta: 2 })
    expect(manager.getTotalMetricsCount()).toBe(0)
    expect(manager.stats.delivered).toBe(5)
  })

  it("later exports append to the same document", async () => {
    const manager = makeManager()
    await manager.enable()

    runOperations("first_batch", 2)
    await manager.forceExport()
    runOperations("second_batch", 3)
    await manager.forceExport()

    const document = await readExport(path.join(directory, "telemetry.json"))
    expect(countByOperation(document)).toEqual({ first_batch: 2, second_batch: 3 })
  })

  it("batchSize splits an export without losing records", async () => {
    const manager = makeManager({ batchSize: 2 })
    await manager.enable()
    runOperations("batched", 5)

    const delivered = await manager.forceExport()

    expect(delivered).toBe(true)
    expect(manager.stats.batchesDelivered).toBe(3)
    const document = await readExport(path.join(directory, "telemetry.json"))
    expect(document.metrics).toHaveLength(5)
  })

  it("forceExport with nothing buffered resolves true", async () => {
    const manager = makeManager()
    await manager.enable()

    const delivered = await manager.forceExport()

    expect(delivered).toBe(true)
  })

  it("forceExport before enable resolves false", async () => {
    const manager = makeManager()

    const delivered = await manager.forceExport()

    expect(delivered).toBe(false)
    expect(logger.at("error")).toEqual([])
  })

  it("forceExport after disable resolves false", async () => {
    const manager = makeManager()
    await manager.enable()
    await manager.disable()

    const delivered = await manager.forceExport()

    expect(delivered).toBe(false)
  })

  it("disable flushes and stops collecting", async () => {
    const manager = makeManager()
    await manager.enable()
    runOperations("flushed", 2)

    const flushed = await manager.disable()
    runOperations("after", 2)

    expect(flushed).toBe(true)
    expect(manager.enabled).toBe(false)
    expect(manager.getTotalMetricsCount()).toBe(0)
    const document = await readExport(path.join(directory, "telemetry.json"))
    expect(countByOperation(document)).toEqual({ flushed: 2 })
  })

  it("disable before enable logs no error", async () => {
    const manager = makeManager()

    const flushed = await manager.disable()

    expect(flushed).toBe(true)
    expect(logger.at("error")).toEqual([])
  })

  it("shutdown before enable logs nothing", async () => {
    const manager = makeManager()

    await manager.shutdown()

    expect(logger.entries).toEqual([])
  })

  it("shutdown flushes and is idempotent", async () => {
    const manager = makeManager()
    await manager.enable()
    runOperations("final", 3)

    await manager.shutdown()
    await manager.shutdown()

    expect(manager.enabled).toBe(false)
    const document = await readExport(path.join(directory, "telemetry.json"))
    expect(document.metrics).toHaveLength(3)
  })

  it("configure with a new outputFile switches files", async () => {
    const manager = makeManager()
    await manager.enable()
    runOperations("old_file", 1)
    await manager.forceExport()

    manager.configure({ outputFile: path.join(directory, "next.json") })
    runOperations("new_file", 1)
    await manager.forceExport()

    const first = await readExport(path.join(directory, "telemetry.json"))
    const second = await readExport(path.join(directory, "next.json"))
    expect(countByOperation(first)).toEqual({ old_file: 1 })
    expect(countByOperation(second)).toEqual({ new_file: 1 })
  })

  it("exporterOptions reach the JSON exporter", async () => {
    const manager = makeManager({ exporterOptions: { indent: 2 } })
    await manager.enable()
    runOperations("pretty", 1)

    await manager.forceExport()

    const text = await readFile(path.join(directory, "telemetry.json"), "utf8")
    expect(text).toContain('\n  "metrics": [')
  })

  it("sinkOptions reach the file sink", async () => {
    const manager = makeManager({ sinkOptions: { fileMode: "replace" } })
    await manager.enable()

    runOperations("replaced", 2)
    await manager.forceExport()
    runOperations("latest", 1)
    await manager.forceExport()

    const document = await readExport(path.join(directory, "telemetry.json"))
    expect(countByOperation(document)).toEqual({ latest: 1 })
  })

  it("includeCustomMetrics false leaves them out", async () => {
    const manager = makeManager({ includeCustomMetrics: false })
    await manager.enable()
    monitor.monitorOperation("private", () => undefined, { user: "alice" })

    await manager.forceExport()

    const document = await readExport(path.join(directory, "telemetry.json"))
    expect(document.metrics[0]?.custom_metrics).toEqual({})
  })

  it("includeSystemMetrics adds process figures", async () => {
    const manager = makeManager({ includeSystemMetrics: true })
    await manager.enable()
    runOperations("with_system", 1)

    await manager.forceExport()

    const document = await readExport(path.join(directory, "telemetry.json"))
    expect(document.system_metrics).toBeTypeOf("object")
  })

  it("lastError is undefined before any failure", () => {
    const manager = makeManager()

    expect(manager.lastError).toBeUndefined()
  })
})

describe("TelemetryManager failed export", () => {
  it("keeps records and recovers with nothing lost", async () => {
    const blocker = path.join(directory, "blocker")
    await writeFile(blocker, "a regular file where a directory should be")
    const outputFile = path.join(blocker, "telemetry.json")
    const manager = makeManager({ outputFile })
    await manager.enable()
    runOperations("upload", 4)
    runOperations("query", 3)

    const failed = await manager.forceExport()

    expect(failed).toBe(false)
    expect(manager.getMetricsCount()).toEqual({ upload: 4, query: 3 })
    expect(manager.getTotalMetricsCount()).toBe(7)
    expect(manager.stats.delivered).toBe(0)
    expect(logger.containing("DINOAIR_SINK_WRITE_FAILED")).toHaveLength(1)

    await rm(blocker)
    const recovered = await manager.forceExport()

    expect(recovered).toBe(true)
    expect(manager.getTotalMetricsCount()).toBe(0)
    const document = await readExport(outputFile)
    expect(countByOperation(document)).toEqual({ upload: 4, query: 3 })
    expect(manager.stats.delivered).toBe(7)
  })

  it("lastError is an ExportError with a stable code", async () => {
    const blocker = path.join(directory, "not-a-directory")
    await writeFile(blocker, "")
    const manager = makeManager({ outputFile: path.join(blocker, "out.json") })
    await manager.enable()
    runOperations("doomed", 1)

    await manager.forceExport()
    const error = manager.lastError

    expect(error).toBeInstanceOf(ExportError)
    expect(error).toBeInstanceOf(Error)
    expect(error?.code).toBe("DINOAIR_SINK_WRITE_FAILED")
    expect(error?.reason).toBe("WriteFailed")
    expect(error?.name).toBe("ExportError")
    expect(error?.message).toContain(blocker)
    expect((error as ExportError | undefined)?.destination).toContain("out.json")
  })
})
