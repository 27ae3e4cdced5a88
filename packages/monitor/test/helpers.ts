/**
 * Test doubles shared by the monitor tests: a manual clock, a logger that
 * keeps what it receives, a resource reader with set figures, and a seeded
 * random number generator.
 */
import type { DinoLogger, Resources } from "../src/index.js"

/** A clock that moves only when the test advances it. */
export interface ManualClock extends Resources.MonitorClock {
  /** Moves both clocks forward by `ms` milliseconds. */
  advance(ms: number): void
  /** Sets the wall clock alone, to Unix time in milliseconds. */
  setWall(ms: number): void
}

export const manualClock = (options: { monotonicMs?: number; wallMs?: number } = {}) => {
  let monotonic = options.monotonicMs ?? 0
  let wall = options.wallMs ?? 1_700_000_000_000
  const clock: ManualClock = {
    monotonicMs: () => monotonic,
    wallMs: () => wall,
    advance: (ms) => {
      monotonic += ms
      wall += ms
    },
    setWall: (ms) => {
      wall = ms
    },
  }
  return clock
}

/** A logger that keeps every message, by level. */
export interface CapturingLogger extends DinoLogger {
  readonly warnings: Array<string>
  readonly errors: Array<string>
}

export const capturingLogger = (): CapturingLogger => {
  const warnings: Array<string> = []
  const errors: Array<string> = []
  return {
    warnings,
    errors,
    debug: () => {},
    info: () => {},
    warn: (message) => {
      warnings.push(message)
    },
    error: (message) => {
      errors.push(message)
    },
  }
}

/** A resource reader whose figures the test sets, and which counts its calls. */
export interface FakeResources extends Resources.ResourceReader {
  cpu: number
  heap: number
  rss: number
  readonly calls: { cpuMicros: number; heapUsedBytes: number; rssBytes: number }
}

export const fakeResources = (): FakeResources => {
  const reader: FakeResources = {
    cpu: 0,
    heap: 0,
    rss: 0,
    calls: { cpuMicros: 0, heapUsedBytes: 0, rssBytes: 0 },
    cpuMicros: () => {
      reader.calls.cpuMicros++
      return reader.cpu
    },
    heapUsedBytes: () => {
      reader.calls.heapUsedBytes++
      return reader.heap
    },
    rssBytes: () => {
      reader.calls.rssBytes++
      return reader.rss
    },
  }
  return reader
}

/**
 * Creates a Mulberry32 generator of numbers in [0, 1) from a 32-bit seed.
 * The same seed gives the same sequence, so sampling tests are deterministic.
 */
export const mulberry32 = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = Math.imul(state ^ (state >>> 15), state | 1)
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61)
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32
  }
}

/** Returns the given numbers in turn, for sampling decisions chosen by the test. */
export const sequence = (...values: Array<number>): (() => number) => {
  let index = 0
  return () => {
    const value = values[index % values.length] as number
    index++
    return value
  }
}
