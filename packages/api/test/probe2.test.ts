import { expect, it } from "vitest"
import { monitorPerformance, resetGlobals, getPerformanceMonitor } from "../src/index.js"

it("probe2", async () => {
  {
    using scope = monitorPerformance("blk")
    scope.recordMetric("x", 1)
  }
  expect(Object.keys(getPerformanceMonitor().getMetricsSummary())).toEqual(["blk"])
  await resetGlobals()
})
