import { gunzipSync } from "node:zlib"
import { JsonExporter } from "@dinoair/exporter-json"
import { Exporter, Sink, type SinkError, TelemetryConfig } from "@dinoair/telemetry"
import { freePort } from "@dinoair/test-support"
import { Cause, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Agent, MockAgent } from "undici"
import { afterEach, describe, expect, it } from "vitest"
import { HttpSink, type HttpSinkOptions, plugin } from "../src/index.js"
import {
  API_KEY,
  BEARER_TOKEN,
  type CapturingLogger,
  credentialedUrl,
  echoHeaders,
  type FaultServer,
  jsonPayload,
  makeLogger,
  PASSWORD,
  SECRETS,
  startFaultServer,
  takeAllLogLines,
  USER,
} from "./support.js"

const servers: Array<FaultServer> = []
const sinks: Array<Sink.SinkShape> = []
/** Messages and destinations of every SinkError and TypeError the tests saw. */
const observedErrors: Array<string> = []

afterEach(async () => {
  for (const sink of sinks.splice(0)) await Effect.runPromise(sink.close ?? Effect.void)
  for (const server of servers.splice(0)) await server.close()

  const output = [...takeAllLogLines(), ...observedErrors.splice(0)].join("\n")
  for (const secret of SECRETS) {
    expect(output, `a log line or error message contains "${secret}"`).not.toContain(secret)
  }
})

const serve = async (): Promise<FaultServer> => {
  const server = await startFaultServer()
  servers.push(server)
  return server
}

/**
 * A sink on `server` with the URL's credentials and an API key, no backoff
 * and a capturing logger, unless `options` overrides them.
 */
const makeSink = (
  server: FaultServer,
  logger: CapturingLogger,
  options: Partial<HttpSinkOptions> = {},
): Sink.SinkShape => {
  const sink = HttpSink.make({
    url: credentialedUrl(server),
    headers: { "x-api-key": API_KEY },
    initialBackoffMs: 0,
    maxBackoffMs: 0,
    logger,
    ...options,
  })
  sinks.push(sink)
  return sink
}

const deliver = (sink: Sink.SinkShape, payload: Exporter.Payload): Promise<void> =>
  Effect.runPromise(sink.deliver(payload))

const observe = (error: SinkError.SinkError): SinkError.SinkError => {
  observedErrors.push(error.message, error.destination ?? "", String(error))
  return error
}

const failure = async (
  sink: Sink.SinkShape,
  payload: Exporter.Payload,
): Promise<SinkError.SinkError> =>
  observe(await Effect.runPromise(Effect.flip(sink.deliver(payload))))

/** Runs `body` with Effect's test clock in place of the real one. */
const withTestClock = <A, E>(
  body: (clock: TestClock.TestClock) => Effect.Effect<A, E>,
): Promise<A> =>
  Effect.runPromise(
    Effect.provide(
      Effect.flatMap(TestClock.testClockWith(Effect.succeed), body),
      TestClock.layer(),
    ),
  )

/** Reads the delay from the latest retry line, such as "Attempt 2 of 5 starts in 1234 ms". */
const lastRetryDelay = (logger: CapturingLogger): number => {
  const line = logger.at("debug").at(-1) ?? ""
  const match = /starts in (\d+) ms/.exec(line)
  if (match === null) throw new Error(`no retry delay in ${JSON.stringify(line)}`)
  return Number(match[1])
}

