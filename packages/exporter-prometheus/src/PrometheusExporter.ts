/**
 * The Prometheus exporter: writes records in the Prometheus text format
 * 0.0.4, with the reference metric names and HELP lines, per-operation
 * totals from a registry, and prom-client's process metrics.
 *
 * One record with timestamps on (the default) starts like the reference:
 *
 * ```text
 * # HELP dinoair_operation_duration_seconds Duration of operations in seconds
 * # TYPE dinoair_operation_duration_seconds gauge
 * dinoair_operation_duration_seconds{operation="data_processing"} 0.153 1699123456789
 *
 * # HELP dinoair_operation_memory_bytes Memory usage in bytes
 * # TYPE dinoair_operation_memory_bytes gauge
 * dinoair_operation_memory_bytes{operation="data_processing"} 1048576 1699123456789
 * ```
 *
 * `Families` lists every family, and `Names` the sanitising rules.
 *
 * Design: encoding is pure. The gauges come from the latest record of each
 * operation, so many records of one operation give one series per family.
 * A counter must never go down, which totals of one batch would do between
 * exports, so the counter and histogram come from a `Registry` that counts
 * each record once as it ends. The exporter owns a registry (its own, or
 * the `registry` option) and exposes its `observe` listener. The code that
 * collects records calls `observe` for each one, and `encode` only reads a
 * snapshot. Until something calls `observe`, the counter and histogram have
 * no series.
 *
 * When the context sets `recordsObserved` (the telemetry manager sets it,
 * because it passes every record to `observe` first), the gauges come from
 * the registry's latest record per operation alone, and `encode` costs what
 * the series cost, not what the batch costs. The output is the same, with
 * one exception: a record whose operation the registry counted under
 * `dinoair_overflow` (past `maxOperations`) gets no gauge series of its own.
 *
 * The payload replaces the file at each export (`fileMode: "replace"`), so
 * the file always contains one valid exposition. `@dinoair/sink-file` writes a
 * replacement to a temporary file and renames it over the target, which is
 * atomic. The header, footer and separator are empty.
 *
 * Gotchas:
 * - The Pushgateway and node_exporter's textfile collector reject samples
 *   with timestamps. Set `timestamps: false` for them.
 * - With timestamps on, a Prometheus server that reads the file through a
 *   collector would store each gauge at its record's end time. Samples
 *   older than its head block (about an hour) are dropped as out of bounds.
 *
 * @example
 * ```ts
 * import { PrometheusExporter } from "@dinoair/exporter-prometheus"
 *
 * const exporter = PrometheusExporter.make({ timestamps: false })
 * monitor.subscribe(exporter.observe)
 * const payload = exporter.encode(monitor.getRecords(), {
 *   timestamp: Date.now() / 1000,
 *   processMetrics: undefined,
 *   includeCustomMetrics: true,
 *   source: "checkout",
 * })
 * ```
 *
 * @since 0.1.0
 * @module
 */
import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import { Exporter, Plugin } from "@dinoair/telemetry"
import { Effect, Layer } from "effect"
import { render, renderInSteps, TEXT_CONTENT_TYPE } from "./Exposition.js"
import {
  buildFamilies,
  buildFamiliesInSteps,
  type FamilyOptions,
  type FamilySources,
  resolveFamilyOptions,
} from "./Families.js"
import { sanitizePrefix } from "./Names.js"
import { PrometheusError } from "./PrometheusError.js"
import * as Registry from "./Registry.js"

/**
 * Options of the Prometheus exporter.
 *
 * @since 0.1.0
 */
export interface PrometheusExporterOptions extends FamilyOptions {
  /**
   * Whether samples carry timestamps, in milliseconds. Turn them off for the
   * Pushgateway and the node_exporter textfile collector, which reject
   * them. Default `true`.
   */
  readonly timestamps?: boolean | undefined
  /**
   * The registry the counter and histogram come from. Default: a new
   * registry with `buckets`.
   */
  readonly registry?: Registry.Registry | undefined
  /**
   * Upper bounds of the duration histogram's buckets, in seconds, for the
   * registry this exporter creates. Give them to the registry instead when
   * passing `registry`. Default `Registry.DEFAULT_BUCKETS`.
   */
  readonly buckets?: ReadonlyArray<number> | undefined
}

