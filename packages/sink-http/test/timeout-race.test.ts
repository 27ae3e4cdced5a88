/**
 * A response that is already on the socket when the attempt timeout fires
 * counts as delivered: the sink must not send the batch a second time.
 * The event loop is held busy past both the response and the timeout, so
 * on the next turn the due timer runs before the socket is read.
 */
import { createServer } from "node:http"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { HttpSink } from "../src/index.js"
import { jsonPayload, makeLogger } from "./support.js"

/** Blocks the event loop for `ms` milliseconds of wall time. */
const busyWait = (ms: number): void => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // Spinning on purpose: nothing else may run meanwhile.
  }
}

describe("attempt timeout race", () => {
  it("response before timeout is one delivery", async () => {
    let requests = 0
    const server = createServer((request, response) => {
      requests++
      request.resume()
      request.on("end", () => {
        setTimeout(() => response.writeHead(204).end(), 300)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    const sink = HttpSink.make({
      url: `http://127.0.0.1:${port}/telemetry`,
      timeoutMs: 500,
      maxAttempts: 2,
      initialBackoffMs: 0,
      maxBackoffMs: 0,
      logger: makeLogger(),
    })

    try {
      const delivery = Effect.runPromiseExit(sink.deliver(jsonPayload()))
      // The server responds at about 300 ms while the loop is blocked, and the
      // 500 ms timeout is due when the loop is free again at about 700 ms.
      setTimeout(() => busyWait(600), 100)
      const exit = await delivery

      expect(Exit.isSuccess(exit)).toBe(true)
      expect(requests).toBe(1)
    } finally {
      await Effect.runPromise(sink.close ?? Effect.void)
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
