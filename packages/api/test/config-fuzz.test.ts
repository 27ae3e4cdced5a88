/**
 * Configuration fuzzing of the facade: the `PerformanceMonitor` and
 * `TelemetryManager` constructors, `enablePerformanceMonitoring`,
 * `configurePerformance`, `configureTelemetry` and `enableTelemetry` (with
 * `exporterOptions` and `sinkOptions`) get arbitrary values. Nothing
 * throws or rejects, each unusable option is logged once, the default or
 * the value in force is kept, and `Object.prototype` stays as it was.
 */
import { existsSync } from "node:fs"
import path from "node:path"
import { PerformanceConfig } from "@dinoair/monitor"
import { FileSink } from "@dinoair/sink-file"
import { HttpSink } from "@dinoair/sink-http"
import { Sink, SinkError, TelemetryConfig } from "@dinoair/telemetry"
import {
  anyValue,
  expectedDecode,
  hostileNumber,
  isBoolean,
  isFiniteAtLeastZero,
  isWholeAtLeast,
  linesAbout,
  objectOf,
  optionsObject,
  prototypeSnapshot,
} from "@dinoair/test-support/options"
import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import {
  configurePerformance,
  configureTelemetry,
  disableTelemetry,
  enablePerformanceMonitoring,
  enableTelemetry,
  exportTelemetry,
  getPerformanceMonitor,
  getTelemetryManager,
  monitorPerformance,
  PerformanceMonitor,
  resetGlobals,
  setLogger,
  TelemetryManager,
} from "../src/index.js"
import {
  capturingLogger,
  makeTempDir,
  readExport,
  removeTempDirs,
  startCollector,
  stopCollectors,
} from "./helpers.js"

const NUM_RUNS = 100

/**
 * The time limit of each property test. One takes up to a few seconds alone, and the whole
 * suite runs two packages at a time on two cores, so the default 5 s limit is too tight.
 */
const PROPERTY_TIMEOUT_MS = 60_000

afterEach(async () => {
  await resetGlobals()
  await removeTempDirs()
})

const PERFORMANCE_VALIDATORS: Readonly<Record<string, (value: unknown) => boolean>> = {
  enabled: isBoolean,
  samplingRate: (value) => typeof value === "number" && value >= 0 && value <= 1,
  maxMetricsRetained: isWholeAtLeast(1),
  enableMemoryTracking: isBoolean,
  enableCpuTracking: isBoolean,
  thresholdDurationMs: isFiniteAtLeastZero,
  includeSystemInfo: isBoolean,
  maxOperationNames: isWholeAtLeast(1),
  maxActiveOperations: isWholeAtLeast(1),
  maxCustomMetrics: isWholeAtLeast(0),
}

const PLUGIN_NAME = /^[a-z][a-z0-9_-]*$/

/** The options of the file sink, which every test here exports to. */
const FILE_SINK_OPTIONS = ["fileMode", "mode", "onMovedAside", "onRepaired", "nowMillis"]

const TELEMETRY_VALIDATORS: Readonly<Record<string, (value: unknown) => boolean>> = {
  enabled: isBoolean,
  exportIntervalSeconds: (value) =>
    typeof value === "number" && value >= 0.01 && value <= 2_592_000,
  maxMetricsPerOperation: isWholeAtLeast(1),
  maxTotalMetrics: isWholeAtLeast(1),
  batchSize: isWholeAtLeast(1),
  exportFormat: (value) => typeof value === "string" && PLUGIN_NAME.test(value),
  exportDestination: (value) => typeof value === "string" && PLUGIN_NAME.test(value),
  outputFile: (value) => value === null || (typeof value === "string" && value.length > 0),
  httpEndpoint: (value) => value === null || (typeof value === "string" && value.length > 0),
  includeSystemMetrics: isBoolean,
  includeCustomMetrics: isBoolean,
  retentionHours: (value) => typeof value === "number" && Number.isFinite(value) && value > 0,
  maxOperationNames: isWholeAtLeast(1),
  shutdownTimeoutMs: isFiniteAtLeastZero,
  flushOnExit: isBoolean,
}

