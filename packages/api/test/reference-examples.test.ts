/**
 * TypeScript twins of every code example in the DinoAir Performance and
 * Telemetry API reference. Each twin does what the Python example does,
 * with camelCase names, promises for I/O, `using` for `with`, and real
 * files in a fresh temporary directory in place of fixed system paths.
 * HTTP exports go to a server of the test's own on 127.0.0.1 in place of
 * `https://metrics.example.com`, and Prometheus exports use the real
 * `@dinoair/exporter-prometheus`.
 */
import { copyFile, readFile, rm, writeFile } from "node:fs/promises"
import path from "node:path"
import { Monitor, type Resources } from "@dinoair/monitor"
import { freePort } from "@dinoair/test-support"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import {
  configurePerformance,
  configureTelemetry,
  disablePerformanceMonitoring,
  disableTelemetry,
  enablePerformanceMonitoring,
  enableTelemetry,
  exportTelemetry,
  getMetricsCount,
  getPerformanceMonitor,
  getTelemetryManager,
  monitorPerformance,
  PerformanceMonitor,
  type PerformanceOptions,
  performanceDecorator,
  resetGlobals,
  setLogger,
  TelemetryManager,
  type TelemetryOptions,
} from "../src/index.js"
import {
  type CapturingLogger,
  capturingLogger,
  countByOperation,
  type ExportedDocument,
  makeTempDir,
  readExport,
  removeTempDirs,
  startCollector,
  stopCollectors,
} from "./helpers.js"

let logger: CapturingLogger
let directory: string
const managers: Array<TelemetryManager> = []

beforeEach(async () => {
  logger = capturingLogger()
  setLogger(logger)
  directory = await makeTempDir()
})

afterEach(async () => {
  vi.restoreAllMocks()
  for (const manager of managers.splice(0)) await manager.shutdown()
  await resetGlobals()
  await stopCollectors()
  await removeTempDirs()
})

/** The operation names of the JSON documents that a collector received, request by request. */
const operationsReceived = (received: ReadonlyArray<{ readonly body: string }>) =>
  received.map((request) =>
    (JSON.parse(request.body) as ExportedDocument).metrics.map((record) => record.operation),
  )

/**
 * A URL on 127.0.0.1 where nothing listens, so that every request is
 * refused. The port was free a moment ago; nothing in the test listens on it.
 */
const refusedEndpoint = async (): Promise<string> =>
  `http://127.0.0.1:${await freePort()}/api/telemetry`

/** Replaces standard output for one test and returns what is written to it. */
const captureStdout = (): Array<string> => {
  const written: Array<string> = []
  vi.spyOn(process.stdout, "write").mockImplementation(((
    chunk: string | Uint8Array,
    ...rest: Array<unknown>
  ) => {
    written.push(String(chunk))
    const callback = rest.find((each) => typeof each === "function") as
      | ((error?: Error | null) => void)
      | undefined
    callback?.(null)
    return true
  }) as typeof process.stdout.write)
  return written
}

describe("PerformanceMonitor usage", () => {
  it("manual operations and the scope", async () => {
    const source = path.join(directory, "report.csv")
    const uploaded = path.join(directory, "uploaded.csv")
    await writeFile(source, "id,total\n1,10\n2,20\n")

    // Create monitor with custom config
    const config: PerformanceOptions = { enabled: true, maxMetricsRetained: 1000 }
    const monitor = new PerformanceMonitor(config)

    // Start/end operations manually
    const operationId = monitor.startOperation("data_processing", { user_id: "123" })
    const rows = (await readFile(source, "utf8")).trim().split("\n").length - 1
    const metrics = monitor.endOperation(operationId)

    // Use a scope bound with `using` (recommended)
    let uploadId = ""
    {
      using upload = monitor.monitorOperation("file_upload")
      uploadId = upload.id
      await copyFile(source, uploaded)
    }

    expect(rows).toBe(2)
    expect(monitor.config.maxMetricsRetained).toBe(1000)
    expect(operationId).toContain("data_processing")
    expect(metrics?.operation).toBe("data_processing")
    expect(metrics?.customMetrics).toEqual({ user_id: "123" })
    expect(metrics?.duration).toBeGreaterThanOrEqual(0)
    expect(uploadId).toContain("file_upload")
    expect(await readFile(uploaded, "utf8")).toBe("id,total\n1,10\n2,20\n")
    expect(monitor.getMetricsSummary("file_upload").file_upload?.count).toBe(1)
    expect(monitor.getActiveOperations()).toEqual([])
  })
})

