/**
 * Per-operation summaries: exact running totals over every recorded
 * operation, and duration percentiles over the retained window.
 *
 * @since 0.1.0
 * @module
 */
import type { OperationMetrics } from "./OperationMetrics.js"

/**
 * The summary of one operation name. Durations are in seconds, CPU in
 * percent of one core, memory in bytes.
 *
 * Details: `count`, `errorCount`, `totalDuration`, `meanDuration`,
 * `minDuration`, `maxDuration` and the CPU and memory figures cover every
 * operation recorded since the last clear. The percentiles cover only the
 * `retained` most recent ones (at most `maxMetricsRetained`).
 *
 * @since 0.1.0
 */
export interface OperationSummary {
  readonly operation: string
  readonly count: number
  readonly errorCount: number
  readonly totalDuration: number
  readonly meanDuration: number
  readonly minDuration: number
  readonly maxDuration: number
  readonly p50Duration: number
  readonly p95Duration: number
  readonly p99Duration: number
  /** Mean CPU percent, or `undefined` when no operation had a CPU reading. */
  readonly meanCpuUsage: number | undefined
  readonly maxCpuUsage: number | undefined
  /** Mean RSS at the end of the operations, or `undefined` without memory readings. */
  readonly meanMemoryUsage: number | undefined
  readonly maxMemoryUsage: number | undefined
  /** How many records the percentiles were computed from. */
  readonly retained: number
}

/**
 * Running totals of one operation name, updated on every ended operation.
 *
 * @since 0.1.0
 */
export class RunningTotals {
  count = 0
  errorCount = 0
  totalDuration = 0
  minDuration = Number.POSITIVE_INFINITY
  maxDuration = 0
  cpuCount = 0
  cpuSum = 0
  cpuMax = 0
  memoryCount = 0
  memorySum = 0
  memoryMax = 0

  /** Adds one ended operation to the totals. */
  add(record: OperationMetrics): void {
    this.count++
    if (record.status === "error") this.errorCount++
    this.totalDuration += record.duration
    if (record.duration < this.minDuration) this.minDuration = record.duration
    if (record.duration > this.maxDuration) this.maxDuration = record.duration
    if (record.cpuUsage !== undefined) {
      this.cpuCount++
      this.cpuSum += record.cpuUsage
      if (record.cpuUsage > this.cpuMax) this.cpuMax = record.cpuUsage
    }
    if (record.memoryUsage !== undefined) {
      this.memoryCount++
      this.memorySum += record.memoryUsage
      if (record.memoryUsage > this.memoryMax) this.memoryMax = record.memoryUsage
    }
  }
}

/**
 * Builds the summary of one operation from its totals and retained records.
 *
 * @since 0.1.0
 */
export const summarize = (
  operation: string,
  totals: RunningTotals,
  retained: ReadonlyArray<OperationMetrics>,
): OperationSummary => {
  const durations = retained.map((record) => record.duration).sort((a, b) => a - b)
  return {
    operation,
    count: totals.count,
    errorCount: totals.errorCount,
    totalDuration: totals.totalDuration,
    meanDuration: totals.count === 0 ? 0 : totals.totalDuration / totals.count,
    minDuration: totals.count === 0 ? 0 : totals.minDuration,
    maxDuration: totals.maxDuration,
    p50Duration: percentile(durations, 0.5),
    p95Duration: percentile(durations, 0.95),
    p99Duration: percentile(durations, 0.99),
    meanCpuUsage: totals.cpuCount === 0 ? undefined : totals.cpuSum / totals.cpuCount,
    maxCpuUsage: totals.cpuCount === 0 ? undefined : totals.cpuMax,
    meanMemoryUsage: totals.memoryCount === 0 ? undefined : totals.memorySum / totals.memoryCount,
    maxMemoryUsage: totals.memoryCount === 0 ? undefined : totals.memoryMax,
    retained: durations.length,
  }
}

/**
 * Returns the nearest-rank percentile of sorted values: the smallest value with at
 * least `fraction` of the values at or below it. Returns 0 for no values.
 *
 * @since 0.1.0
 */
export const percentile = (sorted: ReadonlyArray<number>, fraction: number): number => {
  if (sorted.length === 0) return 0
  const rank = Math.ceil(fraction * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number
}
