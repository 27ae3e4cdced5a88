/**
 * Readings of process CPU time, heap and resident memory for the monitor.
 *
 * Each reading costs between a few hundred nanoseconds and several
 * microseconds, so the monitor takes only the ones its configuration asks
 * for. RSS is the costly one (a direct read is about 8 µs on Linux because
 * it parses /proc), so it is cached and refreshed at most once per
 * `rssMaxAgeMs`.
 *
 * @since 0.1.0
 * @module
 */
import { getHeapStatistics } from "node:v8"

/**
 * Reads resources for the monitor. Replace it in tests to get exact figures.
 *
 * @since 0.1.0
 */
export interface ResourceReader {
  /** Process CPU time, user plus system, in microseconds. */
  cpuMicros(): number
  /** V8 heap used, in bytes. */
  heapUsedBytes(): number
  /** Process resident set size, in bytes; may be up to `rssMaxAgeMs` old. */
  rssBytes(): number
}

/**
 * The default maximum age of a cached RSS reading, in milliseconds.
 *
 * @since 0.1.0
 */
export const DEFAULT_RSS_MAX_AGE_MS = 5

/**
 * Creates a reader of the live process.
 *
 * @since 0.1.0
 */
export const liveResourceReader = (
  options: { readonly rssMaxAgeMs?: number; readonly monotonicMs?: () => number } = {},
): ResourceReader => {
  const maxAgeMs = options.rssMaxAgeMs ?? DEFAULT_RSS_MAX_AGE_MS
  const now = options.monotonicMs ?? (() => performance.now())
  let rss = 0
  let rssReadAt = Number.NEGATIVE_INFINITY

  return {
    cpuMicros: () => {
      const usage = process.cpuUsage()
      return usage.user + usage.system
    },
    heapUsedBytes: () => getHeapStatistics().used_heap_size,
    rssBytes: () => {
      const at = now()
      if (at - rssReadAt >= maxAgeMs) {
        rss = process.memoryUsage.rss()
        rssReadAt = at
      }
      return rss
    },
  }
}

/**
 * The clocks a monitor reads: monotonic for durations, wall for timestamps.
 *
 * @since 0.1.0
 */
export interface MonitorClock {
  /** A monotonic time in milliseconds, for durations. */
  monotonicMs(): number
  /** Unix time in milliseconds, for timestamps. */
  wallMs(): number
}

/**
 * `performance.now()` and `Date.now()`.
 *
 * @since 0.1.0
 */
export const liveClock: MonitorClock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
}