describe("TelemetryManager usage", () => {
  it("Prometheus switch, disable, export", async () => {
    // Create manager with custom config
    const config: TelemetryOptions = {
      enabled: true,
      exportFormat: "json",
      exportDestination: "file",
      outputFile: path.join(directory, "telemetry.json"),
      maxTotalMetrics: 10000,
    }
    const manager = new TelemetryManager(config)
    managers.push(manager)

    // Enable/disable dynamically
    const switched = await manager.enable({
      exportFormat: "prometheus",
      outputFile: path.join(directory, "metrics.prom"),
    })
    const switchedConfig = manager.config
    monitorPerformance("data_processing", () => undefined)
    await manager.disable()

    // Force immediate export
    const success = await manager.forceExport()

    expect(switched).toBe(true)
    expect(switchedConfig.exportFormat).toBe("prometheus")
    expect(switchedConfig.outputFile).toBe(path.join(directory, "metrics.prom"))
    expect(switchedConfig.maxTotalMetrics).toBe(10000)
    // disable flushed the operation to metrics.prom; the export after it has nothing to do.
    expect(await readFile(path.join(directory, "metrics.prom"), "utf8")).toMatch(
      /^dinoair_operations_total\{operation="data_processing",status="ok"\} 1 \d+$/m,
    )
    expect(manager.enabled).toBe(false)
    expect(success).toBe(false)
  })

  it("the JSON file configuration exports", async () => {
    const outputFile = path.join(directory, "telemetry.json")
    const manager = new TelemetryManager({
      enabled: true,
      exportFormat: "json",
      exportDestination: "file",
      outputFile,
      maxTotalMetrics: 10000,
    })
    managers.push(manager)
    const monitor = new PerformanceMonitor()

    monitor.monitorOperation("data_processing", () => undefined)
    const success = await manager.forceExport()

    expect(success).toBe(true)
    expect(countByOperation(await readExport(outputFile))).toEqual({ data_processing: 1 })
  })
})

describe("global performance functions", () => {
  it("enable, scope, decorator, configure", async () => {
    const database = path.join(directory, "users.json")
    await writeFile(database, JSON.stringify([{ id: 1 }, { id: 2 }, { id: 3 }]))

    // Enable global monitoring
    enablePerformanceMonitoring()

    // Monitor operations with a scope
    let queryId = ""
    let users: Array<{ id: number }> = []
    {
      using operation = monitorPerformance("database_query")
      queryId = operation.id
      users = JSON.parse(await readFile(database, "utf8")) as Array<{ id: number }>
    }

    // Use the decorator for automatic monitoring
    const calculateResult = performanceDecorator("expensive_calculation")(
      (data: Array<{ id: number }>) => data.reduce((sum, user) => sum + user.id, 0),
    )
    const result = calculateResult(users)

    // Configure global settings
    configurePerformance({ enabled: true, maxMetricsRetained: 500 })

    const monitor = getPerformanceMonitor()
    expect(queryId).toContain("database_query")
    expect(result).toBe(6)
    expect(monitor.getMetricsSummary("database_query").database_query?.count).toBe(1)
    expect(monitor.getMetricsSummary("expensive_calculation").expensive_calculation?.count).toBe(1)
    expect(monitor.config.enabled).toBe(true)
    expect(monitor.config.maxMetricsRetained).toBe(500)
  })

  it("the decorator on a class method", () => {
    enablePerformanceMonitoring()

    class Analytics {
      readonly weights = [0.5, 0.25, 0.25]

      @performanceDecorator("expensive_calculation")
      calculateResult(data: Array<number>): number {
        return data.reduce((sum, value, index) => sum + value * (this.weights[index] ?? 0), 0)
      }
    }

    const result = new Analytics().calculateResult([4, 8, 12])

    expect(result).toBe(7)
    const summary = getPerformanceMonitor().getMetricsSummary("expensive_calculation")
    expect(summary.expensive_calculation?.count).toBe(1)
  })
})

