/**
 * The rules that turn names from user input into valid Prometheus metric
 * and label names.
 *
 * Prometheus accepts metric names matching `[a-zA-Z_:][a-zA-Z0-9_:]*` and
 * label names matching `[a-zA-Z_][a-zA-Z0-9_]*`, and reserves label names
 * that start with `__`. Colons are meant for recording rules. The rules
 * below produce names inside the stricter common subset, in the snake_case
 * that `promtool check metrics` expects:
 *
 * 1. A lower-case letter or digit followed by an upper-case letter gets an
 *    underscore between them, and so does the last capital of a run of
 *    capitals that starts a word (`recordsProcessed` becomes
 *    `records_processed`, `HTTPServer` becomes `http_server`).
 * 2. ASCII letters become lower case.
 * 3. Each run of characters outside `a-z` and `0-9` becomes one underscore
 *    (a run of underscores included).
 * 4. Leading and trailing underscores go.
 *
 * `sanitizeName` applies these steps. Custom metric names, the `prefix`
 * option and constant label names all go through it, so
 * `Rows-Processed`, `rows.processed` and `rowsProcessed` all give
 * `rows_processed`.
 *
 * Custom metric names and the prefix then lose the words (the text between
 * underscores) that the lint of `promtool check metrics` rejects, so that
 * every output passes it. A rejected word is joined to the word before it,
 * or to the word after it when it comes first, and a name that is such a
 * word alone gets `value` appended (`latency_ms` becomes `latencyms`,
 * `ms` becomes `msvalue`). promtool 2.42, the version these rules were
 * checked against by running it, rejects:
 *
 * - a unit abbreviation (`s`, `ms`, `us`, `ns`, `sec`, `b`, `kb`, `mb`, `gb`,
 *   `tb`, `pb`, `m`, `h`, `d`) or a metric type (`counter`, `gauge`,
 *   `histogram`, `summary`), except as the first word of a metric name;
 * - anywhere, a unit that is not a base unit (`minutes`, `hours`, `days`,
 *   `weeks`, `kelvins`, `fahrenheit`, `rankine`, `inches`, `yards`, `miles`,
 *   `bits`, `calories`, `pounds`, `ounces`), and any unit after one of the
 *   prefixes it recognises (`milli`, `kilo`, `kibi` and others), such as
 *   `milliseconds` or `kilobytes`. `kelvin` is joined too, because other
 *   versions of the linter reject it.
 *
 * @since 0.1.0
 * @module
 */

/**
 * The reserved endings that a custom metric name must not have:
 * the text format gives `_total` to counters and `_count`, `_sum` and
 * `_bucket` to histograms and summaries, and OpenMetrics also uses
 * `_created` and `_info`.
 *
 * @since 0.1.0
 */
export const RESERVED_SUFFIXES: ReadonlyArray<string> = [
  "_total",
  "_count",
  "_sum",
  "_bucket",
  "_created",
  "_info",
]

/** The word appended to a custom metric name that ends with a reserved suffix. @since 0.1.0 */
export const RESERVED_SUFFIX_ESCAPE = "_value"

/** The name used for a custom metric whose name has no letter or digit left. @since 0.1.0 */
export const UNNAMED = "unnamed"

/**
 * Turns any string into snake_case made only of `a-z`, `0-9` and single
 * underscores, with no underscore at either end. The result is empty when
 * the input has no ASCII letter or digit.
 *
 * @example
 * ```ts
 * import { Names } from "@dinoair/exporter-prometheus"
 *
 * Names.sanitizeName("recordsProcessed") // "records_processed"
 * Names.sanitizeName("__proto__") // "proto"
 * Names.sanitizeName("cache hit %") // "cache_hit"
 * ```
 *
 * @since 0.1.0
 */
export const sanitizeName = (input: string): string =>
  input
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[A-Z]/g, (letter) => letter.toLowerCase())
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")

/**
 * Turns the `prefix` option into the text placed before every DinoAir
 * metric name: the sanitised prefix with the words that promtool rejects
 * joined (see the module notes), plus one underscore, or nothing when the
 * sanitised prefix is empty. A prefix that starts with a digit gets `_` in
 * front, as label names do, because a metric name cannot start with a
 * digit.
 *
 * @example
 * ```ts
 * import { Names } from "@dinoair/exporter-prometheus"
 *
 * Names.sanitizePrefix("My App") // "my_app_"
 * Names.sanitizePrefix("0abc") // "_0abc_"
 * ```
 *
 * @since 0.1.0
 */
export const sanitizePrefix = (prefix: string): string => {
  const name = joinRejectedWords(sanitizeName(prefix), true)
  if (name === "") return ""
  return startsWithDigit(name) ? `_${name}_` : `${name}_`
}

