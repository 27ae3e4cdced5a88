import { describe, expect, it } from "vitest"
import { Monitor } from "../src/index.js"
import { capturingLogger, manualClock, mulberry32, sequence } from "./helpers.js"

const sampledMonitor = (options: Monitor.MonitorOptions) => {
  const logger = capturingLogger()
  const monitor = Monitor.makeUnsafe({
    enableCpuTracking: false,
    enableMemoryTracking: false,
    clock: manualClock(),
    ...options,
    publish: false,
    logger,
  })
  return { monitor, logger }
}

describe("sampling", () => {
  it("rate 0 records nothing", () => {
    const { monitor, logger } = sampledMonitor({ samplingRate: 0, random: mulberry32(1) })

    for (let i = 0; i < 1_000; i++) {
      const id = monitor.startOperation("op")
      expect(monitor.endOperation(id)).toBeUndefined()
    }

    expect(monitor.getRecords()).toHaveLength(0)
    expect(monitor.stats.started).toBe(1_000)
    expect(monitor.stats.sampledOut).toBe(1_000)
    expect(monitor.stats.unknownIds).toBe(0)
    expect(logger.warnings).toHaveLength(0)
  })

  it("rate 1 records everything", () => {
    let draws = 0
    const random = () => {
      draws++
      return 0.99
    }
    const { monitor } = sampledMonitor({ samplingRate: 1, random, maxMetricsRetained: 1_000 })

    for (let i = 0; i < 1_000; i++) monitor.endOperation(monitor.startOperation("op"))

    expect(monitor.getRecords("op")).toHaveLength(1_000)
    expect(monitor.stats.sampledOut).toBe(0)
    expect(draws).toBe(0)
  })

  it("rate 0.1 records about 10%", () => {
    const operations = 10_000
    const { monitor } = sampledMonitor({
      samplingRate: 0.1,
      random: mulberry32(20_240_601),
      maxMetricsRetained: operations,
    })

    let ended = 0
    let unsampled = 0
    for (let i = 0; i < operations; i++) {
      const id = monitor.startOperation("op")
      const sampled = monitor.getActiveOperations().length === 1
      const record = monitor.endOperation(id)
      if (record !== undefined) ended++
      if (!sampled) unsampled++
    }
    const fraction = ended / operations

    // With 10,000 draws the standard deviation of the fraction is 0.003, so
    // a tolerance of 0.01 leaves more than three standard deviations.
    expect(Math.abs(fraction - 0.1)).toBeLessThanOrEqual(0.01)
    // Every operation that was sampled at start ended with a record.
    expect(ended + unsampled).toBe(operations)
    expect(monitor.stats.recorded).toBe(ended)
    expect(monitor.stats.sampledOut).toBe(unsampled)
    expect(monitor.getRecords("op")).toHaveLength(ended)
  })

  it("decision made once at start", () => {
    const { monitor } = sampledMonitor({ samplingRate: 1 })

    const sampled = monitor.startOperation("op")
    monitor.configure({ samplingRate: 0 })
    const unsampled = monitor.startOperation("op")
    monitor.configure({ samplingRate: 1 })

    expect(monitor.endOperation(sampled)?.operation).toBe("op")
    expect(monitor.endOperation(unsampled)).toBeUndefined()
  })

  it("unsampled id still names operation", () => {
    const { monitor } = sampledMonitor({ samplingRate: 0 })

    const id = monitor.startOperation("checkout")

    expect(id).toContain("checkout")
  })

  it("unsampled ids end silently", () => {
    const { monitor, logger } = sampledMonitor({ samplingRate: 0.5, random: sequence(0.9) })

    const id = monitor.startOperation("op")
    const metricAccepted = monitor.recordCustomMetric(id, "rows", 1)
    const first = monitor.endOperation(id)
    const second = monitor.endOperation(id)

    expect(metricAccepted).toBe(false)
    expect(first).toBeUndefined()
    expect(second).toBeUndefined()
    expect(monitor.stats.unknownIds).toBe(0)
    expect(logger.warnings).toHaveLength(0)
  })

  it("unsampled operation is not active", () => {
    const { monitor } = sampledMonitor({ samplingRate: 0 })

    monitor.startOperation("op")

    expect(monitor.getActiveOperations()).toHaveLength(0)
  })

  it("run still calls unsampled function", () => {
    const { monitor } = sampledMonitor({ samplingRate: 0 })

    const value = monitor.run("op", () => 7)

    expect(value).toBe(7)
    expect(monitor.getRecords()).toHaveLength(0)
  })
})