describe("telemetry global functions", () => {
  it("file export writes the data file", async () => {
    const outputFile = path.join(directory, "performance_data.json")

    // Enable telemetry with file export
    const ready = await enableTelemetry({
      exportFormat: "json",
      exportDestination: "file",
      outputFile,
    })
    monitorPerformance("data_processing", () => undefined)
    const exported = await exportTelemetry()

    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(countByOperation(await readExport(outputFile))).toEqual({ data_processing: 1 })
  })

  it("HTTP export posts to the endpoint", async () => {
    const collector = await startCollector()

    // Enable telemetry with HTTP export
    const ready = await enableTelemetry({
      exportFormat: "json",
      exportDestination: "http",
      httpEndpoint: collector.url,
    })
    monitorPerformance("data_processing", () => undefined)
    const exported = await exportTelemetry()

    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(getTelemetryManager().config.httpEndpoint).toBe(collector.url)
    expect(collector.received.map((request) => request.method)).toEqual(["POST"])
    expect(operationsReceived(collector.received)).toEqual([["data_processing"]])
    expect(getMetricsCount()).toEqual({})
  })

  it("the whole example in order", async () => {
    const collector = await startCollector()
    const fileReady = await enableTelemetry({
      exportFormat: "json",
      exportDestination: "file",
      outputFile: path.join(directory, "performance_data.json"),
    })
    const httpReady = await enableTelemetry({
      exportFormat: "json",
      exportDestination: "http",
      httpEndpoint: collector.url,
    })
    monitorPerformance("data_processing", () => undefined)

    // Configure additional settings
    const config = configureTelemetry({
      maxTotalMetrics: 20000,
      exportIntervalSeconds: 30,
      retentionHours: 48,
    })

    // Force export and disable
    const exported = await exportTelemetry()
    await disableTelemetry()

    expect(fileReady).toBe(true)
    expect(httpReady).toBe(true)
    expect(config.maxTotalMetrics).toBe(20000)
    expect(config.exportIntervalSeconds).toBe(30)
    expect(config.retentionHours).toBe(48)
    expect(exported).toBe(true)
    expect(operationsReceived(collector.received)).toEqual([["data_processing"]])
    expect(getTelemetryManager().enabled).toBe(false)
  })
})

describe("configuration defaults", () => {
  it("PerformanceConfig", () => {
    const config = new PerformanceMonitor().config

    expect(config.enabled).toBe(true)
    expect(config.samplingRate).toBe(1.0)
    expect(config.maxMetricsRetained).toBe(1000)
    expect(config.enableMemoryTracking).toBe(true)
    expect(config.enableCpuTracking).toBe(true)
    expect(config.thresholdDurationMs).toBe(100.0)
    expect(config.includeSystemInfo).toBe(false)
  })

  it("TelemetryConfig", () => {
    const config = new TelemetryManager().config

    expect(config.enabled).toBe(false)
    expect(config.exportIntervalSeconds).toBe(60.0)
    expect(config.maxMetricsPerOperation).toBe(100)
    expect(config.maxTotalMetrics).toBe(10000)
    expect(config.batchSize).toBe(500)
    expect(config.exportFormat).toBe("json")
    expect(config.exportDestination).toBe("file")
    expect(config.outputFile).toBeNull()
    expect(config.httpEndpoint).toBeNull()
    expect(config.includeSystemMetrics).toBe(true)
    expect(config.includeCustomMetrics).toBe(true)
    expect(config.retentionHours).toBe(24.0)
  })
})

