/**
 * The metric families that DinoAir writes, built from records, a registry
 * snapshot and process metrics. Both the exporter and the pull handler
 * render through `buildFamilies`, so a file and a scrape carry the same
 * families.
 *
 * | family | type | labels | value |
 * |---|---|---|---|
 * | `dinoair_operation_duration_seconds` | gauge | `operation` | duration of the operation's latest record, in seconds |
 * | `dinoair_operation_memory_bytes` | gauge | `operation` | process RSS at the end of the latest record, in bytes |
 * | `dinoair_operation_cpu_percent` | gauge | `operation` | CPU used during the latest record, in percent of one core |
 * | `dinoair_custom_<name>` | gauge | `operation` | a numeric custom metric of the latest record |
 * | `dinoair_operations_total` | counter | `operation`, `status` | operations ended since the registry was created |
 * | `dinoair_operation_latency_seconds` | histogram | `operation` | distribution of durations, in seconds |
 * | `dinoair_operation_names_overflowed_total` | counter | none | records counted under `dinoair_overflow` |
 * | `process_*`, `nodejs_*` | as prom-client | `kind` for GC | process metrics of the export |
 *
 * Details:
 * - The latest record of an operation is the one with the greatest
 *   timestamp, among the records given and the registry's latest ones. On a
 *   tie the one that comes later wins, and the records given come after the
 *   registry's. Each gauge family thus has one series per operation, however
 *   many records an operation has.
 * - A gauge sample is left out when the latest record has no such reading.
 *   `NaN` and the infinities are written as such.
 * - A custom metric is written when its value is a number, a boolean (1 or
 *   0) or a BigInt within the range of a double, which is written as the
 *   nearest double. Strings, objects, dates, boxed numbers and other values
 *   are skipped, and so is a property whose getter throws.
 *   Names are sanitised as `Names.customMetricName` describes. When names
 *   of one record give the same family name, the first of them in UTF-16
 *   code-unit order that has a numeric value wins, so sanitising never
 *   writes a series twice. At most
 *   `maxCustomMetricNames` custom families are written: the first in
 *   code-unit order of their names.
 * - The counter and the histogram come from the registry, and appear once
 *   it has counted a record. Without a registry they are left out, because
 *   totals of one batch would go down between exports.
 * - Process metrics keep prom-client's names and are not prefixed, so
 *   existing Node.js dashboards keep working. `nodejs_gc_duration_seconds`
 *   has only the `+Inf` bucket, because the collector keeps a count and a
 *   sum per kind of collection and no distribution.
 *   `nodejs_eventloop_lag_seconds` is the mean delay since the previous
 *   read, whereas prom-client measures one `setImmediate` delay at scrape
 *   time.
 * - With timestamps on, a gauge of an operation carries its record's end
 *   time, a process metric the time it was read, and the counter and the
 *   histogram the time of the export or scrape.
 *
 * @since 0.1.0
 * @module
 */
import type { OperationMetrics } from "@dinoair/monitor"
import type { Exporter } from "@dinoair/telemetry"
import type { Family, Label, Sample } from "./Exposition.js"
import { timestampMsOf } from "./Exposition.js"
import { compareStrings, isAtLeastAsRecent } from "./internal/order.js"
import { customMetricName, sanitizeLabelName, sanitizePrefix, toWellFormed } from "./Names.js"
import type { RegistrySnapshot } from "./Registry.js"

/**
 * Options that shape the families, shared by the exporter and the pull
 * handler.
 *
 * @since 0.1.0
 */
export interface FamilyOptions {
  /**
   * Text before every DinoAir family name, sanitised as `Names.sanitizePrefix`
   * describes. Process metrics are never prefixed. Default `"dinoair_"`.
   */
  readonly prefix?: string | undefined
  /**
   * Labels added to every series, process metrics included. Names are
   * sanitised with `Names.sanitizeLabelName`, and values are written as
   * given. A name that is, after sanitising, `operation`, `status`, `kind`,
   * `le` or `quantile`, or that repeats another, is invalid. Default none.
   */
  readonly labels?: Readonly<Record<string, string>> | undefined
  /** Whether samples carry timestamps. */
  readonly timestamps?: boolean | undefined
  /** Whether process metrics are written when they are available. Default `true`. */
  readonly includeProcessMetrics?: boolean | undefined
  /** Maximum number of custom metric families written. Default 100. */
  readonly maxCustomMetricNames?: number | undefined
}

/**
 * Family options after validation.
 *
 * @since 0.1.0
 */
