/**
 * Reads the process-level figures that go with each export: CPU seconds,
 * memory, event-loop delay and garbage-collection pauses.
 *
 * The event-loop histogram and the GC observer run only between `start`
 * and `stop`, which the telemetry manager calls on enable and disable, so
 * importing this module starts nothing.
 *
 * @since 0.1.0
 * @module
 */
import { type IntervalHistogram, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import type { ProcessMetrics } from "./Exporter.js"

/**
 * Resolution of the event-loop delay histogram, in milliseconds.
 *
 * @since 0.1.0
 */
export const EVENT_LOOP_RESOLUTION_MS = 10

const GC_KINDS: Record<number, string> = {
  1: "minor",
  2: "major",
  4: "incremental",
  8: "weakcb",
}

/**
 * A collector of process figures.
 *
 * @since 0.1.0
 */
export class ProcessMetricsCollector {
  #histogram: IntervalHistogram | undefined
  #observer: PerformanceObserver | undefined
  #gc = new Map<string, { count: number; sum: number }>()

  /** Starts the event-loop histogram and the GC observer. Calling it twice is harmless. */
  start(): void {
    if (this.#histogram !== undefined) return
    this.#histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS })
    this.#histogram.enable()
    try {
      this.#observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const detail = (entry as { detail?: { kind?: number } }).detail
          const kind = GC_KINDS[detail?.kind ?? 0] ?? "unknown"
          const totals = this.#gc.get(kind) ?? { count: 0, sum: 0 }
          totals.count++
          totals.sum += entry.duration / 1000
          this.#gc.set(kind, totals)
        }
      })
      this.#observer.observe({ entryTypes: ["gc"] })
    } catch {
      // GC entries are missing on some runtimes; the figures then stay empty.
      this.#observer = undefined
    }
  }

  /** Stops both sources. */
  stop(): void {
    this.#histogram?.disable()
    this.#histogram = undefined
    this.#observer?.disconnect()
    this.#observer = undefined
    this.#gc.clear()
  }

  /** Reads the figures, then resets the event-loop histogram; GC totals keep growing until `stop`. */
  read(nowSeconds: number): ProcessMetrics {
    const cpu = process.cpuUsage()
    const memory = process.memoryUsage()
    const histogram = this.#histogram
    const lag =
      histogram === undefined || histogram.count === 0
        ? { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 }
        : {
            min: histogram.min / 1e9,
            max: histogram.max / 1e9,
            mean: histogram.mean / 1e9,
            stddev: histogram.stddev / 1e9,
            p50: histogram.percentile(50) / 1e9,
            p90: histogram.percentile(90) / 1e9,
            p99: histogram.percentile(99) / 1e9,
          }
    histogram?.reset()
    const gc = [...this.#gc].map(([kind, totals]) => ({
      kind,
      count: totals.count,
      sum: totals.sum,
    }))

    return {
      processCpuSecondsTotal: (cpu.user + cpu.system) / 1e6,
      processCpuUserSecondsTotal: cpu.user / 1e6,
      processCpuSystemSecondsTotal: cpu.system / 1e6,
      processResidentMemoryBytes: memory.rss,
      nodejsHeapSizeUsedBytes: memory.heapUsed,
      nodejsHeapSizeTotalBytes: memory.heapTotal,
      nodejsExternalMemoryBytes: memory.external,
      nodejsEventloopLagSeconds: lag,
      nodejsGcDurationSeconds: gc,
      timestamp: nowSeconds,
    }
  }
}