describe("export formats", () => {
  it("JSON file matches the reference document", async () => {
    // The reference record, reproduced with a clock and resource readings set by the test.
    const reference = {
      operation: "data_processing",
      duration: 0.153,
      memory_usage: 1048576,
      cpu_usage: 15.3,
      timestamp: 1699123456.789,
      custom_metrics: { records_processed: 1000, errors: 0 },
    }
    let monotonicMs = 0
    let wallMs = 1_699_123_456_789 - 153
    let cpuMicros = 0
    const clock: Resources.MonitorClock = { monotonicMs: () => monotonicMs, wallMs: () => wallMs }
    const resources: Resources.ResourceReader = {
      cpuMicros: () => cpuMicros,
      heapUsedBytes: () => 0,
      rssBytes: () => 1_048_576,
    }
    const monitor = new PerformanceMonitor(undefined, Monitor.makeUnsafe({ clock, resources }))
    const outputFile = path.join(directory, "telemetry.json")
    // The reference timestamp is in November 2023, so retention must reach back that far.
    const manager = new TelemetryManager({ enabled: true, outputFile, retentionHours: 1_000_000 })
    managers.push(manager)

    {
      using operation = monitor.monitorOperation("data_processing")
      operation.recordMetric("records_processed", 1000)
      operation.recordMetric("errors", 0)
      monotonicMs += 153
      wallMs += 153
      cpuMicros += 23_409
    }
    const exported = await manager.forceExport()

    expect(exported).toBe(true)
    const document = await readExport(outputFile)
    expect(Array.isArray(document.metrics)).toBe(true)
    expect(document.metrics).toHaveLength(1)
    const record = document.metrics[0]
    expect(Object.keys(record ?? {}).slice(0, 6)).toEqual(Object.keys(reference))
    expect(record?.operation).toBe(reference.operation)
    expect(record?.duration).toBe(reference.duration)
    expect(record?.memory_usage).toBe(reference.memory_usage)
    expect(record?.cpu_usage).toBeCloseTo(reference.cpu_usage, 9)
    expect(record?.timestamp).toBe(reference.timestamp)
    expect(record?.custom_metrics).toEqual(reference.custom_metrics)
  })

  it("Prometheus export writes metrics.prom", async () => {
    const outputFile = path.join(directory, "metrics.prom")
    const ready = await enableTelemetry({ exportFormat: "prometheus", outputFile })
    monitorPerformance("data_processing", () => undefined)
    const exported = await exportTelemetry()

    const text = await readFile(outputFile, "utf8")
    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(text).toContain("# TYPE dinoair_operation_duration_seconds gauge\n")
    expect(text).toMatch(/^dinoair_operation_duration_seconds\{operation="data_processing"\} /m)
    expect(text).toMatch(/^dinoair_operations_total\{operation="data_processing",status="ok"\} 1 /m)
  })
})

describe("memory management", () => {
  it("configureTelemetry sets the bounds", async () => {
    // Configure memory bounds
    const config = configureTelemetry({
      maxMetricsPerOperation: 100, // Per operation type
      maxTotalMetrics: 10000, // Total across all operations
      retentionHours: 24.0, // Auto-cleanup after 24 hours
      batchSize: 500, // Export batch size
    })
    await enableTelemetry({ outputFile: path.join(directory, "bounded.json") })
    for (let i = 0; i < 150; i++) monitorPerformance("bulk_insert", () => i)

    expect(config.maxMetricsPerOperation).toBe(100)
    expect(config.maxTotalMetrics).toBe(10000)
    expect(config.retentionHours).toBe(24.0)
    expect(config.batchSize).toBe(500)
    expect(getMetricsCount()).toEqual({ bulk_insert: 100 })
    expect(getTelemetryManager().stats.dropped.perOperation).toBe(50)
  })
})

