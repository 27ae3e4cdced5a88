/**
 * The record of one ended operation, and the host facts that can go with it.
 *
 * @since 0.1.0
 * @module
 */
import os from "node:os"

/**
 * The outcome of an operation: `ok`, or `error` when it threw, rejected, failed
 * or was interrupted.
 *
 * @since 0.1.0
 */
export type OperationStatus = "ok" | "error"

/**
 * Custom metrics of one operation: the metadata given when it started, then
 * the values recorded while it ran. Values are kept as given; each exporter
 * documents how it maps values that its format cannot hold.
 *
 * @since 0.1.0
 */
export type CustomMetrics = Record<string, unknown>

/**
 * One ended operation.
 *
 * @since 0.1.0
 */
export interface OperationMetrics {
  /** The id that `startOperation` returned. It contains the operation name. */
  readonly id: string
  /** The operation name, after the distinct-name cap (see `OVERFLOW_OPERATION`). */
  readonly operation: string
  /** Wall time in seconds, from a monotonic clock. */
  readonly duration: number
  /** Unix time in seconds at the end of the operation, from the wall clock. */
  readonly timestamp: number
  /** Process RSS in bytes at the end, when memory tracking is on; the live reading is up to 5 ms old. */
  readonly memoryUsage: number | undefined
  /**
   * Change of V8 heap used in bytes, end minus start, when memory tracking
   * is on. The live reader caches heap readings for up to 5 ms
   * (`Resources.DEFAULT_MAX_AGE_MS`), so an operation shorter than that
   * often shows 0, and each end may miss what changed within that age.
   */
  readonly memoryDelta: number | undefined
  /**
   * Percent of one core that the process used during the operation, when
   * CPU tracking is on, at most 100 times the available cores. The CPU clock
   * advances in steps, so the figure is coarse for operations shorter than
   * a few milliseconds.
   */
  readonly cpuUsage: number | undefined
  /** Outcome: `ok`, or `error` when the operation threw, rejected, failed or was interrupted. */
  readonly status: OperationStatus
  /** The error's message when `status` is `error` and the cause was known. */
  readonly error: string | undefined
  /** Metadata given at the start plus the values recorded while the operation ran. */
  readonly customMetrics: CustomMetrics
  /** The id of the monitored operation that this one ran inside. */
  readonly parentId: string | undefined
  /** Host facts, present when `includeSystemInfo` is on. */
  readonly systemInfo: SystemInfo | undefined
}

/**
 * Facts about the host, read once per process.
 *
 * @since 0.1.0
 */
export interface SystemInfo {
  /** Host name, from `os.hostname()`. */
  readonly hostname: string
  /** Operating system as `process.platform` names it, such as `linux`. */
  readonly platform: string
  /** CPU architecture as `process.arch` names it, such as `x64`. */
  readonly arch: string
  /** Node.js version, from `process.version`, such as `v20.20.0`. */
  readonly runtimeVersion: string
  /** Default parallelism estimate from `os.availableParallelism()`, usually the logical CPUs. */
  readonly cpuCount: number
  /** Total physical memory in bytes. */
  readonly totalMemory: number
}

let cachedSystemInfo: SystemInfo | undefined

/**
 * Reads the host facts once and returns the same frozen object afterwards.
 *
 * @since 0.1.0
 */
export const systemInfo = (): SystemInfo => {
  cachedSystemInfo ??= Object.freeze({
    hostname: os.hostname(),
    platform: process.platform,
    arch: process.arch,
    runtimeVersion: process.version,
    cpuCount: os.availableParallelism(),
    totalMemory: os.totalmem(),
  })
  return cachedSystemInfo
}
