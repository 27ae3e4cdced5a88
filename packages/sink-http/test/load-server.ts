/**
 * HTTP servers on 127.0.0.1 for the load tests, written on `node:net` so
 * that they control when a connection is read: one accepts connections
 * slowly, one stops reading a request body part of the way through.
 */
import { createServer, type Socket } from "node:net"

export type LoadBehaviour =
  /** Starts reading each new connection only after `delayMs`, and closes it after one response. */
  | { readonly kind: "slowAccept"; readonly delayMs: number }
  /** Reads the headers and `bodyBytes` of the body, then never reads again nor responds. */
  | { readonly kind: "stopReading"; readonly bodyBytes: number }

export interface LoadServer {
  /** `http://127.0.0.1:<port>/ingest`. */
  readonly url: string
  readonly port: number
  /** Bodies of the requests that got a 200, in order. */
  readonly accepted: Array<string>
  /** Request targets (path and query) as received, in order. */
  readonly targets: Array<string>
  /** Requests whose first bytes arrived. */
  readonly requests: number
  /** TCP connections accepted. */
  readonly connections: number
  /**
   * The maximum number of requests that were between their first byte and their response
   * at one time. With `stopReading` every request stays counted, because a
   * connection that is no longer read does not report that the client closed it.
   */
  readonly maxConcurrent: number
  /** Called when the first bytes of a request arrive, to sample the client's counters. */
  onRequest: () => void
  /** Resolves once `count` requests have started to arrive. */
  waitForRequests(count: number): Promise<void>
  close(): Promise<void>
}

const HEADER_END = Buffer.from("\r\n\r\n")

export const startLoadServer = async (behaviour: LoadBehaviour): Promise<LoadServer> => {
  const accepted: Array<string> = []
  const targets: Array<string> = []
  const sockets = new Set<Socket>()
  const waiters = new Set<() => void>()
  let requests = 0
  let connections = 0
  let concurrent = 0
  let maxConcurrent = 0

  const notify = (): void => {
    for (const check of [...waiters]) check()
  }

  const server = createServer({ pauseOnConnect: true }, (socket) => {
    connections++
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => undefined)

    let received = Buffer.alloc(0)
    let started = false
    let finished = false
    socket.on("data", (chunk: Buffer) => {
      if (finished) return
      if (!started) {
        started = true
        requests++
        concurrent++
        maxConcurrent = Math.max(maxConcurrent, concurrent)
        handle.onRequest()
        notify()
      }
      received = Buffer.concat([received, chunk])

      const headerEnd = received.indexOf(HEADER_END)
      if (headerEnd < 0) return
      const head = received.subarray(0, headerEnd).toString("latin1")
      const body = received.subarray(headerEnd + HEADER_END.length)
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)

      if (behaviour.kind === "stopReading") {
        if (body.length < behaviour.bodyBytes) return
        // The request stays counted as in progress, because this server never responds to it.
        finished = true
        socket.pause()
        return
      }
      if (body.length < length) return

      finished = true
      targets.push(head.split(" ")[1] ?? "")
      accepted.push(body.subarray(0, length).toString("utf8"))
      concurrent--
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
    })

    if (behaviour.kind === "slowAccept") {
      setTimeout(() => socket.resume(), behaviour.delayMs)
    } else {
      socket.resume()
    }
  })

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0

  const handle: LoadServer = {
    url: `http://127.0.0.1:${port}/ingest`,
    port,
    accepted,
    targets,
    get requests() {
      return requests
    },
    get connections() {
      return connections
    },
    get maxConcurrent() {
      return maxConcurrent
    },
    onRequest: () => {},
    waitForRequests: (count) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (requests < count) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      }),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return handle
}
