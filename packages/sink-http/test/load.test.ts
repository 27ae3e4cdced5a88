/**
 * The HTTP sink under many concurrent `forceExport` calls through a real
 * telemetry manager, against a server that accepts connections slowly and
 * one that stops reading the request body part of the way through.
 *
 * Checked: exports never overlap (the server and a counter around the sink
 * see one request at a time), the buffer stays within its cap and counts
 * each drop by reason, nothing is delivered twice, and the heap after
 * garbage collection stays within a stated bound. The time limits are the
 * sink's `timeoutMs`. Every log line is checked for the credentials, which
 * sit in the URL's userinfo, in a `token` query parameter and in an
 * `Authorization` header.
 */
import { randomBytes } from "node:crypto"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { JsonExporter } from "@dinoair/exporter-json"
import type { OperationMetrics } from "@dinoair/monitor"
import { type Sink, Telemetry, TelemetryConfig } from "@dinoair/telemetry"
import { Effect } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { plugin } from "../src/index.js"
import { type LoadServer, startLoadServer } from "./load-server.js"
import { idsIn, makeLogger, PASSWORD, takeAllLogLines, USER } from "./support.js"

const QUERY_TOKEN = "qtok-3f9a61c07d5e"
const BEARER = "bearer-b71e04d9c2a8"

/** Every credential of these tests, in each form that could leak. */
const SECRETS = [
  USER,
  PASSWORD,
  encodeURIComponent(PASSWORD),
  QUERY_TOKEN,
  BEARER,
  Buffer.from(`${USER}:${PASSWORD}`).toString("base64"),
]

const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  vi.restoreAllMocks()
  takeAllLogLines()
})

/** Console output, which no line of the sink or the manager may reach either. */
const captureConsole = (): Array<string> => {
  const lines: Array<string> = []
  for (const level of ["debug", "info", "log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...parts: Array<unknown>) => {
      lines.push(parts.map(String).join(" "))
    })
  }
  return lines
}

const expectNoSecret = (lines: ReadonlyArray<string>): void => {
  const output = lines.join("\n")
  for (const secret of SECRETS) {
    expect(output, `a log line contains "${secret}"`).not.toContain(secret)
  }
}

let sequence = 0

const record = (operation: string, padding: number): OperationMetrics => {
  sequence++
  return {
    id: `${operation}-${sequence}`,
    operation,
    duration: 0.25,
    timestamp: 1_700_000_000,
    memoryUsage: 1024,
    memoryDelta: undefined,
    cpuUsage: 2.5,
    status: "ok",
    error: undefined,
    // Random hex, because a repeated character would share its memory between records.
    customMetrics: { padding: randomBytes(padding / 2).toString("hex") },
    parentId: undefined,
    systemInfo: undefined,
  }
}

interface Setup {
  readonly telemetry: Telemetry.TelemetryInstance
  readonly logger: ReturnType<typeof makeLogger>
  /** Deliveries running through the sink now, and the maximum at one time. */
  readonly deliveries: { running: number; max: number }
}

const CAP = 1000
const BATCH = 100

/**
 * Builds a manager whose sink is the HTTP plugin, as the facade builds it,
 * with the credentials in the URL and optionally an Authorization header.
 */
const setUp = (
  server: LoadServer,
  credentials: "userinfo" | "header",
  sinkOptions: Record<string, unknown>,
): Setup => {
  const logger = makeLogger()
  const userinfo = credentials === "userinfo" ? `${USER}:${encodeURIComponent(PASSWORD)}@` : ""
  const headers = credentials === "header" ? { authorization: `Bearer ${BEARER}` } : {}
  const exporter = JsonExporter.make()
  const sink = plugin.make({
    config: {
      ...TelemetryConfig.defaultTelemetryConfig,
      exportDestination: "http",
      httpEndpoint: `http://${userinfo}127.0.0.1:${server.port}/ingest?token=${QUERY_TOKEN}&team=web`,
    },
    options: { headers, ...sinkOptions },
    logger,
    exporter,
  })

  const deliveries = { running: 0, max: 0 }
  const counted: Sink.SinkShape = {
    ...sink,
    deliver: (payload) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          deliveries.running++
          deliveries.max = Math.max(deliveries.max, deliveries.running)
        }),
        () => sink.deliver(payload),
        () => Effect.sync(() => deliveries.running--),
      ),
  }

  const telemetry = Telemetry.makeUnsafe(
    {
      batchSize: BATCH,
      maxTotalMetrics: CAP,
      maxMetricsPerOperation: CAP,
      exportIntervalSeconds: 3600,
      includeSystemMetrics: false,
      flushOnExit: false,
      nowSeconds: () => 1_700_000_100,
      logger,
      source: () => () => {},
    },
    { exporter, sink: counted },
  )
  cleanups.push(() => Effect.runPromise(telemetry.shutdown))
  return { telemetry, logger, deliveries }
}

const droppedTotal = (stats: Telemetry.TelemetryStats): number =>
  Object.values(stats.dropped).reduce((sum, count) => sum + count, 0)

/** Forces a full garbage collection; `--expose-gc` is set at run time for this file only. */
const collectGarbage = (): void => {
  setFlagsFromString("--expose-gc")
  const gc = runInNewContext("gc") as () => void
  gc()
  gc()
}

