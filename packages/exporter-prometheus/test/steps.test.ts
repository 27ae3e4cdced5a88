import type { Exporter } from "@dinoair/telemetry"
import { describe, expect, it } from "vitest"
import { Exposition, PrometheusExporter } from "../src/index.js"
import { context, processMetrics, record } from "./helpers.js"

/** An exporter that observed records of three operations, two statuses and a custom metric. */
const observedExporter = (): PrometheusExporter.PrometheusExporterShape => {
  const exporter = PrometheusExporter.make({ labels: { region: 'eu "west"' } })
  for (const operation of ["load", "parse", "save"]) {
    exporter.observe(record({ operation, customMetrics: { rows: 3 } }))
    exporter.observe(record({ operation, status: "error", duration: 2 }))
  }
  return exporter
}

/** Runs `encodeInSteps` to its end and counts its steps. */
const runSteps = (
  exporter: Exporter.ExporterShape,
  exportContext: Exporter.ExportContext,
): { readonly payload: Exporter.Payload; readonly steps: number } => {
  const iterator = exporter.encodeInSteps?.([], exportContext)
  if (iterator === undefined) throw new Error("the exporter has no encodeInSteps")

  let steps = 1
  for (;;) {
    const step = iterator.next()
    if (step.done === true) return { payload: step.value, steps }
    steps++
  }
}

describe("Exposition renderInSteps", () => {
  it.each([
    ["text", 1],
    ["text", 7],
    ["text", 5000],
    ["openmetrics", 1],
    ["openmetrics", 7],
    ["openmetrics", 5000],
  ] as const)("in %s with %i samples per step matches render", (format, samplesPerStep) => {
    const families: Array<Exposition.Family> = [
      { name: "empty", type: "gauge", help: "No samples", samples: [] },
      ...Array.from({ length: 3 }, (_, index) => ({
        name: `family_${index}`,
        type: "counter" as const,
        help: `Family ${index}`,
        samples: Array.from({ length: 10 + index }, (__, sample) => ({
          name: `family_${index}_total`,
          labels: [["operation", `op\\${sample % 4}`] as const],
          value: sample,
        })),
      })),
    ]

    const iterator = Exposition.renderInSteps(families, format, samplesPerStep)
    let yields = 0
    let step = iterator.next()
    while (step.done !== true) {
      yields++
      step = iterator.next()
    }

    expect(step.value.join("")).toBe(Exposition.render(families, format))
    expect(yields).toBe(Math.ceil(33 / samplesPerStep) - 1)
  })

  it("of no families matches render", () => {
    for (const format of ["text", "openmetrics"] as const) {
      const step = Exposition.renderInSteps([], format, 10).next()

      expect(step.done).toBe(true)
      expect(step.value?.join("")).toBe(Exposition.render([], format))
    }
  })
})

describe("PrometheusExporter encodeInSteps", () => {
  it.each([true, false])("with recordsObserved %s matches encode", (recordsObserved) => {
    const exporter = observedExporter()
    const exportContext = context({ processMetrics, recordsObserved })

    const { payload, steps } = runSteps(exporter, exportContext)
    const { bodyChunks, ...fields } = payload

    expect(steps).toBe(3)
    expect(fields).toStrictEqual(exporter.encode([], exportContext))
    expect(bodyChunks?.join("")).toBe(payload.body)
  })
})
