import type { OperationMetrics } from "@dinoair/monitor"
import { Exporter, Sink, Telemetry } from "@dinoair/telemetry"
import {
  collectGarbage,
  MAX_BLOCKING_MS,
  MAX_NOISE_MS,
  measureBlocking,
  measureNoiseMs,
} from "@dinoair/test-support/event-loop"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { JsonExporter } from "../src/index.js"

const NOW_SECONDS = 1699123460

/** `count` records over 100 operation names, as a monitor with memory tracking makes them. */
const makeRecords = (count: number): Array<OperationMetrics> =>
  Array.from({ length: count }, (_, index) => {
    const operation = `operation_${index % 100}`
    return {
      id: `${operation}#${index.toString(36)}`,
      operation,
      duration: 0.001 + (index % 997) / 1e5,
      timestamp: NOW_SECONDS - 60 + index / 1e4,
      memoryUsage: 50_000_000 + (index % 1000) * 4096,
      memoryDelta: (index % 200) * 64 - 6400,
      cpuUsage: (index % 100) + 0.5,
      status: index % 50 === 0 ? "error" : "ok",
      error: index % 50 === 0 ? "timeout" : undefined,
      // A NaN value makes the exporter leave the native JSON.stringify run for that record.
      customMetrics: index % 777 === 0 ? { items: Number.NaN } : { items: index % 10 },
      parentId: index % 3 === 0 ? `parent#${index}` : undefined,
      systemInfo: undefined,
    }
  })

const context: Exporter.ExportContext = {
  timestamp: NOW_SECONDS,
  processMetrics: undefined,
  includeCustomMetrics: true,
  source: "event-loop-test",
}

/** Runs `encodeInSteps` to its end and counts its steps. */
const encodeCountingSteps = (
  exporter: Exporter.ExporterShape,
  records: ReadonlyArray<OperationMetrics>,
): { readonly payload: Exporter.Payload; readonly steps: number } => {
  const iterator = exporter.encodeInSteps?.(records, context)
  if (iterator === undefined) throw new Error("the exporter has no encodeInSteps")

  let steps = 1
  for (;;) {
    const step = iterator.next()
    if (step.done === true) return { payload: step.value, steps }
    steps++
  }
}

describe("JsonExporter encodeInSteps", () => {
  it.each([0, 2])("with indent %i matches encode", (indent) => {
    const exporter = JsonExporter.make({ indent })
    const records = makeRecords(2 * Exporter.RECORDS_PER_STEP + 123)

    const { payload, steps } = encodeCountingSteps(exporter, records)
    const { bodyChunks, ...fields } = payload

    const { bodyChunks: encodedChunks, ...encodedFields } = exporter.encode(records, context)

    expect(steps).toBe(3)
    expect(fields).toStrictEqual(encodedFields)
    expect(bodyChunks?.join("")).toBe(payload.body)
    expect(encodedChunks?.join("")).toBe(payload.body)
  })

  it("of an empty batch matches encode", () => {
    const exporter = JsonExporter.make()

    const { payload, steps } = encodeCountingSteps(exporter, [])
    const { bodyChunks, ...fields } = payload

    const { bodyChunks: encodedChunks, ...encodedFields } = exporter.encode([], context)

    expect(steps).toBe(1)
    expect(fields).toStrictEqual(encodedFields)
    expect(bodyChunks).toStrictEqual([])
    expect(encodedChunks).toStrictEqual([])
  })
})

describe("JsonExporter body chunks", () => {
  it("group records written one by one", () => {
    // NaN custom metrics keep every record off the native JSON.stringify path.
    const records = makeRecords(20_000).map((record) => ({
      ...record,
      customMetrics: { rate: Number.NaN },
    }))

    const payload = JsonExporter.make().encode(records, context)
    const metrics = JSON.parse(Exporter.documentOf(payload)).metrics

    expect(metrics).toHaveLength(records.length)
    expect(metrics[0].custom_metrics).toStrictEqual({ rate: "NaN" })
    expect(payload.bodyChunks?.join("")).toBe(payload.body)
    // Chunks of at least 16,384 characters: about 230 for these 3.8 million characters.
    expect(payload.bodyChunks?.length).toBeLessThan(records.length / 50)
  })
})

describe("JsonExporter export of 100,000 records", () => {
  // A retry absorbs a stretch where the operating system ran other processes, which the
  // sampler counts as delay too. An export that blocks for longer fails every attempt.
  it("keeps the event loop free", { retry: 2 }, async (context) => {
    const noiseMs = await measureNoiseMs()
    context.skip(
      noiseMs > MAX_NOISE_MS,
      `the machine is too busy: work that yields every millisecond already waited ${noiseMs.toFixed(0)} ms`,
    )

    const count = 100_000
    const telemetry = Telemetry.makeUnsafe({
      source: () => () => {},
      flushOnExit: false,
      includeSystemMetrics: false,
      nowSeconds: () => NOW_SECONDS,
      maxTotalMetrics: count,
      maxMetricsPerOperation: count,
      batchSize: count,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    })
    const sink = Sink.makeMemory()
    telemetry.setPipeline({ exporter: JsonExporter.make(), sink })
    for (const record of makeRecords(count)) telemetry.collect(record)

    // Records buffered for an export interval have left the young generation. Fresh ones
    // would make the export pay for promoting 100,000 objects in one scavenge.
    collectGarbage()

    const {
      result: delivered,
      maxDelayMs,
      turns,
    } = await measureBlocking(() => Effect.runPromise(telemetry.forceExport))

    expect(delivered).toBe(true)
    expect(sink.payloads).toHaveLength(1)
    expect(sink.payloads[0]?.recordCount).toBe(count)
    expect(JSON.parse(sink.documents()[0] ?? "").metrics).toHaveLength(count)
    expect(turns).toBeGreaterThanOrEqual(count / Exporter.RECORDS_PER_STEP - 1)
    expect(maxDelayMs).toBeLessThanOrEqual(MAX_BLOCKING_MS)
  })
})