/**
 * A Prometheus exporter, with the registry its counter and histogram read.
 *
 * @since 0.1.0
 */
export interface PrometheusExporterShape extends Exporter.ExporterShape {
  /** Registry that `observe` counts into and the counter and histogram are read from. */
  readonly registry: Registry.Registry
  /** Counts one ended operation in `registry`. It is bound, so it can be passed as a listener. */
  readonly observe: (record: OperationMetrics) => void
}

/**
 * The default of the exporter's `timestamps`: samples carry timestamps.
 *
 * @since 0.1.0
 */
export const DEFAULT_TIMESTAMPS = true

/** The name a configuration uses for this format. @since 0.1.0 */
export const FORMAT = "prometheus"

/**
 * The media type of the text format 0.0.4.
 *
 * @since 0.1.0
 */
export const CONTENT_TYPE = TEXT_CONTENT_TYPE

/**
 * The file extension of Prometheus payloads, without the dot.
 *
 * @since 0.1.0
 */
export const FILE_EXTENSION = "prom"

/**
 * Creates a Prometheus exporter.
 *
 * @throws TypeError for an invalid option, naming it and the value given.
 *
 * @since 0.1.0
 */
export const make = (options: PrometheusExporterOptions = {}): PrometheusExporterShape =>
  // Options may come from an untyped configuration, where `null` stands for none.
  build(typeof options === "object" && options !== null ? options : {}, (message) => {
    throw new TypeError(`PrometheusExporter: ${message}`)
  })

/**
 * A layer with a Prometheus exporter as the `Exporter` service. Building
 * it fails with a `PrometheusError` of reason `InvalidOption` when an
 * option is invalid.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { PrometheusExporter } from "@dinoair/exporter-prometheus"
 * import { Scheduler, Sink, Telemetry } from "@dinoair/telemetry"
 *
 * const TelemetryLive = Telemetry.layer({ enabled: true }).pipe(
 *   Layer.provide(
 *     Layer.mergeAll(
 *       PrometheusExporter.layer({ timestamps: false }),
 *       Sink.layerConsole(),
 *       Scheduler.layer,
 *     ),
 *   ),
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  options: PrometheusExporterOptions = {},
): Layer.Layer<Exporter.Exporter, PrometheusError> =>
  Layer.effect(
    Exporter.Exporter,
    Effect.try({
      try: () => make(options),
      catch: (error) =>
        new PrometheusError({
          reason: "InvalidOption",
          message: error instanceof Error ? error.message : String(error),
          cause: error,
        }),
    }),
  )

/**
 * The plugin that the facade loads for `exportFormat: "prometheus"`. The
 * configuration's `exporterOptions` are this exporter's options. An invalid
 * option is logged as a warning and replaced by its default, and an unknown
 * one is logged and ignored.
 *
 * @since 0.1.0
 */
export const plugin: Plugin.ExporterPlugin = {
  kind: "exporter",
  format: FORMAT,
  make: ({ options, logger }) => makeLenient(options, logger),
}

/**
 * Creates an exporter from untyped options, as the plugin does: each
 * invalid or unknown option is logged and replaced by its default.
 *
 * @since 0.1.0
 */
