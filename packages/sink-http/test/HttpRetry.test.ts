import { SinkError } from "@dinoair/telemetry"
import { Duration, Effect, Exit, Schedule } from "effect"
import { describe, expect, it } from "vitest"
import { HttpRetry } from "../src/index.js"

const policy: HttpRetry.RetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 1000,
  maxRetryAfterMs: 60_000,
}

const transient = (retryAfterMs?: number): HttpRetry.AttemptFailure => ({
  transient: true,
  retryAfterMs,
  error: new SinkError.SinkError({ reason: "Status", message: "503", status: 503 }),
})

const rejected: HttpRetry.AttemptFailure = {
  transient: false,
  retryAfterMs: undefined,
  error: new SinkError.SinkError({ reason: "Rejected", message: "400", status: 400 }),
}

/**
 * Steps a fresh schedule with each failure in turn and returns the delay it
 * chose for each, in milliseconds, or "stop" once it ends.
 */
const decisions = (
  retryPolicy: HttpRetry.RetryPolicy,
  failures: ReadonlyArray<HttpRetry.AttemptFailure>,
): Array<number | "stop"> =>
  Effect.runSync(
    Effect.gen(function* () {
      const step = yield* Schedule.toStep(HttpRetry.schedule(retryPolicy))
      const result: Array<number | "stop"> = []
      for (const failure of failures) {
        const exit = yield* Effect.exit(step(0, failure))
        if (Exit.isFailure(exit)) {
          result.push("stop")
          break
        }
        result.push(Duration.toMillis(exit.value[1]))
      }
      return result
    }),
  )

const expectWithinJitter = (delay: number | "stop" | undefined, base: number): void => {
  expect(typeof delay).toBe("number")
  expect(delay as number).toBeGreaterThanOrEqual(Math.floor(base * 0.8))
  expect(delay as number).toBeLessThanOrEqual(Math.ceil(base * 1.2))
  expect(Number.isInteger(delay)).toBe(true)
}

describe("HttpRetry.schedule", () => {
  it("doubles the backoff, within the jitter", () => {
    const delays = decisions(policy, [transient(), transient(), transient(), transient()])

    expectWithinJitter(delays[0], 100)
    expectWithinJitter(delays[1], 200)
    expectWithinJitter(delays[2], 400)
    expectWithinJitter(delays[3], 800)
  })

  it("caps the backoff before the jitter", () => {
    const delays = decisions({ ...policy, maxAttempts: 10 }, Array(8).fill(transient()))

    // 100 · 2^7 = 12800 ms, capped at 1000 ms.
    expectWithinJitter(delays[7], 1000)
    expectWithinJitter(delays[5], 1000)
  })

  it("stops after maxAttempts attempts", () => {
    const delays = decisions({ ...policy, maxAttempts: 3 }, Array(5).fill(transient()))

    expect(delays).toHaveLength(3)
    expect(delays[2]).toBe("stop")
  })

  it("one attempt means no retry", () => {
    expect(decisions({ ...policy, maxAttempts: 1 }, [transient()])).toEqual(["stop"])
  })

  it("stops at a failure that is not transient", () => {
    expect(decisions(policy, [rejected])).toEqual(["stop"])
  })

  it("stops when a later failure is not transient", () => {
    const delays = decisions(policy, [transient(), rejected])

    expect(delays).toHaveLength(2)
    expect(delays[1]).toBe("stop")
  })

  it("waits the Retry-After when it is longer", () => {
    expect(decisions(policy, [transient(2000)])).toEqual([2000])
  })

  it("keeps the backoff when Retry-After is shorter", () => {
    const delays = decisions(policy, [transient(), transient(), transient(), transient(10)])

    expectWithinJitter(delays[3], 800)
  })

  it("Retry-After of 0 keeps the backoff", () => {
    const delays = decisions(policy, [transient(0)])

    expectWithinJitter(delays[0], 100)
  })

  it("stops when Retry-After exceeds maxRetryAfterMs", () => {
    expect(decisions(policy, [transient(60_001)])).toEqual(["stop"])
  })

  it("waits a Retry-After equal to maxRetryAfterMs", () => {
    expect(decisions(policy, [transient(60_000)])).toEqual([60_000])
  })

  it("zero backoff retries at once", () => {
    const zero = { ...policy, initialBackoffMs: 0, maxBackoffMs: 0, maxAttempts: 3 }

    expect(decisions(zero, [transient(), transient(), transient()])).toEqual([0, 0, "stop"])
  })
})

describe("HttpRetry.isTransientStatus", () => {
  it.each([429, 500, 502, 503, 504, 599])("%i is transient", (status) => {
    expect(HttpRetry.isTransientStatus(status)).toBe(true)
  })

  it.each([300, 302, 400, 401, 403, 404, 408, 413, 422])("%i is not transient", (status) => {
    expect(HttpRetry.isTransientStatus(status)).toBe(false)
  })
})

describe("HttpRetry.parseRetryAfter", () => {
  const now = Date.UTC(2030, 0, 1, 12, 0, 0)

  it.each<[string | undefined, number | undefined]>([
    ["2", 2000],
    ["0", 0],
    [" 3 ", 3000],
    ["120", 120_000],
    [new Date(now + 10_000).toUTCString(), 10_000],
    ["Tue, 01 Jan 2030 12:00:30 GMT", 30_000],
    ["Tuesday, 01-Jan-30 12:00:30 GMT", 30_000],
    [new Date(now - 10_000).toUTCString(), 0],
    ["-1", undefined],
    ["1.5", undefined],
    ["soon", undefined],
    ["", undefined],
    ["99999999999999999999", undefined],
    [undefined, undefined],
  ])("%j gives %j", (value, expected) => {
    expect(HttpRetry.parseRetryAfter(value, now)).toBe(expected)
  })
})