export interface ResolvedFamilyOptions {
  /** Sanitised text before every DinoAir family name. */
  readonly prefix: string
  /** Constant labels with sanitised names, invalid ones dropped. */
  readonly labels: ReadonlyArray<Label>
  /** Whether samples carry timestamps. */
  readonly timestamps: boolean
  /** Whether process metrics are written when they are available. */
  readonly includeProcessMetrics: boolean
  /** Maximum number of custom metric families written. */
  readonly maxCustomMetricNames: number
}

/**
 * The inputs that the families are built from.
 *
 * @since 0.1.0
 */
export interface FamilySources {
  /** Records whose latest one per operation feeds the gauges. */
  readonly records: Iterable<OperationMetrics>
  /** Cumulative totals, and more candidates for the latest record. */
  readonly registry: RegistrySnapshot | undefined
  /** Process figures, or `undefined` when none were read. */
  readonly processMetrics: Exporter.ProcessMetrics | undefined
  /** Whether custom metric families are written. */
  readonly includeCustomMetrics: boolean
  /** Unix seconds of the export or scrape, the timestamp of counters and histograms. */
  readonly nowSeconds: number
}

/**
 * The default of `prefix`, the text before every DinoAir family name.
 *
 * @since 0.1.0
 */
export const DEFAULT_PREFIX = "dinoair_"

/**
 * The default of `maxCustomMetricNames`: custom metric families written at most.
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_CUSTOM_METRIC_NAMES = 100

/** Label names that DinoAir's own families use, so a constant label cannot take them. @since 0.1.0 */
export const RESERVED_LABEL_NAMES: ReadonlyArray<string> = [
  "operation",
  "status",
  "kind",
  "le",
  "quantile",
]

/**
 * Validates family options. Each invalid field is passed to `onInvalid`
 * and, when `onInvalid` returns, keeps its default. An invalid constant
 * label is dropped.
 *
 * @since 0.1.0
 */
export const resolveFamilyOptions = (
  options: FamilyOptions,
  defaults: { readonly timestamps: boolean },
  onInvalid: (message: string) => void,
): ResolvedFamilyOptions => {
  // Only `undefined` means "not given": `null` from an untyped configuration is invalid and logged.
  const prefix = options.prefix === undefined ? DEFAULT_PREFIX : options.prefix
  const timestamps = options.timestamps === undefined ? defaults.timestamps : options.timestamps
  const includeProcessMetrics =
    options.includeProcessMetrics === undefined ? true : options.includeProcessMetrics
  const maxCustomMetricNames =
    options.maxCustomMetricNames === undefined
      ? DEFAULT_MAX_CUSTOM_METRIC_NAMES
      : options.maxCustomMetricNames

  return {
    prefix: sanitizePrefix(
      checked(
        typeof prefix === "string",
        prefix,
        DEFAULT_PREFIX,
        onInvalid,
        () => `prefix must be a string, got ${describe(prefix)}`,
      ),
    ),
    labels: resolveLabels(options.labels, onInvalid),
    timestamps: checked(
      typeof timestamps === "boolean",
      timestamps,
      defaults.timestamps,
      onInvalid,
      () => `timestamps must be true or false, got ${describe(timestamps)}`,
    ),
    includeProcessMetrics: checked(
      typeof includeProcessMetrics === "boolean",
      includeProcessMetrics,
      true,
      onInvalid,
      () => `includeProcessMetrics must be true or false, got ${describe(includeProcessMetrics)}`,
    ),
    maxCustomMetricNames: checked(
      Number.isInteger(maxCustomMetricNames) && (maxCustomMetricNames as number) >= 0,
      maxCustomMetricNames,
      DEFAULT_MAX_CUSTOM_METRIC_NAMES,
      onInvalid,
      () =>
        `maxCustomMetricNames must be a whole number of at least 0, got ${describe(maxCustomMetricNames)}`,
    ),
  }
}

/**
 * Builds the families in their written order: the operation gauges, the
 * custom metrics, the counter and histogram, then process metrics.
 *
 * @since 0.1.0
 */
export const buildFamilies = (
  sources: FamilySources,
  options: ResolvedFamilyOptions,
): Array<Family> => {
  const steps = buildFamiliesInSteps(sources, options)
  for (;;) {
    const step = steps.next()
    if (step.done === true) return step.value
  }
}

/**
 * Builds the families like `buildFamilies`, in steps: the generator yields
 * after the gauges and after every `OPERATIONS_PER_STEP` operations of the
 * counter and histogram, and returns the families.
 *
 * @since 0.1.0
 */
