import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { forceExport, makeExporter, makeHarness, record, START_SECONDS } from "./fixtures.js"

describe("ExportContext", () => {
  it("includeSystemMetrics adds process metrics", async () => {
    const { telemetry, exporter } = makeHarness({ includeSystemMetrics: true })
    await Effect.runPromise(telemetry.enable())
    telemetry.collect(record("with-system"))

    await forceExport(telemetry)
    await Effect.runPromise(telemetry.shutdown)

    const metrics = exporter.calls[0]?.context.processMetrics
    expect(metrics).toBeDefined()
    expect(metrics?.processCpuSecondsTotal).toBeGreaterThan(0)
    expect(metrics?.processCpuSecondsTotal).toBeCloseTo(
      (metrics?.processCpuUserSecondsTotal ?? 0) + (metrics?.processCpuSystemSecondsTotal ?? 0),
    )
    expect(metrics?.processResidentMemoryBytes).toBeGreaterThan(0)
    expect(metrics?.nodejsHeapSizeUsedBytes).toBeGreaterThan(0)
    expect(metrics?.nodejsHeapSizeTotalBytes).toBeGreaterThanOrEqual(
      metrics?.nodejsHeapSizeUsedBytes ?? Number.POSITIVE_INFINITY,
    )
    expect(metrics?.nodejsExternalMemoryBytes).toBeGreaterThanOrEqual(0)
    expect(Object.keys(metrics?.nodejsEventloopLagSeconds ?? {}).sort()).toEqual([
      "max",
      "mean",
      "min",
      "p50",
      "p90",
      "p99",
      "stddev",
    ])
    expect(Array.isArray(metrics?.nodejsGcDurationSeconds)).toBe(true)
    expect(metrics?.timestamp).toBe(START_SECONDS)
  })

  it("event-loop percentiles are ordered", async () => {
    const { telemetry, exporter } = makeHarness({ includeSystemMetrics: true })
    telemetry.collect(record("lag"))

    await forceExport(telemetry)

    const lag = exporter.calls[0]?.context.processMetrics?.nodejsEventloopLagSeconds
    expect(lag?.p50).toBeLessThanOrEqual(lag?.p90 ?? Number.NEGATIVE_INFINITY)
    expect(lag?.p90).toBeLessThanOrEqual(lag?.p99 ?? Number.NEGATIVE_INFINITY)
    expect(lag?.min).toBeLessThanOrEqual(lag?.max ?? Number.NEGATIVE_INFINITY)
  })

  it("includeSystemMetrics false leaves them out", async () => {
    const { telemetry, exporter } = makeHarness({ includeSystemMetrics: false })
    telemetry.collect(record("without-system"))

    await forceExport(telemetry)

    expect(exporter.calls).toHaveLength(1)
    expect(exporter.calls[0]?.context.processMetrics).toBeUndefined()
  })

  it.each([true, false])("includeCustomMetrics %s passes through", async (include) => {
    const { telemetry, exporter } = makeHarness({ includeCustomMetrics: include })
    telemetry.collect(record("custom", { customMetrics: { rows: 3 } }))

    await forceExport(telemetry)

    expect(exporter.calls[0]?.context.includeCustomMetrics).toBe(include)
  })

  it("context carries timestamp and source name", async () => {
    const { telemetry, exporter, clock } = makeHarness()
    clock.seconds = START_SECONDS + 42
    telemetry.collect(record("stamped", { timestamp: clock.seconds }))

    await forceExport(telemetry)

    expect(exporter.calls[0]?.context.timestamp).toBe(START_SECONDS + 42)
    expect(exporter.calls[0]?.context.source).toBe("test-source")
  })

  it("every batch of one export shares the context", async () => {
    const { telemetry, exporter } = makeHarness({ batchSize: 1, includeSystemMetrics: false })
    telemetry.collect(record("shared"))
    telemetry.collect(record("shared"))

    await forceExport(telemetry)

    expect(exporter.calls).toHaveLength(2)
    expect(exporter.calls[1]?.context).toBe(exporter.calls[0]?.context)
  })

  it("recordsObserved is false without observe", async () => {
    const { telemetry, exporter } = makeHarness()
    telemetry.collect(record("unobserved"))

    await forceExport(telemetry)

    expect(exporter.calls[0]?.context.recordsObserved).toBe(false)
  })

  it("recordsObserved is true with observe", async () => {
    const observed: Array<string> = []
    const exporter = {
      ...makeExporter(),
      observe: (each: { id: string }) => observed.push(each.id),
    }
    const { telemetry } = makeHarness({}, { exporter })
    telemetry.collect(record("observed"))

    await forceExport(telemetry)

    expect(observed).toHaveLength(1)
    expect(exporter.calls[0]?.context.recordsObserved).toBe(true)
  })

  it("configure switches system metrics off", async () => {
    const { telemetry, exporter } = makeHarness({ includeSystemMetrics: true })
    await Effect.runPromise(telemetry.configure({ includeSystemMetrics: false }))
    telemetry.collect(record("switched"))

    await forceExport(telemetry)

    expect(exporter.calls[0]?.context.processMetrics).toBeUndefined()
  })
})
