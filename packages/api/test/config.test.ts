import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  configureTelemetry,
  enableTelemetry,
  getTelemetryManager,
  PerformanceMonitor,
  type PerformanceOptions,
  resetGlobals,
  setLogger,
  TelemetryManager,
  type TelemetryOptions,
} from "../src/index.js"
import { type CapturingLogger, capturingLogger, makeTempDir, removeTempDirs } from "./helpers.js"

/** The reference `PerformanceConfig` defaults, in camelCase. */
const referencePerformanceDefaults = {
  enabled: true,
  samplingRate: 1.0,
  maxMetricsRetained: 1000,
  enableMemoryTracking: true,
  enableCpuTracking: true,
  thresholdDurationMs: 100.0,
  includeSystemInfo: false,
}

/** The reference `TelemetryConfig` defaults, in camelCase. */
const referenceTelemetryDefaults = {
  enabled: false,
  exportIntervalSeconds: 60.0,
  maxMetricsPerOperation: 100,
  maxTotalMetrics: 10000,
  batchSize: 500,
  exportFormat: "json",
  exportDestination: "file",
  outputFile: null,
  httpEndpoint: null,
  includeSystemMetrics: true,
  includeCustomMetrics: true,
  retentionHours: 24.0,
}

/** Defaults of the options this package adds beyond the reference. */
const extraPerformanceDefaults = {
  maxOperationNames: 1000,
  maxActiveOperations: 10_000,
  maxCustomMetrics: 64,
}
const extraTelemetryDefaults = {
  maxOperationNames: 1000,
  shutdownTimeoutMs: 5000,
  flushOnExit: true,
}

/** One invalid value per monitor option, with the default that replaces it. */
const invalidPerformanceValues: ReadonlyArray<readonly [field: string, invalid: unknown]> = [
  ["enabled", "yes"],
  ["samplingRate", 1.5],
  ["maxMetricsRetained", 0],
  ["enableMemoryTracking", 1],
  ["enableCpuTracking", null],
  ["thresholdDurationMs", -5],
  ["includeSystemInfo", "false"],
  ["maxOperationNames", 2.5],
  ["maxActiveOperations", Number.NaN],
]

/** One invalid value per telemetry option. */
const invalidTelemetryValues: ReadonlyArray<readonly [field: string, invalid: unknown]> = [
  ["enabled", "true"],
  ["exportIntervalSeconds", 0],
  ["maxMetricsPerOperation", -1],
  ["maxTotalMetrics", 10.5],
  ["batchSize", "500"],
  ["exportFormat", "JSON!"],
  ["exportDestination", 7],
  ["outputFile", ""],
  ["httpEndpoint", 42],
  ["includeSystemMetrics", "no"],
  ["includeCustomMetrics", 0],
  ["retentionHours", Number.POSITIVE_INFINITY],
  ["maxOperationNames", 0],
  ["shutdownTimeoutMs", -1],
  ["flushOnExit", []],
]

const allPerformanceDefaults = { ...referencePerformanceDefaults, ...extraPerformanceDefaults }
const allTelemetryDefaults = { ...referenceTelemetryDefaults, ...extraTelemetryDefaults }

let logger: CapturingLogger

beforeEach(() => {
  logger = capturingLogger()
  setLogger(logger)
})

afterEach(async () => {
  await resetGlobals()
  await removeTempDirs()
})

/** Warnings that name `field` as the invalid one. */
const invalidFieldWarnings = (field: string): Array<string> =>
  logger.at("warn").filter((line) => line.includes(`for "${field}"`))

const pollutedInput = (): unknown => JSON.parse('{"__proto__": {"polluted": true}}')

const expectPrototypeClean = (): void => {
  expect(Object.hasOwn(Object.prototype, "polluted")).toBe(false)
  expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
}

