import path from "node:path"
import type { OperationMetrics } from "@dinoair/monitor"
import { type Exporter, type Plugin, Sink, SinkError } from "@dinoair/telemetry"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import {
  enableTelemetry,
  exportTelemetry,
  getMetricsCount,
  getTelemetryManager,
  monitorPerformance,
  registerPlugin,
  resetGlobals,
  setLogger,
} from "../src/index.js"
import {
  type CapturingLogger,
  capturingLogger,
  countByOperation,
  makeTempDir,
  readExport,
  removeTempDirs,
} from "./helpers.js"

// The optional plugin packages count as not installed in this file, whether or not the
// workspace has built them, so the missing-plugin path is what runs.
vi.mock("@dinoair/exporter-prometheus", () => {
  throw new Error("@dinoair/exporter-prometheus is not installed in this test")
})
vi.mock("@dinoair/exporter-csv", () => {
  throw new Error("@dinoair/exporter-csv is not installed in this test")
})
vi.mock("@dinoair/sink-http", () => {
  throw new Error("@dinoair/sink-http is not installed in this test")
})

let logger: CapturingLogger
let directory: string

beforeEach(async () => {
  logger = capturingLogger()
  setLogger(logger)
  directory = await makeTempDir()
})

afterEach(async () => {
  vi.restoreAllMocks()
  await resetGlobals()
  await removeTempDirs()
})

/** An exporter that writes one operation name per line. */
const linesExporter = (format: string): Exporter.ExporterShape => ({
  format,
  contentType: "text/plain",
  fileExtension: "txt",
  encode: (records: ReadonlyArray<OperationMetrics>) => ({
    contentType: "text/plain",
    fileExtension: "txt",
    fileMode: "append",
    header: "",
    body: records.map((record) => `${record.operation}\n`).join(""),
    footer: "",
    separator: "",
    recordCount: records.length,
  }),
})

/** Registers an exporter plugin named `format` and a memory sink named `destination`. */
const registerInMemory = (format: string, destination: string): Sink.MemorySink => {
  const sink = Sink.makeMemory()
  const exporterPlugin: Plugin.ExporterPlugin = {
    kind: "exporter",
    format,
    make: () => linesExporter(format),
  }
  const sinkPlugin: Plugin.SinkPlugin = {
    kind: "sink",
    destination,
    make: () => sink,
  }
  registerPlugin(exporterPlugin)
  registerPlugin(sinkPlugin)
  return sink
}

describe("missing plugins", () => {
  it.each([
    ["prometheus", { exportFormat: "prometheus" }, "@dinoair/exporter-prometheus"],
    ["csv", { exportFormat: "csv" }, "@dinoair/exporter-csv"],
    [
      "http",
      { exportDestination: "http", httpEndpoint: "http://127.0.0.1:9/api/telemetry" },
      "@dinoair/sink-http",
    ],
  ])("%s names the package to install", async (_name, options, specifier) => {
    const ready = await enableTelemetry({ outputFile: path.join(directory, "out"), ...options })
    monitorPerformance("kept", () => undefined)
    const exported = await exportTelemetry()

    expect(ready).toBe(false)
    expect(exported).toBe(false)
    expect(logger.at("error")[0]).toContain(`npm install ${specifier}`)
    expect(getMetricsCount()).toEqual({ kept: 1 })
  })

  it("unknown format lists the valid names", async () => {
    const ready = await enableTelemetry({ exportFormat: "xml" })
    const exported = await exportTelemetry()

    expect(ready).toBe(false)
    expect(exported).toBe(false)
    const [message] = logger.at("error")
    expect(message).toContain('unknown exportFormat "xml"')
    expect(message).toContain("json, prometheus, csv")
    expect(message).toContain("registerPlugin")
  })

  it("unknown destination lists the valid names", async () => {
    const ready = await enableTelemetry({ exportDestination: "pigeon" })

    expect(ready).toBe(false)
    const [message] = logger.at("error")
    expect(message).toContain('unknown exportDestination "pigeon"')
    expect(message).toContain("file, console, http")
  })

  it("switching to an installed format exports what was kept", async () => {
    const outputFile = path.join(directory, "recovered.json")
    await enableTelemetry({ exportFormat: "prometheus", outputFile })
    monitorPerformance("while_missing", () => undefined)
    const failed = await exportTelemetry()

    const ready = await enableTelemetry({ exportFormat: "json" })
    monitorPerformance("after_switch", () => undefined)
    const exported = await exportTelemetry()

    expect(failed).toBe(false)
    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(countByOperation(await readExport(outputFile))).toEqual({
      while_missing: 1,
      after_switch: 1,
    })
  })
})