describe("integration examples", () => {
  it("Basic Usage", async () => {
    const dataFile = path.join(directory, "data.csv")
    await writeFile(dataFile, "name,size\nalpha,1\nbeta,2\ngamma,3\n")
    const processLargeFile = async (file: string): Promise<number> =>
      (await readFile(file, "utf8")).trim().split("\n").length - 1
    const written = captureStdout()

    // Enable both systems
    enablePerformanceMonitoring()
    const ready = await enableTelemetry({ exportDestination: "console" })

    // Monitor a process
    let rows = 0
    {
      using _operation = monitorPerformance("file_processing")
      rows = await processLargeFile(dataFile)
    }
    const exported = await exportTelemetry()

    expect(ready).toBe(true)
    expect(rows).toBe(3)
    expect(exported).toBe(true)
    const documents = written.filter((text) => text.startsWith("{"))
    expect(documents).toHaveLength(1)
    const document = JSON.parse(documents[0] ?? "{}") as { metrics: Array<{ operation: string }> }
    expect(document.metrics.map((record) => record.operation)).toEqual(["file_processing"])
  })

  it("Advanced Configuration", async () => {
    const outputFile = path.join(directory, "var", "log", "dinoair", "metrics.prom")

    // Custom performance config
    const perfConfig: PerformanceOptions = {
      enabled: true,
      samplingRate: 0.1, // Sample 10% of operations
      maxMetricsRetained: 5000,
      thresholdDurationMs: 50.0,
    }

    // Custom telemetry config
    const telemetryConfig: TelemetryOptions = {
      enabled: true,
      exportFormat: "prometheus",
      exportDestination: "file",
      outputFile,
      exportIntervalSeconds: 30,
      maxTotalMetrics: 50000,
      retentionHours: 72.0,
    }

    // Create configured instances
    const monitor = new PerformanceMonitor(perfConfig)
    const telemetry = new TelemetryManager(telemetryConfig)
    managers.push(telemetry)
    // The process-wide monitor records every operation; `monitor` would sample 10 %.
    monitorPerformance("report_generation", () => undefined)
    const exported = await telemetry.forceExport()

    expect(monitor.config.samplingRate).toBe(0.1)
    expect(monitor.config.maxMetricsRetained).toBe(5000)
    expect(monitor.config.thresholdDurationMs).toBe(50)
    expect(telemetry.enabled).toBe(true)
    expect(telemetry.config.exportFormat).toBe("prometheus")
    expect(telemetry.config.outputFile).toBe(outputFile)
    expect(telemetry.config.exportIntervalSeconds).toBe(30)
    expect(telemetry.config.maxTotalMetrics).toBe(50000)
    expect(telemetry.config.retentionHours).toBe(72)
    expect(exported).toBe(true)
    expect(await readFile(outputFile, "utf8")).toMatch(
      /^dinoair_operations_total\{operation="report_generation",status="ok"\} 1 /m,
    )
  })
})

describe("Production Setup", () => {
  /**
   * The reference's production setup, reading `env` in place of
   * `process.env` and writing under `logDirectory` in place of
   * `/var/log/dinoair`. Resolves what `enableTelemetry` resolved, or
   * `undefined` when telemetry stays off.
   */
  const productionSetup = async (
    env: Readonly<Record<string, string | undefined>>,
    logDirectory: string,
  ): Promise<boolean | undefined> => {
    // Enable performance monitoring in production
    enablePerformanceMonitoring()

    // Configure telemetry based on environment
    if ((env.TELEMETRY_ENABLED ?? "false").toLowerCase() === "true") {
      const telemetryEndpoint = env.TELEMETRY_ENDPOINT
      if (telemetryEndpoint) {
        return enableTelemetry({
          exportFormat: "json",
          exportDestination: "http",
          httpEndpoint: telemetryEndpoint,
          exportIntervalSeconds: 60,
          maxTotalMetrics: 20000,
        })
      }
      return enableTelemetry({
        exportFormat: "json",
        exportDestination: "file",
        outputFile: path.join(logDirectory, "telemetry.json"),
      })
    }
    return undefined
  }

  it("telemetry stays off by default", async () => {
    disablePerformanceMonitoring()

    const ready = await productionSetup({}, directory)

    expect(ready).toBeUndefined()
    expect(getPerformanceMonitor().config.enabled).toBe(true)
    expect(getTelemetryManager().enabled).toBe(false)
  })

  it("a value other than true keeps telemetry off", async () => {
    const ready = await productionSetup({ TELEMETRY_ENABLED: "yes" }, directory)

    expect(ready).toBeUndefined()
    expect(getTelemetryManager().enabled).toBe(false)
  })

  it("without an endpoint writes the log file", async () => {
    const logDirectory = path.join(directory, "var", "log", "dinoair")

    const ready = await productionSetup({ TELEMETRY_ENABLED: "True" }, logDirectory)
    monitorPerformance("checkout", () => undefined)
    const exported = await exportTelemetry()

    expect(ready).toBe(true)
    expect(exported).toBe(true)
    const document = await readExport(path.join(logDirectory, "telemetry.json"))
    expect(countByOperation(document)).toEqual({ checkout: 1 })
  })

  it("an empty endpoint falls back to the file", async () => {
    const ready = await productionSetup(
      { TELEMETRY_ENABLED: "true", TELEMETRY_ENDPOINT: "" },
      directory,
    )

    expect(ready).toBe(true)
    expect(getTelemetryManager().config.exportDestination).toBe("file")
  })

  it("with an endpoint posts to it", async () => {
    const collector = await startCollector()
    const ready = await productionSetup(
      { TELEMETRY_ENABLED: "TRUE", TELEMETRY_ENDPOINT: collector.url },
      directory,
    )
    monitorPerformance("checkout", () => undefined)
    const exported = await exportTelemetry()

    const config = getTelemetryManager().config
    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(config.exportDestination).toBe("http")
    expect(config.httpEndpoint).toBe(collector.url)
    expect(config.exportIntervalSeconds).toBe(60)
    expect(config.maxTotalMetrics).toBe(20000)
    expect(operationsReceived(collector.received)).toEqual([["checkout"]])
    expect(getMetricsCount()).toEqual({})
  })
})

