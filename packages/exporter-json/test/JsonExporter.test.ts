import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import { Exporter, JsonText, TelemetryConfig } from "@dinoair/telemetry"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { JsonExporter, plugin } from "../src/index.js"

const record = (overrides: Partial<OperationMetrics> = {}): OperationMetrics => ({
  id: "data_processing_1",
  operation: "data_processing",
  duration: 0.153,
  timestamp: 1699123456.789,
  memoryUsage: 1048576,
  memoryDelta: undefined,
  cpuUsage: 15.3,
  status: "ok",
  error: undefined,
  customMetrics: { records_processed: 1000, errors: 0 },
  parentId: undefined,
  systemInfo: undefined,
  ...overrides,
})

const context = (overrides: Partial<Exporter.ExportContext> = {}): Exporter.ExportContext => ({
  timestamp: 1699123460,
  processMetrics: undefined,
  includeCustomMetrics: true,
  source: "checkout",
  ...overrides,
})

const processMetrics: Exporter.ProcessMetrics = {
  processCpuSecondsTotal: 1.5,
  processCpuUserSecondsTotal: 1.25,
  processCpuSystemSecondsTotal: 0.25,
  processResidentMemoryBytes: 50_000_000,
  nodejsHeapSizeUsedBytes: 20_000_000,
  nodejsHeapSizeTotalBytes: 30_000_000,
  nodejsExternalMemoryBytes: 1_000_000,
  nodejsEventloopLagSeconds: {
    min: 0.001,
    max: 0.02,
    mean: Number.NaN,
    stddev: 0.002,
    p50: 0.004,
    p90: 0.01,
    p99: 0.019,
  },
  nodejsGcDurationSeconds: [{ kind: "minor", count: 4, sum: 0.003 }],
  timestamp: 1699123459.5,
}

interface Document {
  readonly source: string
  readonly exported_at: number | null
  readonly system_info?: Record<string, unknown>
  readonly system_metrics?: Record<string, unknown>
  readonly metrics: ReadonlyArray<Record<string, unknown>>
}

const parse = (payload: Exporter.Payload): Document =>
  JSON.parse(Exporter.documentOf(payload)) as Document

const encode = (
  records: ReadonlyArray<OperationMetrics>,
  exportContext: Exporter.ExportContext = context(),
  options?: JsonExporter.JsonExporterOptions,
): Exporter.Payload => JsonExporter.make(options).encode(records, exportContext)

const firstMetric = (payload: Exporter.Payload): Record<string, unknown> => {
  const metric = parse(payload).metrics[0]
  if (metric === undefined) throw new Error("the document has no metrics")
  return metric
}

describe("JsonExporter reference document", () => {
  it("golden text for one record", () => {
    const payload = encode([record()])

    expect(Exporter.documentOf(payload)).toBe(
      '{"source":"checkout","exported_at":1699123460,"metrics":[' +
        '{"operation":"data_processing","duration":0.153,"memory_usage":1048576,' +
        '"cpu_usage":15.3,"timestamp":1699123456.789,' +
        '"custom_metrics":{"records_processed":1000,"errors":0},' +
        '"id":"data_processing_1","status":"ok"}]}\n',
    )
  })

  it("six reference fields come first", () => {
    const metric = firstMetric(encode([record()]))

    expect(Object.keys(metric).slice(0, 6)).toStrictEqual([
      "operation",
      "duration",
      "memory_usage",
      "cpu_usage",
      "timestamp",
      "custom_metrics",
    ])
  })

  it("missing readings are null", () => {
    const metric = firstMetric(encode([record({ memoryUsage: undefined, cpuUsage: undefined })]))

    expect(metric.memory_usage).toBeNull()
    expect(metric.cpu_usage).toBeNull()
  })

  it("non-finite readings are null", () => {
    const metric = firstMetric(
      encode([
        record({
          duration: Number.NaN,
          timestamp: Number.POSITIVE_INFINITY,
          cpuUsage: Number.NEGATIVE_INFINITY,
          memoryDelta: Number.NaN,
        }),
      ]),
    )

    expect(metric.duration).toBeNull()
    expect(metric.timestamp).toBeNull()
    expect(metric.cpu_usage).toBeNull()
    expect(metric.memory_delta).toBeNull()
  })

  it("negative zero duration is zero", () => {
    const payload = encode([record({ duration: -0 })])

    expect(payload.body).toContain('"duration":0,')
  })

  it("optional fields appear when present", () => {
    const metric = firstMetric(
      encode([
        record({
          status: "error",
          error: "disk full",
          memoryDelta: -2048,
          parentId: "batch_7",
        }),
      ]),
    )

    expect(metric.status).toBe("error")
    expect(metric.error).toBe("disk full")
    expect(metric.memory_delta).toBe(-2048)
    expect(metric.parent_id).toBe("batch_7")
  })

  it("optional fields are absent when unset", () => {
    const metric = firstMetric(encode([record()]))

    expect(metric).not.toHaveProperty("error")
    expect(metric).not.toHaveProperty("memory_delta")
    expect(metric).not.toHaveProperty("parent_id")
  })
})

