/**
 * Configuration fuzzing: the exporter's options get arbitrary values. The
 * lenient entry points (the facade's plugin and `makeLenient`) never throw
 * and log each unusable option once, `make` throws only its documented
 * `TypeError`, `layer` fails only with a `PrometheusError`, and
 * `Object.prototype` stays as it was.
 */
import type { OperationMetrics } from "@dinoair/monitor"
import { Exporter, TelemetryConfig } from "@dinoair/telemetry"
import { prototypeSnapshot } from "@dinoair/test-support/options"
import {
  exporterOptionsObject,
  hostileKey,
  hostileNumber,
  hostileString,
  objectOf,
} from "@dinoair/test-support/records"
import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  Names,
  PrometheusError,
  PrometheusExporter,
  PullHandler,
  plugin,
  Registry,
} from "../src/index.js"
import { context, makeLogger, parseExposition } from "./helpers.js"

const NUM_RUNS = 200

/**
 * The time limit of each property test. One takes up to a few seconds alone, and the whole
 * suite runs two packages at a time on two cores, so the default 5 s limit is too tight.
 */
const PROPERTY_TIMEOUT_MS = 60_000

const KNOWN_OPTIONS = [
  "timestamps",
  "registry",
  "buckets",
  "prefix",
  "labels",
  "includeProcessMetrics",
  "maxCustomMetricNames",
]

const record: OperationMetrics = {
  id: "data_processing#1",
  operation: "data_processing",
  duration: 0.153,
  timestamp: 1699123456.789,
  memoryUsage: 1048576,
  memoryDelta: undefined,
  cpuUsage: 15.3,
  status: "ok",
  error: undefined,
  customMetrics: { records: 3 },
  parentId: undefined,
  systemInfo: undefined,
}

/** Any value: wrong types, special numbers, BigInt, nested and circular objects. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  hostileString,
  fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withTypedArray: true,
    maxDepth: 2,
  }),
  fc.array(hostileNumber, { maxLength: 4 }),
  fc
    .uniqueArray(fc.tuple(hostileKey, fc.oneof(hostileString, hostileNumber)), {
      selector: ([key]) => key,
      maxLength: 3,
    })
    .map((entries) => objectOf(entries)),
  fc.constant(
    (() => {
      const circular: Record<string, unknown> = {}
      circular.self = circular
      return circular
    })(),
  ),
)

/** Option objects: known keys with any value, and unknown keys such as `__proto__`. */
const optionsObject = exporterOptionsObject(KNOWN_OPTIONS, anyValue)

/** Checks whether a usable `prefix` starts with a digit, so that the plugin warns about the `_` it adds. */
const isDigitPrefix = (key: string, value: unknown): boolean =>
  key === "prefix" && typeof value === "string" && Names.sanitizePrefix(value).startsWith("_")

/** Checks whether `make` can use the value of a known option as given. */
const isValid = (key: string, value: unknown): boolean => {
  if (value === undefined) return true
  switch (key) {
    case "timestamps":
    case "includeProcessMetrics":
      return typeof value === "boolean"
    case "prefix":
      return typeof value === "string"
    case "maxCustomMetricNames":
      return Number.isInteger(value) && (value as number) >= 0
    case "registry":
      return Registry.isRegistry(value)
    case "buckets":
      try {
        Registry.validateBuckets(value)
        return true
      } catch {
        return false
      }
    default:
      return false
  }
}

const encodeOne = (exporter: Exporter.ExporterShape): string => {
  exporter.observe?.(record)
  return Exporter.documentOf(exporter.encode([record], context()))
}

