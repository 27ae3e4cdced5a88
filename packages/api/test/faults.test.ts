/**
 * File and HTTP faults through the facade: a directory or a device at the
 * output path, a missing directory, concurrent exports, a server that
 * accepts connections slowly and one that stops reading the request body.
 * Exports return `false` while a fault lasts, records stay buffered or are
 * counted as dropped with a reason, and exports never overlap.
 *
 * Every test runs with credentials in the configuration: a user name and
 * password in the URL, a `token` query parameter and an `Authorization`
 * header. After each test, every line that went to the facade's logger or
 * to the console, and every form of the last error, is checked for them.
 */
import { execFileSync } from "node:child_process"
import { lstat, mkdir, readFile, rm, stat } from "node:fs/promises"
import { createServer, type Socket } from "node:net"
import path from "node:path"
import { inspect } from "node:util"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import {
  configureTelemetry,
  ExportError,
  enableTelemetry,
  exportTelemetry,
  getTelemetryManager,
  monitorPerformance,
  resetGlobals,
  setLogger,
  TelemetryManager,
} from "../src/index.js"
import {
  type CapturingLogger,
  capturingLogger,
  type ExportedDocument,
  makeTempDir,
  removeTempDirs,
} from "./helpers.js"

const USER = "fault-user"
const PASSWORD = "pw-Hq2!x9Lm4"
const QUERY_TOKEN = "qtok-8d41c2b7e09f"
const BEARER = "bearer-6c3f0a95e1d7"

/** Every credential of these tests, in each form that could leak. */
const SECRETS = [
  USER,
  PASSWORD,
  encodeURIComponent(PASSWORD),
  QUERY_TOKEN,
  BEARER,
  Buffer.from(`${USER}:${PASSWORD}`).toString("base64"),
]

/** A URL on `port` with the user name and password in it and a secret query parameter. */
const secretUrl = (port: number, userinfo = true): string =>
  `http://${userinfo ? `${USER}:${encodeURIComponent(PASSWORD)}@` : ""}127.0.0.1:${port}/ingest?token=${QUERY_TOKEN}&team=web`

let logger: CapturingLogger
let consoleLines: Array<string>
let directory: string
/** Further text that a test wants checked for credentials, such as error messages. */
let checked: Array<string>
const cleanups: Array<() => Promise<void>> = []

beforeEach(async () => {
  logger = capturingLogger()
  setLogger(logger)
  consoleLines = []
  for (const level of ["debug", "info", "log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...parts: Array<unknown>) => {
      consoleLines.push(parts.map(String).join(" "))
    })
  }
  checked = []
  directory = await makeTempDir()
})

afterEach(async () => {
  await resetGlobals()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  vi.restoreAllMocks()
  await removeTempDirs()

  const output = [...logger.entries.map((entry) => entry.message), ...consoleLines, ...checked]
  for (const secret of SECRETS) {
    expect(output.join("\n"), `output contains "${secret}"`).not.toContain(secret)
  }
})

/** Adds every form in which a caller may print the last error to the checked text. */
const checkError = (manager: TelemetryManager): void => {
  const error = manager.lastError
  checked.push(
    String(error),
    error?.stack ?? "",
    inspect(error, { depth: 5 }),
    JSON.stringify(error),
  )
}

const runOperations = (prefix: string, count: number): void => {
  for (let index = 0; index < count; index++) monitorPerformance(`${prefix}`, () => index)
}

const readIds = async (file: string): Promise<Array<string>> =>
  ((JSON.parse(await readFile(file, "utf8")) as ExportedDocument).metrics ?? []).map(
    (each) => each.id,
  )

/** Creates a manager for `outputFile`, with credentials in the unused HTTP settings. */
const fileManager = (outputFile: string, extra: Record<string, unknown> = {}): TelemetryManager => {
  const manager = new TelemetryManager({
    enabled: true,
    outputFile,
    httpEndpoint: secretUrl(9),
    includeSystemMetrics: false,
    flushOnExit: false,
    ...extra,
  })
  cleanups.push(() => manager.shutdown())
  return manager
}

