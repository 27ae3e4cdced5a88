/**
 * Configuration fuzzing of the monitor: `Monitor.makeUnsafe`, `make`,
 * `layer` and `configure` get arbitrary values. Nothing throws, each
 * unusable option is logged once, the default or the value in force is
 * kept, and `Object.prototype` stays as it was.
 */

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
import { Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Logging, Monitor, PerformanceConfig } from "../src/index.js"
import { capturingLogger, manualClock } from "./helpers.js"

const NUM_RUNS = 200

/**
 * The time limit of each property test. One takes up to a few seconds alone, and the whole
 * suite runs two packages at a time on two cores, so the default 5 s limit is too tight.
 */
const PROPERTY_TIMEOUT_MS = 60_000
const LABEL = "PerformanceConfig"

/** Each field's rule, as the README's options table states it. */
const VALIDATORS: Readonly<Record<string, (value: unknown) => boolean>> = {
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

const FIELDS = Object.keys(VALIDATORS)

/** Valid values are likely too, so that accepted fields are checked as well. */
const validValueFor = (key: string): fc.Arbitrary<unknown> => {
  switch (key) {
    case "samplingRate":
      return fc.double({ min: 0, max: 1, noNaN: true })
    case "thresholdDurationMs":
      return fc.oneof(hostileNumber, fc.double({ min: 0, max: 1e6, noNaN: true }))
    case "maxCustomMetrics":
    case "maxMetricsRetained":
    case "maxOperationNames":
    case "maxActiveOperations":
      return fc.oneof(fc.integer({ min: -2, max: 5000 }), hostileNumber)
    default:
      return fc.boolean()
  }
}

const performanceOptions = optionsObject(FIELDS, validValueFor)

/** Runs a few operations, so that a bad value in force would surface. */
const exercise = (monitor: Monitor.MonitorInstance): void => {
  for (let index = 0; index < 3; index++) {
    monitor.run(`operation_${index}`, () => index, { index })
  }
  const id = monitor.startOperation("manual", { big: 1n })
  monitor.recordCustomMetric(id, "rate", Number.NaN)
  monitor.endOperation(id)
  monitor.getMetricsSummary()
}

const expectLoggedOnce = (
  warnings: ReadonlyArray<string>,
  input: unknown,
  expected: ReturnType<typeof expectedDecode>,
): void => {
  const keys = typeof input === "object" && input !== null ? Object.keys(input) : []
  for (const key of keys) {
    expect(linesAbout(warnings, LABEL, key)).toBe(expected.logged.includes(key) ? 1 : 0)
  }
  const whole = warnings.filter((line) => line.endsWith(": expected an options object."))
  expect(whole).toHaveLength(expected.wholeLogged ? 1 : 0)
  expect(warnings).toHaveLength(expected.logged.length + (expected.wholeLogged ? 1 : 0))
}

describe("Monitor options fuzzing", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("makeUnsafe takes any options", () => {
    fc.assert(
      fc.property(performanceOptions, (options) => {
        const before = prototypeSnapshot()
        const logger = capturingLogger()

        const monitor = Monitor.makeUnsafe({
          ...options,
          clock: manualClock(),
          publish: false,
          logger,
        })
        exercise(monitor)

        const expected = expectedDecode(
          VALIDATORS,
          PerformanceConfig.defaultPerformanceConfig as unknown as Record<string, unknown>,
          options,
        )
        expect(monitor.config).toEqual(expected.config)
        expectLoggedOnce(
          logger.warnings.filter((line) => line.startsWith(`${LABEL}:`)),
          options,
          expected,
        )
        expect(prototypeSnapshot()).toEqual(before)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("makeUnsafe takes any value", () => {
    fc.assert(
      fc.property(anyValue, (options) => {
        const logger = capturingLogger()

        const monitor = Monitor.makeUnsafe(options as Monitor.MonitorOptions, logger)
        exercise(monitor)

        const expected = expectedDecode(
          VALIDATORS,
          PerformanceConfig.defaultPerformanceConfig as unknown as Record<string, unknown>,
          options,
        )
        expect(monitor.config).toEqual(expected.config)
        expectLoggedOnce(
          logger.warnings.filter((line) => line.startsWith(`${LABEL}:`)),
          options,
          expected,
        )
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("configure takes any update", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(performanceOptions, anyValue), { minLength: 1, maxLength: 4 }),
        (updates) => {
          const before = prototypeSnapshot()
          const logger = capturingLogger()
          const monitor = Monitor.makeUnsafe({ clock: manualClock(), publish: false, logger })

          for (const update of updates) {
            const previous = monitor.config as unknown as Record<string, unknown>
            logger.warnings.length = 0

            const returned = monitor.configure(update)
            exercise(monitor)

            const expected = expectedDecode(VALIDATORS, previous, update)
            expect(returned).toEqual(expected.config)
            expectLoggedOnce(
              logger.warnings.filter((line) => line.startsWith(`${LABEL}:`)),
              update,
              expected,
            )
          }
          expect(prototypeSnapshot()).toEqual(before)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("make and layer never fail", () => {
    fc.assert(
      fc.property(fc.oneof(performanceOptions, anyValue), (options) => {
        const logger = capturingLogger()
        const given = { ...(options as object), publish: false, logger }

        const made = Effect.runSyncExit(Monitor.make(given))
        const layered = Effect.runSyncExit(
          Effect.service(Monitor.Monitor).pipe(Effect.provide(Monitor.layer(given))),
        )

        expect(Exit.isSuccess(made)).toBe(true)
        expect(Exit.isSuccess(layered)).toBe(true)
      }),
      { numRuns: NUM_RUNS },
    )
  })
})

describe("Monitor options regressions", () => {
  it("makeUnsafe accepts null", () => {
    const monitor = Monitor.makeUnsafe(null as unknown as Monitor.MonitorOptions)

    expect(monitor.run("after_null", () => 1)).toBe(1)
    expect(monitor.config).toEqual(PerformanceConfig.defaultPerformanceConfig)
  })

  it("makeUnsafe logs an array", () => {
    const logger = capturingLogger()

    const monitor = Monitor.makeUnsafe([] as unknown as Monitor.MonitorOptions, logger)

    expect(monitor.config).toEqual(PerformanceConfig.defaultPerformanceConfig)
    expect(logger.warnings).toEqual([
      "PerformanceConfig: ignored an array: expected an options object.",
    ])
  })

  it("make accepts a number", () => {
    const logger = capturingLogger()

    const made = Effect.runSyncExit(
      Monitor.make(5 as unknown as Monitor.MonitorOptions).pipe(
        Effect.provideService(Logging.CurrentLogger, logger),
      ),
    )

    expect(Exit.isSuccess(made)).toBe(true)
    expect(logger.warnings).toEqual(["PerformanceConfig: ignored 5: expected an options object."])
  })
})
