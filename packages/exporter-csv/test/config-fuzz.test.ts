/**
 * Configuration fuzzing: the exporter's options get arbitrary values. Nothing
 * throws, each option the plugin cannot use as given is logged once, the
 * documented fallback is used, and `Object.prototype` stays as it was.
 */
import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import { Exporter, TelemetryConfig } from "@dinoair/telemetry"
import { prototypeSnapshot } from "@dinoair/test-support/options"
import { exporterOptionsObject, exporterOptionValue } from "@dinoair/test-support/records"
import { parse } from "csv-parse/sync"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { CsvExporter, plugin } from "../src/index.js"

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

const KNOWN_OPTIONS = ["maxDepth", "byteOrderMark"]

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

/** The documented fallback of `byteOrderMark`: anything but `true` counts as `false`. */
const byteOrderMarkUsed = (given: unknown): boolean => given === true

/** The documented fallback of `maxDepth`: 32 unless a finite number of at least 0, truncated. */
const maxDepthUsed = (given: unknown): number =>
  typeof given === "number" && Number.isFinite(given) && given >= 0 ? Math.trunc(given) : 32

const documentOf = (exporter: Exporter.ExporterShape): string =>
  Exporter.documentOf(exporter.encode([record], context))

describe("CsvExporter options fuzzing", { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("make and layer take any options", () => {
    fc.assert(
      fc.property(fc.oneof(exporterOptionValue, optionsObject), (options) => {
        const before = prototypeSnapshot()

        const exporter = CsvExporter.make(options as CsvExporter.CsvExporterOptions)
        const fromLayer = Effect.runSync(
          Effect.service(Exporter.Exporter).pipe(
            Effect.provide(CsvExporter.layer(options as CsvExporter.CsvExporterOptions)),
          ),
        )

        expect(parse(documentOf(exporter), { bom: true })).toHaveLength(2)
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

        const expected = CsvExporter.make({
          maxDepth: maxDepthUsed(options.maxDepth),
          byteOrderMark: byteOrderMarkUsed(options.byteOrderMark),
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
  if (key === "byteOrderMark") return Object.is(byteOrderMarkUsed(given), given)
  if (key === "maxDepth") return Object.is(maxDepthUsed(given), given)
  return false
}

describe("CsvExporter options regressions", () => {
  it("make accepts null options", () => {
    const exporter = CsvExporter.make(null as unknown as CsvExporter.CsvExporterOptions)

    expect(documentOf(exporter)).toBe(documentOf(CsvExporter.make()))
  })

  it("negative maxDepth gives the default", () => {
    const exporter = CsvExporter.make({ maxDepth: -1 })

    expect(documentOf(exporter)).toContain('"{""a"":{""b"":{""c"":[1,2]}}}"')
  })

  it("plugin warns about byteOrderMark 'yes'", () => {
    const logger = capturingLogger()

    plugin.make({
      config: TelemetryConfig.defaultTelemetryConfig,
      options: { byteOrderMark: "yes" },
      logger,
    })

    expect(logger.warnings).toEqual([
      'csv exporter: invalid value "yes" for option "byteOrderMark" (expected true or false); using false instead.',
    ])
  })

  it("plugin warns about unknown bom", () => {
    const logger = capturingLogger()

    plugin.make({ config: TelemetryConfig.defaultTelemetryConfig, options: { bom: true }, logger })

    expect(logger.warnings).toEqual([
      'csv exporter: unknown option "bom" is ignored. Known options: maxDepth, byteOrderMark.',
    ])
  })
})
