/**
 * The DinoAir benchmark: every case in one process, side by side
 * with its anchor (prom-client, the OpenTelemetry metrics SDK, Effect's
 * `Metric`, or the raw call it wraps).
 *
 * Writes `bench/results.json` and `bench/RESULTS.md`, and prints one
 * pass/fail line per target. Targets are reported, never enforced: the exit
 * code is 0 whenever every case ran.
 *
 * Usage: `node --expose-gc bench/run.mjs [--quick]`. `--quick` (or
 * `BENCH_QUICK=1`) takes few samples and writes no files, only to prove that
 * the cases still run.
 * `--only=N` runs case N alone and writes nothing, for `--cpu-prof`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { getHeapStatistics } from "node:v8"
import { PerformanceMonitor } from "@dinoair/api"
import { CsvExporter } from "@dinoair/exporter-csv"
import { JsonExporter } from "@dinoair/exporter-json"
import { PrometheusExporter } from "@dinoair/exporter-prometheus"
import { BoundedStore, Monitor } from "@dinoair/monitor"
import { HttpSink } from "@dinoair/sink-http"
import { Exporter } from "@dinoair/telemetry"
import { MeterProvider } from "@opentelemetry/sdk-metrics"
import { Context, Effect, Metric } from "effect"
import promClient from "prom-client"
import { Bench } from "tinybench"
import { Pool } from "undici"

const QUICK = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1"
/** `--only=4` runs one case, for profiling it with `--cpu-prof`. */
const ONLY = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length)
const HERE = dirname(fileURLToPath(import.meta.url))

/** Settings, written into the results so that a reader knows what was run. */
const SETTINGS = {
  quick: QUICK,
  /** Milliseconds of warm-up per task. */
  warmupTimeMs: QUICK ? 5 : 100,
  /** Milliseconds of sampling per task for the per-operation cases. */
  timeMs: QUICK ? 20 : 500,
  /** Operations per sample in the per-operation cases. The ns/op figure is the sample median divided by it. */
  batch: 1000,
  /** Samples per task for the cases that handle 100,000 records. */
  bulkIterations: QUICK ? 2 : 10,
  /** Alternating rounds of the bulk tasks. Each task keeps its lowest median. */
  bulkRounds: QUICK ? 1 : 3,
  /** Records per serialisation or export. */
  records: QUICK ? 10_000 : 100_000,
  /** Operations for the heap-growth measurement. */
  operations: QUICK ? 100_000 : 1_000_000,
}

/** Prevents the optimiser from dropping the measured work. */
let blackhole = 0
const work = () => {
  blackhole = (blackhole + 1) | 0
  return blackhole
}

const results = []

/** Median ns per call of `fn`, which performs `perCall` operations. */
const measure = async (name, fn, perCall, options = {}) => {
  const bench = new Bench({
    name,
    time: options.time ?? SETTINGS.timeMs,
    warmupTime: SETTINGS.warmupTimeMs,
    iterations: options.iterations ?? 10,
    throws: true,
  })
  bench.add(name, fn)
  await bench.run()
  const result = bench.tasks[0].result
  if (result.state !== "completed")
    throw new Error(`benchmark task ${name} failed: state ${result.state}`)
  return (result.latency.p50 * 1e6) / perCall
}

/** A per-operation task: runs `op` `SETTINGS.batch` times per sample. */
const perOp = (name, op) =>
  measure(
    name,
    () => {
      for (let i = 0; i < SETTINGS.batch; i++) op()
    },
    SETTINGS.batch,
  )

/** A task that handles all records once per sample. */
const bulk = (name, fn) => measure(name, fn, 1, { time: 0, iterations: SETTINGS.bulkIterations })

/**
 * Measures bulk tasks in alternating rounds and keeps each task's lowest
 * median, so that a slow stretch of the machine (GC, another process) does
 * not land on one side of a ratio only.
 */
const bulkRounds = async (tasks) => {
  const best = {}
  for (let round = 0; round < SETTINGS.bulkRounds; round++) {
    for (const [name, fn] of Object.entries(tasks)) {
      const ns = await bulk(name, fn)
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, ns)
    }
  }
  return best
}

