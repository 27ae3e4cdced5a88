/**
 * Invalid arguments from JavaScript callers of `monitorPerformance` and
 * `monitorOperation`: each is logged with the value and the fix, and no
 * operation starts that the caller would never end.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  type CustomMetrics,
  getPerformanceMonitor,
  monitorPerformance,
  PerformanceMonitor,
  resetGlobals,
  setLogger,
} from "../src/index.js"
import { type CapturingLogger, capturingLogger } from "./helpers.js"

let logger: CapturingLogger

beforeEach(() => {
  logger = capturingLogger()
  setLogger(logger)
})

afterEach(resetGlobals)

/** Calls the scope overload with a value that TypeScript would reject. */
const scopeWith = (value: unknown) => monitorPerformance("x", value as CustomMetrics | undefined)

describe("monitorPerformance second argument", () => {
  it("number starts no operation", () => {
    const scope = scopeWith(42)

    expect(getPerformanceMonitor().getActiveOperations()).toEqual([])
    expect(getPerformanceMonitor().stats.started).toBe(0)
    expect(logger.at("warn")).toEqual([
      'monitorPerformance: ignored 42 as the second argument for "x": pass a function to monitor, a metadata object, or nothing. No operation was started.',
    ])
    scope.recordMetric("rows", 1)
    expect(scope.end()).toBeUndefined()
    expect(logger.at("warn")).toHaveLength(1)
  })

  it("null starts no operation", () => {
    scopeWith(null)

    expect(getPerformanceMonitor().getActiveOperations()).toEqual([])
    expect(logger.containing("ignored null as the second argument")).toHaveLength(1)
  })

  it("repeated number warns once", () => {
    for (let i = 0; i < 5; i++) scopeWith(i + 100)

    expect(logger.containing("as the second argument")).toHaveLength(1)
  })

  it("object still opens a scope", () => {
    const scope = monitorPerformance("x", { userId: "123" })

    expect(getPerformanceMonitor().getActiveOperations()).toHaveLength(1)
    expect(scope.end()?.customMetrics).toEqual({ userId: "123" })
    expect(logger.at("warn")).toEqual([])
  })
})

describe("monitorPerformance metadata argument", () => {
  it("string metadata warns once", () => {
    const metadata = "meta-string" as unknown as CustomMetrics
    const first = monitorPerformance("x", () => 1, metadata)
    const second = monitorPerformance("x", () => 2, metadata)

    expect(first).toBe(1)
    expect(second).toBe(2)
    expect(getPerformanceMonitor().stats.recorded).toBe(2)
    expect(logger.at("warn")).toEqual([
      'monitorPerformance: ignored the metadata "meta-string" of "x": expected an object such as { userId: "123" }. The function runs without metadata.',
    ])
  })
})

describe("PerformanceMonitor.monitorOperation arguments", () => {
  it("number is logged with its label", () => {
    const monitor = new PerformanceMonitor()

    monitor.monitorOperation("y", 7 as unknown as CustomMetrics)

    expect(monitor.getActiveOperations()).toEqual([])
    expect(logger.containing("monitorOperation: ignored 7 as the second argument")).toHaveLength(1)
  })
})