const expectTypeError = (make: () => unknown, fragment: string): void => {
  let thrown: unknown
  try {
    make()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(TypeError)
  const message = (thrown as Error).message
  observedErrors.push(message)
  expect(message).toContain(fragment)
}

describe("HttpSink delivery", () => {
  it("posts the document with the payload's content type", async () => {
    const server = await serve()
    const sink = makeSink(server, makeLogger())
    const payload = jsonPayload(3)

    await deliver(sink, payload)

    expect(server.requests).toHaveLength(1)
    const [received] = server.requests
    expect(received?.method).toBe("POST")
    expect(received?.path).toBe("/ingest")
    expect(received?.headers["content-type"]).toBe(payload.contentType)
    expect(payload.contentType).toBe(JsonExporter.make().contentType)
    expect(received?.body).toBe(Exporter.documentOf(payload))
    expect(received?.headers["content-encoding"]).toBeUndefined()
  })

  it("sends the extra headers", async () => {
    const server = await serve()
    const sink = makeSink(server, makeLogger(), {
      url: server.url,
      headers: { Authorization: `Bearer ${BEARER_TOKEN}`, "X-Tenant": "web" },
    })

    await deliver(sink, jsonPayload())

    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${BEARER_TOKEN}`)
    expect(server.requests[0]?.headers["x-tenant"]).toBe("web")
  })

  it("sends URL credentials as basic auth", async () => {
    const server = await serve()
    const sink = makeSink(server, makeLogger())

    await deliver(sink, jsonPayload())

    const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`
    expect(server.requests[0]?.headers.authorization).toBe(expected)
    expect(server.requests[0]?.headers["x-api-key"]).toBe(API_KEY)
    expect(server.requests[0]?.path).toBe("/ingest")
  })

  it("gzip sends the exact document compressed", async () => {
    const server = await serve()
    const sink = makeSink(server, makeLogger(), { compression: "gzip" })
    const payload = jsonPayload(20)

    await deliver(sink, payload)

    const [received] = server.requests
    expect(received?.headers["content-encoding"]).toBe("gzip")
    expect(received?.headers["content-type"]).toBe(payload.contentType)
    expect(received?.raw.subarray(0, 2).toString("hex")).toBe("1f8b")
    expect(gunzipSync(received?.raw ?? Buffer.alloc(0)).toString("utf8")).toBe(
      Exporter.documentOf(payload),
    )
  })

  it("PUT method is used when set", async () => {
    const server = await serve()
    const sink = makeSink(server, makeLogger(), { method: "PUT" })

    await deliver(sink, jsonPayload())

    expect(server.requests[0]?.method).toBe("PUT")
  })

  it("three deliveries share one connection", async () => {
    const server = await serve()
    const sink = makeSink(server, makeLogger())

    await deliver(sink, jsonPayload())
    await deliver(sink, jsonPayload())
    await deliver(sink, jsonPayload())

    expect(server.requests).toHaveLength(3)
    expect(server.connections).toBe(1)
  })

  it("close releases the connection and stops deliveries", async () => {
    const server = await serve()
    const sink = makeSink(server, makeLogger())
    await deliver(sink, jsonPayload())
    expect(server.openConnections).toBe(1)

    await Effect.runPromise(sink.close ?? Effect.void)
    await server.waitForNoConnections()
    const error = await failure(sink, jsonPayload())

    expect(server.openConnections).toBe(0)
    expect(error.reason).toBe("Network")
    expect(error.message).toContain("closed")
    expect(server.requests).toHaveLength(1)
  })

  it("close leaves an injected dispatcher open", async () => {
    const server = await serve()
    const agent = new Agent()
    const sink = makeSink(server, makeLogger(), { dispatcher: agent })
    await deliver(sink, jsonPayload())

    await Effect.runPromise(sink.close ?? Effect.void)

    expect(agent.closed).toBe(false)
    expect(server.requests).toHaveLength(1)
    await agent.close()
  })

  it("layer closes the sink with its scope", async () => {
    const server = await serve()
    const logger = makeLogger()
    const program = Effect.gen(function* () {
      const sink = yield* Sink.Sink
      yield* sink.deliver(jsonPayload())
    })

    await Effect.runPromise(
      Effect.provide(program, HttpSink.layer({ url: server.url, logger, maxAttempts: 1 })),
    )
    await server.waitForNoConnections()

    expect(server.requests).toHaveLength(1)
    expect(server.openConnections).toBe(0)
  })
})

describe("HttpSink.layer options", () => {
  it("invalid option fails with InvalidConfig", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.service(Sink.Sink).pipe(
        Effect.provide(
          HttpSink.layer({ url: `ftp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1/in` }),
        ),
      ),
    )
    const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined

    expect((error as SinkError.SinkError | undefined)?._tag).toBe("SinkError")
    expect((error as SinkError.SinkError).reason).toBe("InvalidConfig")
    expect((error as SinkError.SinkError).code).toBe("DINOAIR_TELEMETRY_INVALID_CONFIG")
    expect((error as SinkError.SinkError).message).toContain("must use http:// or https://")
    expect((error as SinkError.SinkError).message).not.toContain(PASSWORD)
  })
})

