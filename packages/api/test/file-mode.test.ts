/**
 * The file sink's `mode` option through the facade's `sinkOptions`, as the
 * README documents it for collectors that run as another user.
 */
import { stat } from "node:fs/promises"
import path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { monitorPerformance, resetGlobals, setLogger, TelemetryManager } from "../src/index.js"
import { capturingLogger, makeTempDir, removeTempDirs } from "./helpers.js"

beforeEach(() => {
  setLogger(capturingLogger())
})

afterEach(async () => {
  await resetGlobals()
  await removeTempDirs()
})

describe("file sink mode", () => {
  it.each([
    { given: undefined, expected: 0o600 },
    { given: 0o644, expected: 0o644 },
    { given: 0o640, expected: 0o640 },
  ])("mode $given creates $expected", async ({ given, expected }) => {
    const directory = await makeTempDir()
    const outputFile = path.join(directory, "metrics.prom")
    const manager = new TelemetryManager({
      exportFormat: "prometheus",
      outputFile,
      flushOnExit: false,
      includeSystemMetrics: false,
      sinkOptions: given === undefined ? {} : { mode: given },
    })

    expect(await manager.enable()).toBe(true)
    monitorPerformance("job", () => 1)
    expect(await manager.forceExport()).toBe(true)

    const bits = (await stat(outputFile)).mode & 0o777
    expect(bits).toBe(expected)
    await manager.shutdown()
  })
})
