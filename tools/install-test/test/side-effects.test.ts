/**
 * Importing a package starts no timer and adds no process listener: each
 * package is imported in a fresh Node.js process, which compares its
 * listeners and active resources before and after the import.
 */
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { type Finished, lastJsonLine, runNode } from "./support/scratch.js"

const probe = fileURLToPath(new URL("../fixtures/import-probe.mjs", import.meta.url))

interface Snapshot {
  readonly listeners: Readonly<Record<string, number>>
  readonly resources: ReadonlyArray<string>
}

interface ProbeOutcome {
  readonly exportCount: number
  readonly before: Snapshot
  readonly afterImport: Snapshot
  readonly afterEnable: Snapshot | null
}

const PACKAGES = [
  "@dinoair/api",
  "@dinoair/exporter-csv",
  "@dinoair/exporter-json",
  "@dinoair/exporter-prometheus",
  "@dinoair/monitor",
  "@dinoair/sink-file",
  "@dinoair/sink-http",
  "@dinoair/telemetry",
]

// The probe resolves packages from this workspace package's node_modules,
// which links the built packages.
const runProbe = (args: ReadonlyArray<string>): Promise<Finished> => runNode([probe, ...args])

describe("import side effects", () => {
  it.each(PACKAGES)("%s adds no listener or resource", async (name) => {
    const outcome = lastJsonLine<ProbeOutcome>(await runProbe([name]))

    expect(outcome.exportCount).toBeGreaterThan(0)
    expect(outcome.afterImport.listeners).toEqual(outcome.before.listeners)
    expect(outcome.afterImport.resources).toEqual(outcome.before.resources)
  })

  it("enabling telemetry adds the exit flush", async () => {
    const outcome = lastJsonLine<ProbeOutcome>(await runProbe(["@dinoair/api", "--enable"]))

    expect(outcome.afterEnable).not.toBeNull()
    expect(outcome.afterEnable?.listeners.beforeExit).toBe(
      (outcome.before.listeners.beforeExit ?? 0) + 1,
    )
  })
})