describe("facade file faults", () => {
  it("directory at outputFile keeps records", async () => {
    const file = path.join(directory, "telemetry.json")
    await mkdir(file)
    const manager = fileManager(file)
    runOperations("load", 5)

    const delivered = await manager.forceExport()

    expect(delivered).toBe(false)
    expect(manager.getTotalMetricsCount()).toBe(5)
    expect(manager.lastError).toBeInstanceOf(ExportError)
    expect(manager.lastError?.code).toBe("DINOAIR_SINK_WRITE_FAILED")
    expect(manager.lastError?.message).toContain("EISDIR")
    expect(logger.containing("EISDIR")).toHaveLength(1)
    checkError(manager)

    await rm(file, { recursive: true })
    expect(await manager.forceExport()).toBe(true)
    expect(await readIds(file)).toHaveLength(5)
  })

  it("missing directory is created with the mode", async () => {
    const file = path.join(directory, "a", "b", "telemetry.json")
    const manager = fileManager(file, { sinkOptions: { mode: 0o640 } })
    runOperations("load", 3)

    expect(await manager.forceExport()).toBe(true)

    expect(await readIds(file)).toHaveLength(3)
    expect((await stat(file)).mode & 0o777).toBe(0o640)
  })

  it("default file mode is 0o600", async () => {
    const file = path.join(directory, "telemetry.json")
    const manager = fileManager(file)
    runOperations("load", 1)

    expect(await manager.forceExport()).toBe(true)

    expect((await stat(file)).mode & 0o777).toBe(0o600)
  })

  it("device at outputFile is left alone", async (context) => {
    // A device with the numbers of /dev/full, made in the test's own directory.
    const device = path.join(directory, "full-device")
    try {
      execFileSync("mknod", [device, "c", "1", "7"], { stdio: "ignore" })
    } catch {
      return context.skip("mknod of a character device is not allowed here")
    }
    const manager = fileManager(device)
    runOperations("load", 4)

    const delivered = await manager.forceExport()

    expect(delivered).toBe(false)
    expect(manager.getTotalMetricsCount()).toBe(4)
    expect(manager.lastError?.message).toContain("character device")
    expect((await lstat(device)).isCharacterDevice()).toBe(true)
    expect((await lstat("/dev/full")).isCharacterDevice()).toBe(true)
    checkError(manager)
  })

  it("concurrent exportTelemetry writes records once", async () => {
    const file = path.join(directory, "telemetry.json")
    await enableTelemetry({
      outputFile: file,
      batchSize: 7,
      includeSystemMetrics: false,
      flushOnExit: false,
      httpEndpoint: secretUrl(9),
    })
    const exports: Array<Promise<boolean>> = []

    for (let round = 0; round < 30; round++) {
      runOperations(`round${round % 3}`, 4)
      exports.push(exportTelemetry())
    }
    const results = await Promise.all(exports)

    const ids = await readIds(file)
    expect(results.every((each) => each)).toBe(true)
    expect(ids).toHaveLength(120)
    expect(new Set(ids).size).toBe(120)
    expect(getTelemetryManager().stats.delivered).toBe(120)
  })
})

/** A server that counts overlapping requests; see `startServer`. */
interface FaultServer {
  readonly port: number
  readonly bodies: Array<string>
  readonly requests: number
  readonly maxConcurrent: number
}

/**
 * Starts a server on 127.0.0.1 written on `node:net`. `slowAccept` reads
 * each new connection only after a few milliseconds, responds 200 and
 * closes it. `stopReading` reads the headers and 16 KiB of the body, then
 * neither reads nor responds again.
 */
const startServer = async (kind: "slowAccept" | "stopReading"): Promise<FaultServer> => {
  const sockets = new Set<Socket>()
  const state = { bodies: [] as Array<string>, requests: 0, concurrent: 0, maxConcurrent: 0 }

  const server = createServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => undefined)
    let received = Buffer.alloc(0)
    let done = false

    socket.on("data", (chunk: Buffer) => {
      if (done) return
      if (received.length === 0) {
        state.requests++
        state.concurrent++
        state.maxConcurrent = Math.max(state.maxConcurrent, state.concurrent)
      }
      received = Buffer.concat([received, chunk])
      const headerEnd = received.indexOf("\r\n\r\n")
      if (headerEnd < 0) return
      const body = received.subarray(headerEnd + 4)

      if (kind === "stopReading") {
        if (body.length < 16 * 1024) return
        done = true
        socket.pause()
        return
      }
      const head = received.subarray(0, headerEnd).toString("latin1")
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
      if (body.length < length) return
      done = true
      state.bodies.push(body.subarray(0, length).toString("utf8"))
      state.concurrent--
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    })
    if (kind === "slowAccept") setTimeout(() => socket.resume(), 5)
    else socket.resume()
  })

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    port,
    bodies: state.bodies,
    get requests() {
      return state.requests
    },
    get maxConcurrent() {
      return state.maxConcurrent
    },
  }
}

