/**
 * An Effect user installs the services they compose, without the facade:
 * `@dinoair/monitor`, `@dinoair/telemetry`, `@dinoair/exporter-csv` and
 * `@dinoair/sink-file`, with `effect` and Node.js's types. The program is
 * type-checked by `tsc` against the installed declarations, then run.
 */
import { createRequire } from "node:module"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { lastJsonLine, makeScratchProject, type ScratchProject } from "./support/scratch.js"

const INSTALLED = [
  "@dinoair/exporter-csv",
  "@dinoair/monitor",
  "@dinoair/sink-file",
  "@dinoair/telemetry",
]

/** The workspace's TypeScript compiler, run on the scratch project. */
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")

let project: ScratchProject

beforeAll(async () => {
  const tarballs = inject("tarballs")
  project = await makeScratchProject("effect-user")
  await project.install([
    ...INSTALLED.map((name) => tarballs[name] ?? name),
    "effect@^4.1.5",
    "@types/node@^20.19.0",
  ])
  await project.copyFixtures(["effect-user/main.ts", "effect-user/tsconfig.json", "internals.mjs"])
})

afterAll(() => project?.remove())

describe("Effect user with monitor, telemetry, CSV and file sink", () => {
  it("installs only the packages named", async () => {
    expect(await project.dinoairPackages()).toEqual(INSTALLED)
    const sources = await project.dinoairSources()
    for (const name of INSTALLED) expect(sources[name], name).toMatch(/^file:/)
  })

  it("keeps files behind the exports maps", async () => {
    const outcomes = lastJsonLine<Record<string, string>>(
      await project.run("node", ["internals.mjs"]),
    )

    for (const name of INSTALLED) {
      expect(outcomes[`import ${name}`], name).toBe("loaded")
      expect(outcomes[`require ${name}`], name).toBe("loaded")
      for (const subpath of ["dist/index.js", "src/index.ts", "dist/internal/index.js"]) {
        expect(outcomes[`import ${name}/${subpath}`]).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
        expect(outcomes[`require ${name}/${subpath}`]).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
      }
    }
  })

  it("type-checks and runs the composed layers", async () => {
    const compiled = await project.run(process.execPath, [tsc, "-p", "tsconfig.json"])
    expect(compiled.stdout + compiled.stderr).toBe("")
    expect(compiled.code).toBe(0)

    const finished = await project.run("node", ["dist/main.js", "telemetry.csv"])
    const outcome = lastJsonLine<{
      readonly items: number
      readonly buffered: number
      readonly csv: string
    }>(finished)
    const lines = outcome.csv.trimEnd().split(/\r?\n/)

    expect(outcome.items).toBe(3)
    expect(outcome.buffered).toBe(1)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain("operation")
    expect(lines[1]).toContain("parse_order")
  })
})