export function* buildFamiliesInSteps(
  sources: FamilySources,
  options: ResolvedFamilyOptions,
): Generator<void, Array<Family>, undefined> {
  const latest = latestByOperation(sources.records, sources.registry, options)
  const families: Array<Family> = [...operationGauges(latest, options)]

  if (sources.includeCustomMetrics) families.push(...customFamilies(latest, options))
  if (sources.registry !== undefined && sources.registry.operations.length > 0) {
    yield
    families.push(...(yield* aggregateFamilies(sources.registry, sources.nowSeconds, options)))
  }
  if (options.includeProcessMetrics && sources.processMetrics !== undefined) {
    families.push(...processFamilies(sources.processMetrics, options))
  }
  return families
}

/**
 * Operations whose counter and histogram samples `buildFamiliesInSteps`
 * builds per step: with the default 11 buckets, about 3,000 samples.
 */
const OPERATIONS_PER_STEP = 200

/**
 * The latest record of each operation, sorted by operation, with the labels
 * of its series. Every sample of one operation shares that labels array, so
 * rendering escapes it once per run of samples.
 */
type Latest = ReadonlyArray<
  readonly [operation: string, record: OperationMetrics, labels: ReadonlyArray<Label>]
>

const latestByOperation = (
  records: Iterable<OperationMetrics>,
  registry: RegistrySnapshot | undefined,
  options: ResolvedFamilyOptions,
): Latest => {
  const latest = new Map<string, OperationMetrics>()
  const offer = (operation: string, record: OperationMetrics): void => {
    const current = latest.get(operation)
    if (current === undefined || isAtLeastAsRecent(record, current)) latest.set(operation, record)
  }

  for (const totals of registry?.operations ?? []) offer(totals.operation, totals.latest)
  for (const record of records) offer(toWellFormed(String(record.operation)), record)
  return [...latest.entries()]
    .sort(([left], [right]) => compareStrings(left, right))
    .map(([operation, record]) => [
      operation,
      record,
      [["operation", operation] as Label, ...options.labels],
    ])
}

const operationGauges = (latest: Latest, options: ResolvedFamilyOptions): Array<Family> => {
  const gauge = (
    name: string,
    help: string,
    read: (record: OperationMetrics) => unknown,
  ): Family => {
    const samples: Array<Sample> = []
    for (const [, record, labels] of latest) {
      const value = read(record)
      if (typeof value !== "number") continue
      samples.push({
        name,
        labels,
        value,
        timestampMs: recordTimestamp(record, options),
      })
    }
    return { name, type: "gauge", help, samples }
  }

  const prefix = options.prefix
  return [
    gauge(
      `${prefix}operation_duration_seconds`,
      "Duration of operations in seconds",
      (record) => record.duration,
    ),
    gauge(
      `${prefix}operation_memory_bytes`,
      "Memory usage in bytes",
      (record) => record.memoryUsage,
    ),
    gauge(
      `${prefix}operation_cpu_percent`,
      "CPU used by the process during the operation, in percent of one core",
      (record) => record.cpuUsage,
    ),
  ]
}

const customFamilies = (latest: Latest, options: ResolvedFamilyOptions): Array<Family> => {
  const byFamily = new Map<string, Array<Sample>>()

  for (const [, record, labels] of latest) {
    const written = new Set<string>()
    for (const [name, value] of numericCustomMetrics(record.customMetrics)) {
      const family = customMetricName(options.prefix, name)
      if (written.has(family)) continue
      written.add(family)

      const samples = byFamily.get(family) ?? []
      samples.push({
        name: family,
        labels,
        value,
        timestampMs: recordTimestamp(record, options),
      })
      byFamily.set(family, samples)
    }
  }

  return [...byFamily.keys()]
    .sort(compareStrings)
    .slice(0, options.maxCustomMetricNames)
    .map((name) => ({
      name,
      type: "gauge",
      help: "Custom metric recorded by operations, from the latest record of each operation",
      samples: byFamily.get(name) ?? [],
    }))
}

/** The custom metrics that have a numeric value, sorted by name. */
const numericCustomMetrics = (
  customMetrics: unknown,
): Array<readonly [name: string, value: number]> => {
  if (typeof customMetrics !== "object" || customMetrics === null) return []

  const numeric: Array<readonly [string, number]> = []
  let names: Array<string>
  try {
    names = Object.keys(customMetrics).sort(compareStrings)
  } catch {
    // A proxy whose ownKeys trap throws has no readable metrics.
    return []
  }

  for (const name of names) {
    let value: unknown
    try {
      value = (customMetrics as Record<string, unknown>)[name]
    } catch {
      continue
    }
    const number = toSampleValue(value)
    if (number !== undefined) numeric.push([name, number])
  }
  return numeric
}

