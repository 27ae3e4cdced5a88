/**
 * Test fixtures: records, export contexts, process metrics, a capturing
 * logger, a strict parser of both exposition formats, and the promtool
 * check that every text output of the tests goes through.
 */
import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import type { Exporter } from "@dinoair/telemetry"
import { promtoolCheck } from "@dinoair/test-support"
import { expect } from "vitest"

let sequence = 0

/** Builds an ended `data_processing` operation with the reference values, which `fields` overrides. */
export const record = (fields: Partial<OperationMetrics> = {}): OperationMetrics => {
  sequence++
  return {
    id: `record_${sequence}`,
    operation: "data_processing",
    duration: 0.153,
    timestamp: 1699123456.789,
    memoryUsage: 1048576,
    memoryDelta: undefined,
    cpuUsage: 15.3,
    status: "ok",
    error: undefined,
    customMetrics: {},
    parentId: undefined,
    systemInfo: undefined,
    ...fields,
  }
}

/** An export context at `1699123460`, without process metrics unless `fields` adds them. */
export const context = (fields: Partial<Exporter.ExportContext> = {}): Exporter.ExportContext => ({
  timestamp: 1699123460,
  processMetrics: undefined,
  includeCustomMetrics: true,
  source: "checkout",
  ...fields,
})

export const processMetrics: Exporter.ProcessMetrics = {
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
    mean: 0.005,
    stddev: 0.002,
    p50: 0.004,
    p90: 0.01,
    p99: 0.019,
  },
  nodejsGcDurationSeconds: [
    { kind: "minor", count: 4, sum: 0.003 },
    { kind: "major", count: 1, sum: 0.012 },
  ],
  timestamp: 1699123459.5,
}

/** Operation names that try to break out of a label value or a line. */
export const HOSTILE_OPERATIONS: ReadonlyArray<string> = [
  'quote"inside',
  "back\\slash",
  "trailing backslash\\",
  "line\nbreak",
  "carriage\rreturn",
  "braces } and { here",
  'label="injected",x="y',
  "__proto__",
  "constructor",
  "Unicode: größe 名前 😀",
  "",
  " ",
  "tab\there",
  "nul\u0000byte",
  "# HELP fake line",
]

/**
 * Custom metric names whose words, after sanitising, are ones that
 * `promtool check metrics` flags: unit abbreviations (`ms`, `b`), units
 * other than base units (`milliseconds`, `kilobytes`), metric types
 * (`counter`, `gauge`) and reserved suffixes (`_total`, `_count`).
 */
export const HOSTILE_CUSTOM_NAMES: ReadonlyArray<string> = [
  "A B",
  "Symbol(m)",
  "latency_ms",
  "ms",
  "m_s",
  "ms_latency",
  "size MB",
  "upload.kb",
  "b",
  "s",
  "h",
  "d",
  "sec",
  "us_ns",
  "gb_tb_pb",
  "durationMilliseconds",
  "wait minutes",
  "uptime_hours",
  "age days",
  "weeks",
  "milli_seconds",
  "kilobytes",
  "kilo_bytes",
  "bits",
  "megabits",
  "temperature fahrenheit",
  "Kelvin",
  "kelvins",
  "height inches",
  "calories",
  "weight pounds",
  "requestCounter",
  "queue gauge depth",
  "histogram",
  "summary_total",
  "gauge_histogram",
  "errors_count",
  "x:y",
  "__name__",
]

/** A logger that keeps every line. */
export interface CapturingLogger extends DinoLogger {
  readonly lines: Array<{ readonly level: keyof DinoLogger; readonly message: string }>
  at(level: keyof DinoLogger): Array<string>
}

export const makeLogger = (): CapturingLogger => {
  const lines: CapturingLogger["lines"] = []
  const log =
    (level: keyof DinoLogger) =>
    (message: string): void => {
      lines.push({ level, message })
    }
  return {
    lines,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    at: (level) => lines.filter((line) => line.level === level).map((line) => line.message),
  }
}

/**
 * Runs `promtool check metrics` on text 0.0.4 output and expects it to
 * pass without a lint line. Skipped, with the reason printed, when promtool
 * is missing and peers are not required.
 */
export const expectPromtoolAccepts = async (text: string): Promise<void> => {
  const result = await promtoolCheck(text)
  if (result === undefined) return
  expect(result.output).toBe("")
  expect(result.code).toBe(0)
}

/** One parsed sample line. */
export interface ParsedSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: string
  readonly timestamp: string | undefined
}

/** One parsed family. */
export interface ParsedFamily {
  readonly name: string
  readonly type: string
  readonly help: string
  readonly samples: Array<ParsedSample>
}

/**
 * Parses an exposition strictly. It throws on anything a scraper could
 * read differently: a sample before its `# TYPE`, a second `# HELP` or
 * `# TYPE`, a family that comes back after another one, a sample name
 * outside its family, or a duplicate series. In OpenMetrics it also throws
 * on a blank line and on a missing or misplaced `# EOF`.
 */
