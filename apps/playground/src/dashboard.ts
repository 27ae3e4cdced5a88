/**
 * The data behind the live dashboard of `--serve`: the JSON document that
 * `/api/summary` returns, built from the facade monitor's summaries, the
 * telemetry manager's counters, and the most recent records rendered
 * through the real JSON, Prometheus and CSV exporters.
 *
 * The page polls that document and builds its own time series from
 * successive responses, so the server keeps no history. One summary costs
 * what `getMetricsSummary` costs, and a built summary is reused for
 * `SUMMARY_CACHE_MS` so that several open pages do not multiply it.
 */
import type { OperationMetrics, OperationSummary } from "@dinoair/api"
import { CsvExporter } from "@dinoair/exporter-csv"
import { JsonExporter } from "@dinoair/exporter-json"
import { PrometheusExporter, type Registry } from "@dinoair/exporter-prometheus"
import type { TelemetryCounts } from "./report.js"
import { OPERATIONS } from "./workload.js"

/**
 * The sources of the dashboard's figures. The entry point passes readers of
 * the facade's process-wide monitor and telemetry manager, and tests pass
 * their own.
 */
export interface DashboardSource {
  /** Summaries per operation name, as `PerformanceMonitor.getMetricsSummary` returns them. */
  readonly summaries: () => Readonly<Record<string, OperationSummary>>
  /** The telemetry manager's counters, as `TelemetryManager.stats` returns them. */
  readonly telemetry: () => TelemetryCounts
}

/**
 * Options of `makeDashboard`.
 */
export interface DashboardOptions {
  /**
   * The registry that the Prometheus preview reads its counter and
   * histogram from; the `/metrics` registry, so both show the same totals.
   * Default: a registry of the dashboard's own, fed by `observe`.
   */
  readonly registry?: Registry.Registry | undefined
  /** The clock, in Unix seconds. Default `Date.now() / 1000`. */
  readonly nowSeconds?: (() => number) | undefined
}

/** Whether the workload is still running: `running` until the report is printed, then `finished`. */
export type RunState = "running" | "finished"

/**
 * One operation's line of the dashboard.
 */
interface OperationEntry {
  readonly operation: string
  /** Operations recorded, failed ones included. */
  readonly count: number
  /** Operations that ended with status `error`. */
  readonly errors: number
  /** Duration percentiles in milliseconds, over the records the monitor retains. */
  readonly p50Ms: number
  readonly p95Ms: number
  readonly p99Ms: number
  /** Mean CPU percent of one core since the start, or `null` without CPU readings. */
  readonly meanCpuPercent: number | null
  /** Mean and max process RSS at the end of the operations, in bytes, or `null` without readings. */
  readonly meanMemoryBytes: number | null
  readonly maxMemoryBytes: number | null
}

/**
 * Telemetry counters, with the sum of the drop reasons.
 */
interface TelemetryEntry extends TelemetryCounts {
  readonly droppedTotal: number
}

/** The export formats that the dashboard previews. */
type PreviewFormat = "json" | "prometheus" | "csv"

/**
 * The most recent records as one export of a format would write them.
 */
interface ExportPreview {
  readonly format: PreviewFormat
  readonly contentType: string
  /** Records rendered, at most `PREVIEW_RECORDS`. */
  readonly records: number
  /** The payload's text, cut at a line end when longer than `PREVIEW_MAX_CHARS`. */
  readonly text: string
  /** Characters left out of `text`; 0 when it is whole. */
  readonly omittedChars: number
}

/**
 * The document that `/api/summary` returns.
 */
export interface DashboardSummary {
  /** Unix time in seconds when the summary was built. */
  readonly timestamp: number
  readonly state: RunState
  /** One entry per operation: the playground's own operations first, then by name. */
  readonly operations: ReadonlyArray<OperationEntry>
  readonly telemetry: TelemetryEntry
  /** One preview per format: JSON, Prometheus, CSV. */
  readonly exports: ReadonlyArray<ExportPreview>
}

/**
 * The live figures of one run, kept by the server of `--serve`.
 */
export interface Dashboard {
  /** Keeps one ended operation for the previews. It is bound, and costs an array push and shift. */
  readonly observe: (record: OperationMetrics) => void
  /** Sets the state reported from now on. */
  readonly setState: (state: RunState) => void
  /** The current summary, built at most once per `SUMMARY_CACHE_MS`. */
  readonly summary: () => DashboardSummary
}

/** Records that the export previews render: the most recent ones. */
export const PREVIEW_RECORDS = 5

/** Characters of each export preview, at most. */
export const PREVIEW_MAX_CHARS = 4000

/** Spaces per level in the JSON preview, so that it reads as lines; the exported file has none. */
const PREVIEW_JSON_INDENT = 2