const toSampleValue = (value: unknown): number | undefined => {
  switch (typeof value) {
    case "number":
      return value
    case "boolean":
      return value ? 1 : 0
    case "bigint": {
      const number = Number(value)
      return Number.isFinite(number) ? number : undefined
    }
    default:
      return undefined
  }
}

function* aggregateFamilies(
  registry: RegistrySnapshot,
  nowSeconds: number,
  options: ResolvedFamilyOptions,
): Generator<void, Array<Family>, undefined> {
  const timestampMs = options.timestamps ? timestampMsOf(nowSeconds) : undefined
  const prefix = options.prefix
  const counterName = `${prefix}operations`
  const histogramName = `${prefix}operation_latency_seconds`
  const counterSamples: Array<Sample> = []
  const histogramSamples: Array<Sample> = []

  for (const [index, totals] of registry.operations.entries()) {
    if (index > 0 && index % OPERATIONS_PER_STEP === 0) yield
    const operation: Label = ["operation", totals.operation]
    for (const [status, count] of totals.statuses) {
      counterSamples.push({
        name: `${counterName}_total`,
        labels: [operation, ["status", status], ...options.labels],
        value: count,
        timestampMs,
      })
    }

    const labels: ReadonlyArray<Label> = [operation, ...options.labels]
    let cumulative = 0
    registry.buckets.forEach((bound, index) => {
      cumulative += totals.bucketCounts[index] ?? 0
      histogramSamples.push({
        name: `${histogramName}_bucket`,
        labels,
        le: bound,
        value: cumulative,
        timestampMs,
      })
    })
    histogramSamples.push(
      {
        name: `${histogramName}_bucket`,
        labels,
        le: Number.POSITIVE_INFINITY,
        value: totals.count,
        timestampMs,
      },
      { name: `${histogramName}_sum`, labels, value: totals.sum, timestampMs },
      { name: `${histogramName}_count`, labels, value: totals.count, timestampMs },
    )
  }

  return [
    {
      name: counterName,
      type: "counter",
      help: "Operations that ended, by operation and status",
      samples: counterSamples,
    },
    {
      name: histogramName,
      type: "histogram",
      help: "Distribution of operation durations in seconds",
      samples: histogramSamples,
    },
    {
      name: `${prefix}operation_names_overflowed`,
      type: "counter",
      help: "Records counted under the dinoair_overflow operation because the registry reached maxOperations names",
      samples: [
        {
          name: `${prefix}operation_names_overflowed_total`,
          labels: options.labels,
          value: registry.overflowedRecords,
          timestampMs,
        },
      ],
    },
  ]
}

const processFamilies = (
  metrics: Exporter.ProcessMetrics,
  options: ResolvedFamilyOptions,
): Array<Family> => {
  const timestampMs = options.timestamps ? timestampMsOf(metrics.timestamp) : undefined
  const single = (
    name: string,
    type: "gauge" | "counter",
    help: string,
    value: number,
  ): Family => ({
    name: type === "counter" ? name.slice(0, -"_total".length) : name,
    type,
    help,
    samples: [{ name, labels: options.labels, value, timestampMs }],
  })
  const lag = metrics.nodejsEventloopLagSeconds

  return [
    single(
      "process_cpu_user_seconds_total",
      "counter",
      "User CPU time of the process in seconds",
      metrics.processCpuUserSecondsTotal,
    ),
    single(
      "process_cpu_system_seconds_total",
      "counter",
      "System CPU time of the process in seconds",
      metrics.processCpuSystemSecondsTotal,
    ),
    single(
      "process_cpu_seconds_total",
      "counter",
      "User and system CPU time of the process in seconds",
      metrics.processCpuSecondsTotal,
    ),
    single(
      "process_resident_memory_bytes",
      "gauge",
      "Resident set size of the process in bytes",
      metrics.processResidentMemoryBytes,
    ),
    single(
      "nodejs_heap_size_total_bytes",
      "gauge",
      "V8 heap size in bytes",
      metrics.nodejsHeapSizeTotalBytes,
    ),
    single(
      "nodejs_heap_size_used_bytes",
      "gauge",
      "V8 heap used in bytes",
      metrics.nodejsHeapSizeUsedBytes,
    ),
    single(
      "nodejs_external_memory_bytes",
      "gauge",
      "Memory of C++ objects bound to JavaScript objects, in bytes",
      metrics.nodejsExternalMemoryBytes,
    ),
    single(
      "nodejs_eventloop_lag_seconds",
      "gauge",
      "Mean event-loop delay since the previous read, in seconds",
      lag.mean,
    ),
    single(
      "nodejs_eventloop_lag_min_seconds",
      "gauge",
      "Minimum event-loop delay since the previous read, in seconds",
      lag.min,
    ),
    single(
      "nodejs_eventloop_lag_max_seconds",
      "gauge",
      "Maximum event-loop delay since the previous read, in seconds",
      lag.max,
    ),
    single(
      "nodejs_eventloop_lag_mean_seconds",
      "gauge",
      "Mean event-loop delay since the previous read, in seconds",
      lag.mean,
    ),
    single(
      "nodejs_eventloop_lag_stddev_seconds",
      "gauge",
      "Standard deviation of the event-loop delay since the previous read, in seconds",
      lag.stddev,
    ),
    single(
      "nodejs_eventloop_lag_p50_seconds",
      "gauge",
      "Median event-loop delay since the previous read, in seconds",
      lag.p50,
    ),
    single(
      "nodejs_eventloop_lag_p90_seconds",
      "gauge",
      "90th percentile of the event-loop delay since the previous read, in seconds",
      lag.p90,
    ),
    single(
      "nodejs_eventloop_lag_p99_seconds",
      "gauge",
      "99th percentile of the event-loop delay since the previous read, in seconds",
      lag.p99,
    ),
    gcFamily(metrics, options, timestampMs),
  ]
}

