/**
 * A user who installs `@dinoair/api` alone gets JSON export to a file, a
 * message naming the package to install when asking for Prometheus, and
 * the facade through `require()` from CommonJS.
 */
import { readFile } from "node:fs/promises"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { lastJsonLine, makeScratchProject, type ScratchProject } from "./support/scratch.js"

/** The facade and what it depends on, which npm would fetch with it. */
const FACADE_PACKAGES = [
  "@dinoair/api",
  "@dinoair/exporter-json",
  "@dinoair/monitor",
  "@dinoair/sink-file",
  "@dinoair/telemetry",
]

interface ExportOutcome {
  readonly ready: boolean
  readonly answer: number
  readonly exported: boolean
  readonly logs: ReadonlyArray<{ readonly level: string; readonly message: string }>
}

let project: ScratchProject

beforeAll(async () => {
  const tarballs = inject("tarballs")
  project = await makeScratchProject("facade-alone")
  await project.install(FACADE_PACKAGES.map((name) => tarballs[name] ?? name))
  await project.copyFixtures(["facade-export.mjs", "require-facade.cjs", "internals.mjs"])
})

afterAll(() => project?.remove())

describe("@dinoair/api installed alone", () => {
  it("installs no optional plugin", async () => {
    expect(await project.dinoairPackages()).toEqual(FACADE_PACKAGES)
  })

  it("takes every @dinoair package from a tarball", async () => {
    const sources = await project.dinoairSources()
    for (const name of FACADE_PACKAGES) {
      expect(sources[name], name).toMatch(/^file:/)
    }
  })

  it("exports JSON to a file", async () => {
    const finished = await project.run("node", ["facade-export.mjs", "json", "telemetry.json"])
    const outcome = lastJsonLine<ExportOutcome>(finished)
    const document = JSON.parse(
      await readFile(path.join(project.directory, "telemetry.json"), "utf8"),
    )

    expect(outcome.ready).toBe(true)
    expect(outcome.answer).toBe(42)
    expect(outcome.exported).toBe(true)
    expect(outcome.logs).toEqual([])
    expect(document.metrics).toHaveLength(1)
    expect(document.metrics[0].operation).toBe("checkout")
    expect(document.metrics[0].custom_metrics).toEqual({ cart: "c-1" })
  })

  it("names the package Prometheus needs", async () => {
    const finished = await project.run("node", ["facade-export.mjs", "prometheus", "metrics.prom"])
    const outcome = lastJsonLine<ExportOutcome>(finished)
    const errors = outcome.logs.filter((entry) => entry.level === "error")

    expect(outcome.ready).toBe(false)
    expect(outcome.answer).toBe(42)
    expect(outcome.exported).toBe(false)
    expect(errors.length).toBeGreaterThan(0)
    expect(errors[0]?.message).toContain("npm install @dinoair/exporter-prometheus")
  })

  it("gives CommonJS callers the facade", async () => {
    const finished = await project.run("node", ["require-facade.cjs"])
    const outcome = lastJsonLine<{
      readonly exports: ReadonlyArray<string>
      readonly answer: number
      readonly count: number | null
    }>(finished)

    expect(outcome.exports).toContain("enableTelemetry")
    expect(outcome.exports).toContain("PerformanceMonitor")
    expect(outcome.exports).toContain("TelemetryManager")
    expect(outcome.answer).toBe(7)
    expect(outcome.count).toBe(1)
    // Node.js 20.20.2 prints nothing here. Earlier 20.x releases may print an
    // ExperimentalWarning for require() of an ES module, which is allowed.
    const unexpected = finished.stderr
      .split("\n")
      .filter((line) => line !== "" && !/ExperimentalWarning|--trace-warnings/.test(line))
    expect(unexpected).toEqual([])
  })

  it("keeps files behind the exports map", async () => {
    const outcomes = lastJsonLine<Record<string, string>>(
      await project.run("node", ["internals.mjs"]),
    )

    for (const name of FACADE_PACKAGES) {
      expect(outcomes[`import ${name}`], name).toBe("loaded")
      expect(outcomes[`require ${name}`], name).toBe("loaded")
      for (const subpath of ["dist/index.js", "src/index.ts", "dist/internal/index.js"]) {
        expect(outcomes[`import ${name}/${subpath}`]).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
        expect(outcomes[`require ${name}/${subpath}`]).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
      }
    }
  })
})
