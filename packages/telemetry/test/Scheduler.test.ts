import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { afterEach, describe, expect, it, vi } from "vitest"
import { Scheduler, SinkError } from "../src/index.js"
import { deliveredIds, expectReconciled, makeHarness, nextTurn, record } from "./fixtures.js"

/** Runs `program` with a fresh TestClock, so that no real time passes. */
const runWithTestClock = <A>(program: Effect.Effect<A>): Promise<A> =>
  Effect.runPromise(Effect.provide(program, TestClock.layer()))

describe("Scheduler", () => {
  it("runs the task once per interval", async () => {
    const counts = await runWithTestClock(
      Effect.gen(function* () {
        const scheduler = Scheduler.makeUnsafe()
        let runs = 0
        yield* scheduler.start(
          10,
          Effect.sync(() => runs++),
        )

        yield* TestClock.adjust("9 seconds")
        const early = runs
        yield* TestClock.adjust("1 second")
        const first = runs
        yield* TestClock.adjust("20 seconds")
        const third = runs
        yield* scheduler.stop
        return { early, first, third }
      }),
    )

    expect(counts).toEqual({ early: 0, first: 1, third: 3 })
  })

  it("survives failures and defects of the task", async () => {
    const runs = await runWithTestClock(
      Effect.gen(function* () {
        const scheduler = Scheduler.makeUnsafe()
        let count = 0
        const task = Effect.suspend(() => {
          count++
          return count % 2 === 0 ? Effect.die(new Error("defect")) : Effect.fail("failure")
        })
        yield* scheduler.start(5, task)

        yield* TestClock.adjust("20 seconds")
        yield* scheduler.stop
        return count
      }),
    )

    expect(runs).toBe(4)
  })

  it("stop ends the schedule", async () => {
    const result = await runWithTestClock(
      Effect.gen(function* () {
        const scheduler = Scheduler.makeUnsafe()
        let runs = 0
        yield* scheduler.start(
          1,
          Effect.sync(() => runs++),
        )
        const runningAfterStart = scheduler.running

        yield* scheduler.stop
        yield* TestClock.adjust("10 seconds")
        return { runningAfterStart, runningAfterStop: scheduler.running, runs }
      }),
    )

    expect(result).toEqual({ runningAfterStart: true, runningAfterStop: false, runs: 0 })
  })

  it("start again replaces the schedule", async () => {
    const runs = await runWithTestClock(
      Effect.gen(function* () {
        const scheduler = Scheduler.makeUnsafe()
        let count = 0
        const task = Effect.sync(() => count++)
        yield* scheduler.start(10, task)
        yield* scheduler.start(30, task)

        yield* TestClock.adjust("30 seconds")
        yield* scheduler.stop
        return count
      }),
    )

    expect(runs).toBe(1)
  })
})

/** The maximum delay of Node's `setTimeout`. A longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Lets the scheduler's fiber run until it waits on its next timer. */
const settle = async (): Promise<void> => {
  for (let turn = 0; turn < 5; turn++) await nextTurn()
}

describe("Scheduler under the live clock", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  // Fake timers replace setTimeout alone and, like Node, fire a delay
  // above MAX_TIMER_MS after 1 ms. Effect's own scheduler uses setImmediate.
  it("interval past the timer limit waits in full", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
    const intervalSeconds = 3_000_000
    const scheduler = Scheduler.makeUnsafe()
    let runs = 0
    await Effect.runPromise(
      scheduler.start(
        intervalSeconds,
        Effect.sync(() => runs++),
      ),
    )
    await settle()

    vi.advanceTimersByTime(10)
    await settle()
    const afterTenMs = runs
    vi.advanceTimersByTime(MAX_TIMER_MS)
    await settle()
    const afterOneTimer = runs
    vi.advanceTimersByTime(intervalSeconds * 1000 - MAX_TIMER_MS - 10)
    await settle()
    const afterInterval = runs
    await Effect.runPromise(scheduler.stop)

    expect(afterTenMs).toBe(0)
    expect(afterOneTimer).toBe(0)
    expect(afterInterval).toBe(1)
  })

  it("no timer exceeds the limit", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
    const delays: Array<number> = []
    const original = globalThis.setTimeout
    vi.spyOn(globalThis, "setTimeout").mockImplementation(((
      callback: () => void,
      delay?: number,
    ) => {
      delays.push(delay ?? 0)
      return original(callback, delay)
    }) as typeof setTimeout)
    const scheduler = Scheduler.makeUnsafe()

    await Effect.runPromise(scheduler.start(3_000_000, Effect.void))
    await settle()
    await Effect.runPromise(scheduler.stop)

    expect(delays.length).toBeGreaterThan(0)
    expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_TIMER_MS)
  })

  it("interval below 10 ms runs every 10 ms", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
    const scheduler = Scheduler.makeUnsafe()
    let runs = 0
    await Effect.runPromise(
      scheduler.start(
        Number.NaN,
        Effect.sync(() => runs++),
      ),
    )
    await settle()

    vi.advanceTimersByTime(9)
    await settle()
    const afterNineMs = runs
    vi.advanceTimersByTime(1)
    await settle()
    const afterTenMs = runs
    await Effect.runPromise(scheduler.stop)

    expect(afterNineMs).toBe(0)
    expect(afterTenMs).toBe(1)
  })
})