describe("JsonExporter custom metrics", () => {
  it("includeCustomMetrics false writes {}", () => {
    const payload = encode([record()], context({ includeCustomMetrics: false }))

    expect(firstMetric(payload).custom_metrics).toStrictEqual({})
    expect(payload.body).not.toContain("records_processed")
  })

  it("hard values are mapped", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const customMetrics = {
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      negativeInf: Number.NEGATIVE_INFINITY,
      big: 2n ** 70n,
      small: 12n,
      at: new Date(0),
      tags: new Set(["a"]),
      byShard: new Map([["s1", 1]]),
      cyclic,
      callback: () => 0,
    }

    const metric = firstMetric(encode([record({ customMetrics })]))

    expect(metric.custom_metrics).toStrictEqual({
      nan: "NaN",
      inf: "Infinity",
      negativeInf: "-Infinity",
      big: "1180591620717411303424",
      small: 12,
      at: "1970-01-01T00:00:00.000Z",
      tags: ["a"],
      byShard: { s1: 1 },
      cyclic: { self: "[Circular]" },
    })
  })

  it("unreadable custom metrics become {}", () => {
    const customMetrics = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("revoked")
        },
      },
    )

    const metric = firstMetric(encode([record({ customMetrics })]))

    expect(metric.custom_metrics).toStrictEqual({})
  })

  it("maxDepth counts custom_metrics itself", () => {
    const payload = encode([record({ customMetrics: { a: { b: 1 } } })], context(), { maxDepth: 2 })

    expect(firstMetric(payload).custom_metrics).toStrictEqual({ a: { b: 1 } })
  })

  it("nesting past maxDepth is truncated", () => {
    const payload = encode([record({ customMetrics: { a: { b: 1 } } })], context(), { maxDepth: 1 })

    expect(firstMetric(payload).custom_metrics).toStrictEqual({ a: "[Truncated]" })
  })

  it("plain and mapped custom metrics write the same text", () => {
    const plain = { rows: 3, tags: ["a", null], inner: { ratio: 0.5 } }
    const mapped = { rows: 3n, tags: new Set(["a", null]), inner: new Map([["ratio", 0.5]]) }

    const plainBody = encode([record({ customMetrics: plain })]).body
    const mappedBody = encode([record({ customMetrics: mapped })]).body

    expect(JsonText.canUseJsonStringify(plain)).toBe(true)
    expect(JsonText.canUseJsonStringify(mapped)).toBe(false)
    expect(mappedBody).toBe(plainBody)
  })

  it("mixed batch keeps record order", () => {
    const records = [
      record({ id: "a" }),
      record({ id: "b", customMetrics: { ratio: Number.NaN } }),
      record({ id: "c" }),
      record({ id: "d" }),
      record({ id: "e", customMetrics: { at: new Date(0) } }),
    ]

    const metrics = parse(encode(records)).metrics

    expect(metrics.map((metric) => metric.id)).toStrictEqual(["a", "b", "c", "d", "e"])
    expect(metrics[1]?.custom_metrics).toStrictEqual({ ratio: "NaN" })
    expect(metrics[4]?.custom_metrics).toStrictEqual({ at: "1970-01-01T00:00:00.000Z" })
  })

  it("getter that changes to BigInt is still written", () => {
    let reads = 0
    const customMetrics = {
      get total(): number | bigint {
        reads++
        return reads === 1 ? 1 : 2n ** 64n
      },
    }

    const metric = firstMetric(encode([record({ customMetrics })]))

    expect(metric.custom_metrics).toStrictEqual({ total: "18446744073709551616" })
  })

  it("encodeRecord writes the body of one record", () => {
    const one = record({ customMetrics: { ratio: Number.NaN } })

    expect(JsonExporter.encodeRecord(one, context())).toBe(encode([one]).body)
  })

  it("frozen records encode without change", () => {
    const frozen = Object.freeze(
      record({ customMetrics: Object.freeze({ nested: Object.freeze({ n: Number.NaN }) }) }),
    )

    const metric = firstMetric(encode([frozen]))

    expect(metric.custom_metrics).toStrictEqual({ nested: { n: "NaN" } })
    expect(Number.isNaN((frozen.customMetrics.nested as { n: number }).n)).toBe(true)
  })
})

