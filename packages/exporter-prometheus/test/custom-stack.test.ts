/**
 * Runs the worked example in `examples/custom-stack.ts`: a user-written
 * queue sink, the Prometheus exporter and the scheduler, driven by the
 * TestClock.
 */
import { Effect, Option } from "effect"
import { beforeAll, describe, expect, it, vi } from "vitest"
import { EXPORT_INTERVAL_SECONDS, type Exported, main } from "../examples/custom-stack.js"
import {
  expectPromtoolAccepts,
  familyNamed,
  type ParsedFamily,
  parseExposition,
} from "./helpers.js"

/** The value of the `dinoair_operations_total` series of one operation and status. */
const operationsTotal = (
  families: ReadonlyArray<ParsedFamily>,
  operation: string,
  status: string,
): string | undefined =>
  familyNamed(families, "dinoair_operations_total").samples.find(
    (sample) => sample.labels.operation === operation && sample.labels.status === status,
  )?.value

let exported: Exported
let first: string
let second: string
/** Delays, in milliseconds, of the real timers that the example started. */
let realTimerDelays: Array<number> = []

// The hook's timeout (10 seconds) is shorter than one export interval, so a
// scheduler that slept in real time would fail here.
beforeAll(async () => {
  const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout")
  try {
    exported = await Effect.runPromise(main)
  } finally {
    realTimerDelays = setTimeoutSpy.mock.calls.map(([, delay]) => Number(delay ?? 0))
    setTimeoutSpy.mockRestore()
  }
  first = Option.getOrElse(exported.first, () => "")
  second = Option.getOrElse(exported.second, () => "")
})

describe("custom stack example", () => {
  // The TestClock itself starts one-second timers for its "not advancing" warning.
  it("starts no real timer for the interval", () => {
    const intervalMs = EXPORT_INTERVAL_SECONDS * 1000

    expect(realTimerDelays.filter((delay) => delay >= intervalMs)).toEqual([])
  })

  it("exports nothing before the interval", () => {
    expect(Option.isNone(exported.beforeInterval)).toBe(true)
  })

  it("interval on the TestClock triggers an export", () => {
    expect(Option.isSome(exported.first)).toBe(true)
    expect(Option.isSome(exported.second)).toBe(true)
  })

  it("first export counts each operation", () => {
    const families = parseExposition(first, "text")

    expect(operationsTotal(families, "checkout", "ok")).toBe("2")
    expect(operationsTotal(families, "refund", "error")).toBe("1")
  })

  it("second export keeps counting", () => {
    const families = parseExposition(second, "text")

    expect(operationsTotal(families, "checkout", "ok")).toBe("3")
    expect(operationsTotal(families, "refund", "error")).toBe("1")
  })

  it("text carries the counter's HELP and TYPE lines", () => {
    expect(first).toContain("# TYPE dinoair_operations_total counter\n")
    expect(first).toContain('dinoair_operations_total{operation="checkout",status="ok"} 2\n')
  })

  it("promtool accepts both documents", async () => {
    await expectPromtoolAccepts(first)
    await expectPromtoolAccepts(second)
  })
})
