/**
 * A user who installs `@dinoair/api` with `@dinoair/exporter-prometheus`
 * and `@dinoair/sink-http` pushes Prometheus text to a real Pushgateway,
 * which the test starts on 127.0.0.1.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import {
  freePort,
  peerTool,
  type StartedProcess,
  startProcess,
  waitFor,
} from "@dinoair/test-support"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { lastJsonLine, makeScratchProject, type ScratchProject } from "./support/scratch.js"

const INSTALLED = [
  "@dinoair/api",
  "@dinoair/exporter-json",
  "@dinoair/exporter-prometheus",
  "@dinoair/monitor",
  "@dinoair/sink-file",
  "@dinoair/sink-http",
  "@dinoair/telemetry",
]

let project: ScratchProject
let pushgateway: StartedProcess | undefined
let pushgatewayData: string | undefined

beforeAll(async () => {
  const tarballs = inject("tarballs")
  project = await makeScratchProject("facade-plugins")
  await project.install(INSTALLED.map((name) => tarballs[name] ?? name))
  await project.copyFixtures(["push.mjs", "internals.mjs"])
})

afterAll(async () => {
  await pushgateway?.stop()
  if (pushgatewayData !== undefined) await rm(pushgatewayData, { recursive: true, force: true })
  await project?.remove()
})

/** Starts a Pushgateway on a free port, or returns `undefined` when it is not installed. */
const startPushgateway = async (): Promise<string | undefined> => {
  const binary = peerTool("prometheus-pushgateway", "prometheus-pushgateway")
  if (binary === undefined) return undefined

  pushgatewayData = await mkdtemp(path.join(tmpdir(), "dinoair-pushgateway-"))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  pushgateway = startProcess(binary, [
    `--web.listen-address=127.0.0.1:${port}`,
    `--persistence.file=${path.join(pushgatewayData, "pushgateway.data")}`,
  ])
  await waitFor(async () => (await fetch(`${base}/-/ready`)).ok, {
    what: `the Pushgateway to start; its output: ${pushgateway.output()}`,
  })
  return base
}

describe("@dinoair/api with the Prometheus exporter and the HTTP sink", () => {
  it("pushes to a Pushgateway", async (test) => {
    const base = await startPushgateway()
    if (base === undefined) return test.skip()

    const finished = await project.run("node", ["push.mjs"], { PUSHGATEWAY_URL: base })
    const outcome = lastJsonLine<{
      readonly ready: boolean
      readonly exported: boolean
      readonly delivered: number
      readonly lastError: string | null
    }>(finished)
    const stored = await (await fetch(`${base}/metrics`)).text()

    expect(outcome.lastError).toBeNull()
    expect(outcome.ready).toBe(true)
    expect(outcome.exported).toBe(true)
    expect(outcome.delivered).toBe(3)
    expect(stored).toContain(
      'dinoair_operations_total{instance="",job="install_test",operation="checkout",status="ok"} 3\n',
    )
  })

  it("keeps the plugins' files behind their exports maps", async () => {
    const outcomes = lastJsonLine<Record<string, string>>(
      await project.run("node", ["internals.mjs"]),
    )

    for (const name of ["@dinoair/exporter-prometheus", "@dinoair/sink-http"]) {
      expect(outcomes[`import ${name}`], name).toBe("loaded")
      expect(outcomes[`require ${name}`], name).toBe("loaded")
      for (const subpath of ["dist/index.js", "src/index.ts", "dist/internal/index.js"]) {
        expect(outcomes[`import ${name}/${subpath}`]).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
        expect(outcomes[`require ${name}/${subpath}`]).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
      }
    }
  })

  it("takes every @dinoair package from a tarball", async () => {
    expect(await project.dinoairPackages()).toEqual(INSTALLED)
    const sources = await project.dinoairSources()
    for (const name of INSTALLED) expect(sources[name], name).toMatch(/^file:/)
  })
})