describe("configuration defaults", () => {
  it("PerformanceMonitor has every reference default", () => {
    const config = new PerformanceMonitor().config

    for (const [field, value] of Object.entries(referencePerformanceDefaults)) {
      expect({ field, value: config[field as keyof typeof config] }).toEqual({ field, value })
    }
  })

  it("PerformanceMonitor has no other fields", () => {
    const config = new PerformanceMonitor().config

    expect(config).toEqual(allPerformanceDefaults)
  })

  it("TelemetryManager has every reference default", async () => {
    const manager = new TelemetryManager()
    const config = manager.config

    for (const [field, value] of Object.entries(referenceTelemetryDefaults)) {
      expect({ field, value: config[field as keyof typeof config] }).toEqual({ field, value })
    }
    expect(manager.enabled).toBe(false)
    await manager.shutdown()
  })

  it("TelemetryManager has no other fields", async () => {
    const manager = new TelemetryManager()

    expect(manager.config).toEqual(allTelemetryDefaults)
    await manager.shutdown()
  })

  it("valid options construct without warnings", async () => {
    const monitor = new PerformanceMonitor({ samplingRate: 0.25, maxMetricsRetained: 10 })
    const manager = new TelemetryManager({ batchSize: 50, retentionHours: 1.5 })

    expect(monitor.config.samplingRate).toBe(0.25)
    expect(manager.config.retentionHours).toBe(1.5)
    expect(logger.entries).toEqual([])
    await manager.shutdown()
  })
})

describe("invalid PerformanceConfig fields", () => {
  it.each(invalidPerformanceValues)("constructor replaces %s", (field, invalid) => {
    let monitor: PerformanceMonitor | undefined

    const construct = () => {
      monitor = new PerformanceMonitor({ [field]: invalid } as PerformanceOptions)
    }

    expect(construct).not.toThrow()
    const config = monitor?.config as Record<string, unknown> | undefined
    expect(config?.[field]).toEqual(
      allPerformanceDefaults[field as keyof typeof allPerformanceDefaults],
    )
    expect(invalidFieldWarnings(field)).toHaveLength(1)
  })

  it.each(invalidPerformanceValues)("configure replaces %s", (field, invalid) => {
    const monitor = new PerformanceMonitor()

    const update = () => monitor.configure({ [field]: invalid } as PerformanceOptions)

    expect(update).not.toThrow()
    const config = monitor.config as unknown as Record<string, unknown>
    expect(config[field]).toEqual(
      allPerformanceDefaults[field as keyof typeof allPerformanceDefaults],
    )
    expect(invalidFieldWarnings(field)).toHaveLength(1)
  })

  it("warning names the value given and the value used", () => {
    new PerformanceMonitor({ samplingRate: 1.5 })

    const [warning] = invalidFieldWarnings("samplingRate")

    expect(warning).toContain("1.5")
    expect(warning).toContain("using 1 instead")
  })

  it("configure keeps the current valid value", () => {
    const monitor = new PerformanceMonitor({ samplingRate: 0.3 })

    monitor.configure({ samplingRate: -1 })

    expect(monitor.config.samplingRate).toBe(0.3)
  })

  it("valid fields beside an invalid one apply", () => {
    const monitor = new PerformanceMonitor({
      maxMetricsRetained: 50,
      samplingRate: "half",
    } as unknown as PerformanceOptions)

    expect(monitor.config.maxMetricsRetained).toBe(50)
    expect(monitor.config.samplingRate).toBe(1)
  })

  it("unknown options are logged and ignored", () => {
    const monitor = new PerformanceMonitor({ samplingRatio: 0.5 } as unknown as PerformanceOptions)

    expect(monitor.config).toEqual(allPerformanceDefaults)
    expect(logger.containing('unknown option "samplingRatio"')).toHaveLength(1)
  })

  it.each([
    ["a string", "fast"],
    ["a number", 42],
    ["an array", [1, 2]],
  ])("constructor ignores %s", (_label, input) => {
    const monitor = new PerformanceMonitor(input as unknown as PerformanceOptions)

    expect(monitor.config).toEqual(allPerformanceDefaults)
    expect(logger.containing("expected an options object")).toHaveLength(1)
  })

  it("a __proto__ key pollutes nothing", () => {
    const monitor = new PerformanceMonitor(pollutedInput() as PerformanceOptions)
    monitor.configure(pollutedInput() as PerformanceOptions)

    expectPrototypeClean()
    expect(monitor.config).toEqual(allPerformanceDefaults)
    expect(logger.containing('unknown option "__proto__"')).toHaveLength(2)
  })
})