export const parseExposition = (
  text: string,
  format: "text" | "openmetrics",
): Array<ParsedFamily> => {
  const families: Array<ParsedFamily> = []
  const seenFamilies = new Set<string>()
  const seenSeries = new Set<string>()
  let current: { name: string; type?: string; help?: string } | undefined
  const lines = text.split("\n")

  if (format === "openmetrics") {
    if (lines.at(-1) !== "" || lines.at(-2) !== "# EOF") {
      throw new Error("OpenMetrics output must end with the line # EOF")
    }
    lines.splice(-2)
  } else if (text !== "" && !text.endsWith("\n")) {
    throw new Error("text output must end with a line feed")
  } else {
    lines.pop()
  }

  const open = (name: string): void => {
    if (current?.name === name) return
    if (seenFamilies.has(name)) throw new Error(`family ${name} appears twice`)
    seenFamilies.add(name)
    current = { name }
  }

  for (const line of lines) {
    if (line === "") {
      if (format === "openmetrics") throw new Error("OpenMetrics forbids blank lines")
      continue
    }
    if (line === "# EOF") throw new Error("# EOF before the end")

    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta !== null) {
      const [, keyword, name = "", rest = ""] = meta
      open(name)
      const family = current as { name: string; type?: string; help?: string }
      if (keyword === "HELP") {
        if (family.help !== undefined) throw new Error(`second HELP for ${name}`)
        family.help = unescapeText(rest, format === "openmetrics" ? LABEL_ESCAPES : HELP_ESCAPES)
      } else {
        if (family.type !== undefined) throw new Error(`second TYPE for ${name}`)
        family.type = rest
        families.push({ name, type: rest, help: family.help ?? "", samples: [] })
      }
      continue
    }
    if (line.startsWith("#")) throw new Error(`unexpected comment: ${line}`)

    const sample = parseSample(line, format)
    const family = families.at(-1)
    if (family === undefined || current?.name !== family.name) {
      throw new Error(`sample before its TYPE line: ${line}`)
    }
    if (!sampleNames(family, format).includes(sample.name)) {
      throw new Error(`sample ${sample.name} does not belong to ${family.type} ${family.name}`)
    }
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
    if (seenSeries.has(key)) throw new Error(`duplicate series ${key}`)
    seenSeries.add(key)
    family.samples.push(sample)
  }

  return families
}

/** Finds one family by name, failing the test when it is missing. */
export const familyNamed = (families: ReadonlyArray<ParsedFamily>, name: string): ParsedFamily => {
  const family = families.find((each) => each.name === name)
  if (family === undefined) {
    throw new Error(`no family ${name}; have ${families.map((each) => each.name).join(", ")}`)
  }
  return family
}

const HELP_ESCAPES: Readonly<Record<string, string>> = { "\\": "\\", n: "\n" }
const LABEL_ESCAPES: Readonly<Record<string, string>> = { "\\": "\\", n: "\n", '"': '"' }

const unescapeText = (text: string, escapes: Readonly<Record<string, string>>): string => {
  let out = ""
  for (let index = 0; index < text.length; index++) {
    const character = text[index] as string
    if (character !== "\\") {
      out += character
      continue
    }
    const next = text[index + 1] ?? ""
    const replacement = escapes[next]
    if (replacement === undefined) throw new Error(`invalid escape \\${next} in ${text}`)
    out += replacement
    index++
  }
  return out
}

const parseSample = (line: string, format: "text" | "openmetrics"): ParsedSample => {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0]
  if (name === undefined) throw new Error(`invalid sample name: ${line}`)
  let index = name.length
  const labels: Record<string, string> = Object.create(null)

  if (line[index] === "{") {
    index++
    while (line[index] !== "}") {
      const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(index))?.[0]
      if (labelName === undefined) throw new Error(`invalid label name in ${line}`)
      if (labelName in labels) throw new Error(`label ${labelName} twice in ${line}`)
      index += labelName.length
      if (line.slice(index, index + 2) !== '="') throw new Error(`expected =" in ${line}`)
      index += 2
      let raw = ""
      while (line[index] !== '"') {
        if (index >= line.length) throw new Error(`unterminated label value in ${line}`)
        if (line[index] === "\\") {
          raw += line.slice(index, index + 2)
          index += 2
        } else {
          raw += line[index]
          index++
        }
      }
      labels[labelName] = unescapeText(raw, LABEL_ESCAPES)
      index++
      if (line[index] === ",") index++
      else if (line[index] !== "}") throw new Error(`expected , or } in ${line}`)
    }
    index++
  }

  const rest = line.slice(index)
  const parts = /^ (\S+)(?: (\S+))?$/.exec(rest)
  if (parts === null) throw new Error(`invalid value or timestamp in ${line}`)
  const [, value = "", timestamp] = parts
  if (!/^(NaN|[+-]Inf|-?\d+(\.\d+)?(e[+-]?\d+)?)$/.test(value)) {
    throw new Error(`invalid value ${value} in ${line}`)
  }
  const timestampPattern = format === "text" ? /^-?\d+$/ : /^-?\d+(\.\d+)?(e[+-]?\d+)?$/
  if (timestamp !== undefined && !timestampPattern.test(timestamp)) {
    throw new Error(`invalid ${format} timestamp ${timestamp} in ${line}`)
  }
  return { name, labels, value, timestamp }
}

const sampleNames = (family: ParsedFamily, format: "text" | "openmetrics"): Array<string> => {
  switch (family.type) {
    case "gauge":
      return [family.name]
    case "counter":
      return format === "openmetrics" ? [`${family.name}_total`] : [family.name]
    case "histogram":
      return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`]
    default:
      throw new Error(`unexpected type ${family.type} of ${family.name}`)
  }
}
