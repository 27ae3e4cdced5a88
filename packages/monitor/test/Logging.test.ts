import { describe, expect, it } from "vitest"
import { Logging } from "../src/index.js"

describe("Logging.withoutFinalPeriod", () => {
  it.each([
    ["disk full.", "disk full"],
    ["disk full", "disk full"],
    ["wait...", "wait..."],
    [".", ""],
    ["", ""],
  ])("%j becomes %j", (message, expected) => {
    expect(Logging.withoutFinalPeriod(message)).toBe(expected)
  })
})