/**
 * Adds one result row. `kind` is `ratio` (target: case/anchor at most
 * `target`), `overNs` (case minus anchor at most `target` ns) or `absolute`
 * (value at most `target`, in `unit`).
 */
const row = (id, name, caseNs, anchorName, anchorNs, kind, target, unit = "ns/op") => {
  const ratio = anchorNs === undefined ? undefined : caseNs / anchorNs
  let value = caseNs
  if (kind === "ratio") value = ratio
  if (kind === "overNs") value = caseNs - anchorNs
  const entry = {
    case: id,
    name,
    median: round(caseNs),
    unit,
    anchor: anchorName,
    anchorMedian: anchorNs === undefined ? undefined : round(anchorNs),
    ratio: ratio === undefined ? undefined : round(ratio, 3),
    target: targetText(kind, target, unit),
    pass: value <= target,
  }
  results.push(entry)
  const mark = entry.pass ? "PASS" : "FAIL"
  const against = anchorName === undefined ? "" : ` vs ${anchorName} ${formatNumber(anchorNs)}`
  console.log(
    `${mark}  case ${id}  ${name}: ${formatNumber(caseNs)} ${unit}${against}` +
      `${ratio === undefined ? "" : ` (${ratio.toFixed(2)}x)`}  target ${entry.target}`,
  )
}

const targetText = (kind, target, unit) => {
  if (kind === "ratio") return `<= ${target}x`
  if (kind === "overNs") return `<= +${target} ns`
  return `<= ${target} ${unit}`
}

const round = (value, digits = 2) => Number(value.toFixed(digits))
const formatNumber = (value) => (value >= 100 ? value.toFixed(0) : value.toFixed(1))

const durationOnly = {
  enableCpuTracking: false,
  enableMemoryTracking: false,
  publish: false,
  thresholdDurationMs: 1e9,
}

// Case 1: one operation, duration only.
const case1 = async () => {
  const monitor = Monitor.makeUnsafe(durationOnly)
  const facade = new PerformanceMonitor(undefined, Monitor.makeUnsafe(durationOnly))

  const meter = new MeterProvider().getMeter("bench")
  const histogram = meter.createHistogram("op_duration_ms")
  const attributes = { operation: "op" }

  const registry = new promClient.Registry()
  const promHistogram = new promClient.Histogram({
    name: "op_duration_seconds",
    help: "Operation duration",
    labelNames: ["operation"],
    registers: [registry],
  })
  const labels = { operation: "op" }

  const otel = await perOp("OpenTelemetry histogram.record", () => {
    const start = performance.now()
    work()
    histogram.record(performance.now() - start, attributes)
  })
  const prom = await perOp("prom-client startTimer/end", () => {
    const end = promHistogram.startTimer(labels)
    work()
    end()
  })
  const variants = [
    [
      "Monitor start+endOperation",
      () => {
        const id = monitor.startOperation("op")
        work()
        monitor.endOperation(id)
      },
    ],
    ["Monitor run(name, fn)", () => monitor.run("op", work)],
    ["PerformanceMonitor monitorOperation", () => facade.monitorOperation("op", work)],
  ]
  for (const [name, op] of variants) {
    const ns = await perOp(name, op)
    row(1, name, ns, "OpenTelemetry", otel, "ratio", 1.0)
    row(1, name, ns, "prom-client", prom, "ratio", 0.5)
  }
}

// Case 3: monitorOperation while monitoring is disabled.
const case3 = async () => {
  const facade = new PerformanceMonitor(
    undefined,
    Monitor.makeUnsafe({ enabled: false, publish: false }),
  )
  const direct = await perOp("direct call", work)
  const disabled = await perOp("disabled monitorOperation", () =>
    facade.monitorOperation("op", work),
  )
  row(3, "disabled monitorOperation", disabled, "direct call", direct, "overNs", 10)
}

