import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Telemetry, TelemetryConfig } from "../src/index.js"
import { makeHarness, makeLogger } from "./fixtures.js"

type Field = keyof TelemetryConfig.TelemetryConfig

/** One invalid value per field, each breaking a different rule of its schema. */
const invalidValues: ReadonlyArray<readonly [Field, unknown]> = [
  ["enabled", "yes"],
  ["exportIntervalSeconds", 0],
  ["maxMetricsPerOperation", 1.5],
  ["maxTotalMetrics", -1],
  ["batchSize", 0],
  ["exportFormat", "JSON!"],
  ["exportDestination", ""],
  ["outputFile", ""],
  ["httpEndpoint", 42],
  ["includeSystemMetrics", "true"],
  ["includeCustomMetrics", 1],
  ["retentionHours", Number.NaN],
  ["maxOperationNames", 0],
  ["shutdownTimeoutMs", -5],
  ["flushOnExit", null],
]

describe("TelemetryConfig", () => {
  it("invalid-value table covers every field", () => {
    const covered = invalidValues.map(([field]) => field).sort()

    expect(covered).toEqual(Object.keys(TelemetryConfig.defaultTelemetryConfig).sort())
  })

  it.each(invalidValues)("invalid %s falls back to its default", (field, value) => {
    const { telemetry, logger } = makeHarness({ [field]: value })

    expect(telemetry.config[field]).toEqual(TelemetryConfig.defaultTelemetryConfig[field])
    expect(logger.at("warn")).toHaveLength(1)
    expect(logger.at("warn")[0]).toContain(`"${field}"`)
  })

  it.each(invalidValues)(
    "invalid %s in configure keeps the current value",
    async (field, value) => {
      const { telemetry, logger } = makeHarness()
      const before = telemetry.config[field]

      const after = await Effect.runPromise(telemetry.configure({ [field]: value }))

      expect(after[field]).toEqual(before)
      expect(logger.at("warn")).toHaveLength(1)
      expect(logger.at("warn")[0]).toContain(`"${field}"`)
    },
  )

  it.each([0.009, 3_000_000, 2_592_001, Number.POSITIVE_INFINITY])(
    "exportIntervalSeconds %d is out of range",
    (value) => {
      const { telemetry, logger } = makeHarness({ exportIntervalSeconds: value })

      expect(telemetry.config.exportIntervalSeconds).toBe(60)
      expect(logger.at("warn")).toHaveLength(1)
      expect(logger.at("warn")[0]).toContain('"exportIntervalSeconds"')
    },
  )

  it.each([0.01, 2_592_000])("exportIntervalSeconds %d is in range", (value) => {
    const { telemetry, logger } = makeHarness({ exportIntervalSeconds: value })

    expect(telemetry.config.exportIntervalSeconds).toBe(value)
    expect(logger.entries).toEqual([])
  })

  it("valid values are used as given", () => {
    const { telemetry, logger } = makeHarness({
      exportIntervalSeconds: 0.5,
      maxMetricsPerOperation: 7,
      maxTotalMetrics: 70,
      batchSize: 3,
      exportFormat: "prometheus",
      exportDestination: "http",
      httpEndpoint: "http://127.0.0.1:9091/metrics",
      includeCustomMetrics: false,
      retentionHours: 0.25,
      shutdownTimeoutMs: 0,
    })

    expect(logger.entries).toEqual([])
    expect(telemetry.config.exportIntervalSeconds).toBe(0.5)
    expect(telemetry.config.maxMetricsPerOperation).toBe(7)
    expect(telemetry.config.maxTotalMetrics).toBe(70)
    expect(telemetry.config.batchSize).toBe(3)
    expect(telemetry.config.exportFormat).toBe("prometheus")
    expect(telemetry.config.exportDestination).toBe("http")
    expect(telemetry.config.httpEndpoint).toBe("http://127.0.0.1:9091/metrics")
    expect(telemetry.config.includeCustomMetrics).toBe(false)
    expect(telemetry.config.retentionHours).toBe(0.25)
    expect(telemetry.config.shutdownTimeoutMs).toBe(0)
  })

  it("defaults match the reference", () => {
    const telemetry = Telemetry.makeUnsafe({ logger: makeLogger(), source: () => () => {} })

    expect(telemetry.config).toEqual({
      enabled: false,
      exportIntervalSeconds: 60,
      maxMetricsPerOperation: 100,
      maxTotalMetrics: 10_000,
      batchSize: 500,
      exportFormat: "json",
      exportDestination: "file",
      outputFile: null,
      httpEndpoint: null,
      includeSystemMetrics: true,
      includeCustomMetrics: true,
      retentionHours: 24,
      maxOperationNames: 1000,
      shutdownTimeoutMs: 5000,
      flushOnExit: true,
    })
  })

  it("unknown option is reported and ignored", () => {
    const options = { batchSizes: 3 } as Record<string, unknown>
    const { telemetry, logger } = makeHarness(options)

    expect(telemetry.config.batchSize).toBe(500)
    expect(logger.at("warn")).toHaveLength(1)
    expect(logger.at("warn")[0]).toContain('"batchSizes"')
  })
})
