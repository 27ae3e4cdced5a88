/**
 * The two text formats that Prometheus scrapes, and how a scraper chooses
 * between them.
 *
 * A metric family is rendered either in the Prometheus text format 0.0.4
 * or in OpenMetrics 1.0.0. They differ in these points:
 *
 * | | text 0.0.4 | OpenMetrics 1.0.0 |
 * |---|---|---|
 * | counter name in `# HELP` / `# TYPE` | with `_total` | without `_total`, which samples keep |
 * | escapes in `# HELP` | `\\` and `\n` | `\\`, `\n` and `\"` |
 * | escapes in label values | `\\`, `\"` and `\n` | the same |
 * | timestamps | integer milliseconds | seconds, with a fraction |
 * | `le` label values | shortest decimal, such as `1` | canonical, such as `1.0` |
 * | blank lines | one between families | none |
 * | end | nothing | the line `# EOF` |
 *
 * Both spell the special values `NaN`, `+Inf` and `-Inf`, and this module
 * writes `-0` as `0`. Every family gets one `# HELP` and one `# TYPE` line
 * before its samples, and a family without samples is left out.
 *
 * @since 0.1.0
 * @module
 */

/**
 * The content type of the Prometheus text format 0.0.4.
 *
 * @since 0.1.0
 */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

/**
 * The content type of OpenMetrics 1.0.0 text.
 *
 * @since 0.1.0
 */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

/**
 * A text format: `text` for Prometheus 0.0.4, `openmetrics` for OpenMetrics 1.0.0.
 *
 * @since 0.1.0
 */
export type Format = "text" | "openmetrics"

/**
 * The metric types this package writes.
 *
 * @since 0.1.0
 */
export type MetricType = "gauge" | "counter" | "histogram"

/**
 * A label name and its value, unescaped.
 *
 * @since 0.1.0
 */
export type Label = readonly [name: string, value: string]

/**
 * One line of a family.
 *
 * @since 0.1.0
 */
export interface Sample {
  /** The sample name, such as `x`, `x_total` or `x_bucket`. */
  readonly name: string
  /** Labels in the order written, unescaped and with well-formed values. */
  readonly labels: ReadonlyArray<Label>
  /** The upper bound of a histogram bucket, written as the last label `le` in each format's spelling. */
  readonly le?: number | undefined
  /** Sample value, which may be `NaN` or infinite. */
  readonly value: number
  /** Unix time in milliseconds, a safe integer, or `undefined` for no timestamp. */
  readonly timestampMs?: number | undefined
}

/**
 * A metric family: a name, its type and help, and its samples.
 *
 * @since 0.1.0
 */
export interface Family {
  /** The family name. For a counter it is the name without `_total`. */
  readonly name: string
  /** Metric type, written on the `# TYPE` line. */
  readonly type: MetricType
  /** Help text, unescaped. */
  readonly help: string
  /** Sample lines, in written order. */
  readonly samples: ReadonlyArray<Sample>
}

/**
 * Renders families in one format. Families without samples are skipped.
 * OpenMetrics output ends with `# EOF`, and text output of no families is empty.
 *
 * @since 0.1.0
 */
export const render = (families: ReadonlyArray<Family>, format: Format): string => {
  const blocks: Array<string> = []
  for (const family of families) {
    if (family.samples.length === 0) continue
    blocks.push(renderFamily(family, format))
  }

  if (format === "openmetrics") return `${blocks.join("")}# EOF\n`
  return blocks.join("\n")
}

/**
 * Renders families like `render`, in steps: the generator yields after
 * about `samplesPerStep` samples and returns chunks whose concatenation is
 * the text that `render` returns.
 *
 * @since 0.1.0
 */
export function* renderInSteps(
  families: ReadonlyArray<Family>,
  format: Format,
  samplesPerStep: number,
): Generator<void, Array<string>, undefined> {
  const chunks: Array<string> = []
  let sinceYield = 0
  for (const family of families) {
    const samples = family.samples
    if (samples.length === 0) continue

    if (format === "text" && chunks.length > 0) chunks.push("\n")
    chunks.push(familyHeader(family, format))
    for (let start = 0; start < samples.length; ) {
      if (sinceYield >= samplesPerStep) {
        yield
        sinceYield = 0
      }
      const end = Math.min(samples.length, start + samplesPerStep - sinceYield)
      chunks.push(renderSamples(samples, start, end, format))
      sinceYield += end - start
      start = end
    }
  }

  if (format === "openmetrics") chunks.push("# EOF\n")
  return chunks
}

/**
 * Escapes a label value: backslash, double quote and line feed.
 *
 * @since 0.1.0
 */
