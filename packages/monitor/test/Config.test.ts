import { Exit } from "effect"
import { describe, expect, it } from "vitest"
import { Config, Monitor, PerformanceConfig } from "../src/index.js"
import { capturingLogger } from "./helpers.js"

type Field = keyof PerformanceConfig.PerformanceConfig

const defaults = PerformanceConfig.defaultPerformanceConfig

const booleanField = (field: Field): Array<[Field, string, unknown]> => [
  [field, "wrong type", "true"],
  [field, "NaN", Number.NaN],
  [field, "negative", -1],
  [field, "out of range", 2],
  [field, "null", null],
]

const positiveIntField = (field: Field): Array<[Field, string, unknown]> => [
  [field, "wrong type", "10"],
  [field, "NaN", Number.NaN],
  [field, "negative", -5],
  [field, "out of range", 0],
  [field, "fraction", 2.5],
  [field, "infinite", Number.POSITIVE_INFINITY],
]

const invalidCases: Array<[Field, string, unknown]> = [
  ...booleanField("enabled"),
  ["samplingRate", "wrong type", "0.5"],
  ["samplingRate", "NaN", Number.NaN],
  ["samplingRate", "negative", -0.1],
  ["samplingRate", "out of range", 1.5],
  ...positiveIntField("maxMetricsRetained"),
  ...booleanField("enableMemoryTracking"),
  ...booleanField("enableCpuTracking"),
  ["thresholdDurationMs", "wrong type", "100"],
  ["thresholdDurationMs", "NaN", Number.NaN],
  ["thresholdDurationMs", "negative", -1],
  ["thresholdDurationMs", "out of range", Number.POSITIVE_INFINITY],
  ...booleanField("includeSystemInfo"),
  ...positiveIntField("maxOperationNames"),
  ...positiveIntField("maxActiveOperations"),
  ["maxCustomMetrics", "wrong type", "8"],
  ["maxCustomMetrics", "NaN", Number.NaN],
  ["maxCustomMetrics", "negative", -1],
  ["maxCustomMetrics", "fraction", 1.5],
]

const validCases: Array<[Field, unknown]> = [
  ["enabled", false],
  ["samplingRate", 0],
  ["samplingRate", 1],
  ["samplingRate", 0.25],
  ["maxMetricsRetained", 1],
  ["enableMemoryTracking", false],
  ["enableCpuTracking", false],
  ["thresholdDurationMs", 0],
  ["thresholdDurationMs", 12.5],
  ["includeSystemInfo", true],
  ["maxOperationNames", 1],
  ["maxActiveOperations", 50_000],
  ["maxCustomMetrics", 0],
  ["maxCustomMetrics", 500],
]

const changedValues: PerformanceConfig.PerformanceConfig = {
  enabled: false,
  samplingRate: 0.5,
  maxMetricsRetained: 10,
  enableMemoryTracking: false,
  enableCpuTracking: false,
  thresholdDurationMs: 5,
  includeSystemInfo: true,
  maxOperationNames: 20,
  maxActiveOperations: 30,
  maxCustomMetrics: 8,
}

const monitorWith = (options: Record<string, unknown>) => {
  const logger = capturingLogger()
  const monitor = Monitor.makeUnsafe({
    ...(options as Monitor.MonitorOptions),
    publish: false,
    logger,
  })
  return { monitor, logger }
}

describe("invalid option falls back", () => {
  it.each(invalidCases)("%s: %s", (field, _case, value) => {
    const { monitor, logger } = monitorWith({ [field]: value })

    expect(monitor.config[field]).toBe(defaults[field])
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain(`"${field}"`)
    expect(logger.warnings[0]).toContain(`using ${String(defaults[field])}`)
  })
})

describe("valid option is used", () => {
  it.each(validCases)("%s = %s", (field, value) => {
    const { monitor, logger } = monitorWith({ [field]: value })

    expect(monitor.config[field]).toBe(value)
    expect(logger.warnings).toHaveLength(0)
  })
})

