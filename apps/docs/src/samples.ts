/**
 * Real output of the three exporters, for the formats reference.
 *
 * Three operations run through a real monitor, whose clocks and resource
 * readings are replaced by fixed values so that the output is the same on
 * every run. The JSON, Prometheus and CSV exporters then encode the
 * records with a fixed export context. `writeSamples` puts the output into
 * `guides/formats.md` between `<!-- sample:NAME -->` and
 * `<!-- /sample:NAME -->` markers, and a test fails when the guide
 * contains anything else.
 */
import { readFile, writeFile } from "node:fs/promises"
import { CsvExporter } from "@dinoair/exporter-csv"
import { JsonExporter } from "@dinoair/exporter-json"
import { PrometheusExporter } from "@dinoair/exporter-prometheus"
import { Logging, Monitor, type OperationMetrics } from "@dinoair/monitor"
import type { Exporter } from "@dinoair/telemetry"
import { guidesDir } from "./paths.js"

/** The sample formats, in the order the guide shows them. */
const SAMPLE_NAMES = ["json", "prometheus", "csv"] as const

/** One of the sample formats. */
export type SampleName = (typeof SAMPLE_NAMES)[number]

/** The guide that contains the samples. */
export const formatsGuide = `${guidesDir}/formats.md`

/** The fence language of each sample in the guide. */
const FENCE_LANGUAGE: Readonly<Record<SampleName, string>> = {
  json: "json",
  prometheus: "text",
  csv: "csv",
}

/** Readings that the fake clock and resource reader return until changed. */
interface Readings {
  monotonicMs: number
  wallMs: number
  cpuMicros: number
  heapUsedBytes: number
  rssBytes: number
}

/** Runs the three sample operations and returns their records, oldest first. */
export const sampleRecords = (): Array<OperationMetrics> => {
  const now: Readings = {
    monotonicMs: 1000,
    wallMs: 0,
    cpuMicros: 2_000_000,
    heapUsedBytes: 8_000_000,
    rssBytes: 0,
  }
  const monitor = Monitor.makeUnsafe(
    {
      clock: { monotonicMs: () => now.monotonicMs, wallMs: () => now.wallMs },
      resources: {
        cpuMicros: () => now.cpuMicros,
        heapUsedBytes: () => now.heapUsedBytes,
        rssBytes: () => now.rssBytes,
      },
      publish: false,
    },
    Logging.silentLogger,
  )

  // 153 ms, as in the reference document, with 19.125 ms of CPU: 12.5 % of one core.
  const first = monitor.startOperation("data_processing", { records_processed: 1000, errors: 0 })
  Object.assign(now, {
    monotonicMs: 1153,
    wallMs: 1_699_123_456_789,
    cpuMicros: 2_019_125,
    heapUsedBytes: 8_262_144,
    rssBytes: 1_048_576,
  })
  monitor.endOperation(first)

  // A failure: `run` records status "error" with the message, and rethrows.
  Object.assign(now, { monotonicMs: 1200, cpuMicros: 2_030_000, heapUsedBytes: 8_300_000 })
  try {
    monitor.run(
      "fetch_user",
      () => {
        Object.assign(now, {
          monotonicMs: 1204.25,
          wallMs: 1_699_123_457_125,
          cpuMicros: 2_031_700,
          heapUsedBytes: 8_295_904,
          rssBytes: 52_428_800,
        })
        throw new Error("upstream timed out")
      },
      { region: "eu-west" },
    )
  } catch {
    // The sample needs the record, not the error.
  }

  // A second data_processing record with a value recorded while it ran.
  Object.assign(now, { monotonicMs: 1300, cpuMicros: 2_040_000, heapUsedBytes: 8_300_000 })
  const second = monitor.startOperation("data_processing", { errors: 0 })
  monitor.recordCustomMetric(second, "records_processed", 250)
  Object.assign(now, {
    monotonicMs: 1337.5,
    wallMs: 1_699_123_457_500,
    cpuMicros: 2_047_500,
    heapUsedBytes: 8_431_072,
    rssBytes: 53_477_376,
  })
  monitor.endOperation(second)

  return monitor.getRecords().sort((a, b) => a.timestamp - b.timestamp)
}

/** The export context of the samples: fixed time, source and process figures. */
const sampleContext: Exporter.ExportContext = {
  timestamp: 1_699_123_460,
  source: "web-1:4711",
  includeCustomMetrics: true,
  processMetrics: {
    processCpuSecondsTotal: 1.25,
    processCpuUserSecondsTotal: 1,
    processCpuSystemSecondsTotal: 0.25,
    processResidentMemoryBytes: 53_477_376,
    nodejsHeapSizeUsedBytes: 8_431_072,
    nodejsHeapSizeTotalBytes: 16_777_216,
    nodejsExternalMemoryBytes: 1_048_576,
    nodejsEventloopLagSeconds: {
      min: 0.01,
      max: 0.0125,
      mean: 0.0105,
      stddev: 0.0005,
      p50: 0.0102,
      p90: 0.0115,
      p99: 0.0125,
    },
    nodejsGcDurationSeconds: [{ kind: "minor", count: 3, sum: 0.0045 }],
    timestamp: 1_699_123_460,
  },
}

/**
 * Encodes the sample records in each format, as a new file would contain
 * them. CSV line breaks are CRLF in a file, and LF here, as the guide shows them.
 */
export const generateSamples = (): Record<SampleName, string> => {
  const records = sampleRecords()

  const json = JsonExporter.make({ indent: 2 })

  // The telemetry manager passes each record to `observe` as it is collected.
  const prometheus = PrometheusExporter.make()
  for (const record of records) prometheus.observe(record)

  const csv = CsvExporter.make()

  return {
    json: documentOf(json.encode(records, sampleContext)),
    prometheus: documentOf(prometheus.encode(records, sampleContext)),
    csv: documentOf(csv.encode(records, sampleContext)).replaceAll("\r\n", "\n"),
  }
}

const documentOf = (payload: Exporter.Payload): string =>
  payload.header + payload.body + payload.footer

/**
 * Replaces the text between each pair of sample markers with a fenced block
 * of that sample.
 *
 * @throws Error when a marker pair is missing or appears twice.
 */
export const applySamples = (markdown: string, samples: Record<SampleName, string>): string => {
  let result = markdown
  for (const name of SAMPLE_NAMES) {
    const start = `<!-- sample:${name} -->`
    const end = `<!-- /sample:${name} -->`
    const from = result.indexOf(start)
    const to = result.indexOf(end)
    if (from === -1 || to === -1 || to < from || result.indexOf(start, from + 1) !== -1) {
      throw new Error(`${formatsGuide}: expected one "${start}" followed by one "${end}"`)
    }
    const text = samples[name].endsWith("\n") ? samples[name] : `${samples[name]}\n`
    const block = `${start}\n\`\`\`${FENCE_LANGUAGE[name]}\n${text}\`\`\`\n`
    result = result.slice(0, from) + block + result.slice(to)
  }
  return result
}

/**
 * Regenerates the samples of the formats guide, and returns `true` when the
 * guide changed. With `check`, the guide is left alone, and `true` means it is stale.
 */
export const writeSamples = async (
  options: { readonly check?: boolean } = {},
): Promise<boolean> => {
  const current = await readFile(formatsGuide, "utf8")
  const next = applySamples(current, generateSamples())
  if (next === current) return false
  if (options.check !== true) await writeFile(formatsGuide, next)
  return true
}
