/**
 * Configuration fuzzing of the telemetry manager: `Telemetry.makeUnsafe`,
 * `make`, `layer`, `configure` and `enable` get arbitrary values. Nothing
 * throws or fails, each unusable option is logged once, the default or the
 * value in force is kept, and `Object.prototype` stays as it was.
 */
import { Logging, type OperationMetrics } from "@dinoair/monitor"
import {
  anyValue,
  expectedDecode,
  hostileNumber,
  isBoolean,
  isFiniteAtLeastZero,
  isWholeAtLeast,
  linesAbout,
  optionsObject,
  prototypeSnapshot,
} from "@dinoair/test-support/options"
import { Effect, Exit, Layer } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Exporter, Scheduler, Sink, Telemetry, TelemetryConfig } from "../src/index.js"
import { makeExporter, makeHarness, makeLogger, record } from "./fixtures.js"

const NUM_RUNS = 200

/**
 * The time limit of each property test. One takes up to a few seconds alone, and the whole
 * suite runs two packages at a time on two cores, so the default 5 s limit is too tight.
 */
const PROPERTY_TIMEOUT_MS = 60_000
const LABEL = "TelemetryConfig"

const PLUGIN_NAME = /^[a-z][a-z0-9_-]*$/

/** Each field's rule, as the README's options table states it. */
const VALIDATORS: Readonly<Record<string, (value: unknown) => boolean>> = {
  enabled: isBoolean,
  exportIntervalSeconds: (value) =>
    typeof value === "number" && value >= Scheduler.MIN_INTERVAL_SECONDS && value <= 2_592_000,
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

const FIELDS = Object.keys(VALIDATORS)

/** Valid values are likely too, so that accepted fields are checked as well. */
const validValueFor = (key: string): fc.Arbitrary<unknown> => {
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
    case "exportDestination":
      return fc.constantFrom("json", "csv", "file", "http", "console", "My-Format", "", "a b")
    case "outputFile":
    case "httpEndpoint":
      return fc.constantFrom(null, "", "out.json", "\u0000", "http://127.0.0.1:1/")
    default:
      return fc.boolean()
  }
}

const telemetryOptions = optionsObject(FIELDS, validValueFor)

const defaults = TelemetryConfig.defaultTelemetryConfig as unknown as Record<string, unknown>

const expectLoggedOnce = (
  warnings: ReadonlyArray<string>,
  input: unknown,
  expected: ReturnType<typeof expectedDecode>,
): void => {
  const own = warnings.filter((line) => line.startsWith(`${LABEL}:`))
  const keys = typeof input === "object" && input !== null ? Object.keys(input) : []
  for (const key of keys) {
    expect(linesAbout(own, LABEL, key)).toBe(expected.logged.includes(key) ? 1 : 0)
  }
  const whole = own.filter((line) => line.endsWith(": expected an options object."))
  expect(whole).toHaveLength(expected.wholeLogged ? 1 : 0)
  expect(own).toHaveLength(expected.logged.length + (expected.wholeLogged ? 1 : 0))
}

/** A record for the manager to buffer and export. */
const someRecord = (): OperationMetrics => record("fuzzed", { customMetrics: { rate: 1 } })

