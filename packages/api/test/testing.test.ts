import { existsSync } from "node:fs"
import path from "node:path"
import { Sink, SinkError } from "@dinoair/telemetry"
import { afterEach, describe, expect, it, vi } from "vitest"
import {
  enableTelemetry,
  exportTelemetry,
  getPerformanceMonitor,
  getTelemetryManager,
  monitorPerformance,
  registerPlugin,
  setLogger,
  Testing,
} from "../src/index.js"
import { capturingLogger, makeTempDir, removeTempDirs } from "./helpers.js"

/** Telemetry options that keep exports deterministic: no process figures, no exit hook. */
const memoryOptions = {
  exportDestination: Testing.MEMORY_DESTINATION,
  includeSystemMetrics: false,
  flushOnExit: false,
} as const

afterEach(async () => {
  await Testing.reset()
  await removeTempDirs()
})

describe("Testing.installMemorySink", () => {
  it("receives the facade's exports", async () => {
    const sink = Testing.installMemorySink()
    const ready = await enableTelemetry(memoryOptions)

    monitorPerformance("checkout", () => 42)
    const exported = await exportTelemetry()

    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(sink.payloads).toHaveLength(1)
    expect(JSON.parse(sink.documents()[0] ?? "").metrics[0].operation).toBe("checkout")
  })

  it("failWith makes exports fail", async () => {
    const logger = capturingLogger()
    setLogger(logger)
    const sink = Testing.installMemorySink()
    await enableTelemetry(memoryOptions)
    sink.failWith = new SinkError.SinkError({ reason: "Timeout", message: "collector is slow" })

    monitorPerformance("checkout", () => 42)
    const exported = await exportTelemetry()

    expect(exported).toBe(false)
    expect(getTelemetryManager().lastError?.code).toBe("DINOAIR_SINK_TIMEOUT")
    expect(getTelemetryManager().getTotalMetricsCount()).toBe(1)
    expect(logger.containing("DINOAIR_SINK_TIMEOUT")).toHaveLength(1)
  })
})

describe("Testing.snapshot", () => {
  it("reads summaries, buffer and payloads", async () => {
    Testing.installMemorySink()
    await enableTelemetry(memoryOptions)
    monitorPerformance("load", () => 1)
    monitorPerformance("load", () => 2)
    const buffered = Testing.snapshot()

    await exportTelemetry()
    const exported = Testing.snapshot()

    expect(buffered.summaries.load?.count).toBe(2)
    expect(buffered.buffered.map((record) => record.operation)).toEqual(["load", "load"])
    expect(buffered.payloads).toEqual([])
    expect(exported.buffered).toEqual([])
    expect(exported.payloads).toHaveLength(1)
    expect(exported.telemetryStats?.delivered).toBe(2)
  })

  it("creates no singleton", () => {
    const snapshot = Testing.snapshot()

    expect(snapshot.monitorStats).toBeUndefined()
    expect(snapshot.telemetryStats).toBeUndefined()
  })
})

describe("Testing.reset", () => {
  it("forgets both singletons", async () => {
    const monitor = getPerformanceMonitor()
    const telemetry = getTelemetryManager()

    await Testing.reset()

    expect(getPerformanceMonitor()).not.toBe(monitor)
    expect(getTelemetryManager()).not.toBe(telemetry)
  })

  it("drops the buffer without exporting", async () => {
    const directory = await makeTempDir()
    const outputFile = path.join(directory, "telemetry.json")
    await enableTelemetry({ outputFile, includeSystemMetrics: false, flushOnExit: false })
    monitorPerformance("pending", () => 1)

    await Testing.reset()

    expect(existsSync(outputFile)).toBe(false)
  })

  it("removes registered plugins", async () => {
    registerPlugin({ kind: "sink", destination: "custom", make: () => Sink.makeMemory() })
    await Testing.reset()
    const logger = capturingLogger()
    setLogger(logger)

    const ready = await enableTelemetry({ ...memoryOptions, exportDestination: "custom" })

    expect(ready).toBe(false)
    expect(logger.containing('unknown exportDestination "custom"')).toHaveLength(1)
  })

  it("removes the memory sink", async () => {
    const sink = Testing.installMemorySink()
    await enableTelemetry(memoryOptions)
    monitorPerformance("before", () => 1)
    await exportTelemetry()

    await Testing.reset()

    expect(Testing.snapshot().payloads).toEqual([])
    expect(sink.payloads).toHaveLength(1)
  })

  it("restores the console logger", async () => {
    const logger = capturingLogger()
    setLogger(logger)
    const consoleWarn = vi.spyOn(console, "warn").mockImplementation(() => {})

    await Testing.reset()
    getPerformanceMonitor().endOperation("never-started#1")
    const warnings = consoleWarn.mock.calls.length
    consoleWarn.mockRestore()

    expect(logger.entries).toEqual([])
    expect(warnings).toBe(1)
  })
})
