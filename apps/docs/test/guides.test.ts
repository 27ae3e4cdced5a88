/**
 * Facts that the guides state and the packages define: every option's
 * default in the configuration reference, and every name of the Python
 * API in the migration guide.
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { PerformanceConfig } from "@dinoair/monitor"
import { HttpSink } from "@dinoair/sink-http"
import { TelemetryConfig } from "@dinoair/telemetry"
import { beforeAll, describe, expect, it } from "vitest"
import { guidesDir } from "../src/paths.js"

let configuration: string
let migration: string

beforeAll(async () => {
  configuration = await readFile(join(guidesDir, "configuration.md"), "utf8")
  migration = await readFile(join(guidesDir, "migrating-from-python.md"), "utf8")
})

/** Returns the cells of the table rows that have `` `code` `` as one of their cells. */
const rowsWith = (markdown: string, code: string): Array<Array<string>> =>
  markdown
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) => line.split("|").map((cell) => cell.trim()))
    .filter((cells) => cells.includes(`\`${code}\``))

/** Checks that a row names `option` (and `owner`, when given) and has `value` as its default cell. */
const documentsDefault = (option: string, value: unknown, owner?: string): boolean =>
  rowsWith(configuration, option).some(
    (cells) =>
      (owner === undefined || cells.includes(`\`${owner}\``)) &&
      cells.includes(`\`${JSON.stringify(value)}\``),
  )

describe("configuration reference", () => {
  it.each(Object.entries(PerformanceConfig.defaultPerformanceConfig))(
    "PerformanceConfig %s has its default",
    (option, value) => {
      expect(documentsDefault(option, value), `no row for ${option} with default ${value}`).toBe(
        true,
      )
    },
  )

  it.each(Object.entries(TelemetryConfig.defaultTelemetryConfig))(
    "TelemetryConfig %s has its default",
    (option, value) => {
      expect(documentsDefault(option, value), `no row for ${option} with default ${value}`).toBe(
        true,
      )
    },
  )

  it.each(Object.entries(HttpSink.defaults))("HTTP sink %s has its default", (option, value) => {
    expect(
      documentsDefault(option, value, "http"),
      `no row for ${option} with default ${value}`,
    ).toBe(true)
  })
})

/** The names of the Python DinoAir API, as its reference document spells them. */
const PYTHON_NAMES = [
  "PerformanceMonitor",
  "PerformanceConfig",
  "TelemetryManager",
  "TelemetryConfig",
  "start_operation",
  "end_operation",
  "monitor_operation",
  "enable",
  "disable",
  "force_export",
  "enable_performance_monitoring",
  "disable_performance_monitoring",
  "monitor_performance",
  "performance_decorator",
  "configure_performance",
  "get_performance_monitor",
  "enable_telemetry",
  "disable_telemetry",
  "export_telemetry",
  "configure_telemetry",
  "get_metrics_count",
  "enabled",
  "sampling_rate",
  "max_metrics_retained",
  "enable_memory_tracking",
  "enable_cpu_tracking",
  "threshold_duration_ms",
  "include_system_info",
  "export_interval_seconds",
  "max_metrics_per_operation",
  "max_total_metrics",
  "batch_size",
  "export_format",
  "export_destination",
  "output_file",
  "http_endpoint",
  "include_system_metrics",
  "include_custom_metrics",
  "retention_hours",
]

const camelCase = (name: string): string =>
  name.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase())

describe("migration guide", () => {
  it.each(PYTHON_NAMES)("maps %s", (name) => {
    const tableRows = migration.split("\n").filter((line) => line.startsWith("|"))
    const row = tableRows.find((line) => new RegExp(`\\b${name}\\b`).test(line.split("|")[1] ?? ""))

    expect(row, `no table row with ${name} in its Python column`).toBeDefined()
    expect(row, `the row of ${name} does not name ${camelCase(name)}`).toContain(camelCase(name))
  })
})