describe("HttpSink faults", () => {
  it("refused connection is retried, then fails as Network", async () => {
    const port = await freePort()
    const logger = makeLogger()
    const sink = HttpSink.make({
      url: `http://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/ingest`,
      maxAttempts: 3,
      initialBackoffMs: 0,
      maxBackoffMs: 0,
      logger,
    })
    sinks.push(sink)

    const error = await failure(sink, jsonPayload())

    expect(error.reason).toBe("Network")
    expect(error.retryable).toBe(true)
    expect(error.message).toContain("ECONNREFUSED")
    expect(error.message).toContain("gave up after 3 attempts")
    expect(error.destination).toBe(`http://127.0.0.1:${port}/ingest`)
    expect(logger.at("debug")).toHaveLength(2)
  })

  it("500 then 200 delivers the same bytes twice", async () => {
    const server = await serve()
    server.plan({ kind: "respond", status: 500, body: echoHeaders })
    const logger = makeLogger()
    const sink = makeSink(server, logger, { compression: "gzip" })
    const payload = jsonPayload(5)

    await deliver(sink, payload)

    expect(server.requests).toHaveLength(2)
    expect(server.requests[1]?.raw.equals(server.requests[0]?.raw ?? Buffer.alloc(0))).toBe(true)
    expect(server.accepted).toEqual([Exporter.documentOf(payload)])
    expect(logger.at("debug")).toHaveLength(1)
    expect(logger.at("debug")[0]).toContain("500 Internal Server Error")
    expect(logger.at("error")).toHaveLength(0)
  })

  it("5xx until attempts run out fails as Status", async () => {
    const server = await serve()
    const unavailable = { kind: "respond", status: 503, body: echoHeaders } as const
    server.plan(unavailable, unavailable, unavailable)
    const sink = makeSink(server, makeLogger(), { maxAttempts: 3 })

    const error = await failure(sink, jsonPayload())

    expect(error.reason).toBe("Status")
    expect(error.status).toBe(503)
    expect(error.retryable).toBe(true)
    expect(error.message).toContain("gave up after 3 attempts")
    expect(server.requests).toHaveLength(3)
  })

  it("429 waits the Retry-After seconds", async () => {
    const server = await serve()
    server.plan({ kind: "respond", status: 429, headers: { "retry-after": "2" } })
    const logger = makeLogger()
    const sink = makeSink(server, logger, { initialBackoffMs: 100, maxBackoffMs: 100 })

    const exit = await withTestClock((clock) =>
      Effect.gen(function* () {
        server.now = clock.currentTimeMillisUnsafe
        const fiber = yield* Effect.forkChild(sink.deliver(jsonPayload()))
        yield* Effect.promise(() => logger.waitFor("debug", 1))
        yield* TestClock.adjust(lastRetryDelay(logger))
        return yield* Fiber.await(fiber)
      }),
    )

    expect(Exit.isSuccess(exit)).toBe(true)
    expect(lastRetryDelay(logger)).toBe(2000)
    expect(server.requests.map((each) => each.arrivedAt)).toEqual([0, 2000])
  })

  it("503 waits until the Retry-After date", async () => {
    const server = await serve()
    const start = Date.UTC(2030, 0, 1, 12, 0, 0)
    server.plan({
      kind: "respond",
      status: 503,
      headers: { "retry-after": new Date(start + 5000).toUTCString() },
    })
    const logger = makeLogger()
    const sink = makeSink(server, logger, { initialBackoffMs: 100, maxBackoffMs: 100 })

    const exit = await withTestClock((clock) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(start)
        server.now = clock.currentTimeMillisUnsafe
        const fiber = yield* Effect.forkChild(sink.deliver(jsonPayload()))
        yield* Effect.promise(() => logger.waitFor("debug", 1))
        yield* TestClock.adjust(lastRetryDelay(logger))
        return yield* Fiber.await(fiber)
      }),
    )

    expect(Exit.isSuccess(exit)).toBe(true)
    expect(server.requests.map((each) => each.arrivedAt - start)).toEqual([0, 5000])
  })

  it("Retry-After above maxRetryAfterMs ends the retries", async () => {
    const server = await serve()
    server.plan({ kind: "respond", status: 429, headers: { "retry-after": "120" } })
    const sink = makeSink(server, makeLogger(), { maxRetryAfterMs: 60_000 })

    const error = await failure(sink, jsonPayload())

    expect(error.reason).toBe("Status")
    expect(error.status).toBe(429)
    expect(error.retryable).toBe(true)
    expect(error.message).toContain("120000 ms, more than maxRetryAfterMs (60000 ms)")
    expect(server.requests).toHaveLength(1)
  })

  it("backoff doubles between retries, within the jitter", async () => {
    const server = await serve()
    const failing = { kind: "respond", status: 500 } as const
    server.plan(failing, failing, failing)
    const logger = makeLogger()
    const sink = makeSink(server, logger, { initialBackoffMs: 1000, maxBackoffMs: 3000 })

    const delays: Array<number> = []
    const exit = await withTestClock((clock) =>
      Effect.gen(function* () {
        server.now = clock.currentTimeMillisUnsafe
        const fiber = yield* Effect.forkChild(sink.deliver(jsonPayload()))
        for (let retry = 1; retry <= 3; retry++) {
          yield* Effect.promise(() => logger.waitFor("debug", retry))
          delays.push(lastRetryDelay(logger))
          yield* TestClock.adjust(lastRetryDelay(logger))
        }
        return yield* Fiber.await(fiber)
      }),
    )

    expect(Exit.isSuccess(exit)).toBe(true)
    const arrivals = server.requests.map((each) => each.arrivedAt)
    const gaps = arrivals.slice(1).map((at, index) => at - (arrivals[index] ?? 0))
    expect(gaps).toEqual(delays)
    expect(delays[0]).toBeGreaterThanOrEqual(800)
    expect(delays[0]).toBeLessThanOrEqual(1200)
    expect(delays[1]).toBeGreaterThanOrEqual(1600)
    expect(delays[1]).toBeLessThanOrEqual(2400)
    // 4000 ms capped at 3000 ms before the jitter.
    expect(delays[2]).toBeGreaterThanOrEqual(2400)
    expect(delays[2]).toBeLessThanOrEqual(3600)
  })

  it("timeout aborts a request that gets no answer", async () => {
    const server = await serve()
    server.plan({ kind: "hang" })
    const sink = makeSink(server, makeLogger(), { timeoutMs: 5000, maxAttempts: 1 })

    const error = await withTestClock(() =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(Effect.flip(sink.deliver(jsonPayload())))
        yield* Effect.promise(() => server.waitForRequests(1))
        yield* TestClock.adjust(5000)
        return yield* Fiber.join(fiber)
      }),
    )
    observe(error)
    await server.waitForAborts(1)

    expect(error.reason).toBe("Timeout")
    expect(error.retryable).toBe(true)
    expect(error.message).toContain("timed out after 5000 ms")
    expect(server.aborted).toBe(1)
    expect(server.accepted).toHaveLength(0)
  })

  it("timed-out attempt is retried on a new connection", async () => {
    const server = await serve()
    server.plan({ kind: "hang" })
    const payload = jsonPayload()
    const sink = makeSink(server, makeLogger(), { timeoutMs: 5000, maxAttempts: 2 })

    const exit = await withTestClock(() =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(sink.deliver(payload))
        yield* Effect.promise(() => server.waitForRequests(1))
        yield* TestClock.adjust(5000)
        return yield* Fiber.await(fiber)
      }),
    )

    expect(Exit.isSuccess(exit)).toBe(true)
    expect(server.requests).toHaveLength(2)
    expect(server.aborted).toBe(1)
    expect(server.connections).toBe(2)
    expect(server.accepted).toEqual([Exporter.documentOf(payload)])
  })

  it("reset in the request body is retried", async () => {
    const server = await serve()
    server.plan({ kind: "resetMidBody" })
    // About 400 KB, far more than one chunk, so the reset comes while the body is sent.
    const payload = jsonPayload(2000)
    const sink = makeSink(server, makeLogger())

    await deliver(sink, payload)

    expect(server.requests).toHaveLength(2)
    expect(server.requests[0]?.complete).toBe(false)
    expect(server.requests[0]?.raw.length).toBeLessThan(
      Buffer.byteLength(Exporter.documentOf(payload)),
    )
    expect(server.accepted).toEqual([Exporter.documentOf(payload)])
  })

  it("reset on every attempt fails as Network", async () => {
    const server = await serve()
    server.plan({ kind: "resetMidBody" }, { kind: "resetMidBody" })
    const sink = makeSink(server, makeLogger(), { maxAttempts: 2 })

    const error = await failure(sink, jsonPayload(2000))

    expect(error.reason).toBe("Network")
    expect(error.retryable).toBe(true)
    expect(server.requests).toHaveLength(2)
    expect(server.accepted).toHaveLength(0)
  })

  it("reset after a 200 status counts as delivered", async () => {
    const server = await serve()
    server.plan({ kind: "resetMidResponse", status: 200 })
    const sink = makeSink(server, makeLogger())

    await deliver(sink, jsonPayload())

    expect(server.requests).toHaveLength(1)
  })

  it("reset after a 500 status is retried", async () => {
    const server = await serve()
    server.plan({ kind: "resetMidResponse", status: 500 })
    const payload = jsonPayload()
    const sink = makeSink(server, makeLogger())

    await deliver(sink, payload)

    expect(server.requests).toHaveLength(2)
    expect(server.accepted).toEqual([Exporter.documentOf(payload)])
  })

  it("400 is rejected once, logged with the body start", async () => {
    const server = await serve()
    server.plan({ kind: "respond", status: 400, body: echoHeaders })
    const logger = makeLogger()
    const sink = makeSink(server, logger)

    const error = await failure(sink, jsonPayload())

    expect(error.reason).toBe("Rejected")
    expect(error.status).toBe(400)
    expect(error.retryable).toBe(false)
    expect(server.requests).toHaveLength(1)
    expect(logger.at("debug")).toHaveLength(0)
    expect(logger.at("error")).toHaveLength(1)
    const line = logger.at("error")[0]
    expect(line).toContain("HTTP 400 Bad Request")
    expect(line).toContain('"request was {')
    expect(line).toContain("[REDACTED]")
  })

  it("rejection shows at most 200 body characters", async () => {
    const server = await serve()
    server.plan({ kind: "respond", status: 422, body: "x".repeat(5000) })
    const logger = makeLogger()
    const sink = makeSink(server, logger)

    const error = await failure(sink, jsonPayload())

    expect(error.status).toBe(422)
    const line = logger.at("error")[0] ?? ""
    expect(line).toContain(`"${"x".repeat(200)}…"`)
    expect(line).not.toContain("x".repeat(201))
  })

  it("rejection of an empty body says so", async () => {
    const server = await serve()
    server.plan({ kind: "respond", status: 404 })
    const logger = makeLogger()
    const sink = makeSink(server, logger)

    const error = await failure(sink, jsonPayload())

    expect(error.reason).toBe("Rejected")
    expect(logger.at("error")[0]).toContain("HTTP 404 Not Found")
    expect(logger.at("error")[0]).toContain("The response body is empty")
  })

  it("redirect is rejected, not followed", async () => {
    const server = await serve()
    server.plan({ kind: "respond", status: 302, headers: { location: "/elsewhere" } })
    const sink = makeSink(server, makeLogger())

    const error = await failure(sink, jsonPayload())

    expect(error.reason).toBe("Rejected")
    expect(error.status).toBe(302)
    expect(error.message).toContain("redirects are not followed")
    expect(server.requests).toHaveLength(1)
  })

  it("Bearer token echoed in a 500 body is scrubbed", async () => {
    const server = await serve()
    const failing = { kind: "respond", status: 500, body: echoHeaders } as const
    server.plan(failing, failing)
    const logger = makeLogger()
    const sink = makeSink(server, logger, {
      url: server.url,
      headers: { authorization: `Bearer ${BEARER_TOKEN}` },
      maxAttempts: 2,
    })

    const error = await failure(sink, jsonPayload())

    expect(error.message).toContain("[REDACTED]")
    expect(error.message).not.toContain(BEARER_TOKEN)
    expect(logger.at("debug")[0]).not.toContain(BEARER_TOKEN)
  })
})

