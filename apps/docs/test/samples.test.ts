/**
 * The samples of the formats guide are what the exporters produce today,
 * and each one is valid for a real consumer of its format.
 */
import { readFile } from "node:fs/promises"
import { promtoolCheck } from "@dinoair/test-support"
import { describe, expect, it } from "vitest"
import { applySamples, formatsGuide, generateSamples, sampleRecords } from "../src/samples.js"

describe("format samples", () => {
  it("guide holds the current samples", async () => {
    const guide = await readFile(formatsGuide, "utf8")

    expect(
      applySamples(guide, generateSamples()) === guide,
      `${formatsGuide} is stale: run pnpm --filter @dinoair/docs samples`,
    ).toBe(true)
  })

  it("samples are the same on every run", () => {
    expect(generateSamples()).toEqual(generateSamples())
  })

  it("records cover success, failure and a repeat", () => {
    const records = sampleRecords()

    expect(records.map((record) => [record.operation, record.status])).toEqual([
      ["data_processing", "ok"],
      ["fetch_user", "error"],
      ["data_processing", "ok"],
    ])
  })

  it("JSON sample parses with three records", () => {
    const document = JSON.parse(generateSamples().json) as { metrics: Array<unknown> }

    expect(document.metrics).toHaveLength(3)
  })

  it("Prometheus sample passes promtool", async () => {
    const checked = await promtoolCheck(generateSamples().prometheus)
    if (checked === undefined) return

    expect(checked.code, checked.output).toBe(0)
  })

  it("CSV sample has a header and three rows", () => {
    const lines = generateSamples().csv.trimEnd().split("\n")

    expect(lines).toHaveLength(4)
  })

  it("applying rejects a guide without markers", () => {
    expect(() => applySamples("# Formats\n", generateSamples())).toThrow(/sample:json/)
  })
})