describe("JsonExporter envelope", () => {
  it("source and exported_at come first", () => {
    const document = parse(encode([record()]))

    expect(Object.keys(document)).toStrictEqual(["source", "exported_at", "metrics"])
    expect(document.source).toBe("checkout")
    expect(document.exported_at).toBe(1699123460)
  })

  it("system_metrics has snake_case keys", () => {
    const document = parse(encode([record()], context({ processMetrics })))

    expect(Object.keys(document)).toStrictEqual([
      "source",
      "exported_at",
      "system_metrics",
      "metrics",
    ])
    expect(document.system_metrics).toStrictEqual({
      process_cpu_seconds_total: 1.5,
      process_cpu_user_seconds_total: 1.25,
      process_cpu_system_seconds_total: 0.25,
      process_resident_memory_bytes: 50_000_000,
      nodejs_heap_size_used_bytes: 20_000_000,
      nodejs_heap_size_total_bytes: 30_000_000,
      nodejs_external_memory_bytes: 1_000_000,
      nodejs_eventloop_lag_seconds: {
        min: 0.001,
        max: 0.02,
        mean: null,
        stddev: 0.002,
        p50: 0.004,
        p90: 0.01,
        p99: 0.019,
      },
      nodejs_gc_duration_seconds: [{ kind: "minor", count: 4, sum: 0.003 }],
      timestamp: 1699123459.5,
    })
  })

  it("system_info comes from the first record with it", () => {
    const systemInfo = {
      hostname: "web-1",
      platform: "linux",
      arch: "x64",
      runtimeVersion: "v20.20.0",
      cpuCount: 8,
      totalMemory: 16_000_000_000,
    }

    const document = parse(encode([record(), record({ systemInfo })]))

    expect(document.system_info).toStrictEqual({
      hostname: "web-1",
      platform: "linux",
      arch: "x64",
      runtime_version: "v20.20.0",
      cpu_count: 8,
      total_memory: 16_000_000_000,
    })
  })

  it("non-finite exported_at is null", () => {
    const document = parse(encode([], context({ timestamp: Number.NaN })))

    expect(document.exported_at).toBeNull()
  })
})

