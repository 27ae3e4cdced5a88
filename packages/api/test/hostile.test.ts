import { afterEach, describe, expect, it } from "vitest"
import {
  configureTelemetry,
  enableTelemetry,
  exportTelemetry,
  registerPlugin,
  resetGlobals,
  setLogger,
  TelemetryManager,
} from "../src/index.js"
import { capturingLogger, makeTempDir, removeTempDirs } from "./helpers.js"

const throwingGetter = (): Record<string, unknown> =>
  Object.defineProperty({}, "batchSize", {
    enumerable: true,
    get: () => {
      throw new Error("getter exploded")
    },
  })

const throwingProxy = (): Record<string, unknown> =>
  new Proxy(
    {},
    {
      ownKeys: () => {
        throw new Error("trap exploded")
      },
      get: () => {
        throw new Error("trap exploded")
      },
    },
  )

afterEach(async () => {
  await resetGlobals()
  await removeTempDirs()
})

describe("facade hostile input", () => {
  it("constructor survives a throwing getter", async () => {
    setLogger(capturingLogger())
    const manager = new TelemetryManager(throwingGetter())

    expect(manager.config.batchSize).toBe(500)
    await manager.shutdown()
  })

  it("configureTelemetry survives a Proxy", () => {
    setLogger(capturingLogger())

    expect(() => configureTelemetry(throwingProxy())).not.toThrow()
  })

  it("enableTelemetry survives BigInt options", async () => {
    setLogger(capturingLogger())
    const dir = await makeTempDir()
    const circular: Record<string, unknown> = {}
    circular.self = circular

    const enabled = enableTelemetry({
      outputFile: `${dir}/t.json`,
      exporterOptions: { big: 10n, circular },
    })

    await expect(enabled).resolves.toBeTypeOf("boolean")
    await expect(exportTelemetry()).resolves.toBeTypeOf("boolean")
  })

  it("setLogger rejects a throwing Proxy", () => {
    const logger = capturingLogger()
    setLogger(logger)

    expect(() => setLogger(throwingProxy() as never)).not.toThrow()
    expect(logger.entries.some((entry) => entry.message.includes("setLogger"))).toBe(true)
  })

  it("plugin make returning undefined is reported", async () => {
    const logger = capturingLogger()
    setLogger(logger)
    registerPlugin({ kind: "exporter", format: "broken", make: () => undefined as never })

    const ready = await enableTelemetry({ exportFormat: "broken", exportDestination: "console" })
    const exported = await exportTelemetry()

    expect(ready).toBe(false)
    expect(exported).toBe(false)
    expect(logger.entries.some((entry) => entry.message.includes('"broken" exporter plugin'))).toBe(
      true,
    )
  })
})