describe("Error Handling", () => {
  let ran = 0
  const criticalBusinessLogic = (): void => {
    ran++
  }

  beforeEach(() => {
    ran = 0
  })

  it("export while disabled returns false", async () => {
    // Safe to call even if telemetry is disabled or unavailable
    const result = await exportTelemetry()

    expect(result).toBe(false)
  })

  it("export while unavailable returns false", async () => {
    await enableTelemetry({
      exportDestination: "http",
      httpEndpoint: await refusedEndpoint(),
      sinkOptions: { maxAttempts: 1 },
    })
    monitorPerformance("unsent", () => undefined)

    const result = await exportTelemetry()

    expect(result).toBe(false)
    expect(getTelemetryManager().lastError?.code).toBe("DINOAIR_SINK_NETWORK")
    expect(getMetricsCount()).toEqual({ unsent: 1 })
  })

  it("export that fails to write returns false", async () => {
    const blocker = path.join(directory, "blocker")
    await writeFile(blocker, "")
    await enableTelemetry({ outputFile: path.join(blocker, "telemetry.json") })
    monitorPerformance("write_attempt", () => undefined)

    const result = await exportTelemetry()

    expect(result).toBe(false)
    expect(logger.containing("DINOAIR_SINK_WRITE_FAILED")).toHaveLength(1)
    await rm(blocker)
  })

  it("monitoring runs the body with telemetry unavailable", async () => {
    await enableTelemetry({
      exportDestination: "http",
      httpEndpoint: await refusedEndpoint(),
      sinkOptions: { maxAttempts: 1 },
    })

    // Monitor operations continue to work even if the backend is unavailable
    let operationId = ""
    {
      using operation = monitorPerformance("critical_operation")
      operationId = operation.id
      // This always runs; monitoring is best-effort
      criticalBusinessLogic()
    }

    expect(ran).toBe(1)
    expect(operationId).toContain("critical_operation")
    expect(getMetricsCount()).toEqual({ critical_operation: 1 })
  })

  it("monitoring runs the body while disabled", () => {
    disablePerformanceMonitoring()

    {
      using _operation = monitorPerformance("critical_operation")
      criticalBusinessLogic()
    }
    monitorPerformance("critical_operation", criticalBusinessLogic)

    expect(ran).toBe(2)
  })
})

describe("Migration Guide", () => {
  it("the public entry has the moved functions", () => {
    // New (public API): getPerformanceMonitor and enablePerformanceMonitoring
    enablePerformanceMonitoring()
    const monitor = getPerformanceMonitor()

    expect(monitor).toBeInstanceOf(PerformanceMonitor)
    expect(monitor.config.enabled).toBe(true)
  })

  it("tests use PerformanceMonitor from the public entry", () => {
    // New (public API): PerformanceMonitor
    const monitor = new PerformanceMonitor()

    const value = monitor.monitorOperation("migrated_test", () => "ok")

    expect(value).toBe("ok")
    expect(monitor.getMetricsSummary("migrated_test").migrated_test?.count).toBe(1)
  })
})