// Case 2: the default configuration against the raw readings it needs.
const case2 = async () => {
  const monitor = Monitor.makeUnsafe({ publish: false })
  const floor = await perOp("raw readings floor", () => {
    const start = performance.now()
    const cpu = process.cpuUsage()
    const heap = getHeapStatistics().used_heap_size
    work()
    const end = performance.now()
    const cpuEnd = process.cpuUsage()
    const rss = process.memoryUsage.rss()
    const heapEnd = getHeapStatistics().used_heap_size
    blackhole ^= (end - start + cpuEnd.user - cpu.user + rss + heapEnd - heap + Date.now()) | 0
  })
  const ns = await perOp("Monitor default config", () => {
    const id = monitor.startOperation("op")
    work()
    monitor.endOperation(id)
  })
  row(2, "Monitor default config", ns, "raw readings floor", floor, "ratio", 1.25)
}

/** `count` records shaped as the monitor makes them, over 100 operation names. */
const makeRecords = (count) => {
  const records = []
  const now = Date.now() / 1000
  for (let i = 0; i < count; i++) {
    const operation = `operation_${i % 100}`
    records.push({
      id: `${operation}#${i.toString(36)}`,
      operation,
      duration: 0.001 + (i % 997) / 1e5,
      timestamp: now + i / 1000,
      memoryUsage: 50_000_000 + (i % 1000) * 4096,
      memoryDelta: (i % 200) * 64 - 6400,
      cpuUsage: (i % 100) + 0.5,
      status: i % 50 === 0 ? "error" : "ok",
      error: i % 50 === 0 ? "timeout" : undefined,
      customMetrics: { items: i % 10 },
      parentId: undefined,
      systemInfo: undefined,
    })
  }
  return records
}

const exportContext = () => ({
  timestamp: Date.now() / 1000,
  processMetrics: undefined,
  includeCustomMetrics: true,
  source: "bench",
  // As the telemetry manager passes it: case 5 observes every record before the timing.
  recordsObserved: true,
})

// Case 5: serialising the records.
const case5 = async (records) => {
  const context = exportContext()
  const json = JsonExporter.make()
  const csv = CsvExporter.make()
  const prometheus = PrometheusExporter.make({ timestamps: false })
  for (const record of records) prometheus.observe(record)

  const registry = new promClient.Registry()
  const histogram = new promClient.Histogram({
    name: "dinoair_operation_duration_seconds",
    help: "Operation duration",
    labelNames: ["operation"],
    registers: [registry],
  })
  const counter = new promClient.Counter({
    name: "dinoair_operations_total",
    help: "Operations by status",
    labelNames: ["operation", "status"],
    registers: [registry],
  })
  for (const record of records) {
    histogram.observe({ operation: record.operation }, record.duration)
    counter.inc({ operation: record.operation, status: record.status })
  }

  const medians = await bulkRounds({
    "JSON.stringify": () => {
      blackhole ^= JSON.stringify(records).length
    },
    "JsonExporter.encode": () => {
      blackhole ^= json.encode(records, context).body.length
    },
    "CsvExporter.encode": () => {
      blackhole ^= csv.encode(records, context).body.length
    },
    "prom-client register.metrics": async () => {
      blackhole ^= (await registry.metrics()).length
    },
    "PrometheusExporter.encode": () => {
      blackhole ^= prometheus.encode(records, context).body.length
    },
  })
  const baseline = medians["JSON.stringify"]
  const jsonNs = medians["JsonExporter.encode"]
  const csvNs = medians["CsvExporter.encode"]
  const promNs = medians["prom-client register.metrics"]
  const ourPromNs = medians["PrometheusExporter.encode"]
  // Bulk figures are shown in milliseconds per batch of records.
  const unit = `ms/${records.length} records`
  const ms = (ns) => ns / 1e6
  row(5, "JSON exporter", ms(jsonNs), "JSON.stringify", ms(baseline), "ratio", 1.5, unit)
  row(
    5,
    "Prometheus exporter",
    ms(ourPromNs),
    "prom-client metrics()",
    ms(promNs),
    "ratio",
    1,
    unit,
  )
  row(5, "CSV exporter", ms(csvNs), "JSON.stringify", ms(baseline), "ratio", 2.0, unit)
}

