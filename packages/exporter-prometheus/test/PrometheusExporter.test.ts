import { Exporter, Plugin, Sink, Telemetry, TelemetryConfig } from "@dinoair/telemetry"
import { Cause, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { PrometheusError, PrometheusExporter, plugin, Registry } from "../src/index.js"
import {
  context,
  expectPromtoolAccepts,
  familyNamed,
  HOSTILE_CUSTOM_NAMES,
  HOSTILE_OPERATIONS,
  makeLogger,
  parseExposition,
  processMetrics,
  record,
} from "./helpers.js"

const REFERENCE = `# HELP dinoair_operation_duration_seconds Duration of operations in seconds
# TYPE dinoair_operation_duration_seconds gauge
dinoair_operation_duration_seconds{operation="data_processing"} 0.153 1699123456789

# HELP dinoair_operation_memory_bytes Memory usage in bytes
# TYPE dinoair_operation_memory_bytes gauge
dinoair_operation_memory_bytes{operation="data_processing"} 1048576 1699123456789
`

const encodeText = (
  records: Parameters<PrometheusExporter.PrometheusExporterShape["encode"]>[0],
  options: PrometheusExporter.PrometheusExporterOptions = {},
  exportContext = context(),
): string => PrometheusExporter.make(options).encode(records, exportContext).body

describe("PrometheusExporter reference output", () => {
  it("starts with the reference sample", async () => {
    const text = encodeText([record()])

    expect(text.startsWith(`${REFERENCE}\n`)).toBe(true)
    await expectPromtoolAccepts(text)
  })

  it("golden text for one record", async () => {
    const text = encodeText([record({ customMetrics: { records_processed: 1000 } })])

    expect(text).toBe(
      `${REFERENCE}
# HELP dinoair_operation_cpu_percent CPU used by the process during the operation, in percent of one core
# TYPE dinoair_operation_cpu_percent gauge
dinoair_operation_cpu_percent{operation="data_processing"} 15.3 1699123456789

# HELP dinoair_custom_records_processed Custom metric recorded by operations, from the latest record of each operation
# TYPE dinoair_custom_records_processed gauge
dinoair_custom_records_processed{operation="data_processing"} 1000 1699123456789
`,
    )
    await expectPromtoolAccepts(text)
  })

  it("payload replaces the file", () => {
    const payload = PrometheusExporter.make().encode([record(), record()], context())

    expect(payload.fileMode).toBe("replace")
    expect(payload.fileExtension).toBe("prom")
    expect(payload.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")
    expect(payload.header).toBe("")
    expect(payload.footer).toBe("")
    expect(payload.separator).toBe("")
    expect(payload.recordCount).toBe(2)
    expect(Exporter.documentOf(payload)).toBe(payload.body)
  })

  it("empty batch gives an empty document", async () => {
    const text = encodeText([])

    expect(text).toBe("")
    await expectPromtoolAccepts(text)
  })

  it("encode does not change the registry", () => {
    const exporter = PrometheusExporter.make()
    exporter.encode([record(), record()], context())

    expect(exporter.registry.snapshot().operations).toStrictEqual([])
  })
})

describe("PrometheusExporter gauges", () => {
  it("many records of one operation give one series per family", async () => {
    const records = Array.from({ length: 500 }, (_, index) =>
      record({ duration: index / 100, timestamp: 1699123000 + index }),
    )

    const text = encodeText(records)
    const families = parseExposition(text, "text")

    for (const family of families) expect(family.samples).toHaveLength(1)
    await expectPromtoolAccepts(text)
  })

  it("gauges hold the latest record's values", () => {
    const families = parseExposition(
      encodeText([
        record({ duration: 2, memoryUsage: 20, timestamp: 1699123470 }),
        record({ duration: 1, memoryUsage: 10, timestamp: 1699123460 }),
      ]),
      "text",
    )
    const duration = familyNamed(families, "dinoair_operation_duration_seconds").samples[0]
    const memory = familyNamed(families, "dinoair_operation_memory_bytes").samples[0]

    expect(duration?.value).toBe("2")
    expect(duration?.timestamp).toBe("1699123470000")
    expect(memory?.value).toBe("20")
  })

  it("a tie in timestamps goes to the later record", () => {
    const families = parseExposition(
      encodeText([record({ duration: 1 }), record({ duration: 2 })]),
      "text",
    )

    expect(familyNamed(families, "dinoair_operation_duration_seconds").samples[0]?.value).toBe("2")
  })

  it("series are sorted by operation", () => {
    const families = parseExposition(
      encodeText([record({ operation: "zeta" }), record({ operation: "alpha" })]),
      "text",
    )
    const operations = familyNamed(families, "dinoair_operation_duration_seconds").samples.map(
      (sample) => sample.labels.operation,
    )

    expect(operations).toStrictEqual(["alpha", "zeta"])
  })

  it("missing readings leave their sample out", async () => {
    const text = encodeText([record({ memoryUsage: undefined, cpuUsage: undefined })])
    const names = parseExposition(text, "text").map((family) => family.name)

    expect(names).toStrictEqual(["dinoair_operation_duration_seconds"])
    await expectPromtoolAccepts(text)
  })

  it("special values are spelled as the format asks", async () => {
    const text = encodeText([
      record({ operation: "nan", duration: Number.NaN }),
      record({ operation: "pos", duration: Number.POSITIVE_INFINITY }),
      record({ operation: "neg", duration: Number.NEGATIVE_INFINITY }),
      record({ operation: "zero", duration: -0 }),
      record({ operation: "tiny", duration: 1e-7 }),
      record({ operation: "huge", duration: 1.5e300 }),
    ])
    const values = Object.fromEntries(
      familyNamed(parseExposition(text, "text"), "dinoair_operation_duration_seconds").samples.map(
        (sample) => [sample.labels.operation, sample.value],
      ),
    )

    expect(values).toStrictEqual({
      huge: "1.5e+300",
      nan: "NaN",
      neg: "-Inf",
      pos: "+Inf",
      tiny: "1e-7",
      zero: "0",
    })
    await expectPromtoolAccepts(text)
  })

  it("hostile operation names stay one series each", async () => {
    const text = encodeText(HOSTILE_OPERATIONS.map((operation) => record({ operation })))
    const families = parseExposition(text, "text")
    const operations = familyNamed(families, "dinoair_operation_duration_seconds").samples.map(
      (sample) => sample.labels.operation,
    )

    expect(families).toHaveLength(3)
    for (const family of families) expect(family.samples).toHaveLength(HOSTILE_OPERATIONS.length)
    expect([...(operations as Array<string>)].sort()).toStrictEqual([...HOSTILE_OPERATIONS].sort())
    await expectPromtoolAccepts(text)
  })

  it("lone surrogates merge into one series", async () => {
    const text = encodeText([
      record({ operation: "bad\uD800", duration: 1, timestamp: 1 }),
      record({ operation: "bad\uDFFF", duration: 2, timestamp: 2 }),
    ])
    const samples = familyNamed(
      parseExposition(text, "text"),
      "dinoair_operation_duration_seconds",
    ).samples

    expect(samples).toHaveLength(1)
    expect(samples[0]?.labels.operation).toBe("bad\uFFFD")
    expect(samples[0]?.value).toBe("2")
    await expectPromtoolAccepts(text)
  })
})

describe("PrometheusExporter timestamps", () => {
  it("are on by default, in milliseconds", () => {
    const samples = parseExposition(encodeText([record()]), "text").flatMap(
      (family) => family.samples,
    )

    for (const sample of samples) expect(sample.timestamp).toBe("1699123456789")
  })

  it("can be turned off", async () => {
    const exporter = PrometheusExporter.make({ timestamps: false })
    exporter.observe(record())
    const text = exporter.encode([record()], context({ processMetrics })).body
    const samples = parseExposition(text, "text").flatMap((family) => family.samples)

    expect(samples.length).toBeGreaterThan(20)
    for (const sample of samples) expect(sample.timestamp).toBeUndefined()
    await expectPromtoolAccepts(text)
  })

  it("counters carry the export time", () => {
    const exporter = PrometheusExporter.make()
    exporter.observe(record())
    const families = parseExposition(exporter.encode([], context()).body, "text")

    expect(familyNamed(families, "dinoair_operations_total").samples[0]?.timestamp).toBe(
      "1699123460000",
    )
  })

  it("process metrics carry their read time", () => {
    const families = parseExposition(encodeText([], {}, context({ processMetrics })), "text")

    expect(familyNamed(families, "process_cpu_seconds_total").samples[0]?.timestamp).toBe(
      "1699123459500",
    )
  })

  it("a timestamp outside the safe range is left out", async () => {
    const text = encodeText([
      record({ timestamp: 1e300 }),
      record({ operation: "nan", timestamp: Number.NaN }),
    ])
    const samples = familyNamed(
      parseExposition(text, "text"),
      "dinoair_operation_duration_seconds",
    ).samples

    expect(samples.map((sample) => sample.timestamp)).toStrictEqual([undefined, undefined])
    await expectPromtoolAccepts(text)
  })
})

describe("PrometheusExporter custom metrics", () => {
  it("numbers, booleans and BigInts are written", async () => {
    const text = encodeText([
      record({
        customMetrics: {
          rows: 1000,
          ratio: Number.NaN,
          cached: true,
          cold: false,
          bytes_read: 2n ** 60n,
        },
      }),
    ])
    const values = Object.fromEntries(
      parseExposition(text, "text")
        .filter((family) => family.name.startsWith("dinoair_custom_"))
        .map((family) => [family.name, family.samples[0]?.value]),
    )

    expect(values).toStrictEqual({
      // Written as the nearest double, which is what Prometheus stores.
      dinoair_custom_bytes_read: "1152921504606847000",
      dinoair_custom_cached: "1",
      dinoair_custom_cold: "0",
      dinoair_custom_ratio: "NaN",
      dinoair_custom_rows: "1000",
    })
    await expectPromtoolAccepts(text)
  })

  it("other values are skipped", () => {
    const text = encodeText([
      record({
        customMetrics: {
          label: "text",
          nested: { rows: 1 },
          list: [1, 2],
          when: new Date(0),
          nothing: null,
          missing: undefined,
          boxed: Object(1),
          enormous: 10n ** 400n,
          symbol: Symbol("s"),
        },
      }),
    ])

    expect(text).not.toContain("dinoair_custom_")
  })

  it("a throwing getter skips only its metric", async () => {
    const customMetrics = Object.defineProperty({ rows: 1 }, "broken", {
      enumerable: true,
      get: () => {
        throw new Error("unreadable")
      },
    })
    const text = encodeText([record({ customMetrics })])
    const names = parseExposition(text, "text").map((family) => family.name)

    expect(names).toContain("dinoair_custom_rows")
    expect(names.some((name) => name.includes("broken"))).toBe(false)
    await expectPromtoolAccepts(text)
  })

  it("names are sanitised", async () => {
    const text = encodeText([
      record({
        customMetrics: JSON.parse(
          '{"recordsProcessed":1,"cache hit %":2,"__proto__":3,"9lives":4,"😀":5,"errorCount":6,"total":7}',
        ),
      }),
    ])
    const names = parseExposition(text, "text")
      .map((family) => family.name)
      .filter((name) => name.startsWith("dinoair_custom_"))

    expect(names).toStrictEqual([
      "dinoair_custom_9lives",
      "dinoair_custom_cache_hit",
      "dinoair_custom_error_count_value",
      "dinoair_custom_proto",
      "dinoair_custom_records_processed",
      "dinoair_custom_total_value",
      "dinoair_custom_unnamed",
    ])
    await expectPromtoolAccepts(text)
  })

  it("promtool accepts every hostile name", async () => {
    const customMetrics = Object.fromEntries(
      HOSTILE_CUSTOM_NAMES.map((name, index) => [name, index]),
    )
    const text = encodeText([record({ customMetrics })], { maxCustomMetricNames: 1000 })

    expect(text).toContain("dinoair_custom_ab{")
    await expectPromtoolAccepts(text)
  })

  it.each(["ms", "A B", "my counter", "kb_total", "0abc", "9 ms"])(
    "promtool accepts prefix %j",
    async (prefix) => {
      const text = encodeText([record({ customMetrics: { rows: 1 } })], { prefix })

      await expectPromtoolAccepts(text)
    },
  )

  it("names that collide merge, first name wins", async () => {
    const text = encodeText([
      record({ customMetrics: { rows_read: 1, "rows.read": 2, rowsRead: 3 } }),
    ])
    const family = familyNamed(parseExposition(text, "text"), "dinoair_custom_rows_read")

    expect(family.samples).toHaveLength(1)
    // "rows.read" < "rowsRead" < "rows_read" in UTF-16 code-unit order.
    expect(family.samples[0]?.value).toBe("2")
    await expectPromtoolAccepts(text)
  })

  it("come from each operation's latest record", () => {
    const families = parseExposition(
      encodeText([
        record({ timestamp: 2, customMetrics: { rows: 2 } }),
        record({ timestamp: 1, customMetrics: { rows: 1, old: 1 } }),
      ]),
      "text",
    )

    expect(familyNamed(families, "dinoair_custom_rows").samples[0]?.value).toBe("2")
    expect(families.some((family) => family.name === "dinoair_custom_old")).toBe(false)
  })

  it("are left out when the context says so", () => {
    const text = encodeText(
      [record({ customMetrics: { rows: 1 } })],
      {},
      context({ includeCustomMetrics: false }),
    )

    expect(text).not.toContain("dinoair_custom_")
  })

  it("at most maxCustomMetricNames families", () => {
    const customMetrics = Object.fromEntries(
      Array.from({ length: 10 }, (_, index) => [`metric_${index}`, index]),
    )
    const names = parseExposition(
      encodeText([record({ customMetrics })], { maxCustomMetricNames: 3 }),
      "text",
    )
      .map((family) => family.name)
      .filter((name) => name.startsWith("dinoair_custom_"))

    expect(names).toStrictEqual([
      "dinoair_custom_metric_0",
      "dinoair_custom_metric_1",
      "dinoair_custom_metric_2",
    ])
  })
})

describe("PrometheusExporter aggregates", () => {
  it("counter and histogram come from the registry", async () => {
    const exporter = PrometheusExporter.make({ buckets: [0.1, 1] })
    exporter.registry.observeAll([
      record({ duration: 0.05 }),
      record({ duration: 0.5 }),
      record({ duration: 5, status: "error" }),
    ])

    const text = exporter.encode([], context()).body
    const families = parseExposition(text, "text")
    const counter = familyNamed(families, "dinoair_operations_total")
    const histogram = familyNamed(families, "dinoair_operation_latency_seconds")

    expect(counter.type).toBe("counter")
    expect(counter.samples.map((sample) => [sample.labels.status, sample.value])).toStrictEqual([
      ["error", "1"],
      ["ok", "2"],
    ])
    expect(histogram.type).toBe("histogram")
    expect(
      histogram.samples.map((sample) => [sample.name, sample.labels.le, sample.value]),
    ).toStrictEqual([
      ["dinoair_operation_latency_seconds_bucket", "0.1", "1"],
      ["dinoair_operation_latency_seconds_bucket", "1", "2"],
      ["dinoair_operation_latency_seconds_bucket", "+Inf", "3"],
      ["dinoair_operation_latency_seconds_sum", undefined, "5.55"],
      ["dinoair_operation_latency_seconds_count", undefined, "3"],
    ])
    await expectPromtoolAccepts(text)
  })

  it("counter never decreases across exports", () => {
    const exporter = PrometheusExporter.make()
    const countOf = (text: string): number =>
      Number(
        familyNamed(parseExposition(text, "text"), "dinoair_operations_total").samples[0]?.value,
      )

    exporter.observe(record())
    exporter.observe(record())
    const first = countOf(exporter.encode([record(), record()], context()).body)
    exporter.observe(record())
    const second = countOf(exporter.encode([record()], context()).body)

    expect(first).toBe(2)
    expect(second).toBe(3)
  })

  it("a shared registry feeds the exporter", () => {
    const registry = Registry.make()
    const exporter = PrometheusExporter.make({ registry })
    registry.observe(record())

    expect(exporter.registry).toBe(registry)
    expect(exporter.encode([], context()).body).toContain("dinoair_operations_total")
  })

  it("without observations there is no counter", () => {
    const names = parseExposition(encodeText([record()]), "text").map((family) => family.name)

    expect(names).not.toContain("dinoair_operations_total")
    expect(names).not.toContain("dinoair_operation_latency_seconds")
  })
})

describe("PrometheusExporter process metrics", () => {
  it("use prom-client's names and types", async () => {
    const text = encodeText([], {}, context({ processMetrics }))
    const families = parseExposition(text, "text")

    expect(families.map((family) => [family.name, family.type])).toStrictEqual([
      ["process_cpu_user_seconds_total", "counter"],
      ["process_cpu_system_seconds_total", "counter"],
      ["process_cpu_seconds_total", "counter"],
      ["process_resident_memory_bytes", "gauge"],
      ["nodejs_heap_size_total_bytes", "gauge"],
      ["nodejs_heap_size_used_bytes", "gauge"],
      ["nodejs_external_memory_bytes", "gauge"],
      ["nodejs_eventloop_lag_seconds", "gauge"],
      ["nodejs_eventloop_lag_min_seconds", "gauge"],
      ["nodejs_eventloop_lag_max_seconds", "gauge"],
      ["nodejs_eventloop_lag_mean_seconds", "gauge"],
      ["nodejs_eventloop_lag_stddev_seconds", "gauge"],
      ["nodejs_eventloop_lag_p50_seconds", "gauge"],
      ["nodejs_eventloop_lag_p90_seconds", "gauge"],
      ["nodejs_eventloop_lag_p99_seconds", "gauge"],
      ["nodejs_gc_duration_seconds", "histogram"],
    ])
    await expectPromtoolAccepts(text)
  })

  it("values come from the context", () => {
    const families = parseExposition(encodeText([], {}, context({ processMetrics })), "text")
    const readValue = (name: string): string | undefined =>
      familyNamed(families, name).samples[0]?.value

    expect(readValue("process_cpu_seconds_total")).toBe("1.5")
    expect(readValue("process_resident_memory_bytes")).toBe("50000000")
    expect(readValue("nodejs_heap_size_used_bytes")).toBe("20000000")
    expect(readValue("nodejs_eventloop_lag_p99_seconds")).toBe("0.019")
    expect(readValue("nodejs_eventloop_lag_seconds")).toBe("0.005")
  })

  it("GC pauses have a +Inf bucket, sum and count per kind", () => {
    const gc = familyNamed(
      parseExposition(encodeText([], {}, context({ processMetrics })), "text"),
      "nodejs_gc_duration_seconds",
    )

    expect(
      gc.samples.map((sample) => [sample.name, sample.labels.kind, sample.labels.le, sample.value]),
    ).toStrictEqual([
      ["nodejs_gc_duration_seconds_bucket", "major", "+Inf", "1"],
      ["nodejs_gc_duration_seconds_sum", "major", undefined, "0.012"],
      ["nodejs_gc_duration_seconds_count", "major", undefined, "1"],
      ["nodejs_gc_duration_seconds_bucket", "minor", "+Inf", "4"],
      ["nodejs_gc_duration_seconds_sum", "minor", undefined, "0.003"],
      ["nodejs_gc_duration_seconds_count", "minor", undefined, "4"],
    ])
  })

  it("can be turned off", () => {
    const text = encodeText([], { includeProcessMetrics: false }, context({ processMetrics }))

    expect(text).toBe("")
  })

  it("are never prefixed", () => {
    const names = parseExposition(
      encodeText([record()], { prefix: "shop" }, context({ processMetrics })),
      "text",
    ).map((family) => family.name)

    expect(names).toContain("shop_operation_duration_seconds")
    expect(names).toContain("process_cpu_seconds_total")
  })
})

describe("PrometheusExporter options", () => {
  it("constant labels go on every series", async () => {
    const exporter = PrometheusExporter.make({
      labels: { service: "checkout", "Deploy-Region": 'eu "west"\n' },
    })
    exporter.observe(record())
    const text = exporter.encode([record()], context({ processMetrics })).body
    const samples = parseExposition(text, "text").flatMap((family) => family.samples)

    for (const sample of samples) {
      expect(sample.labels.service).toBe("checkout")
      expect(sample.labels.deploy_region).toBe('eu "west"\n')
    }
    await expectPromtoolAccepts(text)
  })

  it("prefix is sanitised", () => {
    const names = parseExposition(encodeText([record()], { prefix: "My App" }), "text").map(
      (family) => family.name,
    )

    expect(names[0]).toBe("my_app_operation_duration_seconds")
  })

  it("empty prefix drops the dinoair_ part", () => {
    const names = parseExposition(encodeText([record()], { prefix: "" }), "text").map(
      (family) => family.name,
    )

    expect(names[0]).toBe("operation_duration_seconds")
  })

  it.each([
    [{ buckets: [1, 0.5] }, /strictly increasing/],
    [{ buckets: [0.1, Number.POSITIVE_INFINITY] }, /buckets\[1\] must be a finite number/],
    [{ buckets: [-1] }, /at least 0/],
    [{ timestamps: "yes" as unknown as boolean }, /timestamps must be true or false/],
    [{ prefix: 7 as unknown as string }, /prefix must be a string/],
    [{ labels: { operation: "x" } }, /DinoAir's own series use/],
    [{ labels: { "a-b": "x", a_b: "y" } }, /the same as labels.a-b/],
    [{ labels: { n: 1 as unknown as string } }, /labels.n must be a string/],
    [{ maxCustomMetricNames: -1 }, /maxCustomMetricNames must be a whole number/],
    [{ registry: Registry.make(), buckets: [1] }, /give buckets to Registry.make/],
  ])("make rejects %j", (options, message) => {
    expect(() => PrometheusExporter.make(options)).toThrow(message)
  })

  it("make throws a TypeError", () => {
    expect(() => PrometheusExporter.make({ buckets: [2, 1] })).toThrow(TypeError)
  })

  it("layer provides the exporter", async () => {
    const format = await Effect.runPromise(
      Effect.service(Exporter.Exporter).pipe(
        Effect.map((exporter) => exporter.format),
        Effect.provide(PrometheusExporter.layer()),
      ),
    )

    expect(format).toBe("prometheus")
  })

  it("layer fails with PrometheusError", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.service(Exporter.Exporter).pipe(
        Effect.provide(PrometheusExporter.layer({ buckets: [2, 1] })),
      ),
    )
    const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined

    expect(error).toBeInstanceOf(PrometheusError.PrometheusError)
    expect((error as PrometheusError.PrometheusError).reason).toBe("InvalidOption")
    expect((error as PrometheusError.PrometheusError).code).toBe(
      "DINOAIR_PROMETHEUS_INVALID_OPTION",
    )
    expect((error as PrometheusError.PrometheusError).message).toMatch(/strictly increasing/)
  })

  it("layer does not throw when called", () => {
    expect(() => PrometheusExporter.layer({ buckets: [2, 1] })).not.toThrow()
  })
})

describe("PrometheusExporter plugin", () => {
  const config = TelemetryConfig.defaultTelemetryConfig

  it("is a prometheus exporter plugin", () => {
    expect(Plugin.isPlugin(plugin)).toBe(true)
    expect(plugin.kind).toBe("exporter")
    expect(plugin.format).toBe("prometheus")
  })

  it("make passes options through", () => {
    const exporter = plugin.make({ config, options: { timestamps: false }, logger: makeLogger() })
    const text = exporter.encode([record()], context()).body

    expect(text).toContain(
      'dinoair_operation_duration_seconds{operation="data_processing"} 0.153\n',
    )
  })

  it("invalid options are logged and defaulted", () => {
    const logger = makeLogger()
    const exporter = plugin.make({
      config,
      options: { buckets: [2, 1], timestamps: "no", colour: "blue", labels: { le: "x" } },
      logger,
    }) as PrometheusExporter.PrometheusExporterShape

    expect(exporter.registry.buckets).toStrictEqual(Registry.DEFAULT_BUCKETS)
    expect(logger.at("warn")).toHaveLength(4)
    expect(logger.at("warn").join("\n")).toMatch(/strictly increasing/)
    expect(logger.at("warn").join("\n")).toMatch(/timestamps must be true or false/)
    expect(logger.at("warn").join("\n")).toMatch(/unknown option "colour"/)
    expect(logger.at("warn").join("\n")).toMatch(/labels.le is invalid/)
    expect(exporter.encode([record()], context()).body).toContain(" 1699123456789\n")
  })

  it("warning embeds a message without its period", () => {
    const logger = makeLogger()
    plugin.make({ config, options: { labels: { operation: "x" } }, logger })

    expect(logger.at("warn")).toEqual([
      'prometheus exporter: labels.operation is invalid: after sanitising it is "operation", which DinoAir\'s own series use. Rename it. The default is used instead.',
    ])
  })

  it("prefix with a leading digit gets an underscore", async () => {
    const logger = makeLogger()
    const exporter = plugin.make({
      config,
      options: { prefix: "0abc", timestamps: false },
      logger,
    }) as PrometheusExporter.PrometheusExporterShape
    exporter.observe(record())
    const text = exporter.encode([record()], context()).body
    const names = parseExposition(text, "text").map((family) => family.name)

    expect(logger.at("warn")).toEqual([
      'prometheus exporter: prefix "0abc" starts with a digit, which a metric name cannot, so "_0abc_" is used. Start the prefix with a letter to avoid the leading underscore.',
    ])
    expect(names).toContain("_0abc_operation_duration_seconds")
    expect(text).toContain('_0abc_operations_total{operation="data_processing",status="ok"} 1\n')
    await expectPromtoolAccepts(text)
  })

  it("observe is exposed for the collector", () => {
    const exporter = plugin.make({
      config,
      options: {},
      logger: makeLogger(),
    }) as PrometheusExporter.PrometheusExporterShape
    exporter.observe(record())

    expect(exporter.encode([], context()).body).toContain(
      'dinoair_operations_total{operation="data_processing",status="ok"} 1',
    )
  })
})

describe("PrometheusExporter installed late", () => {
  it("counter counts records the buffer dropped", async () => {
    const telemetry = Telemetry.makeUnsafe({
      source: () => () => {},
      flushOnExit: false,
      includeSystemMetrics: false,
      maxMetricsPerOperation: 100,
      logger: makeLogger(),
      // The records' own time, so that retention keeps them.
      nowSeconds: () => 1699123460,
    })
    for (let index = 0; index < 1000; index++) telemetry.collect(record({ operation: "work" }))
    const sink = Sink.makeMemory()

    telemetry.setPipeline({ exporter: PrometheusExporter.make({ timestamps: false }), sink })
    await Effect.runPromise(telemetry.forceExport)
    const counter = familyNamed(
      parseExposition(sink.documents().join(""), "text"),
      "dinoair_operations_total",
    )

    expect(telemetry.stats.dropped.perOperation).toBe(900)
    expect(counter.samples[0]?.value).toBe("1000")
  })
})