export const escapeLabelValue = (value: string): string =>
  NEEDS_LABEL_ESCAPE.test(value)
    ? value.replace(/[\\"\n]/g, (character) => LABEL_ESCAPES[character] ?? character)
    : value

/**
 * Escapes help text: backslash and line feed, and in OpenMetrics the double
 * quote too.
 *
 * @since 0.1.0
 */
export const escapeHelp = (help: string, format: Format): string =>
  format === "openmetrics"
    ? escapeLabelValue(help)
    : help.replace(/[\\\n]/g, (character) => LABEL_ESCAPES[character] ?? character)

/**
 * Writes a sample value: `NaN`, `+Inf`, `-Inf`, `0` for `-0`, else the
 * shortest decimal that reads back as the same double.
 *
 * @since 0.1.0
 */
export const formatValue = (value: number): string => {
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return value === 0 ? "0" : String(value)
}

/**
 * Writes the `le` value of a bucket: as `formatValue` in text 0.0.4, and in
 * OpenMetrics with `.0` added to whole numbers written without a fraction
 * or exponent, as its canonical-number rule requires.
 *
 * @since 0.1.0
 */
export const formatBound = (bound: number, format: Format): string => {
  const text = formatValue(bound)
  if (format === "text" || !Number.isFinite(bound)) return text
  return /^-?\d+$/.test(text) ? `${text}.0` : text
}

/**
 * Turns Unix seconds into the integer milliseconds a sample carries, or
 * `undefined` when the result is not a safe integer (NaN, infinities,
 * dates far outside the year range of `Date`).
 *
 * @since 0.1.0
 */
export const timestampMsOf = (seconds: number): number | undefined => {
  const milliseconds = Math.round(seconds * 1000)
  return Number.isSafeInteger(milliseconds) ? milliseconds : undefined
}

/**
 * Chooses the format for an `Accept` header, as a Prometheus server
 * negotiates it.
 *
 * `application/openmetrics-text` with `version=1.0.0` or no version selects
 * OpenMetrics. `text/plain` with any version, `text/*` and the full
 * wildcard select text 0.0.4. The candidate with the highest `q` wins, and
 * the earlier one on a tie, but `q=0` rules a candidate out. Without a
 * header, or when nothing in it matches, the result is text 0.0.4, which
 * every scraper reads.
 *
 * @example
 * ```ts
 * import { Exposition } from "@dinoair/exporter-prometheus"
 *
 * Exposition.negotiate("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
 * // "openmetrics"
 * Exposition.negotiate(undefined) // "text"
 * ```
 *
 * @since 0.1.0
 */
export const negotiate = (accept: string | ReadonlyArray<string> | undefined): Format => {
  const header = typeof accept === "string" ? accept : (accept ?? []).join(",")
  let best: { readonly format: Format; readonly quality: number } | undefined

  for (const range of header.split(",")) {
    const candidate = parseMediaRange(range)
    if (candidate === undefined || candidate.quality <= 0) continue
    if (best === undefined || candidate.quality > best.quality) best = candidate
  }
  return best?.format ?? "text"
}

/**
 * The content type of a format.
 *
 * @since 0.1.0
 */
export const contentTypeOf = (format: Format): string =>
  format === "openmetrics" ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE

const NEEDS_LABEL_ESCAPE = /[\\"\n]/

const LABEL_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  '"': '\\"',
  "\n": "\\n",
}

const renderFamily = (family: Family, format: Format): string =>
  familyHeader(family, format) + renderSamples(family.samples, 0, family.samples.length, format)

/** Writes the `# HELP` and `# TYPE` lines of a family. */
const familyHeader = (family: Family, format: Format): string => {
  const declared =
    family.type === "counter" && format === "text" ? `${family.name}_total` : family.name
  return `# HELP ${declared} ${escapeHelp(family.help, format)}\n# TYPE ${declared} ${family.type}\n`
}

/** Writes the sample lines from index `start` up to, not including, `end`. */
const renderSamples = (
  samples: ReadonlyArray<Sample>,
  start: number,
  end: number,
  format: Format,
): string => {
  // Consecutive samples often share one labels array (the buckets of a
  // histogram series) and one bound list, so each is written once per run.
  let text = ""
  let labels: ReadonlyArray<Label> | undefined
  let labelText = ""
  let bounds: Map<number, string> | undefined
  for (let index = start; index < end; index++) {
    const sample = samples[index] as Sample
    if (sample.labels !== labels) {
      labels = sample.labels
      labelText = labelsText(labels)
    }

    let line = sample.name
    if (sample.le === undefined) {
      if (labelText !== "") line += `{${labelText}}`
    } else {
      bounds ??= new Map()
      let bound = bounds.get(sample.le)
      if (bound === undefined) {
        bound = formatBound(sample.le, format)
        bounds.set(sample.le, bound)
      }
      line += labelText === "" ? `{le="${bound}"}` : `{${labelText},le="${bound}"}`
    }
    text += `${line} ${formatValue(sample.value)}${timestampText(sample.timestampMs, format)}\n`
  }
  return text
}

/** Writes labels as `name="value"` pairs joined by commas, without the braces. */
const labelsText = (labels: ReadonlyArray<Label>): string => {
  let text = ""
  for (const [name, value] of labels) {
    text += `${text === "" ? "" : ","}${name}="${escapeLabelValue(value)}"`
  }
  return text
}

const timestampText = (timestampMs: number | undefined, format: Format): string => {
  if (timestampMs === undefined) return ""
  return format === "openmetrics" ? ` ${formatValue(timestampMs / 1000)}` : ` ${timestampMs}`
}

const parseMediaRange = (
  range: string,
): { readonly format: Format; readonly quality: number } | undefined => {
  const [type = "", ...parameters] = range.split(";").map((part) => part.trim())
  const mediaType = type.toLowerCase()
  let version: string | undefined
  let quality = 1

  for (const parameter of parameters) {
    const separator = parameter.indexOf("=")
    if (separator < 0) continue
    const key = parameter.slice(0, separator).trim().toLowerCase()
    const value = parameter
      .slice(separator + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1")
    if (key === "q") quality = parseQuality(value)
    if (key === "version") version = value
  }

  if (mediaType === "application/openmetrics-text") {
    return version === undefined || version === "1.0.0"
      ? { format: "openmetrics", quality }
      : undefined
  }
  if (mediaType === "text/plain" || mediaType === "text/*" || mediaType === "*/*") {
    return { format: "text", quality }
  }
  return undefined
}

// RFC 9110 allows q from 0 to 1 with up to three decimals. Anything else counts as 1.
const parseQuality = (value: string): number => {
  if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value)) return 1
  return Number(value)
}
