/**
 * Measurement of how long work blocks the event loop, for the exporters'
 * tests of large exports. The exporters and the telemetry manager yield
 * between chunks of a batch, so an export of 100,000 records must never
 * hold the loop for longer than `MAX_BLOCKING_MS` at a stretch.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"

/** The maximum stretch, in milliseconds, that exporting may block the event loop for. */
export const MAX_BLOCKING_MS = 50

/**
 * The maximum delay, in milliseconds, that work yielding every millisecond
 * may see on its own for a check to run. Above it, the machine is too busy
 * to tell an export's stalls from its own.
 */
export const MAX_NOISE_MS = 25

/** Milliseconds between two samples of the event-loop delay. */
const DELAY_RESOLUTION_MS = 5

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Measures the maximum event-loop delay of 200 ms of busy work that yields
 * every millisecond: the delay that this machine adds by itself right now.
 */
export const measureNoiseMs = async (): Promise<number> => {
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS })
  delay.enable()
  await wait(2 * DELAY_RESOLUTION_MS)

  let spins = 0
  const end = performance.now() + 200
  while (performance.now() < end) {
    const sliceEnd = performance.now() + 1
    while (performance.now() < sliceEnd) spins++
    await new Promise((resolve) => setImmediate(resolve))
  }

  await wait(DELAY_RESOLUTION_MS)
  delay.disable()
  return spins > 0 ? delay.max / 1e6 : 0
}

/** Runs a full garbage collection, which needs node's `--expose-gc`. */
export const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("global gc is missing: run the tests with node --expose-gc")
  gc()
}

/** What `measureBlocking` saw while its work ran. */
export interface BlockingMeasurement<A> {
  /** The value the work resolved with. */
  readonly result: A
  /** The maximum event-loop delay, in milliseconds. */
  readonly maxDelayMs: number
  /** Turns of the event loop while the work ran, counted with `setImmediate`. */
  readonly turns: number
}

/**
 * Runs `work` and measures the maximum event-loop delay while it runs, and
 * how many turns the loop made meanwhile.
 */
export const measureBlocking = async <A>(
  work: () => Promise<A>,
): Promise<BlockingMeasurement<A>> => {
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS })
  delay.enable()
  // The sampler records nothing until its timer has fired once.
  await wait(2 * DELAY_RESOLUTION_MS)

  let turns = 0
  let ticking = true
  const tick = (): void => {
    turns++
    if (ticking) setImmediate(tick)
  }
  setImmediate(tick)
  const result = await work()
  ticking = false

  // The sampler records a stretch when its timer fires after it, so the loop must turn once more.
  await wait(DELAY_RESOLUTION_MS)
  delay.disable()
  return { result, maxDelayMs: delay.max / 1e6, turns }
}