/** Telemetry fields the fuzz may set. The destination is fixed by each test, so no file or host is touched. */
const TELEMETRY_FUZZED = Object.keys(TELEMETRY_VALIDATORS).filter(
  (key) => key !== "outputFile" && key !== "exportDestination" && key !== "httpEndpoint",
)

const performanceValueFor = (key: string): fc.Arbitrary<unknown> => {
  switch (key) {
    case "samplingRate":
      return fc.double({ min: 0, max: 1, noNaN: true })
    case "thresholdDurationMs":
      return fc.double({ min: 0, max: 1e6, noNaN: true })
    case "maxCustomMetrics":
    case "maxMetricsRetained":
    case "maxOperationNames":
    case "maxActiveOperations":
      return fc.oneof(fc.integer({ min: -2, max: 5000 }), hostileNumber)
    default:
      return fc.boolean()
  }
}

const telemetryValueFor = (key: string): fc.Arbitrary<unknown> => {
  switch (key) {
    case "exportIntervalSeconds":
    case "retentionHours":
    case "shutdownTimeoutMs":
      return fc.oneof(hostileNumber, fc.double({ min: 0, max: 3e6, noNaN: true }))
    case "maxMetricsPerOperation":
    case "maxTotalMetrics":
    case "batchSize":
    case "maxOperationNames":
      return fc.oneof(fc.integer({ min: -2, max: 5000 }), hostileNumber)
    case "exportFormat":
      return fc.constantFrom("json", "csv", "prometheus", "not-installed", "JSON!", "")
    case "exporterOptions":
      return fc.oneof(
        optionsObject(["indent", "maxDepth", "byteOrderMark", "timestamps", "prefix", "labels"]),
        anyValue,
      )
    case "sinkOptions":
      return fc.oneof(optionsObject([...FILE_SINK_OPTIONS, "path"]), anyValue)
    default:
      return fc.boolean()
  }
}

const performanceOptions = optionsObject(Object.keys(PERFORMANCE_VALIDATORS), performanceValueFor)
const telemetryOptions = optionsObject(
  [...TELEMETRY_FUZZED, "exporterOptions", "sinkOptions"],
  telemetryValueFor,
)

const performanceDefaults = PerformanceConfig.defaultPerformanceConfig as unknown as Record<
  string,
  unknown
>
const telemetryDefaults = TelemetryConfig.defaultTelemetryConfig as unknown as Record<
  string,
  unknown
>

/** Every key of `input` but the pass-through options, which the config decode never sees. */
const withoutPassThrough = (input: unknown): unknown => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input
  return objectOf(
    Object.entries(input).filter(([key]) => key !== "exporterOptions" && key !== "sinkOptions"),
  )
}

/** Whether the facade logs a pass-through option as not an object. */
const passThroughLogged = (input: unknown, key: string): boolean => {
  if (typeof input !== "object" || input === null || !Object.hasOwn(input, key)) return false
  const value = (input as Record<string, unknown>)[key]
  return (
    value !== undefined && (value === null || typeof value !== "object" || Array.isArray(value))
  )
}

const expectLoggedOnce = (
  lines: ReadonlyArray<string>,
  label: string,
  input: unknown,
  expected: ReturnType<typeof expectedDecode>,
): void => {
  const own = lines.filter(
    (line) =>
      line.startsWith(`${label}: `) &&
      !/^TelemetryConfig: ignored (exporter|sink)Options/.test(line),
  )
  const keys = typeof input === "object" && input !== null ? Object.keys(input) : []
  for (const key of keys) {
    expect(linesAbout(own, label, key)).toBe(expected.logged.includes(key) ? 1 : 0)
  }
  const whole = own.filter((line) => line.endsWith(": expected an options object."))
  expect(whole).toHaveLength(expected.wholeLogged ? 1 : 0)
  expect(own).toHaveLength(expected.logged.length + (expected.wholeLogged ? 1 : 0))
}

