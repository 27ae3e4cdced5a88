import { gunzipSync } from "node:zlib"
import { Exporter, type Sink } from "@dinoair/telemetry"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { HttpSink } from "../src/index.js"
import { type FaultServer, makeLogger, startFaultServer } from "./support.js"

const servers: Array<FaultServer> = []
const sinks: Array<Sink.SinkShape> = []

afterEach(async () => {
  for (const sink of sinks.splice(0)) await Effect.runPromise(sink.close ?? Effect.void)
  for (const server of servers.splice(0)) await server.close()
})

const payloadOf = (header: string, body: string, footer: string): Exporter.Payload => ({
  contentType: "text/plain; charset=utf-8",
  fileExtension: "txt",
  fileMode: "append",
  header,
  body,
  footer,
  separator: "",
  recordCount: 1,
})

/** Sends `payload` through a new sink and returns the request body bytes as the server got them. */
const sendAndReceive = async (
  payload: Exporter.Payload,
  compression: "gzip" | "none",
): Promise<Buffer> => {
  const server = await startFaultServer()
  servers.push(server)
  const sink = HttpSink.make({ url: server.url, compression, maxAttempts: 1, logger: makeLogger() })
  sinks.push(sink)

  await Effect.runPromise(sink.deliver(payload))

  const raw = server.requests[0]?.raw ?? Buffer.alloc(0)
  return compression === "gzip" ? gunzipSync(raw) : raw
}

describe("HttpSink body encoding", () => {
  it.each([
    ["ASCII", "{", '"plain"', "}\n"],
    ["empty parts", "", "only the body", ""],
    ["two-byte characters", "é:", "größe", "\n"],
    ["characters outside the BMP", "", "rocket 🚀 and 𝄞", "🚀"],
    ["non-ASCII in the footer only", "[", "1,2", "]…"],
    ["a lone surrogate", "", "broken \uD800 half", ""],
    // The sink encodes 2^20 code units per step, so these cross step boundaries.
    ["a pair across a step boundary", "[", `${"a".repeat(2 ** 20 - 2)}🚀${"b".repeat(1000)}`, "]"],
    [
      "a lone surrogate at a step boundary",
      "",
      `${"a".repeat(2 ** 20 - 1)}\uD800${"b".repeat(9)}`,
      "",
    ],
    ["non-ASCII over several steps", "«", "é🚀x".repeat(800_000), "»"],
    ["ASCII over several steps", "{", "0123456789".repeat(300_000), "}"],
  ])("%s arrive as UTF-8", async (_, header, body, footer) => {
    const payload = payloadOf(header, body, footer)

    const received = await sendAndReceive(payload, "none")

    expect(received.equals(Buffer.from(Exporter.documentOf(payload), "utf8"))).toBe(true)
  })

  it("gzip compresses the same bytes", async () => {
    const payload = payloadOf("«", "x".repeat(10_000), "»\n")

    const received = await sendAndReceive(payload, "gzip")

    expect(received.equals(Buffer.from(Exporter.documentOf(payload), "utf8"))).toBe(true)
  })

  it("content-length counts bytes, not characters", async () => {
    const server = await startFaultServer()
    servers.push(server)
    const sink = HttpSink.make({ url: server.url, maxAttempts: 1, logger: makeLogger() })
    sinks.push(sink)

    await Effect.runPromise(sink.deliver(payloadOf("", "ü🚀", "")))

    expect(server.requests[0]?.headers["content-length"]).toBe("6")
  })
})