describe("registerPlugin", () => {
  it("custom exporter and sink receive every record", async () => {
    const sink = registerInMemory("lines", "memory")

    const ready = await enableTelemetry({ exportFormat: "lines", exportDestination: "memory" })
    monitorPerformance("first", () => undefined)
    monitorPerformance("second", () => undefined)
    const exported = await exportTelemetry()

    expect(ready).toBe(true)
    expect(exported).toBe(true)
    expect(sink.payloads).toHaveLength(1)
    expect(sink.payloads[0]?.body).toBe("first\nsecond\n")
  })

  it("a failing custom sink keeps records buffered", async () => {
    const sink = registerInMemory("lines-flaky", "memory-flaky")
    sink.failWith = new SinkError.SinkError({
      reason: "Network",
      message: "connection refused",
      destination: "memory-flaky",
    })
    await enableTelemetry({ exportFormat: "lines-flaky", exportDestination: "memory-flaky" })
    monitorPerformance("retry_me", () => undefined)

    const failed = await exportTelemetry()
    const errorAfterFailure = getTelemetryManager().lastError
    sink.failWith = undefined
    const recovered = await exportTelemetry()

    expect(failed).toBe(false)
    expect(errorAfterFailure?.code).toBe("DINOAIR_SINK_NETWORK")
    expect(recovered).toBe(true)
    // A delivered export clears the failure of the one before it.
    expect(getTelemetryManager().lastError).toBeUndefined()
    expect(sink.payloads[0]?.body).toBe("retry_me\n")
  })

  it("registered names join the valid names", async () => {
    registerInMemory("yaml-lines", "memory-listed")

    await enableTelemetry({ exportFormat: "toml" })

    expect(logger.at("error")[0]).toContain("yaml-lines")
  })

  it("plugins receive their options", async () => {
    const seen: Array<Readonly<Record<string, unknown>>> = []
    const sink = Sink.makeMemory()
    registerPlugin({
      kind: "exporter",
      format: "with-options",
      make: ({ options }) => {
        seen.push(options)
        return linesExporter("with-options")
      },
    })
    registerPlugin({
      kind: "sink",
      destination: "memory-options",
      make: ({ options }) => {
        seen.push(options)
        return sink
      },
    })

    await enableTelemetry({
      exportFormat: "with-options",
      exportDestination: "memory-options",
      exporterOptions: { precision: 3 },
      sinkOptions: { label: "test" },
    })

    expect(seen).toEqual([{ precision: 3 }, { label: "test" }])
  })

  it("a later registration replaces an earlier one", async () => {
    const first = registerInMemory("replaced", "memory-replaced")
    const second = registerInMemory("replaced", "memory-replaced")

    await enableTelemetry({ exportFormat: "replaced", exportDestination: "memory-replaced" })
    monitorPerformance("routed", () => undefined)
    await exportTelemetry()

    expect(first.payloads).toHaveLength(0)
    expect(second.payloads).toHaveLength(1)
  })

  it("a plugin whose make throws is reported", async () => {
    registerPlugin({
      kind: "sink",
      destination: "broken",
      make: () => {
        throw new Error("missing credentials")
      },
    })

    const ready = await enableTelemetry({ exportDestination: "broken" })
    const exported = await exportTelemetry()

    expect(ready).toBe(false)
    expect(exported).toBe(false)
    expect(logger.at("error")[0]).toContain("missing credentials")
  })

  it.each([
    ["null", null],
    ["an object without make", { kind: "sink", destination: "nothing" }],
    ["an exporter without format", { kind: "exporter", name: "yaml", make: () => undefined }],
  ])("rejects %s with a warning", async (_label, invalid) => {
    const register = () => registerPlugin(invalid as unknown as Plugin.AnyPlugin)

    expect(register).not.toThrow()
    expect(logger.containing("registerPlugin: ignored")).toHaveLength(1)
    await enableTelemetry({ exportFormat: "xml" })
    expect(logger.containing("undefined")).toEqual([])
  })
})

describe("console destination", () => {
  it("writes the JSON document to standard output", async () => {
    const written: Array<string> = []
    vi.spyOn(process.stdout, "write").mockImplementation(((
      chunk: string | Uint8Array,
      ...rest: Array<unknown>
    ) => {
      written.push(String(chunk))
      const callback = rest.find((each) => typeof each === "function") as
        | ((error?: Error | null) => void)
        | undefined
      callback?.(null)
      return true
    }) as typeof process.stdout.write)

    const ready = await enableTelemetry({ exportDestination: "console" })
    monitorPerformance("printed", () => undefined)
    const exported = await exportTelemetry()

    expect(ready).toBe(true)
    expect(exported).toBe(true)
    const documents = written.filter((text) => text.startsWith("{"))
    expect(documents).toHaveLength(1)
    const document = JSON.parse(documents[0] ?? "") as { metrics: Array<{ operation: string }> }
    expect(document.metrics.map((record) => record.operation)).toEqual(["printed"])
  })
})
