/**
 * Test fixtures: a fault-injecting HTTP server on 127.0.0.1, a capturing
 * logger, records and payloads, and the credentials that must never show.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { gunzipSync } from "node:zlib"
import { JsonExporter } from "@dinoair/exporter-json"
import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import type { Exporter } from "@dinoair/telemetry"

// ---------------------------------------------------------------------------
// Credentials

export const USER = "ci-exporter"
export const PASSWORD = "pw-Zq8!t7vK2"
export const API_KEY = "key-81c4f0b9d2e7"
export const BEARER_TOKEN = "tok-5e1a9c3f7b20"

/** Every form in which a credential could leak. */
export const SECRETS: ReadonlyArray<string> = [
  USER,
  PASSWORD,
  encodeURIComponent(PASSWORD),
  API_KEY,
  BEARER_TOKEN,
  Buffer.from(`${USER}:${PASSWORD}`).toString("base64"),
]

/** A URL on `server` with the user name and password in it. */
export const credentialedUrl = (server: FaultServer): string =>
  `http://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}/ingest`

// ---------------------------------------------------------------------------
// Fault server

/** What the server does with one request. */
export type Behaviour =
  | {
      readonly kind: "respond"
      readonly status: number
      readonly headers?: Readonly<Record<string, string>>
      /** The response body; a function gets the request's headers, to echo them. */
      readonly body?: string | ((headers: IncomingHttpHeaders) => string)
    }
  /** Reads the request and never responds. */
  | { readonly kind: "hang" }
  /** Destroys the connection after the first chunk of the request body. */
  | { readonly kind: "resetMidBody" }
  /** Sends the status and part of a longer body, then destroys the connection. */
  | { readonly kind: "resetMidResponse"; readonly status: number }

/** A request as the server received it. */
export interface ReceivedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  /** The body as sent, still compressed when it was. */
  readonly raw: Buffer
  /** The body after undoing `Content-Encoding: gzip`. */
  readonly body: string
  /** Whether the whole body arrived before the server acted. */
  readonly complete: boolean
  /** `FaultServer.now()` when the request started to arrive. */
  readonly arrivedAt: number
}

export interface FaultServer {
  readonly port: number
  /** `http://127.0.0.1:<port>/ingest`. */
  readonly url: string
  /** Every request that started to arrive, in order. */
  readonly requests: Array<ReceivedRequest>
  /** Bodies of the requests that got a 2xx response, in order. */
  readonly accepted: Array<string>
  /** TCP connections accepted so far. */
  readonly connections: number
  /** Requests whose connection closed before the server responded. */
  readonly aborted: number
  /** TCP connections open now. */
  readonly openConnections: number
  /** Behaviours for the next requests, in order; after them every request gets 200. */
  plan(...behaviours: ReadonlyArray<Behaviour>): void
  /** The time source for `arrivedAt`, such as a test clock. Default `Date.now`. */
  now: () => number
  /** Resolves once `count` requests have started to arrive. */
  waitForRequests(count: number): Promise<void>
  /** Resolves once `count` requests were aborted by the client. */
  waitForAborts(count: number): Promise<void>
  /** Resolves once no connection is open. */
  waitForNoConnections(): Promise<void>
  close(): Promise<void>
}

/**
 * Starts a server on 127.0.0.1 that injects the planned faults. With `port`
 * 0, the kernel picks a free port.
 */