/**
 * Builds the family name of a custom metric: `<prefix>custom_<name>`. The
 * name is sanitised, and the words that promtool rejects are joined (see
 * the module notes). A name with no letter or digit becomes `unnamed`, and
 * `_value` is appended when the result would end with a reserved suffix.
 *
 * @example
 * ```ts
 * import { Names } from "@dinoair/exporter-prometheus"
 *
 * Names.customMetricName("dinoair_", "records.processed") // "dinoair_custom_records_processed"
 * Names.customMetricName("dinoair_", "errorCount") // "dinoair_custom_error_count_value"
 * Names.customMetricName("dinoair_", "latency_ms") // "dinoair_custom_latencyms"
 * ```
 *
 * @since 0.1.0
 */
export const customMetricName = (prefix: string, name: string): string => {
  const full = `${prefix}custom_${joinRejectedWords(sanitizeName(name), false) || UNNAMED}`
  return RESERVED_SUFFIXES.some((suffix) => full.endsWith(suffix))
    ? full + RESERVED_SUFFIX_ESCAPE
    : full
}

/**
 * Turns a user-given label name into a valid one that cannot start with
 * the reserved `__`: the sanitised name, with `_` in front when it starts
 * with a digit, and `label` when nothing is left.
 *
 * @since 0.1.0
 */
export const sanitizeLabelName = (input: string): string => {
  const name = sanitizeName(input)
  if (name === "") return "label"
  return startsWithDigit(name) ? `_${name}` : name
}

const startsWithDigit = (name: string): boolean => /^[0-9]/.test(name)

/**
 * Replaces each lone UTF-16 surrogate with U+FFFD, which is what a UTF-8
 * encoder writes for it anyway. Label values are normalised with it before
 * series are grouped, so two names that differ only in lone surrogates
 * form one series instead of two series with the same encoded labels.
 *
 * @since 0.1.0
 */
export const toWellFormed = (input: string): string =>
  // Most names have no surrogate at all, and the registry calls this on the hot path.
  SURROGATE.test(input) ? input.replace(LONE_SURROGATE, "\uFFFD") : input

const SURROGATE = /[\uD800-\uDFFF]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** Unit abbreviations that promtool rejects as any word but the first of a metric name. */
const ABBREVIATED_UNITS = new Set([
  "s",
  "ms",
  "us",
  "ns",
  "sec",
  "b",
  "kb",
  "mb",
  "gb",
  "tb",
  "pb",
  "m",
  "h",
  "d",
])

/** Metric types that promtool rejects as any word but the first of a metric name. */
const METRIC_TYPES = new Set(["counter", "gauge", "histogram", "summary"])

/** Units that promtool rejects wherever they appear, in favour of a base unit. */
const NON_BASE_UNITS = new Set([
  "minutes",
  "hours",
  "days",
  "weeks",
  "kelvin",
  "kelvins",
  "fahrenheit",
  "rankine",
  "inches",
  "yards",
  "miles",
  "bits",
  "calories",
  "pounds",
  "ounces",
])

/** Every unit that promtool recognises, base units included. */
const UNITS = new Set([
  ...NON_BASE_UNITS,
  "amperes",
  "bytes",
  "celsius",
  "grams",
  "joules",
  "meters",
  "metres",
  "seconds",
  "volts",
])

/** Prefixes that make any unit a unit that is not a base unit for promtool, such as `kilobytes`. */
const UNIT_PREFIXES = [
  "pico",
  "nano",
  "micro",
  "milli",
  "centi",
  "deci",
  "deca",
  "hecto",
  "kilo",
  "kibi",
  "mega",
  "mibi",
  "giga",
  "gibi",
  "tera",
  "tebi",
  "peta",
  "pebi",
]

const isRejectedWord = (word: string, first: boolean): boolean => {
  if (!first && (ABBREVIATED_UNITS.has(word) || METRIC_TYPES.has(word))) return true
  if (NON_BASE_UNITS.has(word)) return true
  return UNIT_PREFIXES.some(
    (prefix) =>
      word.length > prefix.length &&
      word.startsWith(prefix) &&
      UNITS.has(word.slice(prefix.length)),
  )
}

/**
 * Joins each word of a sanitised name that promtool rejects to a
 * neighbour, as the module notes describe. `first` is whether the name's
 * first word is the first word of the metric name.
 */
const joinRejectedWords = (name: string, first: boolean): string => {
  if (name === "") return name
  const words = name.split("_")

  for (;;) {
    const index = words.findIndex((word, position) => isRejectedWord(word, first && position === 0))
    if (index === -1) return words.join("_")
    // No rejected word ends with "value", so this ends the loop.
    if (words.length === 1) return `${words[0]}value`

    // Each join removes one word, so the loop ends.
    const at = index === 0 ? 0 : index - 1
    words.splice(at, 2, `${words[at]}${words[at + 1]}`)
  }
}
