import { monitorEventLoopDelay } from "node:perf_hooks"
import type { OperationMetrics } from "@dinoair/monitor"
import { Exporter, Sink, Telemetry } from "@dinoair/telemetry"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { CsvExporter } from "../src/index.js"

/** The longest stretch, in milliseconds, that exporting may block the event loop for. */
const MAX_BLOCKING_MS = 50

/** Milliseconds between two samples of the event-loop delay. */
const DELAY_RESOLUTION_MS = 5

const NOW_SECONDS = 1699123460

/**
 * The largest delay, in milliseconds, that work yielding every millisecond
 * may see on its own for the check to run. Above it, the machine is too
 * busy to tell the export's stalls from its own.
 */
const MAX_NOISE_MS = 25

/**
 * Measures the maximum event-loop delay of 200 ms of busy work that yields
 * every millisecond: the delay that this machine adds by itself right now.
 */
const measureNoiseMs = async (): Promise<number> => {
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS })
  delay.enable()
  await new Promise((resolve) => setTimeout(resolve, 2 * DELAY_RESOLUTION_MS))

  let spins = 0
  const end = performance.now() + 200
  while (performance.now() < end) {
    const sliceEnd = performance.now() + 1
    while (performance.now() < sliceEnd) spins++
    await new Promise((resolve) => setImmediate(resolve))
  }

  await new Promise((resolve) => setTimeout(resolve, DELAY_RESOLUTION_MS))
  delay.disable()
  return spins > 0 ? delay.max / 1e6 : 0
}

/** Runs a full garbage collection, which needs node's `--expose-gc` (set in vitest.config.ts). */
const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("global gc is missing: run the tests with node --expose-gc")
  gc()
}

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
      // A NaN value takes the slower path of JsonText.
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

describe("CsvExporter encodeInSteps", () => {
  it.each([false, true])("with byteOrderMark %s matches encode", (byteOrderMark) => {
    const exporter = CsvExporter.make({ byteOrderMark })
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
    const exporter = CsvExporter.make()

    const { payload, steps } = encodeCountingSteps(exporter, [])
    const { bodyChunks, ...fields } = payload
    const { bodyChunks: encodedChunks, ...encodedFields } = exporter.encode([], context)

    expect(steps).toBe(1)
    expect(fields).toStrictEqual(encodedFields)
    expect(bodyChunks).toStrictEqual([])
    expect(encodedChunks).toStrictEqual([])
  })
})

describe("CsvExporter export of 100,000 records", () => {
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
    telemetry.setPipeline({ exporter: CsvExporter.make(), sink })
    for (const record of makeRecords(count)) telemetry.collect(record)

    // Records buffered for an export interval have left the young generation. Fresh ones
    // would make the export pay for promoting 100,000 objects in one scavenge.
    collectGarbage()

    const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS })
    delay.enable()
    // The sampler records nothing until its timer has fired once.
    await new Promise((resolve) => setTimeout(resolve, 2 * DELAY_RESOLUTION_MS))

    // Counts turns of the event loop while the export runs.
    let turns = 0
    let ticking = true
    const tick = (): void => {
      turns++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    const delivered = await Effect.runPromise(telemetry.forceExport)
    ticking = false

    // The sampler records a stretch when its timer fires after it, so the loop must turn once more.
    await new Promise((resolve) => setTimeout(resolve, DELAY_RESOLUTION_MS))
    delay.disable()

    expect(delivered).toBe(true)
    expect(sink.payloads).toHaveLength(1)
    expect(sink.payloads[0]?.recordCount).toBe(count)
    // One header line, one line per record, and the empty line after the footer's line break.
    expect(sink.documents()[0]?.split("\r\n")).toHaveLength(count + 2)
    expect(turns).toBeGreaterThanOrEqual(count / Exporter.RECORDS_PER_STEP - 1)
    expect(delay.max / 1e6).toBeLessThanOrEqual(MAX_BLOCKING_MS)
  })
})