describe("JsonExporter payload", () => {
  it("declares an appendable JSON file", () => {
    const payload = encode([record()])

    expect(payload.contentType).toBe("application/json")
    expect(payload.fileExtension).toBe("json")
    expect(payload.fileMode).toBe("append")
    expect(payload.separator).toBe(",")
    expect(payload.footer).toBe("]}\n")
    expect(payload.recordCount).toBe(1)
  })

  it("shape matches its payloads", () => {
    const exporter = JsonExporter.make()

    expect(exporter.format).toBe("json")
    expect(exporter.contentType).toBe("application/json")
    expect(exporter.fileExtension).toBe("json")
  })

  it("empty batch has an empty body", () => {
    const payload = encode([])

    expect(payload.body).toBe("")
    expect(payload.recordCount).toBe(0)
    expect(parse(payload).metrics).toStrictEqual([])
  })

  it("footer is the same for every export", () => {
    const first = encode([record()], context({ processMetrics }))
    const second = encode([], context({ timestamp: 1, source: "other" }))

    expect(second.footer).toBe(first.footer)
  })

  it("header ends with the metrics array", () => {
    expect(encode([record()], context({ processMetrics })).header.endsWith('"metrics":[')).toBe(
      true,
    )
  })

  it.each([0, 2])("append splice with indent %i parses", (indent) => {
    const exporter = JsonExporter.make({ indent })
    const first = exporter.encode([record({ id: "a" })], context())
    const second = exporter.encode([record({ id: "b" }), record({ id: "c" })], context())

    const text = first.header + first.body + second.separator + second.body + second.footer
    const document = JSON.parse(text) as Document

    expect(document.metrics.map((metric) => metric.id)).toStrictEqual(["a", "b", "c"])
  })
})

describe("JsonExporter indent", () => {
  it("golden text with indent 2", () => {
    const payload = encode([record({ customMetrics: { tags: ["a"] } })], context(), { indent: 2 })

    expect(Exporter.documentOf(payload)).toBe(`{
  "source": "checkout",
  "exported_at": 1699123460,
  "metrics": [
    {
      "operation": "data_processing",
      "duration": 0.153,
      "memory_usage": 1048576,
      "cpu_usage": 15.3,
      "timestamp": 1699123456.789,
      "custom_metrics": {
        "tags": [
          "a"
        ]
      },
      "id": "data_processing_1",
      "status": "ok"
    }
  ]
}
`)
  })

  it("indented and compact documents agree", () => {
    const records = [record(), record({ id: "b", parentId: "a" })]
    const exportContext = context({ processMetrics })

    const compact = parse(encode(records, exportContext))
    const indented = parse(encode(records, exportContext, { indent: 4 }))

    expect(indented).toStrictEqual(compact)
  })

  it("empty batch with indent parses", () => {
    expect(parse(encode([], context(), { indent: 2 })).metrics).toStrictEqual([])
  })

  it.each([
    ["above 10", 25, 10],
    ["negative", -3, 0],
    ["fractional", 2.9, 2],
  ])("indent %s is clamped", (_name, indent, expected) => {
    const payload = encode([record()], context(), { indent })

    expect(payload.footer).toBe(expected === 0 ? "]}\n" : `\n${" ".repeat(expected)}]\n}\n`)
  })

  it("non-number indent means compact", () => {
    const options = { indent: "4" } as unknown as JsonExporter.JsonExporterOptions

    expect(encode([record()], context(), options).footer).toBe("]}\n")
  })
})

describe("JsonExporter services", () => {
  it("layer provides the Exporter service", async () => {
    const format = await Effect.runPromise(
      Effect.map(Effect.service(Exporter.Exporter), (exporter) => exporter.format).pipe(
        Effect.provide(JsonExporter.layer()),
      ),
    )

    expect(format).toBe("json")
  })

  it("plugin builds an exporter from options", () => {
    const logger: DinoLogger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: () => {},
    }

    const exporter = plugin.make({
      config: TelemetryConfig.defaultTelemetryConfig,
      options: { indent: 2 },
      logger,
    })

    expect(plugin.format).toBe("json")
    expect(exporter.encode([], context()).footer).toBe("\n  ]\n}\n")
  })
})
