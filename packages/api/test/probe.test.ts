import { expect, it } from "vitest"
import { monitorPerformance, performanceDecorator, resetGlobals, getPerformanceMonitor } from "../src/index.js"

class A {
  @performanceDecorator()
  run(x: number): number {
    return x + 1
  }
}

it("probe", async () => {
  expect(new A().run(1)).toBe(2)
  {
    using scope = monitorPerformance("blk")
    scope.recordMetric("x", 1)
  }
  expect(Object.keys(getPerformanceMonitor().getMetricsSummary())).toEqual(["run", "blk"])
  await resetGlobals()
})