describe("HttpSink plain http warning", () => {
  /** Creates a sink whose requests go to a MockAgent that returns 200 and never opens a socket. */
  const mockedSink = (url: string, logger: CapturingLogger): Sink.SinkShape => {
    const agent = new MockAgent()
    agent.disableNetConnect()
    agent
      .get(new URL(url).origin)
      .intercept({ path: new URL(url).pathname, method: "POST" })
      .reply(200, "ok")
      .persist()
    const sink = HttpSink.make({ url, logger, dispatcher: agent, maxAttempts: 1 })
    sinks.push(sink)
    return sink
  }

  it("warns once for a remote host", async () => {
    const logger = makeLogger()
    const sink = mockedSink(
      `http://${USER}:${encodeURIComponent(PASSWORD)}@example.invalid/ingest`,
      logger,
    )
    expect(logger.at("warn")).toHaveLength(0)

    await deliver(sink, jsonPayload())
    await deliver(sink, jsonPayload())

    expect(logger.at("warn")).toHaveLength(1)
    expect(logger.at("warn")[0]).toContain("http://example.invalid/ingest")
    expect(logger.at("warn")[0]).toContain("credentials travel unencrypted")
    expect(logger.at("warn")[0]).toContain("https://")
  })

  it("warns for a name that only starts like loopback", async () => {
    const logger = makeLogger()
    const sink = mockedSink("http://127.0.0.1.example.invalid/ingest", logger)

    await deliver(sink, jsonPayload())

    expect(logger.at("warn")).toHaveLength(1)
  })

  it.each([
    "http://127.0.0.1/ingest",
    "http://127.9.8.7/ingest",
    "http://localhost/ingest",
    "http://[::1]/ingest",
    "http://[::ffff:127.0.0.1]/ingest",
    "https://example.invalid/ingest",
  ])("no warning for %s", async (url) => {
    const logger = makeLogger()
    const sink = mockedSink(url, logger)

    await deliver(sink, jsonPayload())

    expect(logger.at("warn")).toHaveLength(0)
  })
})