// Case 4: Monitor.track against Metric.timer around the same Effect.
const case4 = async () => {
  const monitor = Monitor.makeUnsafe(durationOnly)
  // The Monitor service is in the context the effect runs with, as in a
  // program that provides the layer once, and not provided again per run.
  const runWithMonitor = Effect.runSyncWith(Context.make(Monitor.Monitor, monitor))
  const tracked = Effect.sync(work).pipe(Monitor.track("op"))
  const timer = Metric.timer("op_duration")
  const timed = Effect.timed(Effect.sync(work)).pipe(
    Effect.flatMap(([duration, value]) => Effect.as(Metric.update(timer, duration), value)),
  )
  const anchor = await perOp("Metric.timer", () => Effect.runSync(timed))
  const ns = await perOp("Monitor.track", () => runWithMonitor(tracked))
  row(4, "Monitor.track", ns, "Metric.timer", anchor, "ratio", 1.0)
}

/**
 * Heap used plus memory outside the V8 heap (`external`, which includes
 * the backing stores of typed arrays), after two forced collections.
 */
const heapAfterGc = () => {
  globalThis.gc()
  globalThis.gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.external
}

// Case 6: retained memory with the default bounds.
const case6 = async () => {
  if (typeof globalThis.gc !== "function") {
    console.log("SKIP  case 6: global.gc is missing, so run node with --expose-gc")
    return
  }
  // Bytes per record: 100 names with 1,000 records each, which is the default cap per name.
  const names = 100
  const perName = 1000
  const before = heapAfterGc()
  let monitor = Monitor.makeUnsafe({ publish: false })
  for (let n = 0; n < names; n++) {
    const name = `operation_${n}`
    for (let i = 0; i < perName; i++) monitor.endOperation(monitor.startOperation(name))
  }
  const retained = monitor.getRecords().length
  const perRecord = (heapAfterGc() - before) / retained
  blackhole ^= monitor.stats.recorded
  monitor = undefined
  row(
    6,
    `bytes per retained record, monitor (${retained} records)`,
    perRecord,
    undefined,
    undefined,
    "absolute",
    200,
    "B",
  )

  // The telemetry export buffer stores records by column (columnQueue), as
  // the telemetry manager does, under its default bounds of 100 records per
  // name and 10,000 in all. The monitor that makes the records keeps one per
  // name, so the figure is the buffer's cost.
  const bufferStart = heapAfterGc()
  let source = Monitor.makeUnsafe({ publish: false, maxMetricsRetained: 1 })
  let buffer = BoundedStore.makeUnsafe(
    { maxPerOperation: 100, maxTotal: 10_000 },
    BoundedStore.columnQueue,
  )
  source.subscribe((record) => buffer.add(record))
  for (let n = 0; n < names; n++) {
    const name = `operation_${n}`
    for (let i = 0; i < 100; i++) source.endOperation(source.startOperation(name))
  }
  const buffered = buffer.size
  const perBuffered = (heapAfterGc() - bufferStart) / buffered
  blackhole ^= buffer.size
  source = undefined
  buffer = undefined
  row(
    6,
    `bytes per buffered record, telemetry buffer (${buffered} records)`,
    perBuffered,
    undefined,
    undefined,
    "absolute",
    200,
    "B",
  )

  // Heap growth: the operations are spread over 10 names.
  const start = heapAfterGc()
  let growthMonitor = Monitor.makeUnsafe({ publish: false })
  for (let i = 0; i < SETTINGS.operations; i++) {
    growthMonitor.endOperation(growthMonitor.startOperation(`operation_${i % 10}`))
  }
  const growth = (heapAfterGc() - start) / 1e6
  blackhole ^= growthMonitor.stats.recorded
  growthMonitor = undefined
  row(
    6,
    `heap growth after ${SETTINGS.operations} operations`,
    growth,
    undefined,
    undefined,
    "absolute",
    10,
    "MB",
  )
}

