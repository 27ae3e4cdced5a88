/**
 * Readers for the CSV and Prometheus files that a run writes, so that the
 * report can check them against what the monitor recorded.
 */
import { CsvCell, CsvExporter } from "@dinoair/exporter-csv"
import { parse } from "csv-parse/sync"

/** The columns that the CSV exporter writes, in order. */
const CSV_COLUMNS: ReadonlyArray<string> = CsvExporter.COLUMNS

/**
 * Counts the records of a CSV file written by the CSV exporter, by
 * operation. Throws when the header or a row does not have the exporter's
 * columns, naming the file and the line.
 */
export const countCsvRecords = (file: string, text: string): Map<string, number> => {
  let rows: Array<Array<string>>
  try {
    rows = parse(text, { bom: true, relax_column_count: true }) as Array<Array<string>>
  } catch (error) {
    throw new Error(`the telemetry file ${file} is not valid CSV: ${(error as Error).message}`)
  }
  const [header, ...records] = rows
  if (header === undefined) return new Map()
  if (header.join(",") !== CSV_COLUMNS.join(",")) {
    throw new Error(
      `the telemetry file ${file} does not start with the CSV header ${CSV_COLUMNS.join(",")}`,
    )
  }

  const byOperation = new Map<string, number>()
  for (const [index, row] of records.entries()) {
    if (row.length !== CSV_COLUMNS.length) {
      throw new Error(
        `the telemetry file ${file} has ${row.length} fields in record ${index + 1}, expected ${CSV_COLUMNS.length}`,
      )
    }
    const operation = CsvCell.restoreFormula(row[0] as string)
    byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1)
  }
  return byOperation
}

/**
 * Reads `dinoair_operations_total` from Prometheus text and sums each
 * operation's series over their statuses.
 */
export const readPrometheusCounters = (text: string): Map<string, number> => {
  const counters = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${COUNTER_NAME}{`)) continue

    const { labels, rest } = parseLabels(line.slice(COUNTER_NAME.length + 1))
    const operation = labels.get("operation")
    const value = Number(rest.trim().split(" ")[0])
    if (operation === undefined || !Number.isFinite(value)) continue
    counters.set(operation, (counters.get(operation) ?? 0) + value)
  }
  return counters
}

const COUNTER_NAME = "dinoair_operations_total"

/**
 * Parses a label set that starts after its `{`: `name="value",...}`.
 * Values are unescaped as the text format defines (`\\`, `\"`, `\n`).
 */
const parseLabels = (
  text: string,
): { readonly labels: Map<string, string>; readonly rest: string } => {
  const labels = new Map<string, string>()
  let index = 0
  while (index < text.length && text[index] !== "}") {
    const equals = text.indexOf('="', index)
    if (equals === -1) break
    const name = text.slice(index, equals)

    let value = ""
    index = equals + 2
    while (index < text.length && text[index] !== '"') {
      const char = text[index] as string
      if (char === "\\") {
        const next = text[index + 1]
        value += next === "n" ? "\n" : (next ?? "")
        index += 2
      } else {
        value += char
        index++
      }
    }
    labels.set(name, value)

    index++
    if (text[index] === ",") index++
  }
  return { labels, rest: text.slice(index + 1) }
}