describe("HttpSink options", () => {
  const url = `http://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:9/ingest`
  const logger = makeLogger()

  it.each<[string, Record<string, unknown>, string]>([
    ["missing url", { url: undefined }, '"url" is required'],
    ["unparsable url", { url: `not a url ${PASSWORD}` }, "not a valid URL"],
    ["ftp url", { url: `ftp://${USER}:${PASSWORD}@127.0.0.1/x` }, "ftp:"],
    ["reserved header", { headers: { "Content-Type": "text/plain" } }, '"content-type" is set by'],
    ["invalid header name", { headers: { "bad header": "x" } }, "not a valid header name"],
    ["line break in a value", { headers: { "x-api-key": `${API_KEY}\r\nx: y` } }, "line break"],
    ["non-string value", { headers: { "x-retries": 3 } }, "string value"],
    ["header given twice", { headers: { "X-A": "1", "x-a": "2" } }, "given twice"],
    ["credentials twice", { headers: { authorization: `Bearer ${BEARER_TOKEN}` } }, "only one"],
    ["zero timeout", { timeoutMs: 0 }, '"timeoutMs"'],
    ["string timeout", { timeoutMs: "5000" }, '"timeoutMs"'],
    ["fractional attempts", { maxAttempts: 1.5 }, "whole number"],
    ["zero attempts", { maxAttempts: 0 }, '"maxAttempts"'],
    ["unknown compression", { compression: "br" }, '"compression" must be "none" or "gzip"'],
    ["GET method", { method: "GET" }, '"method" must be "POST" or "PUT"'],
    ["backoff cap below start", { initialBackoffMs: 900, maxBackoffMs: 800 }, "maxBackoffMs"],
    ["logger without methods", { logger: { warn: () => {} } }, '"logger"'],
    ["dispatcher without dispatch", { dispatcher: {} }, '"dispatcher"'],
  ])("%s throws a TypeError", (_name, overrides, fragment) => {
    expectTypeError(
      () => HttpSink.make({ url, logger, ...overrides } as unknown as HttpSinkOptions),
      fragment,
    )
  })

  it("unknown option is logged and ignored", () => {
    const warnings = makeLogger()
    const sink = HttpSink.make({ url, logger: warnings, retries: 3 } as unknown as HttpSinkOptions)
    sinks.push(sink)

    expect(warnings.at("warn")).toEqual(['http sink: unknown option "retries" is ignored.'])
  })

  it("defaults are the documented ones", () => {
    expect(HttpSink.defaults).toEqual({
      method: "POST",
      compression: "none",
      timeoutMs: 10_000,
      maxAttempts: 5,
      initialBackoffMs: 500,
      maxBackoffMs: 30_000,
      maxRetryAfterMs: 60_000,
      keepAliveTimeoutMs: 4_000,
    })
  })
})