const gcFamily = (
  metrics: Exporter.ProcessMetrics,
  options: ResolvedFamilyOptions,
  timestampMs: number | undefined,
): Family => {
  const name = "nodejs_gc_duration_seconds"
  const samples: Array<Sample> = []
  const kinds = [...metrics.nodejsGcDurationSeconds].sort((left, right) =>
    compareStrings(left.kind, right.kind),
  )
  const seen = new Set<string>()

  for (const gc of kinds) {
    const kind = toWellFormed(String(gc.kind))
    if (seen.has(kind)) continue
    seen.add(kind)
    const labels: ReadonlyArray<Label> = [["kind", kind], ...options.labels]
    samples.push(
      {
        name: `${name}_bucket`,
        labels,
        le: Number.POSITIVE_INFINITY,
        value: gc.count,
        timestampMs,
      },
      { name: `${name}_sum`, labels, value: gc.sum, timestampMs },
      { name: `${name}_count`, labels, value: gc.count, timestampMs },
    )
  }

  return {
    name,
    type: "histogram",
    help: "Garbage-collection pauses in seconds, by kind of collection",
    samples,
  }
}

const recordTimestamp = (
  record: OperationMetrics,
  options: ResolvedFamilyOptions,
): number | undefined =>
  options.timestamps && typeof record.timestamp === "number"
    ? timestampMsOf(record.timestamp)
    : undefined

const resolveLabels = (
  labels: unknown,
  onInvalid: (message: string) => void,
): ReadonlyArray<Label> => {
  if (labels === undefined) return []
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    onInvalid(`labels must be an object of label names to string values, got ${describe(labels)}`)
    return []
  }

  const resolved: Array<Label> = []
  const names = new Map<string, string>()
  for (const [given, value] of Object.entries(labels)) {
    const name = sanitizeLabelName(given)
    if (typeof value !== "string") {
      onInvalid(`labels.${given} must be a string, got ${describe(value)}`)
      continue
    }
    if (RESERVED_LABEL_NAMES.includes(name)) {
      onInvalid(
        `labels.${given} is invalid: after sanitising it is "${name}", which DinoAir's own series use. Rename it.`,
      )
      continue
    }
    const earlier = names.get(name)
    if (earlier !== undefined) {
      onInvalid(
        `labels.${given} is invalid: after sanitising it is "${name}", the same as labels.${earlier}. Rename one of them.`,
      )
      continue
    }
    names.set(name, given)
    resolved.push([name, toWellFormed(value)])
  }
  return resolved
}

const checked = <A>(
  valid: boolean,
  value: unknown,
  fallback: A,
  onInvalid: (message: string) => void,
  message: () => string,
): A => {
  if (valid) return value as A
  onInvalid(message())
  return fallback
}

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (Array.isArray(value)) return "an array"
  if (typeof value === "object" && value !== null) return "an object"
  return String(value)
}