describe("Telemetry options fuzzing", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("makeUnsafe takes any options", () => {
    fc.assert(
      fc.property(telemetryOptions, (options) => {
        const before = prototypeSnapshot()

        const { telemetry, logger } = makeHarness(options)

        // The harness gives `flushOnExit: false` before the options, which may override it.
        const given = { flushOnExit: false, ...options }
        const expected = expectedDecode(VALIDATORS, defaults, given)
        expect(telemetry.config).toEqual(expected.config)
        expectLoggedOnce(logger.at("warn"), given, expected)
        expect(prototypeSnapshot()).toEqual(before)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("makeUnsafe takes any value", () => {
    fc.assert(
      fc.property(anyValue, (options) => {
        expect(() =>
          Telemetry.makeUnsafe(options as Telemetry.TelemetryOptions, {
            exporter: makeExporter(),
            sink: Sink.makeMemory(),
          }),
        ).not.toThrow()
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("configure takes any update", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(telemetryOptions, anyValue), { minLength: 1, maxLength: 4 }),
        (updates) => {
          const before = prototypeSnapshot()
          const { telemetry, logger } = makeHarness()

          for (const update of updates) {
            const previous = telemetry.config as unknown as Record<string, unknown>
            logger.entries.length = 0

            const returned = Effect.runSync(telemetry.configure(update))

            const expected = expectedDecode(VALIDATORS, previous, update)
            // configure never changes `enabled`: enable and disable do.
            expect(returned).toEqual({ ...expected.config, enabled: previous.enabled })
            expectLoggedOnce(logger.at("warn"), update, expected)
          }
          expect(prototypeSnapshot()).toEqual(before)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("enable takes any overrides", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(telemetryOptions, anyValue), async (overrides) => {
        const before = prototypeSnapshot()
        const { telemetry, logger, emit, sink } = makeHarness()

        await Effect.runPromise(
          telemetry.enable(overrides as Partial<TelemetryConfig.TelemetryConfig>),
        )
        emit(someRecord())
        const exported = await Effect.runPromise(telemetry.forceExport)
        await Effect.runPromise(telemetry.shutdown)

        const expected = expectedDecode(VALIDATORS, { ...defaults, flushOnExit: false }, overrides)
        expect(telemetry.config).toEqual({ ...expected.config, enabled: false })
        expectLoggedOnce(logger.at("warn"), overrides, expected)
        expect(exported).toBe(true)
        expect(sink.payloads.reduce((sum, payload) => sum + payload.recordCount, 0)).toBe(1)
        expect(prototypeSnapshot()).toEqual(before)
      }),
      { numRuns: 60 },
    )
  })

  it("make and layer never fail", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(telemetryOptions, anyValue), async (options) => {
        const logger = makeLogger()
        const given = {
          ...(options as object),
          enabled: false,
          flushOnExit: false,
          logger,
          source: () => () => undefined,
        }
        const dependencies = Layer.mergeAll(
          Layer.succeed(Exporter.Exporter, makeExporter()),
          Layer.succeed(Sink.Sink, Sink.makeMemory()),
          Scheduler.layer,
        )

        const exit = await Effect.runPromiseExit(
          Effect.service(Telemetry.Telemetry).pipe(
            Effect.provide(Telemetry.layer(given).pipe(Layer.provide(dependencies))),
          ),
        )

        expect(Exit.isSuccess(exit)).toBe(true)
      }),
      { numRuns: 60 },
    )
  })
})

/** Builds the manager of `Telemetry.layer(options)` with a memory sink and shuts it down. */
const serviceFrom = (options: Telemetry.TelemetryOptions) => {
  const dependencies = Layer.mergeAll(
    Layer.succeed(Exporter.Exporter, makeExporter()),
    Layer.succeed(Sink.Sink, Sink.makeMemory()),
    Scheduler.layer,
  )
  return Effect.service(Telemetry.Telemetry).pipe(
    Effect.provide(Telemetry.layer(options).pipe(Layer.provide(dependencies))),
  )
}

describe("Telemetry options regressions", () => {
  it("makeUnsafe accepts null", () => {
    const telemetry = Telemetry.makeUnsafe(null as unknown as Telemetry.TelemetryOptions)

    expect(telemetry.config).toEqual(TelemetryConfig.defaultTelemetryConfig)
  })

  it("layer accepts null", async () => {
    const exit = await Effect.runPromiseExit(
      serviceFrom(null as unknown as Telemetry.TelemetryOptions),
    )

    expect(Exit.isSuccess(exit)).toBe(true)
  })

  it("layer logs an array", async () => {
    const logger = makeLogger()

    const telemetry = await Effect.runPromise(
      serviceFrom([] as unknown as Telemetry.TelemetryOptions).pipe(
        Effect.provideService(Logging.CurrentLogger, logger),
      ),
    )

    expect(telemetry.config).toEqual(TelemetryConfig.defaultTelemetryConfig)
    expect(logger.at("warn")).toEqual([
      "TelemetryConfig: ignored an array: expected an options object.",
    ])
  })
})
