/**
 * Readings of process CPU time, heap and resident memory for the monitor.
 *
 * Each reading costs between a few hundred nanoseconds and several
 * microseconds, so the monitor takes only the ones its configuration
 * requests. The two memory readings are cached and refreshed at most once
 * per `maxAgeMs`. RSS is cached because a direct read parses /proc on Linux
 * (an estimated 8 µs), and heap used because `v8.getHeapStatistics()` allocates a new
 * object on every call, twice per operation.
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
  /** V8 heap used, in bytes; from the live reader, up to its `maxAgeMs` old. */
  heapUsedBytes(): number
  /** Process resident set size, in bytes; from the live reader, up to its `maxAgeMs` old. */
  rssBytes(): number
}

/**
 * Options of `liveResourceReader`.
 *
 * @since 0.1.0
 */
export interface LiveResourceReaderOptions {
  /**
   * Maximum age of a cached heap or RSS reading, in milliseconds; `0`
   * reads the process every time. Default `DEFAULT_MAX_AGE_MS` (5).
   */
  readonly maxAgeMs?: number | undefined
  /** The monotonic clock in milliseconds that ages the cache. Default `performance.now()`. */
  readonly monotonicMs?: (() => number) | undefined
  /** The uncached heap reading in bytes. Default `used_heap_size` of `v8.getHeapStatistics()`. */
  readonly readHeapUsedBytes?: (() => number) | undefined
  /** The uncached RSS reading in bytes. Default `process.memoryUsage.rss()`. */
  readonly readRssBytes?: (() => number) | undefined
}

/**
 * The default maximum age of a cached heap or RSS reading, in milliseconds.
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_AGE_MS = 5

/**
 * Creates a reader of the live process. CPU time is read on every call;
 * heap used and RSS come from caches that are at most `maxAgeMs` old.
 *
 * @since 0.1.0
 */
export const liveResourceReader = (options: LiveResourceReaderOptions = {}): ResourceReader => {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  const now = options.monotonicMs ?? (() => performance.now())
  const heap = cachedReading(
    options.readHeapUsedBytes ?? (() => getHeapStatistics().used_heap_size),
    maxAgeMs,
    now,
  )
  const rss = cachedReading(
    options.readRssBytes ?? (() => process.memoryUsage.rss()),
    maxAgeMs,
    now,
  )

  return {
    cpuMicros: () => {
      const usage = process.cpuUsage()
      return usage.user + usage.system
    },
    heapUsedBytes: heap,
    rssBytes: rss,
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
  /**
   * The Unix time in milliseconds at a monotonic reading taken just before,
   * for a clock that can derive it without reading the wall clock again.
   * Without it, the monitor calls `wallMs()`.
   */
  wallMsAt?(monotonicMs: number): number
}

/**
 * How often, in monotonic milliseconds, the live clock reads the wall clock
 * again to follow changes of the system time.
 *
 * @since 0.1.0
 */
export const WALL_CLOCK_RESYNC_MS = 1000

/**
 * `performance.now()` and `Date.now()`. Its `wallMsAt` adds an offset to
 * the monotonic reading, which saves a `Date.now()` call per operation, and
 * reads `Date.now()` again at most once per `WALL_CLOCK_RESYNC_MS`, so a
 * change of the system time shows in timestamps within about a second.
 *
 * @since 0.1.0
 */
export const liveClock: MonitorClock = (() => {
  let offset = Date.now() - performance.now()
  let syncedAt = performance.now()
  return {
    monotonicMs: () => performance.now(),
    wallMs: () => Date.now(),
    wallMsAt: (monotonicMs: number) => {
      if (monotonicMs - syncedAt >= WALL_CLOCK_RESYNC_MS) {
        offset = Date.now() - monotonicMs
        syncedAt = monotonicMs
      }
      return monotonicMs + offset
    },
  }
})()

/** Wraps `read` so that it runs at most once per `maxAgeMs` of `now`. */
const cachedReading = (read: () => number, maxAgeMs: number, now: () => number): (() => number) => {
  let value = 0
  let readAt = Number.NEGATIVE_INFINITY
  return () => {
    const at = now()
    if (at - readAt >= maxAgeMs) {
      value = read()
      readAt = at
    }
    return value
  }
}
