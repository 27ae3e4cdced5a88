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
  /** Operation name, after the distinct-name cap. */
  readonly operation: string
  /** Number of operations ended since the last clear. */
  readonly count: number
  /** Number of those operations that ended with status `error`. */
  readonly errorCount: number
  /** Sum of the durations of those operations, in seconds. */
  readonly totalDuration: number
  /** Mean duration in seconds, or 0 when `count` is 0. */
  readonly meanDuration: number
  /** Shortest duration in seconds, or 0 when `count` is 0. */
  readonly minDuration: number
  /** Maximum duration in seconds, or 0 when `count` is 0. */
  readonly maxDuration: number
  /** Nearest-rank median of the retained durations in seconds, or 0 when none are retained. */
  readonly p50Duration: number
  /** Nearest-rank 95th percentile of the retained durations in seconds, or 0 without any. */
  readonly p95Duration: number
  /** Nearest-rank 99th percentile of the retained durations in seconds, or 0 without any. */
  readonly p99Duration: number
  /** Mean CPU percent, or `undefined` when no operation had a CPU reading. */
  readonly meanCpuUsage: number | undefined
  /** Highest CPU percent of one core, or `undefined` when no operation had a CPU reading. */
  readonly maxCpuUsage: number | undefined
  /** Mean RSS at the end of the operations, or `undefined` without memory readings. */
  readonly meanMemoryUsage: number | undefined
  /** Highest RSS in bytes at the end of an operation, or `undefined` without memory readings. */
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
  /** Number of operations added. */
  count = 0
  /** Number of added operations whose status is `error`. */
  errorCount = 0
  /** Sum of durations, in seconds. */
  totalDuration = 0
  /** Shortest duration in seconds, positive infinity until the first operation. */
  minDuration = Number.POSITIVE_INFINITY
  /** Maximum duration in seconds, 0 until the first operation. */
  maxDuration = 0
  /** Number of added operations that had a CPU reading. */
  cpuCount = 0
  /** Sum of CPU readings, in percent of one core. */
  cpuSum = 0
  /** Highest CPU reading in percent of one core, 0 until the first reading. */
  cpuMax = 0
  /** Number of added operations that had a memory reading. */
  memoryCount = 0
  /** Sum of RSS readings at the end of the operations, in bytes. */
  memorySum = 0
  /** Highest RSS reading at the end of an operation in bytes, 0 until the first reading. */
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

  /** Sets every total back to its initial value. */
  reset(): void {
    this.count = 0
    this.errorCount = 0
    this.totalDuration = 0
    this.minDuration = Number.POSITIVE_INFINITY
    this.maxDuration = 0
    this.cpuCount = 0
    this.cpuSum = 0
    this.cpuMax = 0
    this.memoryCount = 0
    this.memorySum = 0
    this.memoryMax = 0
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
): OperationSummary =>
  summarizeDurations(
    operation,
    totals,
    retained.map((record) => record.duration),
  )

/**
 * Builds the summary of one operation from its totals and the durations of
 * its retained records, in seconds. Sorts `durations` in place.
 *
 * @since 0.1.0
 */
export const summarizeDurations = (
  operation: string,
  totals: RunningTotals,
  durations: Array<number>,
): OperationSummary => {
  durations.sort((a, b) => a - b)
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