export const makeLenient = (
  options: Readonly<Record<string, unknown>>,
  logger: DinoLogger,
): PrometheusExporterShape => {
  const warn = (message: string): void => logger.warn(`prometheus exporter: ${message}`)
  if (typeof options !== "object" || options === null) {
    warn("options must be an object; the defaults are used instead.")
    return build({}, warn)
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      warn(
        `unknown option ${JSON.stringify(key)} is ignored. Known options: ${[...KNOWN_OPTIONS].join(", ")}.`,
      )
    }
  }

  const typed = options as PrometheusExporterOptions
  if (typeof typed.prefix === "string") warnAboutLeadingDigit(typed.prefix, warn)
  let registry = typed.registry
  if (registry !== undefined && !Registry.isRegistry(registry)) {
    warn("registry must be made with Registry.make; a new registry is used instead.")
    registry = undefined
  }

  let buckets = typed.buckets
  if (buckets !== undefined) {
    try {
      Registry.validateBuckets(buckets)
    } catch (error) {
      warn(
        `${Plugin.withoutFinalPeriod((error as Error).message)}. The default buckets are used instead.`,
      )
      buckets = undefined
    }
  }

  return build({ ...typed, registry, buckets }, (message) =>
    warn(`${Plugin.withoutFinalPeriod(message)}. The default is used instead.`),
  )
}

/** Warns when a prefix gets a leading `_` because it starts with a digit, which a metric name cannot. */
const warnAboutLeadingDigit = (prefix: string, warn: (message: string) => void): void => {
  const sanitized = sanitizePrefix(prefix)
  if (!sanitized.startsWith("_")) return
  warn(
    `prefix ${JSON.stringify(prefix)} starts with a digit, which a metric name cannot, so "${sanitized}" is used. Start the prefix with a letter to avoid the leading underscore.`,
  )
}

const KNOWN_OPTIONS = new Set([
  "timestamps",
  "registry",
  "buckets",
  "prefix",
  "labels",
  "includeProcessMetrics",
  "maxCustomMetricNames",
])

const build = (
  options: PrometheusExporterOptions,
  onInvalid: (message: string) => void,
): PrometheusExporterShape => {
  let given = options.registry
  if (given !== undefined && !Registry.isRegistry(given)) {
    // Checked here as well as in makeLenient, because a registry without `snapshot` would
    // otherwise make every later `encode` throw.
    onInvalid("registry must be made with Registry.make")
    given = undefined
  }
  if (given !== undefined && options.buckets !== undefined) {
    onInvalid("give buckets to Registry.make when passing a registry, not to the exporter")
  }
  const registry = given ?? Registry.make({ buckets: options.buckets })
  const settings = resolveFamilyOptions(options, { timestamps: DEFAULT_TIMESTAMPS }, onInvalid)
  const sourcesOf = (
    records: ReadonlyArray<OperationMetrics>,
    context: Exporter.ExportContext,
  ): FamilySources => ({
    // Observed records are already in the registry's latest records, so
    // the gauges need no walk over the batch and encoding costs what the
    // series cost, however large the batch.
    records: context.recordsObserved === true ? [] : records,
    registry: registry.snapshot(),
    processMetrics: context.processMetrics,
    includeCustomMetrics: context.includeCustomMetrics,
    nowSeconds: context.timestamp,
  })

  return {
    format: FORMAT,
    contentType: CONTENT_TYPE,
    fileExtension: FILE_EXTENSION,
    registry,
    observe: registry.observe,
    encode: (records, context) => {
      const families = buildFamilies(sourcesOf(records, context), settings)
      return payloadOf(records.length, render(families, "text"))
    },
    encodeInSteps: function* (records, context) {
      const families = yield* buildFamiliesInSteps(sourcesOf(records, context), settings)
      yield
      const chunks = yield* renderInSteps(families, "text", SAMPLES_PER_STEP)
      return { ...payloadOf(records.length, Exporter.concatenate(chunks)), bodyChunks: chunks }
    },
  }
}

/**
 * Sample lines rendered per step of `encodeInSteps`. 5,000 lines took about
 * 1 ms on an idle 2-core Linux machine with Node.js 20. With 1,000
 * operations an export writes about 20,000.
 */
const SAMPLES_PER_STEP = 5000

const payloadOf = (recordCount: number, body: string): Exporter.Payload => ({
  contentType: CONTENT_TYPE,
  fileExtension: FILE_EXTENSION,
  fileMode: "replace",
  header: "",
  body,
  footer: "",
  separator: "",
  recordCount,
})
