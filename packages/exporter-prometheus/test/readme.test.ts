/**
 * Keeps the samples in README.md true: each one is rendered here from the
 * inputs the README names, and must appear in the README verbatim.
 */
import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { PrometheusExporter, PullHandler, Registry } from "../src/index.js"
import { context, expectPromtoolAccepts, parseExposition, record } from "./helpers.js"

const readme = await readFile(new URL("../README.md", import.meta.url), "utf8")

/** The two records and the registry that the README's samples are rendered from. */
const sampleRegistry = (): {
  readonly registry: Registry.Registry
  readonly records: ReturnType<typeof record>[]
} => {
  const registry = Registry.make({ buckets: [0.1, 0.5, 1] })
  const records = [
    record({ customMetrics: { records_processed: 1000 } }),
    record({
      operation: "db_query",
      duration: 0.42,
      timestamp: 1699123457.5,
      memoryUsage: 2097152,
      cpuUsage: 3.5,
      status: "error",
      customMetrics: {},
    }),
  ]
  registry.observeAll(records)
  return { registry, records }
}

const fenced = (language: string, body: string): string => `\`\`\`${language}\n${body}\`\`\``

describe("README samples", () => {
  it("the text sample is real output", async () => {
    const { registry, records } = sampleRegistry()
    const text = PrometheusExporter.make({ registry }).encode(records, context()).body

    expect(readme).toContain(fenced("text", text))
    await expectPromtoolAccepts(text)
  })

  it("the OpenMetrics sample is real output", () => {
    const registry = Registry.make({ buckets: [0.5] })
    registry.observe(record({ operation: "db_query", duration: 0.42, customMetrics: {} }))
    const handler = PullHandler.make({ registry }, { processMetrics: false })
    const text = handler.render("openmetrics")

    expect(readme).toContain(fenced("text", text))
    expect(() => parseExposition(text, "openmetrics")).not.toThrow()
  })
})
