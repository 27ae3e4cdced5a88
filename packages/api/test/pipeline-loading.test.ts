/**
 * The facade while its exporter and sink load: a scheduled export in that
 * window is no failure, a later enable supersedes an earlier one with a
 * log line, and disable stops its flush after `shutdownTimeoutMs`.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import path from "node:path"
import { type Scheduler, Telemetry } from "@dinoair/telemetry"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  enableTelemetry,
  exportTelemetry,
  getTelemetryManager,
  monitorPerformance,
  PerformanceMonitor,
  resetGlobals,
  setLogger,
  TelemetryManager,
} from "../src/index.js"
import {
  type CapturingLogger,
  capturingLogger,
  makeTempDir,
  removeTempDirs,
  startCollector,
  stopCollectors,
} from "./helpers.js"

let logger: CapturingLogger

beforeEach(() => {
  logger = capturingLogger()
  setLogger(logger)
})

afterEach(async () => {
  await resetGlobals()
  await stopCollectors()
  await removeTempDirs()
})

/** A scheduler whose task runs only when the test calls `tick`. */
const manualScheduler = () => {
  let task: Effect.Effect<unknown, unknown> | undefined
  const scheduler: Scheduler.SchedulerShape = {
    get running() {
      return task !== undefined
    },
    stop: Effect.sync(() => {
      task = undefined
    }),
    start: (_intervalSeconds, next) =>
      Effect.sync(() => {
        task = next
      }),
  }
  return {
    scheduler,
    tick: (): Promise<unknown> =>
      task === undefined ? Promise.resolve(undefined) : Effect.runPromise(task),
  }
}

describe("scheduled export while plugins load", () => {
  it("records no error", async () => {
    const collector = await startCollector()
    const { scheduler, tick } = manualScheduler()
    const instance = Telemetry.makeUnsafe({ flushOnExit: false }, undefined, scheduler)
    const manager = new TelemetryManager(undefined, instance)

    const ready = manager.enable({
      exportDestination: "http",
      httpEndpoint: collector.url,
      includeSystemMetrics: false,
    })
    monitorPerformance("early", () => 1)
    // The HTTP sink's package is still being imported.
    expect(manager.instance.pipeline).toBeUndefined()
    await tick()

    expect(manager.lastError).toBeUndefined()
    expect(logger.at("error")).toEqual([])
    expect(await ready).toBe(true)
    expect(await manager.forceExport()).toBe(true)
    expect(collector.received).toHaveLength(1)
    expect(logger.containing("setPipeline")).toEqual([])
    expect(logger.containing("layers")).toEqual([])
    await manager.shutdown()
  })

  it("missing plugin still names the package", async () => {
    const { scheduler, tick } = manualScheduler()
    const instance = Telemetry.makeUnsafe({ flushOnExit: false }, undefined, scheduler)
    const manager = new TelemetryManager(undefined, instance)

    const ready = await manager.enable({ exportFormat: "yaml", includeSystemMetrics: false })
    monitorPerformance("late", () => 1)
    await tick()

    expect(ready).toBe(false)
    expect(manager.lastError?.code).toBe("DINOAIR_PLUGIN_MISSING")
    expect(logger.containing('unknown exportFormat "yaml"').length).toBeGreaterThan(0)
    expect(logger.containing("setPipeline")).toEqual([])
    await manager.shutdown()
  })

  it("short interval over HTTP logs no error", async () => {
    const collector = await startCollector()

    const ready = await enableTelemetry({
      exportDestination: "http",
      httpEndpoint: collector.url,
      exportIntervalSeconds: 0.01,
      includeSystemMetrics: false,
      flushOnExit: false,
    })
    for (let i = 0; i < 20; i++) monitorPerformance("job", () => i)
    const delivered = await exportTelemetry()

    expect(ready).toBe(true)
    expect(delivered).toBe(true)
    expect(getTelemetryManager().stats.delivered).toBe(20)
    expect(getTelemetryManager().lastError).toBeUndefined()
    expect(logger.containing("export skipped")).toEqual([])
  })
})

describe("lastError after recovery", () => {
  it("clears after a delivered export", async () => {
    const collector = await startCollector(503)
    const manager = new TelemetryManager({
      exportDestination: "http",
      httpEndpoint: collector.url,
      exportIntervalSeconds: 3600,
      includeSystemMetrics: false,
      flushOnExit: false,
      sinkOptions: { maxAttempts: 1 },
    })
    expect(await manager.enable()).toBe(true)
    monitorPerformance("job", () => 1)

    expect(await manager.forceExport()).toBe(false)
    expect(manager.lastError?.code).toBe("DINOAIR_SINK_STATUS")

    const healthy = await startCollector()
    manager.configure({ httpEndpoint: healthy.url })
    expect(await manager.forceExport()).toBe(true)
    expect(manager.lastError).toBeUndefined()
    await manager.shutdown()
  })
})

describe("concurrent enable", () => {
  it("logs the superseded call", async () => {
    const directory = await makeTempDir()
    const manager = new TelemetryManager({ flushOnExit: false, includeSystemMetrics: false })

    const first = manager.enable({
      exportDestination: "http",
      httpEndpoint: "http://127.0.0.1:9/first",
    })
    const second = manager.enable({
      exportDestination: "file",
      outputFile: path.join(directory, "second.json"),
    })

    expect(await first).toBe(false)
    expect(await second).toBe(true)
    const lines = logger.containing("superseded")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("enable was superseded by a later call")
    await manager.shutdown()
  })
})

describe("disable time limit", () => {
  let silent: Server | undefined

  afterEach(async () => {
    const server = silent
    silent = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it("stops after shutdownTimeoutMs and keeps records", async () => {
    // A server that accepts requests and never responds.
    silent = createServer(() => {})
    await new Promise<void>((resolve) => silent?.listen(0, "127.0.0.1", resolve))
    const { port } = silent.address() as AddressInfo
    const manager = new TelemetryManager({
      exportDestination: "http",
      httpEndpoint: `http://127.0.0.1:${port}/slow`,
      exportIntervalSeconds: 3600,
      includeSystemMetrics: false,
      flushOnExit: false,
      batchSize: 50,
      shutdownTimeoutMs: 300,
    })
    expect(await manager.enable()).toBe(true)
    const monitor = new PerformanceMonitor({ maxMetricsRetained: 1000 })
    for (let i = 0; i < 170; i++) monitor.monitorOperation(`job-${i % 4}`, () => i)

    const flushed = await manager.disable()

    expect(flushed).toBe(false)
    expect(manager.enabled).toBe(false)
    expect(manager.stats.buffered).toBe(170)
    expect(manager.stats.inFlight).toBe(0)
    expect(logger.at("warn")).toContain(
      "telemetry: the flush in disable did not finish within 300 ms (shutdownTimeoutMs); 170 records stay buffered.",
    )
    await manager.shutdown()
  })
})