// Case 7: sending the records to a local HTTP server.
const case7 = async (records) => {
  const server = createServer((request, response) => {
    request.on("data", () => {})
    request.on("end", () => {
      response.writeHead(200, { "content-type": "text/plain" })
      response.end("ok")
    })
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${server.address().port}/ingest`
  const payload = JsonExporter.make().encode(records, exportContext())
  // The anchor sends bytes encoded once, so the sink's own encoding counts against it.
  const bytes = Buffer.from(Exporter.documentOf(payload))
  const sink = HttpSink.make({ url, maxAttempts: 1, logger: silentLogger })
  const pool = new Pool(new URL(url).origin, { connections: 1 })
  try {
    const medians = await bulkRounds({
      "undici POST": async () => {
        const response = await pool.request({
          path: "/ingest",
          method: "POST",
          headers: { "content-type": payload.contentType },
          body: bytes,
        })
        await response.body.dump()
      },
      "HttpSink.deliver": () => Effect.runPromise(sink.deliver(payload)),
    })
    const raw = medians["undici POST"]
    const ns = medians["HttpSink.deliver"]
    const unit = `ms/${records.length} records`
    row(7, "sink-http deliver", ns / 1e6, "undici POST", raw / 1e6, "ratio", 1.2, unit)
  } finally {
    await Effect.runPromise(sink.close)
    await pool.close()
    await new Promise((resolve) => server.close(resolve))
  }
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} }

const main = async () => {
  const started = performance.now()
  console.log(`DinoAir bench (${QUICK ? "quick" : "full"}), node ${process.version}`)
  const records = makeRecords(SETTINGS.records)
  const cases = [
    ["1", case1],
    ["3", case3],
    ["2", case2],
    ["5", () => case5(records)],
    ["4", case4],
    ["6", case6],
    ["7", () => case7(records)],
  ]
  for (const [id, run] of cases) if (ONLY === undefined || ONLY === id) await run()
  if (ONLY !== undefined) return

  const seconds = (performance.now() - started) / 1000
  const output = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    seconds: round(seconds),
    settings: SETTINGS,
    results,
  }
  // A quick run proves only that the cases run, so it keeps the last full results.
  if (!QUICK) {
    writeFileSync(join(HERE, "results.json"), `${JSON.stringify(output, null, 2)}\n`)
    writeFileSync(join(HERE, "RESULTS.md"), renderMarkdown(output))
  }
  const passed = results.filter((each) => each.pass).length
  console.log(`${passed}/${results.length} targets met in ${seconds.toFixed(1)} s`)
}

/** Renders the docs page: settings, a table, and a text bar chart of the ratios. */
const renderMarkdown = (output) => {
  const lines = [
    // The front matter gives the page its title in the docs site.
    "---",
    "title: Benchmarks",
    "---",
    "",
    "# Benchmarks",
    "",
    "Generated by `pnpm bench` (`bench/run.mjs`). Edit `bench/why-targets-are-missed.md`, not this file:",
    "the script copies it below the chart.",
    "",
    `Run: ${output.date}, Node ${output.node}, ${output.platform}, ${output.seconds} s.`,
    "",
    `Settings: ${settingsText(output.settings)}.`,
    "",
    "| case | measured | median | anchor | anchor median | ratio | target | result |",
    "|---|---|---|---|---|---|---|---|",
  ]
  for (const each of output.results) {
    lines.push(
      `| ${each.case} | ${each.name} | ${each.median} ${each.unit} | ${each.anchor ?? "-"} | ` +
        `${each.anchorMedian ?? "-"} | ${each.ratio ?? "-"} | ${each.target} | ${each.pass ? "pass" : "FAIL"} |`,
    )
  }
  lines.push("", "## Ratio to the anchor", "", "One `#` is 0.1x; `|` marks 1.0x.", "", "```text")
  for (const each of output.results) {
    if (each.ratio === undefined) continue
    const label = `${each.case} ${each.name} / ${each.anchor}`.padEnd(64)
    const bar = "#".repeat(Math.min(60, Math.round(each.ratio * 10)))
    const withMark = bar.length >= 10 ? `${bar.slice(0, 10)}|${bar.slice(10)}` : bar
    lines.push(`${label} ${withMark} ${each.ratio}x`)
  }
  lines.push("```", "")
  // The analysis of the misses is written by hand, from profiles, and kept across runs.
  const analysis = join(HERE, "why-targets-are-missed.md")
  if (existsSync(analysis)) lines.push(readFileSync(analysis, "utf8").trimEnd(), "")
  return `${lines.join("\n")}\n`
}

const settingsText = (settings) =>
  Object.entries(settings)
    .map(([key, value]) => `${key} ${value}`)
    .join(", ")

await main()