describe("HttpSink plugin", () => {
  const config = (httpEndpoint: string | null): TelemetryConfig.TelemetryConfig => ({
    ...TelemetryConfig.defaultTelemetryConfig,
    exportDestination: "http",
    httpEndpoint,
  })

  it("builds a sink from httpEndpoint and sinkOptions", async () => {
    const server = await serve()
    const logger = makeLogger()
    const sink = plugin.make({
      config: config(credentialedUrl(server)),
      options: { headers: { "x-api-key": API_KEY }, compression: "gzip" },
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)
    const payload = jsonPayload()

    await deliver(sink, payload)

    expect(plugin.destination).toBe("http")
    expect(sink.destination).toBe("http")
    expect(server.accepted).toEqual([Exporter.documentOf(payload)])
    expect(server.requests[0]?.headers["x-api-key"]).toBe(API_KEY)
    expect(server.requests[0]?.headers["content-encoding"]).toBe("gzip")
  })

  it("logs to the facade's logger", async () => {
    const server = await serve()
    server.plan({ kind: "respond", status: 400, body: "bad batch" })
    const logger = makeLogger()
    const sink = plugin.make({
      config: config(server.url),
      options: {},
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)

    await failure(sink, jsonPayload())

    expect(logger.at("error")).toHaveLength(1)
    expect(logger.at("error")[0]).toContain('"bad batch"')
  })

  it("missing httpEndpoint throws a TypeError", () => {
    expectTypeError(
      () =>
        plugin.make({
          config: config(null),
          options: {},
          logger: makeLogger(),
          exporter: JsonExporter.make(),
        }),
      "httpEndpoint",
    )
  })

  it("sinkOptions.url is ignored with a warning", async () => {
    const server = await serve()
    const logger = makeLogger()
    const sink = plugin.make({
      config: config(server.url),
      options: { url: "http://127.0.0.1:9/other" },
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)

    await deliver(sink, jsonPayload())

    expect(logger.at("warn")).toHaveLength(1)
    expect(logger.at("warn")[0]).toContain("httpEndpoint")
    expect(server.requests).toHaveLength(1)
  })

  it("invalid sinkOptions are logged and left out", async () => {
    const logger = makeLogger()

    const sink = plugin.make({
      config: config("http://127.0.0.1:9/ingest"),
      options: { compression: "brotli" },
      logger,
      exporter: JsonExporter.make(),
    })

    expect(sink.destination).toBe("http")
    expect(logger.at("warn")).toEqual([
      'http sink: "compression" must be "none" or "gzip", got "brotli". The option is ignored and its default used.',
    ])
    await Effect.runPromise(sink.close ?? Effect.void)
  })

  it("reserved header is the only one left out", async () => {
    const server = await serve()
    const logger = makeLogger()
    const sink = plugin.make({
      config: config(server.url),
      options: {
        headers: { authorization: `Bearer ${BEARER_TOKEN}`, "content-type": "application/json" },
      },
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)
    const payload = jsonPayload()

    await deliver(sink, payload)

    expect(logger.at("warn")).toEqual([
      'http sink: header "content-type" is set by the sink and cannot be given in "headers". The header is left out, and the other headers are sent.',
    ])
    expect(server.accepted).toEqual([Exporter.documentOf(payload)])
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${BEARER_TOKEN}`)
    expect(server.requests[0]?.headers["content-type"]).toBe(payload.contentType)
  })

  it("each invalid header is named, the rest sent", async () => {
    const server = await serve()
    const logger = makeLogger()
    const sink = plugin.make({
      config: config(server.url),
      options: {
        headers: {
          "X-A": "1",
          "x-a": "2",
          "bad header": "x",
          "x-retries": 3,
          "x-api-key": API_KEY,
        },
      },
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)

    await deliver(sink, jsonPayload())

    const warnings = logger.at("warn")
    expect(warnings).toHaveLength(3)
    expect(warnings[0]).toContain('header "x-a" is given twice')
    expect(warnings[1]).toContain('"bad header" is not a valid header name')
    expect(warnings[2]).toContain('header "x-retries" must have a string value')
    expect(server.requests[0]?.headers["x-a"]).toBe("1")
    expect(server.requests[0]?.headers["x-api-key"]).toBe(API_KEY)
  })

  it("authorization header replaces URL credentials", async () => {
    const server = await serve()
    const logger = makeLogger()
    const sink = plugin.make({
      config: config(credentialedUrl(server)),
      options: { headers: { authorization: `Bearer ${BEARER_TOKEN}`, "x-api-key": API_KEY } },
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)
    const payload = jsonPayload()

    await deliver(sink, payload)

    const warnings = logger.at("warn")
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain("The authorization header is sent")
    expect(warnings[0]).toContain(`http://127.0.0.1:${server.port}/ingest`)
    expect(warnings[0]).not.toContain("..")
    expect(server.accepted).toEqual([Exporter.documentOf(payload)])
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${BEARER_TOKEN}`)
    expect(server.requests[0]?.headers["x-api-key"]).toBe(API_KEY)
  })

  it("valid backoff pair caps the retries", async () => {
    const server = await serve()
    const failing = { kind: "respond", status: 503 } as const
    server.plan(failing, failing, failing, failing, failing)
    const logger = makeLogger()
    const sink = plugin.make({
      config: config(server.url),
      options: { initialBackoffMs: 50, maxBackoffMs: 400, maxAttempts: 6 },
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)

    const delays: Array<number> = []
    const exit = await withTestClock((clock) =>
      Effect.gen(function* () {
        server.now = clock.currentTimeMillisUnsafe
        const fiber = yield* Effect.forkChild(sink.deliver(jsonPayload()))
        for (let retry = 1; retry <= 5; retry++) {
          yield* Effect.promise(() => logger.waitFor("debug", retry))
          delays.push(lastRetryDelay(logger))
          yield* TestClock.adjust(lastRetryDelay(logger))
        }
        return yield* Fiber.await(fiber)
      }),
    )

    expect(logger.at("warn")).toEqual([])
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(delays).toHaveLength(5)
    // 50 · 2^3 = 400 ms reaches the cap; 50 · 2^4 = 800 ms is capped at 400 ms before the jitter.
    expect(delays[3]).toBeGreaterThanOrEqual(320)
    expect(delays[3]).toBeLessThanOrEqual(480)
    expect(delays[4]).toBeGreaterThanOrEqual(320)
    expect(delays[4]).toBeLessThanOrEqual(480)
  })

  it("backoff cap below the default start is warned", () => {
    const logger = makeLogger()

    const sink = plugin.make({
      config: config("http://127.0.0.1:9/ingest"),
      options: { maxBackoffMs: 400 },
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)

    expect(logger.at("warn")).toEqual([
      'http sink: "maxBackoffMs" (400) must not be less than "initialBackoffMs" (500, the default). Both backoff options are ignored and their defaults used.',
    ])
  })

  it("inconsistent backoff pair is warned once", () => {
    const logger = makeLogger()

    const sink = plugin.make({
      config: config("http://127.0.0.1:9/ingest"),
      options: { initialBackoffMs: 900, maxBackoffMs: 800 },
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)

    expect(logger.at("warn")).toEqual([
      'http sink: "maxBackoffMs" (800) must not be less than "initialBackoffMs" (900). Both backoff options are ignored and their defaults used.',
    ])
  })

  it("invalid backoff is named alone", () => {
    const logger = makeLogger()

    const sink = plugin.make({
      config: config("http://127.0.0.1:9/ingest"),
      options: { initialBackoffMs: -1, maxBackoffMs: 400 },
      logger,
      exporter: JsonExporter.make(),
    })
    sinks.push(sink)

    expect(logger.at("warn")).toEqual([
      'http sink: "initialBackoffMs" must be a finite number of at least 0, got -1. The option is ignored and its default used.',
      'http sink: "maxBackoffMs" (400) must not be less than "initialBackoffMs" (500, the default). Both backoff options are ignored and their defaults used.',
    ])
  })
})
