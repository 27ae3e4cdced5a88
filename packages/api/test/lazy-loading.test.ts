/**
 * The facade imports an optional plugin package only when a configuration
 * first names its format or destination. Each mock below passes the real
 * module through and records when it was imported. This file contains one
 * test, because a module stays imported for the rest of a file.
 */
import { afterEach, expect, it, vi } from "vitest"
import { enableTelemetry, resetGlobals, setLogger } from "../src/index.js"
import { capturingLogger, makeTempDir, removeTempDirs } from "./helpers.js"

const imported = vi.hoisted((): Array<string> => [])

vi.mock("@dinoair/exporter-prometheus", async (importOriginal) => {
  imported.push("@dinoair/exporter-prometheus")
  return importOriginal()
})
vi.mock("@dinoair/exporter-csv", async (importOriginal) => {
  imported.push("@dinoair/exporter-csv")
  return importOriginal()
})
vi.mock("@dinoair/sink-http", async (importOriginal) => {
  imported.push("@dinoair/sink-http")
  return importOriginal()
})

afterEach(async () => {
  await resetGlobals()
  await removeTempDirs()
})

it("imports each plugin on first use", async () => {
  setLogger(capturingLogger())
  const directory = await makeTempDir()
  const atStart = [...imported]

  const csvReady = await enableTelemetry({
    exportFormat: "csv",
    outputFile: `${directory}/telemetry.csv`,
  })
  const afterCsv = [...imported]
  const prometheusReady = await enableTelemetry({
    exportFormat: "prometheus",
    outputFile: `${directory}/metrics.prom`,
  })
  const afterPrometheus = [...imported]
  // Port 9 (discard) on this machine; nothing is exported in this test, so nothing is sent.
  const httpReady = await enableTelemetry({
    exportDestination: "http",
    httpEndpoint: "http://127.0.0.1:9/ingest",
  })

  expect(atStart).toEqual([])
  expect(csvReady).toBe(true)
  expect(afterCsv).toEqual(["@dinoair/exporter-csv"])
  expect(prometheusReady).toBe(true)
  expect(afterPrometheus).toEqual(["@dinoair/exporter-csv", "@dinoair/exporter-prometheus"])
  expect(httpReady).toBe(true)
  expect(imported).toEqual([
    "@dinoair/exporter-csv",
    "@dinoair/exporter-prometheus",
    "@dinoair/sink-http",
  ])
})