const httpManager = (
  port: number,
  credentials: "userinfo" | "header",
  config: Record<string, unknown>,
  sinkOptions: Record<string, unknown>,
): TelemetryManager => {
  const manager = new TelemetryManager({
    enabled: true,
    exportDestination: "http",
    httpEndpoint: secretUrl(port, credentials === "userinfo"),
    includeSystemMetrics: false,
    flushOnExit: false,
    ...config,
    sinkOptions: {
      ...(credentials === "header" ? { headers: { authorization: `Bearer ${BEARER}` } } : {}),
      ...sinkOptions,
    },
  })
  cleanups.push(() => manager.shutdown())
  return manager
}

describe("facade HTTP faults", () => {
  it("userinfo with Authorization header hides both", async () => {
    const server = await startServer("slowAccept")
    const manager = new TelemetryManager({
      exportDestination: "http",
      httpEndpoint: secretUrl(server.port),
      includeSystemMetrics: false,
      flushOnExit: false,
      sinkOptions: { headers: { authorization: `Bearer ${BEARER}` }, maxAttempts: 1 },
    })
    cleanups.push(() => manager.shutdown())

    const ready = await manager.enable()
    runOperations("load", 2)
    const delivered = await manager.forceExport()

    // The conflict is logged with the URL redacted. Whether the sink then
    // refuses to start or drops one of the two is the sink's policy; either
    // way an export succeeds exactly when the sink started.
    const lines = logger.containing("has credentials")
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(line).toContain("token=%5BREDACTED%5D")
    expect(delivered).toBe(ready)
    expect(manager.getTotalMetricsCount()).toBe(ready ? 0 : 2)
    checkError(manager)
  })

  it("invalid option values hide credentials", () => {
    configureTelemetry({ exportDestination: secretUrl(9) })
    configureTelemetry({ exportFormat: `Bearer ${BEARER}` })

    const lines = logger.containing("invalid value")
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain("//[REDACTED]@127.0.0.1")
    expect(lines[0]).toContain("token=[REDACTED]")
    expect(lines[1]).toContain("Bearer [REDACTED]")
  })

  it("slow accept: concurrent exports never overlap", async () => {
    const server = await startServer("slowAccept")
    const manager = httpManager(
      server.port,
      "userinfo",
      { batchSize: 25, maxTotalMetrics: 200, maxMetricsPerOperation: 200 },
      { timeoutMs: 5000, maxAttempts: 2, initialBackoffMs: 0, maxBackoffMs: 0 },
    )
    const exports: Array<Promise<boolean>> = []

    // 40 exports at once, 20 records before each: 800 records against a cap of 200.
    for (let round = 0; round < 40; round++) {
      runOperations(`op${round % 4}`, 20)
      expect(manager.getTotalMetricsCount()).toBeLessThanOrEqual(200)
      exports.push(manager.forceExport())
    }
    const results = await Promise.all(exports)

    const stats = manager.stats
    const ids = server.bodies.flatMap((body) =>
      (JSON.parse(body) as ExportedDocument).metrics.map((each) => each.id),
    )
    const dropped = Object.values(stats.dropped).reduce((sum, count) => sum + count, 0)
    expect(results.every((each) => each)).toBe(true)
    expect(server.maxConcurrent).toBe(1)
    expect(new Set(ids).size).toBe(ids.length)
    expect(stats.delivered).toBe(ids.length)
    expect(stats.produced).toBe(800)
    expect(stats.buffered).toBe(0)
    expect(stats.inFlight).toBe(0)
    expect(stats.dropped.total).toBeGreaterThan(0)
    expect(stats.delivered + dropped).toBe(800)
  })

  it("stopped reader: timeouts keep the records", async () => {
    const server = await startServer("stopReading")
    const manager = httpManager(
      server.port,
      "header",
      { batchSize: 50 },
      { timeoutMs: 100, maxAttempts: 2, initialBackoffMs: 0, maxBackoffMs: 0 },
    )
    // Each record carries 1 KiB, so a batch of 50 is larger than the 16 KiB the server reads.
    for (let index = 0; index < 60; index++) {
      monitorPerformance("upload", () => index, { note: "n".repeat(1024) })
    }

    const results = await Promise.all([1, 2, 3].map(() => manager.forceExport()))

    expect(results).toStrictEqual([false, false, false])
    // Two attempts for the first batch of each export, one request at a time.
    expect(server.requests).toBe(6)
    expect(manager.stats.buffered).toBe(60)
    expect(manager.stats.inFlight).toBe(0)
    expect(manager.stats.batchesFailed).toBe(3)
    expect(manager.lastError?.code).toBe("DINOAIR_SINK_TIMEOUT")
    expect(manager.lastError?.message).toContain("timed out after 100 ms")
    expect(logger.at("warn").filter((line) => line.includes("timed out"))).toHaveLength(1)
    checkError(manager)
  })
})
