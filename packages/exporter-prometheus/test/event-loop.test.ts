import type { OperationMetrics } from "@dinoair/monitor"
import { Sink, Telemetry } from "@dinoair/telemetry"
import {
  collectGarbage,
  MAX_BLOCKING_MS,
  MAX_NOISE_MS,
  measureBlocking,
  measureNoiseMs,
} from "@dinoair/test-support/event-loop"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { PrometheusExporter } from "../src/index.js"
import { familyNamed, parseExposition } from "./helpers.js"

const NOW_SECONDS = 1699123460

/**
 * `count` records over `names` operation names. 1,000 names is the default
 * maximum of both the registry and the telemetry buffer, so it gives the
 * most series that an export writes by default.
 */
const makeRecords = (count: number, names: number): Array<OperationMetrics> =>
  Array.from({ length: count }, (_, index) => {
    const operation = `operation_${index % names}`
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
      customMetrics: { items: index % 10 },
      parentId: undefined,
      systemInfo: undefined,
    }
  })

describe("PrometheusExporter export of 100,000 records", () => {
  // A retry absorbs a stretch where the operating system ran other processes, which the
  // sampler counts as delay too. An export that blocks for longer fails every attempt.
  it("keeps the event loop free", { retry: 2 }, async (context) => {
    const noiseMs = await measureNoiseMs()
    context.skip(
      noiseMs > MAX_NOISE_MS,
      `the machine is too busy: work that yields every millisecond already waited ${noiseMs.toFixed(0)} ms`,
    )

    const count = 100_000
    const names = 1000
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
    telemetry.setPipeline({ exporter: PrometheusExporter.make({ timestamps: false }), sink })
    for (const record of makeRecords(count, names)) telemetry.collect(record)

    // Records buffered for an export interval have left the young generation. Fresh ones
    // would make the export pay for promoting 100,000 objects in one scavenge.
    collectGarbage()

    const { result: delivered, maxDelayMs } = await measureBlocking(() =>
      Effect.runPromise(telemetry.forceExport),
    )

    const families = parseExposition(sink.documents()[0] ?? "", "text")
    const duration = familyNamed(families, "dinoair_operation_duration_seconds")
    const counted = familyNamed(families, "dinoair_operations_total").samples.reduce(
      (sum, sample) => sum + Number(sample.value),
      0,
    )
    expect(delivered).toBe(true)
    expect(sink.payloads).toHaveLength(1)
    expect(duration.samples).toHaveLength(names)
    expect(counted).toBe(count)
    expect(maxDelayMs).toBeLessThanOrEqual(MAX_BLOCKING_MS)
  })
})
