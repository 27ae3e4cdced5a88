/**
 * The monitor's configuration: fields, schemas and defaults, declared once
 * and shared by `Monitor.make`, `Monitor.layer` and the facade.
 *
 * @since 0.1.0
 * @module
 */
import { Schema } from "effect"
import type { FieldSchemas } from "./Config.js"

/**
 * Monitor options. The first seven are the reference API's
 * `PerformanceConfig`; the last two bound memory further.
 *
 * @since 0.1.0
 */
export interface PerformanceConfig {
  /** Whether operations are recorded at all. Default `true`. */
  readonly enabled: boolean
  /** Fraction of operations recorded, from 0 to 1, decided when each starts. Default `1`. */
  readonly samplingRate: number
  /** Ended operations kept per operation name for summaries. Default `1000`. */
  readonly maxMetricsRetained: number
  /** Whether RSS and the heap-used delta are read. Default `true`. */
  readonly enableMemoryTracking: boolean
  /** Whether process CPU time is read. Default `true`. */
  readonly enableCpuTracking: boolean
  /** Operations slower than this many milliseconds log a warning. Default `100`. */
  readonly thresholdDurationMs: number
  /** Whether each record carries host facts (`SystemInfo`). Default `false`. */
  readonly includeSystemInfo: boolean
  /** Distinct operation names; further names are recorded as `dinoair_overflow`. Default `1000`. */
  readonly maxOperationNames: number
  /** Operations started and not yet ended; past it the oldest is evicted. Default `10000`. */
  readonly maxActiveOperations: number
  /**
   * Distinct custom metric names kept per operation, metadata included.
   * Further new names are dropped and counted in `stats.droppedCustomMetrics`;
   * a name already kept is still updated. Default `64`.
   */
  readonly maxCustomMetrics: number
}

/**
 * The defaults of every monitor option.
 *
 * @since 0.1.0
 */
export const defaultPerformanceConfig: PerformanceConfig = Object.freeze({
  enabled: true,
  samplingRate: 1.0,
  maxMetricsRetained: 1000,
  enableMemoryTracking: true,
  enableCpuTracking: true,
  thresholdDurationMs: 100.0,
  includeSystemInfo: false,
  maxOperationNames: 1000,
  maxActiveOperations: 10_000,
  maxCustomMetrics: 64,
})

const positiveInt = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))

/**
 * The schema of each monitor option.
 *
 * @since 0.1.0
 */
export const performanceConfigFields: FieldSchemas<PerformanceConfig> = {
  enabled: Schema.Boolean,
  samplingRate: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  maxMetricsRetained: positiveInt,
  enableMemoryTracking: Schema.Boolean,
  enableCpuTracking: Schema.Boolean,
  thresholdDurationMs: Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0)),
  includeSystemInfo: Schema.Boolean,
  maxOperationNames: positiveInt,
  maxActiveOperations: positiveInt,
  maxCustomMetrics: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)),
}
