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
 * metric name: the sanitised prefix plus one underscore, or nothing when
 * the sanitised prefix is empty.
 *
 * @since 0.1.0
 */
export const sanitizePrefix = (prefix: string): string => {
  const name = sanitizeName(prefix)
  return name === "" ? "" : `${name}_`
}

/**
 * Builds the family name of a custom metric: `<prefix>custom_<name>`, with
 * the name sanitised, `unnamed` for a name with no letter or digit, and
 * `_value` appended when the result would end with a reserved suffix.
 *
 * @example
 * ```ts
 * import { Names } from "@dinoair/exporter-prometheus"
 *
 * Names.customMetricName("dinoair_", "records.processed") // "dinoair_custom_records_processed"
 * Names.customMetricName("dinoair_", "errorCount") // "dinoair_custom_error_count_value"
 * ```
 *
 * @since 0.1.0
 */
export const customMetricName = (prefix: string, name: string): string => {
  const full = `${prefix}custom_${sanitizeName(name) || UNNAMED}`
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
  return /^[0-9]/.test(name) ? `_${name}` : name
}

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