export const startFaultServer = async (port = 0): Promise<FaultServer> => {
  const queue: Array<Behaviour> = []
  const requests: Array<ReceivedRequest> = []
  const accepted: Array<string> = []
  const sockets = new Set<Socket>()
  const waiters = new Set<() => void>()
  let connections = 0
  let aborted = 0

  const notify = (): void => {
    for (const check of [...waiters]) check()
  }
  const waitUntil = (condition: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!condition()) return
        waiters.delete(check)
        resolve()
      }
      waiters.add(check)
      check()
    })

  const server = createServer((request, response) => {
    const behaviour = queue.shift() ?? { kind: "respond", status: 200, body: "ok" }
    const arrivedAt = handle.now()
    const chunks: Array<Buffer> = []

    const record = (complete: boolean): ReceivedRequest => {
      const raw = Buffer.concat(chunks)
      const gzipped = request.headers["content-encoding"] === "gzip"
      const received: ReceivedRequest = {
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        raw,
        body: complete && gzipped ? gunzipSync(raw).toString("utf8") : raw.toString("utf8"),
        complete,
        arrivedAt,
      }
      requests.push(received)
      notify()
      return received
    }

    response.on("close", () => {
      if (!response.writableFinished && behaviour.kind === "hang") {
        aborted++
        notify()
      }
    })

    if (behaviour.kind === "resetMidBody") {
      request.once("data", (chunk: Buffer) => {
        chunks.push(chunk)
        record(false)
        request.socket.destroy()
      })
      return
    }

    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const received = record(true)
      act(behaviour, received, response, accepted)
    })
  })

  server.on("connection", (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.on("close", () => {
      sockets.delete(socket)
      notify()
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve())
  })
  const actualPort = (server.address() as AddressInfo).port

  const handle: FaultServer = {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}/ingest`,
    requests,
    accepted,
    get connections() {
      return connections
    },
    get aborted() {
      return aborted
    },
    get openConnections() {
      return sockets.size
    },
    plan: (...behaviours) => {
      queue.push(...behaviours)
    },
    now: Date.now,
    waitForRequests: (count) => waitUntil(() => requests.length >= count),
    waitForAborts: (count) => waitUntil(() => aborted >= count),
    waitForNoConnections: () => waitUntil(() => sockets.size === 0),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return handle
}

const act = (
  behaviour: Behaviour,
  received: ReceivedRequest,
  response: ServerResponse,
  accepted: Array<string>,
): void => {
  switch (behaviour.kind) {
    case "respond": {
      const body =
        typeof behaviour.body === "function"
          ? behaviour.body(received.headers)
          : (behaviour.body ?? "")
      if (behaviour.status >= 200 && behaviour.status < 300) accepted.push(received.body)
      response.writeHead(behaviour.status, behaviour.headers)
      response.end(body)
      return
    }
    case "hang":
      return
    case "resetMidResponse":
      if (behaviour.status >= 200 && behaviour.status < 300) accepted.push(received.body)
      response.writeHead(behaviour.status, { "content-length": "1000" })
      response.write("partial")
      // Let the status and the first bytes leave before the connection goes.
      setImmediate(() => response.socket?.destroy())
      return
    case "resetMidBody":
      return
  }
}

/** A 400 or 500 body that echoes the request's headers, as some debugging servers do. */
export const echoHeaders = (headers: IncomingHttpHeaders): string =>
  `request was ${JSON.stringify(headers)}`

// ---------------------------------------------------------------------------
// Logger

export interface LogEntry {
  readonly level: keyof DinoLogger
  readonly message: string
}

export interface CapturingLogger extends DinoLogger {
  readonly entries: Array<LogEntry>
  /** Messages logged at `level`. */
  at(level: keyof DinoLogger): Array<string>
  /** Resolves once `count` lines were logged at `level`. */
  waitFor(level: keyof DinoLogger, count: number): Promise<void>
}

/** Every line of every capturing logger made since the last `takeAllLogLines`. */
const allLines: Array<string> = []

export const makeLogger = (): CapturingLogger => {
  const entries: Array<LogEntry> = []
  const waiters = new Set<() => void>()
  const log =
    (level: keyof DinoLogger) =>
    (message: string, ...details: ReadonlyArray<unknown>): void => {
      const line = [message, ...details.map(String)].join(" ")
      entries.push({ level, message: line })
      allLines.push(line)
      for (const check of [...waiters]) check()
    }
  const at = (level: keyof DinoLogger): Array<string> =>
    entries.filter((entry) => entry.level === level).map((entry) => entry.message)

  return {
    entries,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    at,
    waitFor: (level, count) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (at(level).length < count) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      }),
  }
}

/** Returns the lines logged since the last call and clears them. */
export const takeAllLogLines = (): Array<string> => allLines.splice(0)

// ---------------------------------------------------------------------------
// Records and payloads

let sequence = 0

/** Creates an ended operation with a unique id. */
export const record = (operation = "upload"): OperationMetrics => {
  sequence++
  return {
    id: `${operation}-${sequence}`,
    operation,
    duration: 0.25,
    timestamp: 1_700_000_000 + sequence,
    memoryUsage: 1024,
    memoryDelta: undefined,
    cpuUsage: 2.5,
    status: "ok",
    error: undefined,
    customMetrics: { rows: sequence },
    parentId: undefined,
    systemInfo: undefined,
  }
}

export const exportContext: Exporter.ExportContext = {
  timestamp: 1_700_000_100,
  processMetrics: undefined,
  includeCustomMetrics: true,
  source: "sink-http-test",
}

/** A JSON payload of `count` new records. */
export const jsonPayload = (count = 2): Exporter.Payload =>
  JsonExporter.make().encode(
    Array.from({ length: count }, () => record()),
    exportContext,
  )

/** The record ids in a JSON document. */
export const idsIn = (document: string): Array<string> =>
  (
    JSON.parse(document) as { readonly metrics: ReadonlyArray<{ readonly id: string }> }
  ).metrics.map((metric) => metric.id)
