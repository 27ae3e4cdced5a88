import { JsonExporter } from "@dinoair/exporter-json"
import type { OperationMetrics } from "@dinoair/monitor"
import { Telemetry, TelemetryConfig } from "@dinoair/telemetry"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { afterEach, describe, expect, it } from "vitest"
import { plugin } from "../src/index.js"
import {
  API_KEY,
  credentialedUrl,
  echoHeaders,
  idsIn,
  makeLogger,
  record,
  SECRETS,
  startFaultServer,
  takeAllLogLines,
} from "./support.js"

const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  takeAllLogLines()
})

const droppedTotal = (stats: Telemetry.TelemetryStats): number =>
  Object.values(stats.dropped).reduce((sum, count) => sum + count, 0)

describe("HttpSink with the telemetry manager", () => {
  it("counts stay exact through every fault", async () => {
    let server = await startFaultServer()
    const port = server.port
    cleanups.push(() => server.close())
    const logger = makeLogger()
    const exporter = JsonExporter.make()
    const sink = plugin.make({
      config: {
        ...TelemetryConfig.defaultTelemetryConfig,
        exportDestination: "http",
        httpEndpoint: credentialedUrl(server),
      },
      options: {
        headers: { "x-api-key": API_KEY },
        compression: "gzip",
        maxAttempts: 2,
        initialBackoffMs: 0,
        maxBackoffMs: 0,
        timeoutMs: 5000,
      },
      logger,
      exporter,
    })

    let listener: ((each: OperationMetrics) => void) | undefined
    const telemetry = Telemetry.makeUnsafe(
      {
        batchSize: 3,
        exportIntervalSeconds: 3600,
        includeSystemMetrics: false,
        flushOnExit: false,
        // Near the records' timestamps, so that retention drops none of them.
        nowSeconds: () => 1_700_000_500,
        logger,
        sourceName: "sink-http-e2e",
        source: (each) => {
          listener = each
          return () => {
            listener = undefined
          }
        },
      },
      { exporter, sink },
    )
    await Effect.runPromise(telemetry.enable())
    cleanups.push(() => Effect.runPromise(telemetry.shutdown))

    const produced: Array<string> = []
    const produce = (count: number): void => {
      for (let index = 0; index < count; index++) {
        const each = record("e2e")
        produced.push(each.id)
        listener?.(each)
      }
    }
    const forceExport = (): Promise<boolean> => Effect.runPromise(telemetry.forceExport)
    const forceExportWithTestClock = (drive: () => Effect.Effect<void>): Promise<boolean> =>
      Effect.runPromise(
        Effect.provide(
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(telemetry.forceExport)
            yield* drive()
            return yield* Fiber.join(fiber)
          }),
          TestClock.layer(),
        ),
      )

    /** Bodies of the requests that the server rejected with a 4xx. */
    const rejectedBodies = new Set<string>()

    /** Checks the counters against what the server accepted and rejected and what is still buffered. */
    const expectExactCounts = (): void => {
      const stats = telemetry.stats
      const accepted = server.accepted.flatMap(idsIn)
      const rejected = server.requests
        .filter((each) => each.complete && rejectedBodies.has(each.body))
        .flatMap((each) => idsIn(each.body))
      const buffered = telemetry.bufferedRecords().map((each) => each.id)

      expect(stats.inFlight).toBe(0)
      expect(stats.delivered + stats.buffered + droppedTotal(stats)).toBe(stats.produced)
      expect(stats.produced).toBe(produced.length)
      expect(accepted).toHaveLength(stats.delivered)
      expect(rejected).toHaveLength(stats.dropped.rejected)
      expect(buffered).toHaveLength(stats.buffered)
      expect([...accepted, ...rejected, ...buffered].sort()).toEqual([...produced].sort())
    }

    // 1. Nothing listens: the connection is refused on both attempts.
    await server.close()
    produce(4)
    expect(await forceExport()).toBe(false)
    expect(telemetry.stats.lastError?.reason).toBe("Network")
    expect(telemetry.stats.buffered).toBe(4)
    expectExactCounts()

    // 2. The server is back: 500, then 200 on the retry; the second batch gets 200.
    server = await startFaultServer(port)
    server.plan({ kind: "respond", status: 500, body: echoHeaders })
    expect(await forceExport()).toBe(true)
    expect(server.requests).toHaveLength(3)
    expect(telemetry.stats.delivered).toBe(4)
    expectExactCounts()

    // 3. 429 with Retry-After: 2 delays the retry by two seconds of the test clock.
    produce(3)
    server.plan({ kind: "respond", status: 429, headers: { "retry-after": "2" } })
    const debugBefore = logger.at("debug").length
    const afterRateLimit = await forceExportWithTestClock(() =>
      Effect.gen(function* () {
        yield* Effect.promise(() => logger.waitFor("debug", debugBefore + 1))
        yield* TestClock.adjust(2000)
      }),
    )
    expect(afterRateLimit).toBe(true)
    expect(logger.at("debug").at(-1)).toContain("starts in 2000 ms")
    expect(telemetry.stats.delivered).toBe(7)
    expectExactCounts()

    // 4. The server never responds: both attempts time out and are aborted.
    produce(2)
    server.plan({ kind: "hang" }, { kind: "hang" })
    const requestsBefore = server.requests.length
    const afterHang = await forceExportWithTestClock(() =>
      Effect.gen(function* () {
        yield* Effect.promise(() => server.waitForRequests(requestsBefore + 1))
        yield* TestClock.adjust(5000)
        yield* Effect.promise(() => server.waitForRequests(requestsBefore + 2))
        yield* TestClock.adjust(5000)
      }),
    )
    await server.waitForAborts(2)
    expect(afterHang).toBe(false)
    expect(telemetry.stats.lastError?.reason).toBe("Timeout")
    expect(telemetry.stats.buffered).toBe(2)
    expectExactCounts()

    // 5. The connection is reset while the body is sent, on both attempts.
    produce(1)
    server.plan({ kind: "resetMidBody" }, { kind: "resetMidBody" })
    expect(await forceExport()).toBe(false)
    expect(telemetry.stats.lastError?.reason).toBe("Network")
    expect(telemetry.stats.buffered).toBe(3)
    expectExactCounts()

    // 6. 400: the batch is rejected without a retry and counted as dropped.
    server.plan({ kind: "respond", status: 400, body: echoHeaders })
    const beforeRejection = server.requests.length
    expect(await forceExport()).toBe(false)
    const rejectedRequest = server.requests[beforeRejection]
    if (rejectedRequest !== undefined) rejectedBodies.add(rejectedRequest.body)
    expect(server.requests).toHaveLength(beforeRejection + 1)
    expect(telemetry.stats.dropped.rejected).toBe(3)
    expect(telemetry.stats.lastError?.reason).toBe("Rejected")
    expect(telemetry.stats.buffered).toBe(0)
    expect(logger.at("error").filter((line) => line.startsWith("http sink:"))).toHaveLength(1)
    expectExactCounts()

    // 7. Healthy again.
    produce(2)
    expect(await forceExport()).toBe(true)
    expect(telemetry.stats.delivered).toBe(9)
    expectExactCounts()

    // Shutdown closes the sink and its connection.
    await Effect.runPromise(telemetry.shutdown)
    await server.waitForNoConnections()
    expect(server.openConnections).toBe(0)

    const output = [...takeAllLogLines(), telemetry.stats.lastError?.message ?? ""].join("\n")
    for (const secret of SECRETS) {
      expect(output, `output contains "${secret}"`).not.toContain(secret)
    }
  })
})