describe("HttpSink under load", () => {
  it("slow accept: exports never overlap", async () => {
    const server = await startLoadServer({ kind: "slowAccept", delayMs: 5 })
    cleanups.push(() => server.close())
    const consoleLines = captureConsole()
    const { telemetry, logger, deliveries } = setUp(server, "userinfo", {
      timeoutMs: 5000,
      maxAttempts: 2,
      initialBackoffMs: 0,
      maxBackoffMs: 0,
    })
    const samples: Array<Telemetry.TelemetryStats> = []
    server.onRequest = () => samples.push(telemetry.stats)

    // 60 exports started at once, with 40 new records before each: 2400 records
    // against a cap of 1000, so the buffer must drop some while the exports queue.
    const produced: Array<string> = []
    const exports: Array<Promise<boolean>> = []
    for (let round = 0; round < 60; round++) {
      for (let index = 0; index < 40; index++) {
        const each = record(`op${index % 4}`, 64)
        produced.push(each.id)
        telemetry.collect(each)
        expect(telemetry.stats.buffered).toBeLessThanOrEqual(CAP)
      }
      exports.push(Effect.runPromise(telemetry.forceExport))
    }
    const results = await Promise.all(exports)

    const stats = telemetry.stats
    const deliveredIds = server.accepted.flatMap(idsIn)
    expect(results.every((each) => each)).toBe(true)
    expect(server.maxConcurrent).toBe(1)
    expect(deliveries.max).toBe(1)
    expect(samples.every((each) => each.inFlight <= BATCH)).toBe(true)
    expect(samples.every((each) => each.buffered <= CAP)).toBe(true)
    expect(server.connections).toBe(server.requests)
    expect(new Set(deliveredIds).size).toBe(deliveredIds.length)
    expect(stats.delivered).toBe(deliveredIds.length)
    expect(stats.buffered).toBe(0)
    expect(stats.inFlight).toBe(0)
    expect(stats.produced).toBe(produced.length)
    expect(stats.dropped.total).toBeGreaterThan(0)
    expect(stats.dropped.total).toBe(produced.length - stats.delivered)
    expect(stats.delivered + droppedTotal(stats)).toBe(stats.produced)
    expect(server.targets.every((target) => target.includes(`token=${QUERY_TOKEN}`))).toBe(true)
    expectNoSecret([...takeAllLogLines(), ...logger.entries.map((each) => each.message)])
    expectNoSecret(consoleLines)
  })

  it("stopped reader: bounded, counted, no overlap", async () => {
    const server = await startLoadServer({ kind: "stopReading", bodyBytes: 64 * 1024 })
    cleanups.push(() => server.close())
    const consoleLines = captureConsole()
    const { telemetry, logger, deliveries } = setUp(server, "header", {
      timeoutMs: 150,
      maxAttempts: 1,
    })
    collectGarbage()
    const baseline = process.memoryUsage().heapUsed

    // Records of about 4.5 KiB, so that one batch is a body of about 450 KiB,
    // which the server stops reading after 64 KiB. 10 000 records against a
    // cap of 1000: without the cap the buffer alone would hold about 45 MiB.
    const PADDING = 4096
    const EXPORTS = 8
    const exports: Array<Promise<boolean>> = []
    for (let round = 0; round < EXPORTS; round++) {
      for (let index = 0; index < 10_000 / EXPORTS; index++)
        telemetry.collect(record(`big${index % 4}`, PADDING))
      exports.push(Effect.runPromise(telemetry.forceExport))
    }
    const results = await Promise.all(exports)

    const stats = telemetry.stats
    expect(results).toStrictEqual(Array.from({ length: EXPORTS }, () => false))
    expect(deliveries.max).toBe(1)
    // One attempt per export: each export's first batch times out and goes back.
    expect(server.requests).toBe(EXPORTS)
    expect(server.connections).toBe(EXPORTS)
    expect(stats.batchesFailed).toBe(EXPORTS)
    expect(stats.lastError?.reason).toBe("Timeout")
    expect(stats.delivered).toBe(0)
    expect(stats.inFlight).toBe(0)
    expect(stats.buffered).toBe(CAP)
    expect(stats.dropped.total).toBe(10_000 - CAP)
    expect(stats.dropped.rejected).toBe(0)
    expect(stats.buffered + droppedTotal(stats)).toBe(stats.produced)

    // The bound: the buffer's cap of records, twice over for the encoded body
    // and the string it came from, plus 16 MiB for everything else.
    collectGarbage()
    const retained = process.memoryUsage().heapUsed - baseline
    const recordBytes = PADDING + 512
    expect(retained).toBeLessThan(2 * CAP * recordBytes + 16 * 1024 ** 2)

    const warnings = logger.at("warn").filter((line) => line.startsWith("telemetry: export"))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain("timed out after 150 ms")
    expect(warnings[0]).toContain("token=%5BREDACTED%5D")
    expectNoSecret([...takeAllLogLines(), ...logger.entries.map((each) => each.message)])
    expectNoSecret([stats.lastError?.message ?? "", String(stats.lastError)])
    expectNoSecret(consoleLines)
  })
})