describe("invalid TelemetryConfig fields", () => {
  let outputFile: string

  beforeEach(async () => {
    outputFile = path.join(await makeTempDir(), "telemetry.json")
  })

  it.each(invalidTelemetryValues)("constructor replaces %s", async (field, invalid) => {
    let manager: TelemetryManager | undefined

    const construct = () => {
      manager = new TelemetryManager({ [field]: invalid } as TelemetryOptions)
    }

    expect(construct).not.toThrow()
    const config = manager?.config as Record<string, unknown> | undefined
    expect(config?.[field]).toEqual(
      allTelemetryDefaults[field as keyof typeof allTelemetryDefaults],
    )
    expect(invalidFieldWarnings(field)).toHaveLength(1)
    await manager?.shutdown()
  })

  it.each(invalidTelemetryValues)("enableTelemetry replaces %s", async (field, invalid) => {
    const base = field === "outputFile" ? {} : { outputFile }

    const enabled = await enableTelemetry({ ...base, [field]: invalid } as TelemetryOptions)

    const config = getTelemetryManager().config as unknown as Record<string, unknown>
    const expected =
      field === "enabled" ? true : allTelemetryDefaults[field as keyof typeof allTelemetryDefaults]
    expect(enabled).toBe(true)
    expect(config[field]).toEqual(expected)
    expect(invalidFieldWarnings(field)).toHaveLength(1)
  })

  it.each(invalidTelemetryValues)("configureTelemetry replaces %s", (field, invalid) => {
    const update = () => configureTelemetry({ [field]: invalid } as TelemetryOptions)

    expect(update).not.toThrow()
    const config = getTelemetryManager().config as unknown as Record<string, unknown>
    expect(config[field]).toEqual(allTelemetryDefaults[field as keyof typeof allTelemetryDefaults])
    expect(invalidFieldWarnings(field)).toHaveLength(1)
  })

  it("configureTelemetry keeps the current valid value", () => {
    configureTelemetry({ batchSize: 20 })

    configureTelemetry({ batchSize: 0 })

    expect(getTelemetryManager().config.batchSize).toBe(20)
  })

  it.each([
    ["a string", "json"],
    ["a number", 1],
    ["an array", ["json"]],
  ])("constructor ignores %s", async (_label, input) => {
    const manager = new TelemetryManager(input as unknown as TelemetryOptions)

    expect(manager.config).toEqual(allTelemetryDefaults)
    expect(logger.containing("expected an options object")).toHaveLength(1)
    await manager.shutdown()
  })

  it("exporterOptions that are not an object are ignored", async () => {
    const enabled = await enableTelemetry({
      outputFile,
      exporterOptions: "indent" as unknown as Record<string, unknown>,
    })

    expect(enabled).toBe(true)
    expect(logger.containing("ignored exporterOptions")).toHaveLength(1)
  })

  it("a __proto__ key pollutes nothing", async () => {
    const manager = new TelemetryManager(pollutedInput() as TelemetryOptions)
    await manager.enable(pollutedInput() as TelemetryOptions)
    manager.configure(pollutedInput() as TelemetryOptions)
    configureTelemetry(pollutedInput() as TelemetryOptions)
    await enableTelemetry({ ...(pollutedInput() as TelemetryOptions), outputFile })

    expectPrototypeClean()
    expect(manager.config).toEqual({ ...allTelemetryDefaults, enabled: true })
    expect(logger.containing('unknown option "__proto__"')).toHaveLength(5)
    await manager.shutdown()
  })
})