const expectPassThroughLogged = (lines: ReadonlyArray<string>, input: unknown): void => {
  for (const key of ["exporterOptions", "sinkOptions"]) {
    const logged = lines.filter(
      (line) => line === `TelemetryConfig: ignored ${key}: expected an object.`,
    )
    expect(logged).toHaveLength(passThroughLogged(input, key) ? 1 : 0)
  }
}

describe("facade options fuzzing", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("PerformanceMonitor takes any config", () => {
    fc.assert(
      fc.property(fc.oneof(performanceOptions, anyValue), (config) => {
        const before = prototypeSnapshot()
        const logger = capturingLogger()
        setLogger(logger)

        const monitor = new PerformanceMonitor(config as never)
        const result = monitor.monitorOperation("fuzzed", () => 7)

        const expected = expectedDecode(PERFORMANCE_VALIDATORS, performanceDefaults, config)
        expect(result).toBe(7)
        expect(monitor.config).toEqual(expected.config)
        expectLoggedOnce(logger.at("warn"), "PerformanceConfig", config, expected)
        expect(prototypeSnapshot()).toEqual(before)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("configurePerformance takes any update", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(performanceOptions, anyValue), { minLength: 1, maxLength: 3 }),
        (updates) => {
          const before = prototypeSnapshot()
          const logger = capturingLogger()
          setLogger(logger)
          enablePerformanceMonitoring()

          for (const update of updates) {
            const previous = getPerformanceMonitor().config as unknown as Record<string, unknown>
            logger.entries.length = 0

            configurePerformance(update as never)
            monitorPerformance("fuzzed", () => undefined)

            const expected = expectedDecode(PERFORMANCE_VALIDATORS, previous, update)
            expect(getPerformanceMonitor().config).toEqual(expected.config)
            expectLoggedOnce(logger.at("warn"), "PerformanceConfig", update, expected)
          }
          expect(prototypeSnapshot()).toEqual(before)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("enablePerformanceMonitoring takes any config", () => {
    fc.assert(
      fc.property(fc.oneof(performanceOptions, anyValue), (config) => {
        const logger = capturingLogger()
        setLogger(logger)

        expect(() => enablePerformanceMonitoring(config as never)).not.toThrow()
        expect(getPerformanceMonitor().config.enabled).toBe(true)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("TelemetryManager takes any config", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(telemetryOptions, anyValue), async (config) => {
        const before = prototypeSnapshot()
        const logger = capturingLogger()
        setLogger(logger)

        const manager = new TelemetryManager(disabled(config) as never)
        await manager.shutdown()

        const decoded = withoutPassThrough(disabled(config))
        const expected = expectedDecode(TELEMETRY_VALIDATORS, telemetryDefaults, decoded)
        expect(manager.config).toEqual(expected.config)
        expectLoggedOnce(logger.at("warn"), "TelemetryConfig", decoded, expected)
        expectPassThroughLogged(logger.at("warn"), config)
        expect(prototypeSnapshot()).toEqual(before)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("configureTelemetry takes any update", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(telemetryOptions, anyValue), { minLength: 1, maxLength: 3 }),
        (updates) => {
          const before = prototypeSnapshot()
          const logger = capturingLogger()
          setLogger(logger)

          for (const update of updates) {
            const previous = getTelemetryManager().config as unknown as Record<string, unknown>
            logger.entries.length = 0

            const returned = configureTelemetry(update as never)

            const decoded = withoutPassThrough(update)
            const expected = expectedDecode(TELEMETRY_VALIDATORS, previous, decoded)
            expect(returned).toEqual({ ...expected.config, enabled: false })
            expectLoggedOnce(logger.at("warn"), "TelemetryConfig", decoded, expected)
            expectPassThroughLogged(logger.at("warn"), update)
          }
          expect(prototypeSnapshot()).toEqual(before)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("enableTelemetry takes any options", async () => {
    const dir = await makeTempDir()
    let run = 0
    let delivered = 0

    await fc.assert(
      fc.asyncProperty(telemetryOptions, async (options) => {
        const before = prototypeSnapshot()
        const logger = capturingLogger()
        setLogger(logger)
        const outputFile = path.join(dir, `run-${run++}.out`)
        const given = { ...options, exportDestination: "file", outputFile, flushOnExit: false }

        try {
          const enabled = await enableTelemetry(given as never)
          monitorPerformance("fuzzed", () => undefined, { size: 1 })
          const exported = await exportTelemetry()
          const stats = getTelemetryManager().stats
          const config = getTelemetryManager().config
          const flushed = await disableTelemetry()

          const decoded = withoutPassThrough(given)
          const expected = expectedDecode(TELEMETRY_VALIDATORS, telemetryDefaults, decoded)
          expect(config).toEqual({ ...expected.config, enabled: true })
          expectLoggedOnce(logger.at("warn"), "TelemetryConfig", decoded, expected)
          expectPassThroughLogged(logger.at("warn"), given)

          expect(typeof enabled).toBe("boolean")
          expect(typeof exported).toBe("boolean")
          expect(typeof flushed).toBe("boolean")
          // Every record is delivered or counted as dropped, with its reason.
          const dropped = Object.values(stats.dropped).reduce((sum, count) => sum + count, 0)
          expect(stats.delivered + stats.buffered + stats.inFlight + dropped).toBe(stats.produced)
          // The installed formats and the file sink log bad options and load anyway.
          if (INSTALLED_FORMATS.includes(config.exportFormat)) expect(enabled).toBe(true)
          const sinkLines = logger.at("warn").filter((line) => line.startsWith("file sink: "))
          expect(sinkLines).toHaveLength(unusableFileSinkOptions(options.sinkOptions))
          if (enabled) {
            // A valid format is loaded, so the export reaches the file.
            expect(exported).toBe(true)
            expect(existsSync(outputFile)).toBe(stats.delivered > 0)
            if (stats.delivered > 0) delivered++
          }
          const unexpected = logger.at("error").filter((line) => line.includes("unexpectedly"))
          expect(unexpected).toEqual([])
          expect(prototypeSnapshot()).toEqual(before)
        } finally {
          await resetGlobals()
        }
      }),
      { numRuns: 30 },
    )
    // Most generated formats are valid, so some runs must have exported to a file.
    expect(delivered).toBeGreaterThan(0)
  })
})

const INSTALLED_FORMATS = ["json", "csv", "prometheus"]

/** Counts the `sinkOptions` the file sink cannot use: unknown keys and invalid values. */
const unusableFileSinkOptions = (sinkOptions: unknown): number => {
  if (typeof sinkOptions !== "object" || sinkOptions === null || Array.isArray(sinkOptions)) {
    return 0
  }
  let unusable = 0
  for (const [key, value] of Object.entries(sinkOptions)) {
    if (value === undefined && key !== "path" && FILE_SINK_OPTIONS.includes(key)) continue
    const usable =
      key === "fileMode"
        ? value === "append" || value === "replace"
        : key === "mode"
          ? Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0o777
          : FILE_SINK_OPTIONS.includes(key) && typeof value === "function"
    if (!usable) unusable++
  }
  return unusable
}

/** The config without `enabled: true`, so that constructing never starts an export to a file. */
const disabled = (config: unknown): unknown => {
  if (typeof config !== "object" || config === null || Array.isArray(config)) return config
  if ((config as Record<string, unknown>).enabled !== true) return config
  return objectOf([...Object.entries(config), ["enabled", false]])
}

const HTTP_SINK_OPTIONS = [
  "method",
  "headers",
  "compression",
  "timeoutMs",
  "maxAttempts",
  "initialBackoffMs",
  "maxBackoffMs",
  "maxRetryAfterMs",
  "keepAliveTimeoutMs",
  "logger",
  "url",
]

describe("facade http sink options fuzzing", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  afterEach(async () => {
    await stopCollectors()
  })

  it("enableTelemetry loads the http sink", async () => {
    const collector = await startCollector()

    await fc.assert(
      fc.asyncProperty(optionsObject(HTTP_SINK_OPTIONS), async (sinkOptions) => {
        const before = prototypeSnapshot()
        const logger = capturingLogger()
        setLogger(logger)

        try {
          // No record is produced, so no request is sent and slow retry options cost nothing.
          const enabled = await enableTelemetry({
            exportDestination: "http",
            httpEndpoint: collector.url,
            flushOnExit: false,
            shutdownTimeoutMs: 100,
            sinkOptions,
          })

          expect(enabled).toBe(true)
          expect(logger.at("error")).toEqual([])
          expect(prototypeSnapshot()).toEqual(before)
        } finally {
          await resetGlobals()
        }
      }),
      { numRuns: 30 },
    )
  })
})

describe("sink layers fuzzing", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("layers fail only with SinkError", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("file", "http"),
        fc.oneof(optionsObject([...FILE_SINK_OPTIONS, ...HTTP_SINK_OPTIONS, "path"]), anyValue),
        async (destination, options) => {
          const before = prototypeSnapshot()
          const layer =
            destination === "file"
              ? FileSink.layer(options as never)
              : HttpSink.layer(options as never)

          const exit = await Effect.runPromiseExit(
            Effect.service(Sink.Sink).pipe(Effect.provide(layer)),
          )

          if (Exit.isFailure(exit)) {
            expect(Cause.squash(exit.cause)).toBeInstanceOf(SinkError.SinkError)
          }
          expect(prototypeSnapshot()).toEqual(before)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})

describe("facade sink options regressions", () => {
  afterEach(async () => {
    await stopCollectors()
  })

  it("file sink warns about fileMode 'sometimes'", async () => {
    const logger = capturingLogger()
    setLogger(logger)
    const outputFile = path.join(await makeTempDir(), "t.json")

    const enabled = await enableTelemetry({
      outputFile,
      flushOnExit: false,
      sinkOptions: { fileMode: "sometimes" },
    })
    monitorPerformance("after_bad_file_mode", () => undefined)
    const exported = await exportTelemetry()

    expect(enabled).toBe(true)
    expect(exported).toBe(true)
    expect((await readExport(outputFile)).metrics).toHaveLength(1)
    expect(logger.containing('"fileMode"')).toEqual([
      'file sink: invalid value "sometimes" for option "fileMode" (expected "append" or "replace"); using the payload\'s own mode instead.',
    ])
  })

  it("file sink warns about unknown 'flie'", async () => {
    const logger = capturingLogger()
    setLogger(logger)
    const outputFile = path.join(await makeTempDir(), "t.json")

    const enabled = await enableTelemetry({
      outputFile,
      flushOnExit: false,
      sinkOptions: { flie: 1 },
    })

    expect(enabled).toBe(true)
    expect(logger.containing('"flie"')).toEqual([
      'file sink: unknown option "flie" is ignored. Known options: fileMode, mode, onMovedAside, onRepaired, nowMillis.',
    ])
  })

  it("http sink warns about timeoutMs -1", async () => {
    const logger = capturingLogger()
    setLogger(logger)
    const collector = await startCollector()

    const enabled = await enableTelemetry({
      exportDestination: "http",
      httpEndpoint: collector.url,
      flushOnExit: false,
      sinkOptions: { timeoutMs: -1 },
    })
    monitorPerformance("after_bad_timeout", () => undefined)
    const exported = await exportTelemetry()

    expect(enabled).toBe(true)
    expect(exported).toBe(true)
    expect(collector.received).toHaveLength(1)
    expect(logger.containing('"timeoutMs"')).toEqual([
      'http sink: "timeoutMs" must be a finite number of at least 1, got -1. The option is ignored and its default used.',
    ])
  })

  it("http sink warns about maxBackoffMs below initialBackoffMs", async () => {
    const logger = capturingLogger()
    setLogger(logger)
    const collector = await startCollector()

    const enabled = await enableTelemetry({
      exportDestination: "http",
      httpEndpoint: collector.url,
      flushOnExit: false,
      sinkOptions: { initialBackoffMs: 20_000, maxBackoffMs: 1000, retries: 3 },
    })

    expect(enabled).toBe(true)
    expect(logger.containing("http sink:")).toEqual([
      'http sink: unknown option "retries" is ignored.',
      'http sink: "maxBackoffMs" (1000) must not be less than "initialBackoffMs" (20000). Both backoff options are ignored and their defaults used.',
    ])
  })
})
