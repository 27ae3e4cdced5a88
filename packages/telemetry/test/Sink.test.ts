import { PassThrough, Writable } from "node:stream"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { type Exporter, Sink, SinkError } from "../src/index.js"
import { expectReconciled, makeExporter, makeHarness, record } from "./fixtures.js"

const payload = (fields: Partial<Exporter.Payload> = {}): Exporter.Payload => ({
  contentType: "application/json",
  fileExtension: "json",
  fileMode: "append",
  header: '{"metrics":[',
  body: '{"operation":"a"}',
  footer: "]}\n",
  separator: ",",
  recordCount: 1,
  ...fields,
})

/** Everything written to `stream` so far. */
const readAll = (stream: PassThrough): string => {
  const chunks: Array<Buffer> = []
  let chunk: Buffer | null = stream.read()
  while (chunk !== null) {
    chunks.push(chunk)
    chunk = stream.read()
  }
  return Buffer.concat(chunks).toString("utf8")
}

describe("console sink", () => {
  it("writes header, body and footer as one document", async () => {
    const stream = new PassThrough()
    const sink = Sink.makeConsole({ stream })

    await Effect.runPromise(sink.deliver(payload()))

    expect(readAll(stream)).toBe('{"metrics":[{"operation":"a"}]}\n')
  })

  it("ends each document with a newline", async () => {
    const stream = new PassThrough()
    const sink = Sink.makeConsole({ stream })

    await Effect.runPromise(sink.deliver(payload({ footer: "]}" })))
    await Effect.runPromise(sink.deliver(payload({ footer: "]}" })))

    expect(readAll(stream)).toBe(
      '{"metrics":[{"operation":"a"}]}\n{"metrics":[{"operation":"a"}]}\n',
    )
  })

  it("names its destination console", () => {
    expect(Sink.makeConsole().destination).toBe("console")
  })

  it("failed write becomes a retryable WriteFailed", async () => {
    const stream = new Writable({
      write: (_chunk, _encoding, callback) => callback(new Error("disk full")),
    })
    stream.on("error", () => {})
    const sink = Sink.makeConsole({ stream })

    const exit = await Effect.runPromise(Effect.exit(sink.deliver(payload())))

    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
    const sinkError = error?._tag === "Fail" ? error.error : undefined
    expect(sinkError?.reason).toBe("WriteFailed")
    expect(sinkError?.retryable).toBe(true)
    expect(sinkError?.message).toContain("disk full")
  })

  it("throwing stream becomes WriteFailed", async () => {
    const stream = new PassThrough()
    stream.write = () => {
      throw new Error("stream destroyed")
    }
    const sink = Sink.makeConsole({ stream })

    const error = await Effect.runPromise(Effect.flip(sink.deliver(payload())))

    expect(error.reason).toBe("WriteFailed")
    expect(error.code).toBe("DINOAIR_SINK_WRITE_FAILED")
  })

  it("telemetry writes through the console sink", async () => {
    const stream = new PassThrough()
    const { telemetry } = makeHarness(
      { includeSystemMetrics: false },
      { exporter: makeExporter(), sink: Sink.makeConsole({ stream }) },
    )
    const first = record("console")
    const second = record("console")
    telemetry.collect(first)
    telemetry.collect(second)

    const delivered = await Effect.runPromise(telemetry.forceExport)

    expect(delivered).toBe(true)
    expect(readAll(stream)).toBe(`BEGIN\n${first.id}\n${second.id}\nEND\n`)
    expectReconciled(telemetry)
  })
})

describe("memory sink", () => {
  it("keeps delivered payloads in order", async () => {
    const sink = Sink.makeMemory()

    await Effect.runPromise(sink.deliver(payload({ body: "1" })))
    await Effect.runPromise(sink.deliver(payload({ body: "2" })))

    expect(sink.payloads.map((each) => each.body)).toEqual(["1", "2"])
  })

  it("failWith fails until cleared", async () => {
    const sink = Sink.makeMemory()
    const failure = new SinkError.SinkError({ reason: "Network", message: "down" })
    sink.failWith = failure

    const error = await Effect.runPromise(Effect.flip(sink.deliver(payload())))
    sink.failWith = undefined
    await Effect.runPromise(sink.deliver(payload()))

    expect(error).toBe(failure)
    expect(sink.payloads).toHaveLength(1)
  })
})

describe("SinkError", () => {
  it.each([
    ["WriteFailed", "DINOAIR_SINK_WRITE_FAILED", true],
    ["Timeout", "DINOAIR_SINK_TIMEOUT", true],
    ["Status", "DINOAIR_SINK_STATUS", true],
    ["Network", "DINOAIR_SINK_NETWORK", true],
    ["Rejected", "DINOAIR_SINK_REJECTED", false],
    ["PluginMissing", "DINOAIR_PLUGIN_MISSING", false],
    ["InvalidConfig", "DINOAIR_TELEMETRY_INVALID_CONFIG", false],
    ["Encode", "DINOAIR_EXPORT_ENCODE_FAILED", false],
  ] as const)("%s has code %s", (reason, code, retryable) => {
    const error = new SinkError.SinkError({ reason, message: "failed" })

    expect(error.code).toBe(code)
    expect(error.retryable).toBe(retryable)
    expect(error._tag).toBe("SinkError")
  })
})
