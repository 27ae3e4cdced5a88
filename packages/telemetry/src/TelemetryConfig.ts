/**
 * The telemetry manager's configuration: fields, schemas and defaults,
 * declared once and shared by `Telemetry.make`, `Telemetry.layer` and the
 * facade.
 *
 * @since 0.1.0
 * @module
 */
import type { Config } from "@dinoair/monitor"
import { Schema } from "effect"
import { MIN_INTERVAL_SECONDS } from "./Scheduler.js"

/**
 * Telemetry options. The first thirteen are the reference API's
 * `TelemetryConfig`; the rest bound memory and shutdown further.
 *
 * @since 0.1.0
 */
export interface TelemetryConfig {
  /** Whether ended operations are collected and exported. Opt-in: default `false`. */
  readonly enabled: boolean
  /** Seconds between scheduled exports, from 0.01 to 2592000 (30 days). Default `60`. */
  readonly exportIntervalSeconds: number
  /** Records buffered per operation name; past it the oldest is dropped. Default `100`. */
  readonly maxMetricsPerOperation: number
  /** Records buffered in all; past it the oldest record of the largest operation is dropped. Default `10000`. */
  readonly maxTotalMetrics: number
  /** Records per exported payload. Default `500`. */
  readonly batchSize: number
  /** The format: `json`, `prometheus`, `csv`, or a registered plugin's name. Default `json`. */
  readonly exportFormat: string
  /** The destination: `file`, `http`, `console`, or a registered plugin's name. Default `file`. */
  readonly exportDestination: string
  /** The file for the `file` destination. Default `null`: `dinoair-telemetry.<extension>` in the working directory. */
  readonly outputFile: string | null
  /** The URL for the `http` destination. Default `null`. */
  readonly httpEndpoint: string | null
  /** Whether each export carries process CPU, memory, event-loop and GC figures. Default `true`. */
  readonly includeSystemMetrics: boolean
  /** Whether custom metrics are exported. Default `true`. */
  readonly includeCustomMetrics: boolean
  /** Hours after which a buffered record is dropped unexported. Default `24`. */
  readonly retentionHours: number
  /**
   * Distinct operation names buffered; further names share the
   * `dinoair_overflow` bucket but keep their own names when exported.
   * Default `1000`.
   */
  readonly maxOperationNames: number
  /** Milliseconds that `shutdown`, and the final flush on `beforeExit`, wait for the flush. Default `5000`. */
  readonly shutdownTimeoutMs: number
  /** Whether a final flush, limited to `shutdownTimeoutMs`, runs on the process's `beforeExit` event. Default `true`. */
  readonly flushOnExit: boolean
}

/**
 * The defaults of every telemetry option.
 *
 * @since 0.1.0
 */
export const defaultTelemetryConfig: TelemetryConfig = Object.freeze({
  enabled: false,
  exportIntervalSeconds: 60.0,
  maxMetricsPerOperation: 100,
  maxTotalMetrics: 10_000,
  batchSize: 500,
  exportFormat: "json",
  exportDestination: "file",
  outputFile: null,
  httpEndpoint: null,
  includeSystemMetrics: true,
  includeCustomMetrics: true,
  retentionHours: 24.0,
  maxOperationNames: 1000,
  shutdownTimeoutMs: 5000,
  flushOnExit: true,
})

const positiveInt = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))
const positiveFinite = Schema.Number.check(Schema.isFinite(), Schema.isGreaterThan(0))
const pluginName = Schema.String.check(Schema.isPattern(/^[a-z][a-z0-9_-]*$/))
const optionalPath = Schema.NullOr(Schema.String.check(Schema.isMinLength(1)))

/** The maximum export interval, in seconds: 30 days. */
const MAX_EXPORT_INTERVAL_SECONDS = 30 * 24 * 3600

/**
 * The schema of each telemetry option.
 *
 * @since 0.1.0
 */
export const telemetryConfigFields: Config.FieldSchemas<TelemetryConfig> = {
  enabled: Schema.Boolean,
  // The lower bound is the Scheduler's minimum interval, and the upper one catches unit mistakes.
  exportIntervalSeconds: Schema.Number.check(
    Schema.isFinite(),
    Schema.isBetween({ minimum: MIN_INTERVAL_SECONDS, maximum: MAX_EXPORT_INTERVAL_SECONDS }),
  ),
  maxMetricsPerOperation: positiveInt,
  maxTotalMetrics: positiveInt,
  batchSize: positiveInt,
  exportFormat: pluginName,
  exportDestination: pluginName,
  outputFile: optionalPath,
  httpEndpoint: optionalPath,
  includeSystemMetrics: Schema.Boolean,
  includeCustomMetrics: Schema.Boolean,
  retentionHours: positiveFinite,
  maxOperationNames: positiveInt,
  shutdownTimeoutMs: Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0)),
  flushOnExit: Schema.Boolean,
}