describe("Telemetry schedule", () => {
  it("exports once per exportIntervalSeconds", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })
    const first = record("tick")
    const second = record("tick")

    const counts = await runWithTestClock(
      Effect.gen(function* () {
        yield* harness.telemetry.enable()
        harness.emit(first)

        yield* TestClock.adjust("59 seconds")
        const early = harness.sink.payloads.length
        yield* TestClock.adjust("1 second")
        const afterOne = harness.sink.payloads.length
        harness.emit(second)
        yield* TestClock.adjust("60 seconds")
        const afterTwo = harness.sink.payloads.length

        yield* harness.telemetry.disable
        return { early, afterOne, afterTwo }
      }),
    )

    expect(counts).toEqual({ early: 0, afterOne: 1, afterTwo: 2 })
    expect(deliveredIds(harness.sink)).toEqual([first.id, second.id])
    expectReconciled(harness.telemetry)
  })

  it("empty buffer schedules no delivery", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })

    const deliveries = await runWithTestClock(
      Effect.gen(function* () {
        yield* harness.telemetry.enable()
        yield* TestClock.adjust("180 seconds")
        yield* harness.telemetry.disable
        return harness.sink.payloads.length
      }),
    )

    expect(deliveries).toBe(0)
  })

  it("scheduled export retries after a failure", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })
    const only = record("retry")

    const steps = await runWithTestClock(
      Effect.gen(function* () {
        yield* harness.telemetry.enable()
        harness.emit(only)
        harness.sink.failWith = new SinkError.SinkError({
          reason: "Status",
          message: "status 503",
          status: 503,
        })

        yield* TestClock.adjust("60 seconds")
        const failedBatches = harness.telemetry.stats.batchesFailed
        const bufferedAfterFailure = harness.telemetry.stats.buffered
        harness.sink.failWith = undefined
        yield* TestClock.adjust("60 seconds")

        yield* harness.telemetry.disable
        return { failedBatches, bufferedAfterFailure }
      }),
    )

    expect(steps).toEqual({ failedBatches: 1, bufferedAfterFailure: 1 })
    expect(deliveredIds(harness.sink)).toEqual([only.id])
    expectReconciled(harness.telemetry)
  })

  it("configure with a new interval restarts the schedule", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })

    const counts = await runWithTestClock(
      Effect.gen(function* () {
        yield* harness.telemetry.enable()
        yield* harness.telemetry.configure({ exportIntervalSeconds: 10 })
        harness.emit(record("fast"))

        yield* TestClock.adjust("10 seconds")
        const afterTen = harness.sink.payloads.length
        yield* harness.telemetry.disable
        return afterTen
      }),
    )

    expect(counts).toBe(1)
  })

  it("disable stops the schedule", async () => {
    const harness = makeHarness({ includeSystemMetrics: false })

    const deliveries = await runWithTestClock(
      Effect.gen(function* () {
        yield* harness.telemetry.enable()
        yield* harness.telemetry.disable
        harness.telemetry.collect(record("after-disable"))

        yield* TestClock.adjust("600 seconds")
        return harness.sink.payloads.length
      }),
    )

    expect(deliveries).toBe(0)
    expect(harness.telemetry.stats.buffered).toBe(1)
  })
})