describe("PrometheusExporter options fuzzing", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("plugin warns once per unusable option", () => {
    fc.assert(
      fc.property(optionsObject, (options) => {
        const before = prototypeSnapshot()
        const logger = makeLogger()

        const exporter = plugin.make({
          config: TelemetryConfig.defaultTelemetryConfig,
          options,
          logger,
        })

        expect(() => parseExposition(encodeOne(exporter), "text")).not.toThrow()
        for (const key of Object.keys(options)) {
          const known = KNOWN_OPTIONS.includes(key)
          const mentions = logger
            .at("warn")
            .filter((line) =>
              known
                ? line.startsWith(`prometheus exporter: ${key}`)
                : line.startsWith(`prometheus exporter: unknown option ${JSON.stringify(key)} `),
            )
          // Labels are checked one by one, so an object of labels can give a warning for each.
          if (key === "labels") continue
          const warned = !known || !isValid(key, options[key]) || isDigitPrefix(key, options[key])
          expect(mentions).toHaveLength(warned ? 1 : 0)
        }
        expect(prototypeSnapshot()).toEqual(before)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("make throws only its TypeError", () => {
    fc.assert(
      fc.property(fc.oneof(anyValue, optionsObject), (options) => {
        const before = prototypeSnapshot()
        let exporter: Exporter.ExporterShape | undefined
        try {
          exporter = PrometheusExporter.make(
            options as PrometheusExporter.PrometheusExporterOptions,
          )
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError)
          // The message names the option: `buckets` errors come from the registry it builds.
          expect((error as Error).message).toMatch(/^(PrometheusExporter: \w|buckets)/)
        }

        if (exporter !== undefined) {
          expect(() => parseExposition(encodeOne(exporter), "text")).not.toThrow()
        }
        expect(prototypeSnapshot()).toEqual(before)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("layer fails only with PrometheusError", () => {
    fc.assert(
      fc.property(fc.oneof(anyValue, optionsObject), (options) => {
        const exit = Effect.runSyncExit(
          Effect.service(Exporter.Exporter).pipe(
            Effect.provide(
              PrometheusExporter.layer(options as PrometheusExporter.PrometheusExporterOptions),
            ),
          ),
        )

        if (Exit.isFailure(exit)) {
          expect(Cause.squash(exit.cause)).toBeInstanceOf(PrometheusError.PrometheusError)
        }
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("PullHandler.make throws only its TypeError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyValue,
          optionsObject,
          fc.record(
            { includeCustomMetrics: anyValue, processMetrics: anyValue, nowSeconds: anyValue },
            { requiredKeys: [] },
          ),
        ),
        (options) => {
          const before = prototypeSnapshot()
          try {
            const handler = PullHandler.make(
              { records: () => [record] },
              options as PullHandler.PullHandlerOptions,
            )
            // A handler that owns a process metrics collector stops it here.
            handler.close()
          } catch (error) {
            expect(error).toBeInstanceOf(TypeError)
            expect((error as Error).message).toMatch(/^PullHandler: \w/)
          }
          expect(prototypeSnapshot()).toEqual(before)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })

  it("Registry.make throws only a TypeError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyValue,
          fc.record(
            { buckets: anyValue, maxOperations: fc.oneof(anyValue, hostileNumber) },
            { requiredKeys: [] },
          ),
        ),
        (options) => {
          try {
            Registry.make(options as Registry.RegistryOptions)
          } catch (error) {
            expect(error).toBeInstanceOf(TypeError)
            expect((error as Error).message).toMatch(/^(buckets|maxOperations)/)
          }
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})

describe("PrometheusExporter options regressions", () => {
  it("make rejects registry {}", () => {
    expect(() =>
      PrometheusExporter.make({ registry: {} as unknown as Registry.Registry }),
    ).toThrowError(new TypeError("PrometheusExporter: registry must be made with Registry.make"))
  })

  it("plugin replaces registry {}", () => {
    const logger = makeLogger()
    const options = { registry: {} }

    const exporter = plugin.make({
      config: TelemetryConfig.defaultTelemetryConfig,
      options,
      logger,
    })

    expect(() => parseExposition(encodeOne(exporter), "text")).not.toThrow()
    expect(logger.at("warn")).toEqual([
      "prometheus exporter: registry must be made with Registry.make; a new registry is used instead.",
    ])
  })

  it("buckets without a prototype are named", () => {
    expect(() => Registry.validateBuckets(Object.create(null))).toThrowError(
      new TypeError("buckets must be an array of upper bounds in seconds, got an object"),
    )
  })

  it("make and Registry.make accept null", () => {
    const exporter = PrometheusExporter.make(
      null as unknown as PrometheusExporter.PrometheusExporterOptions,
    )

    expect(parseExposition(encodeOne(exporter), "text").length).toBeGreaterThan(0)
    expect(Registry.make(null as unknown as Registry.RegistryOptions).buckets).toEqual(
      Registry.DEFAULT_BUCKETS,
    )
  })

  it("plugin warns about timestamps null", () => {
    const logger = makeLogger()

    plugin.make({
      config: TelemetryConfig.defaultTelemetryConfig,
      options: { timestamps: null },
      logger,
    })

    expect(logger.at("warn")).toEqual([
      "prometheus exporter: timestamps must be true or false, got null. The default is used instead.",
    ])
  })

  it("plugin quotes the unknown key '\"'", () => {
    const logger = makeLogger()

    plugin.make({ config: TelemetryConfig.defaultTelemetryConfig, options: { '"': 1 }, logger })

    expect(logger.at("warn")[0]).toMatch(/^prometheus exporter: unknown option "\\"" is ignored\./)
  })
})

describe("PullHandler options regressions", () => {
  it("make accepts null", () => {
    const handler = PullHandler.make(
      { records: () => [record] },
      null as unknown as PullHandler.PullHandlerOptions,
    )

    expect(parseExposition(handler.render("text"), "text").length).toBeGreaterThan(0)
    handler.close()
  })

  it("includeCustomMetrics with a bad toString is named", () => {
    const options = { includeCustomMetrics: { toString: "" } }

    expect(() =>
      PullHandler.make({ records: () => [] }, options as unknown as PullHandler.PullHandlerOptions),
    ).toThrowError(
      new TypeError("PullHandler: includeCustomMetrics must be true or false, got an object"),
    )
  })
})
