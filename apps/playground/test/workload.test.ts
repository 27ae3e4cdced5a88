import { describe, expect, it } from "vitest"
import { scanOperationName } from "../src/workload.js"

describe("scanOperationName", () => {
  it.each([
    [0, 100, "scan-00"],
    [142, 100, "scan-42"],
    [3, 4, "scan-03"],
    [1005, 1000, "scan-005"],
  ])("names file %i of %i names %s", (index, names, expected) => {
    expect(scanOperationName(index, names)).toBe(expected)
  })
})
