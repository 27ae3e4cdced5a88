import { Sink, Telemetry } from "@dinoair/telemetry"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { PrometheusExporter } from "../src/index.js"
import {
  context,
  expectPromtoolAccepts,
  familyNamed,
  makeLogger,
  parseExposition,
  record,
} from "./helpers.js"

/** Records of three operations whose latest record is not the last one given. */
const mixedRecords = () => [
  record({ operation: "load", duration: 0.2, timestamp: 1699123458, customMetrics: { rows: 2 } }),
  record({ operation: "save", duration: 0.3, timestamp: 1699123457 }),
  record({ operation: "load", duration: 0.1, timestamp: 1699123456, customMetrics: { rows: 1 } }),
  record({ operation: "parse", duration: 0.4, timestamp: 1699123459, status: "error" }),
  record({ operation: "save", duration: 0.5, timestamp: 1699123459 }),
]

describe("PrometheusExporter with observed records", () => {
  it("gives the same text as walking the batch", async () => {
    const walking = PrometheusExporter.make()
    const reading = PrometheusExporter.make()
    const records = mixedRecords()
    for (const each of records) {
      walking.observe(each)
      reading.observe(each)
    }

    const walked = walking.encode(records, context()).body
    const read = reading.encode(records, context({ recordsObserved: true })).body

    expect(read).toBe(walked)
    expect(
      familyNamed(parseExposition(read, "text"), "dinoair_custom_rows").samples[0]?.value,
    ).toBe("2")
    await expectPromtoolAccepts(read)
  })

  it("reads gauges from the registry only", () => {
    const exporter = PrometheusExporter.make()
    exporter.observe(record({ operation: "seen" }))

    const text = exporter.encode(
      [record({ operation: "unseen" })],
      context({ recordsObserved: true }),
    ).body
    const operations = familyNamed(
      parseExposition(text, "text"),
      "dinoair_operation_duration_seconds",
    ).samples.map((sample) => sample.labels.operation)

    expect(operations).toStrictEqual(["seen"])
  })

  it("gets the flag from the telemetry manager", async () => {
    const telemetry = Telemetry.makeUnsafe({
      source: () => () => {},
      flushOnExit: false,
      includeSystemMetrics: false,
      logger: makeLogger(),
      // The records' own time, so that retention keeps them.
      nowSeconds: () => 1699123460,
    })
    const exporter = PrometheusExporter.make()
    const reference = PrometheusExporter.make()
    const sink = Sink.makeMemory()
    telemetry.setPipeline({ exporter, sink })

    const records = mixedRecords()
    for (const each of records) {
      telemetry.collect(each)
      reference.observe(each)
    }
    await Effect.runPromise(telemetry.forceExport)

    expect(sink.documents()).toStrictEqual([reference.encode(records, context()).body])
  })
})
