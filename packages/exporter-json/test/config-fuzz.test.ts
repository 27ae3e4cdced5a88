/**
 * Configuration fuzzing: the exporter's options get arbitrary values. Nothing
 * throws, each option the plugin cannot use as given is logged once, the
 * documented fallback is used, and `Object.prototype` stays as it was.
 */
import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import { Exporter, TelemetryConfig } from "@dinoair/telemetry"
import { prototypeSnapshot } from "@dinoair/test-support/options"
import { exporterOptionsObject, exporterOptionValue } from "@dinoair/test-support/records"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { JsonExporter, plugin } from "../src/index.js"

const NUM_RUNS = 200

/**
 * The time limit of each property test. One takes up to a few seconds alone, and the whole
 * suite runs two packages at a time on two cores, so the default 5 s limit is too tight.
 */
const PROPERTY_TIMEOUT_MS = 60_000

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
  customMetrics: { a: { b: { c: [1, 2] } } },
  parentId: undefined,
  systemInfo: undefined,
}

const context: Exporter.ExportContext = {
  timestamp: 1699123460,
  processMetrics: undefined,
  includeCustomMetrics: true,
  source: "checkout",
}

const KNOWN_OPTIONS = ["indent", "maxDepth"]

const optionsObject = exporterOptionsObject(KNOWN_OPTIONS)

const capturingLogger = (): DinoLogger & { readonly warnings: Array<string> } => {
  const warnings: Array<string> = []
  const ignore = (): void => undefined
  return {
    warnings,
    debug: ignore,
    info: ignore,
    warn: (message) => {
      warnings.push(message)
    },
    error: (message) => {
      warnings.push(message)
    },
  }
}

/** The documented fallback of `indent`: 0 unless a number, truncated and clamped to 0–10. */
const indentUsed = (given: unknown): number =>
  typeof given === "number" && !Number.isNaN(given)
    ? Math.min(10, Math.max(0, Math.trunc(given)))
    : 0

/** The documented fallback of `maxDepth`: 32 unless a finite number of at least 0, truncated. */
const maxDepthUsed = (given: unknown): number =>
  typeof given === "number" && Number.isFinite(given) && given >= 0 ? Math.trunc(given) : 32

const documentOf = (exporter: Exporter.ExporterShape): string =>
  Exporter.documentOf(exporter.encode([record], context))

describe("JsonExporter options fuzzing", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("make and layer take any options", () => {
    fc.assert(
      fc.property(fc.oneof(exporterOptionValue, optionsObject), (options) => {
        const before = prototypeSnapshot()

        const exporter = JsonExporter.make(options as JsonExporter.JsonExporterOptions)
        const fromLayer = Effect.runSync(
          Effect.service(Exporter.Exporter).pipe(
            Effect.provide(JsonExporter.layer(options as JsonExporter.JsonExporterOptions)),
          ),
        )

        expect(() => JSON.parse(documentOf(exporter))).not.toThrow()
        expect(documentOf(fromLayer)).toBe(documentOf(exporter))
        expect(prototypeSnapshot()).toEqual(before)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it("plugin warns once per unusable option", () => {
    fc.assert(
      fc.property(optionsObject, (options) => {
        const before = prototypeSnapshot()
        const logger = capturingLogger()

        const exporter = plugin.make({
          config: TelemetryConfig.defaultTelemetryConfig,
          options,
          logger,
        })

        const expected = JsonExporter.make({
          indent: indentUsed(options.indent),
          maxDepth: maxDepthUsed(options.maxDepth),
        })
        expect(documentOf(exporter)).toBe(documentOf(expected))
        for (const key of Object.keys(options)) {
          const mentions = logger.warnings.filter((line) =>
            line.includes(`option ${JSON.stringify(key)}`),
          )
          expect(mentions).toHaveLength(
            KNOWN_OPTIONS.includes(key) && isUsedAsGiven(key, options[key]) ? 0 : 1,
          )
        }
        expect(logger.warnings).toHaveLength(
          Object.keys(options).filter((key) => !isUsedAsGiven(key, options[key])).length,
        )
        expect(prototypeSnapshot()).toEqual(before)
      }),
      { numRuns: NUM_RUNS },
    )
  })
})

const isUsedAsGiven = (key: string, given: unknown): boolean => {
  if (given === undefined) return KNOWN_OPTIONS.includes(key)
  if (key === "indent") return Object.is(indentUsed(given), given)
  if (key === "maxDepth") return Object.is(maxDepthUsed(given), given)
  return false
}

describe("JsonExporter options regressions", () => {
  it("make accepts null options", () => {
    const exporter = JsonExporter.make(null as unknown as JsonExporter.JsonExporterOptions)

    expect(documentOf(exporter)).toBe(documentOf(JsonExporter.make()))
  })

  it("negative maxDepth gives the default", () => {
    const exporter = JsonExporter.make({ maxDepth: -1 })

    expect(documentOf(exporter)).toContain('"custom_metrics":{"a":{"b":{"c":[1,2]}}}')
  })

  it("plugin warns about indent '2'", () => {
    const logger = capturingLogger()

    plugin.make({
      config: TelemetryConfig.defaultTelemetryConfig,
      options: { indent: "2" },
      logger,
    })

    expect(logger.warnings).toEqual([
      'json exporter: invalid value "2" for option "indent" (expected a whole number of spaces from 0 to 10); using 0 instead.',
    ])
  })

  it("plugin warns about unknown intent", () => {
    const logger = capturingLogger()

    plugin.make({ config: TelemetryConfig.defaultTelemetryConfig, options: { intent: 2 }, logger })

    expect(logger.warnings).toEqual([
      'json exporter: unknown option "intent" is ignored. Known options: indent, maxDepth.',
    ])
  })
})