describe("configure", () => {
  it.each(invalidCases)("keeps current %s on %s", (field, _case, value) => {
    const { monitor, logger } = monitorWith({ ...changedValues })

    const config = monitor.configure({ [field]: value })

    expect(config[field]).toBe(changedValues[field])
    expect(monitor.config[field]).toBe(changedValues[field])
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain(`"${field}"`)
  })

  it("applies valid fields beside invalid", () => {
    const { monitor, logger } = monitorWith({})

    monitor.configure({ samplingRate: 0.2, thresholdDurationMs: -3 })

    expect(monitor.config.samplingRate).toBe(0.2)
    expect(monitor.config.thresholdDurationMs).toBe(100)
    expect(logger.warnings).toHaveLength(1)
  })

  it("warns and ignores unknown keys", () => {
    const { monitor, logger } = monitorWith({})

    monitor.configure({ sampleRate: 0.1, samplingRate: 0.3 })

    expect(monitor.config.samplingRate).toBe(0.3)
    expect((monitor.config as unknown as Record<string, unknown>).sampleRate).toBeUndefined()
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain('"sampleRate"')
  })

  it("__proto__ key leaves prototypes alone", () => {
    const { monitor, logger } = monitorWith({})
    const input: unknown = JSON.parse('{"__proto__": {"enabled": false}, "samplingRate": 0.25}')

    monitor.configure(input)

    expect(({} as Record<string, unknown>).enabled).toBeUndefined()
    expect(Object.getPrototypeOf(monitor.config)).toBe(Object.prototype)
    expect(monitor.config.enabled).toBe(true)
    expect(monitor.config.samplingRate).toBe(0.25)
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain('"__proto__"')
  })

  it("__proto__ key reported by makeUnsafe", () => {
    const input = JSON.parse('{"__proto__": {"enabled": false}}') as Record<string, unknown>

    const { monitor, logger } = monitorWith(input)

    expect(monitor.config.enabled).toBe(true)
    expect(({} as Record<string, unknown>).enabled).toBeUndefined()
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain('"__proto__"')
  })

  it("makeUnsafe warns unknown keys", () => {
    const { monitor, logger } = monitorWith({ sampleRate: 0.1 })

    expect(monitor.config.samplingRate).toBe(1)
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain('"sampleRate"')
  })

  it("source options are not config", () => {
    const { logger } = monitorWith({ random: () => 0.5, clock: undefined, resources: undefined })

    expect(logger.warnings).toHaveLength(0)
  })

  it.each([
    ["string", "fast"],
    ["number", 42],
    ["array", [1, 2]],
    ["boolean", true],
  ])("rejects %s input", (_kind, input) => {
    const { monitor, logger } = monitorWith({ samplingRate: 0.5 })

    const config = monitor.configure(input)

    expect(config).toEqual({ ...defaults, samplingRate: 0.5 })
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain("expected an options object")
  })

  it("null and undefined change nothing", () => {
    const { monitor, logger } = monitorWith({ samplingRate: 0.5 })

    monitor.configure(null)
    monitor.configure(undefined)

    expect(monitor.config.samplingRate).toBe(0.5)
    expect(logger.warnings).toHaveLength(0)
  })

  it("undefined field keeps current value", () => {
    const { monitor, logger } = monitorWith({ samplingRate: 0.5 })

    monitor.configure({ samplingRate: undefined })

    expect(monitor.config.samplingRate).toBe(0.5)
    expect(logger.warnings).toHaveLength(0)
  })

  it("throwing getter counts as absent", () => {
    const { monitor } = monitorWith({})
    const input = {
      get samplingRate(): number {
        throw new Error("getter failed")
      },
    }

    const config = monitor.configure(input)

    expect(config.samplingRate).toBe(1)
  })
})

describe("Config.resolveStrict", () => {
  it("accepts valid input", () => {
    const exit = Config.resolveStrict({
      label: "PerformanceConfig",
      fields: PerformanceConfig.performanceConfigFields,
      base: defaults,
      input: { samplingRate: 0.5 },
    })

    expect(exit).toEqual(Exit.succeed({ ...defaults, samplingRate: 0.5 }))
  })

  it("fails with InvalidConfig code", () => {
    const exit = Config.resolveStrict({
      label: "PerformanceConfig",
      fields: PerformanceConfig.performanceConfigFields,
      base: defaults,
      input: { samplingRate: 2, colour: "red" },
    })

    const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
    expect(Exit.isFailure(exit)).toBe(true)
    expect(error?._tag).toBe("Fail")
    const failure = error?._tag === "Fail" ? error.error : undefined
    expect(failure?.reason).toBe("InvalidConfig")
    expect(failure?.code).toBe("DINOAIR_MONITOR_INVALID_CONFIG")
    expect(failure?.message).toContain("samplingRate")
    expect(failure?.message).toContain("colour")
  })
})

describe("Config.describe", () => {
  it.each([
    ["short string", "abc", '"abc"'],
    ["negative zero", -0, "-0"],
    ["NaN", Number.NaN, "NaN"],
    ["bigint", 10n, "10n"],
    ["null", null, "null"],
    ["array", [1], "an array"],
    ["object", { a: 1 }, "an object"],
    ["function", () => 1, "a function"],
  ])("renders %s", (_kind, value, expected) => {
    expect(Config.describe(value)).toBe(expected)
  })

  it("cuts long strings at 80", () => {
    const text = Config.describe("x".repeat(200))

    expect(text).toBe(JSON.stringify(`${"x".repeat(80)}…`))
  })
})