/** Milliseconds during which a built summary is returned again instead of being rebuilt. */
const SUMMARY_CACHE_MS = 200

/** The `source` field of the previewed exports. */
const PREVIEW_SOURCE = "dinoair-playground"

/**
 * Creates the dashboard's state for one run, in state `running`.
 *
 * @example
 * ```ts
 * const dashboard = makeDashboard({
 *   summaries: () => getPerformanceMonitor().getMetricsSummary(),
 *   telemetry: () => getTelemetryManager().stats,
 * })
 * getPerformanceMonitor().instance.subscribe(dashboard.observe)
 * JSON.stringify(dashboard.summary())
 * ```
 */
export const makeDashboard = (
  source: DashboardSource,
  options: DashboardOptions = {},
): Dashboard => {
  const nowSeconds = options.nowSeconds ?? (() => Date.now() / 1000)
  const exporters = [
    { format: "json", exporter: JsonExporter.make({ indent: PREVIEW_JSON_INDENT }) },
    {
      format: "prometheus",
      exporter: PrometheusExporter.make({ registry: options.registry, timestamps: false }),
    },
    { format: "csv", exporter: CsvExporter.make() },
  ] as const
  const recent: Array<OperationMetrics> = []
  let state: RunState = "running"
  let cached: { readonly at: number; readonly summary: DashboardSummary } | undefined

  const build = (now: number): DashboardSummary => {
    const context = {
      timestamp: now,
      processMetrics: undefined,
      includeCustomMetrics: true,
      source: PREVIEW_SOURCE,
    }
    return {
      timestamp: now,
      state,
      operations: operationEntries(source.summaries()),
      telemetry: telemetryEntry(source.telemetry()),
      exports: exporters.map(({ format, exporter }) => {
        const payload = exporter.encode(recent, context)
        return {
          format,
          contentType: payload.contentType,
          records: payload.recordCount,
          ...capText(payload.header + payload.body + payload.footer, PREVIEW_MAX_CHARS),
        }
      }),
    }
  }

  return {
    observe: (record) => {
      recent.push(record)
      if (recent.length > PREVIEW_RECORDS) recent.shift()
    },
    setState: (next) => {
      state = next
      cached = undefined
    },
    summary: () => {
      const now = nowSeconds()
      if (cached !== undefined && now >= cached.at && (now - cached.at) * 1000 < SUMMARY_CACHE_MS) {
        return cached.summary
      }
      const summary = build(now)
      cached = { at: now, summary }
      return summary
    },
  }
}

/**
 * Cuts `text` to at most `max` characters, at the last line end within
 * them when there is one, and counts the characters left out.
 */
export const capText = (
  text: string,
  max: number,
): { readonly text: string; readonly omittedChars: number } => {
  if (text.length <= max) return { text, omittedChars: 0 }

  const lineEnd = text.lastIndexOf("\n", max - 1)
  const kept = lineEnd > 0 ? text.slice(0, lineEnd + 1) : text.slice(0, max)
  return { text: kept, omittedChars: text.length - kept.length }
}

const operationEntries = (
  summaries: Readonly<Record<string, OperationSummary>>,
): Array<OperationEntry> => {
  const rank = (name: string) => {
    const index = (OPERATIONS as ReadonlyArray<string>).indexOf(name)
    return index === -1 ? OPERATIONS.length : index
  }
  const byRankThenName = (a: string, b: string): number => {
    if (rank(a) !== rank(b)) return rank(a) - rank(b)
    if (a === b) return 0
    return a < b ? -1 : 1
  }
  const names = Object.keys(summaries).sort(byRankThenName)

  return names.map((operation) => {
    const summary = summaries[operation]!
    return {
      operation,
      count: summary.count,
      errors: summary.errorCount,
      p50Ms: summary.p50Duration * 1000,
      p95Ms: summary.p95Duration * 1000,
      p99Ms: summary.p99Duration * 1000,
      meanCpuPercent: summary.meanCpuUsage ?? null,
      meanMemoryBytes: summary.meanMemoryUsage ?? null,
      maxMemoryBytes: summary.maxMemoryUsage ?? null,
    }
  })
}

const telemetryEntry = (counts: TelemetryCounts): TelemetryEntry => {
  const dropped = {
    perOperation: counts.dropped.perOperation,
    total: counts.dropped.total,
    retention: counts.dropped.retention,
    cleared: counts.dropped.cleared,
    rejected: counts.dropped.rejected,
  }
  return {
    produced: counts.produced,
    delivered: counts.delivered,
    buffered: counts.buffered,
    inFlight: counts.inFlight,
    dropped,
    droppedTotal:
      dropped.perOperation + dropped.total + dropped.retention + dropped.cleared + dropped.rejected,
  }
}
