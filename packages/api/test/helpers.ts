/**
 * Test helpers: a console-like logger that keeps every line, fresh temporary
 * directories, readers for exported JSON files, and an HTTP collector on
 * 127.0.0.1.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import os from "node:os"
import path from "node:path"
import type { DinoLogger } from "../src/index.js"

/** A log level of `DinoLogger`. */
export type Level = keyof DinoLogger

/** One logged line. */
export interface LogEntry {
  readonly level: Level
  readonly message: string
}

/** A logger with the console's four level methods that keeps every line. */
export interface CapturingLogger extends DinoLogger {
  readonly entries: Array<LogEntry>
  /** Messages logged at `level`, oldest first. */
  at(level: Level): Array<string>
  /** Messages at any level that contain `text`. */
  containing(text: string): Array<string>
}

export const capturingLogger = (): CapturingLogger => {
  const entries: Array<LogEntry> = []
  const log =
    (level: Level) =>
    (message: string): void => {
      entries.push({ level, message })
    }
  return {
    entries,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    at: (level) => entries.filter((entry) => entry.level === level).map((entry) => entry.message),
    containing: (text) =>
      entries.filter((entry) => entry.message.includes(text)).map((entry) => entry.message),
  }
}

const directories: Array<string> = []

/** Creates a fresh directory under the OS temporary directory; `removeTempDirs` deletes it. */
export const makeTempDir = async (): Promise<string> => {
  const directory = await mkdtemp(path.join(os.tmpdir(), "dinoair-api-"))
  directories.push(directory)
  return directory
}

/** Deletes every directory that `makeTempDir` created. */
export const removeTempDirs = async (): Promise<void> => {
  const pending = directories.splice(0)
  await Promise.all(pending.map((directory) => rm(directory, { recursive: true, force: true })))
}

/** One record of an exported JSON document, as written (snake_case). */
export interface ExportedRecord {
  readonly operation: string
  readonly duration: number | null
  readonly memory_usage: number | null
  readonly cpu_usage: number | null
  readonly timestamp: number | null
  readonly custom_metrics: Record<string, unknown>
  readonly id: string
  readonly status: "ok" | "error"
  readonly [key: string]: unknown
}

/** An exported JSON document. */
export interface ExportedDocument {
  readonly metrics: Array<ExportedRecord>
  readonly [key: string]: unknown
}

/** Reads and parses an exported JSON file. */
export const readExport = async (file: string): Promise<ExportedDocument> =>
  JSON.parse(await readFile(file, "utf8")) as ExportedDocument

/** Counts the records of each operation name in a document. */
export const countByOperation = (document: ExportedDocument): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const record of document.metrics) {
    counts[record.operation] = (counts[record.operation] ?? 0) + 1
  }
  return counts
}

/** A promise with its `resolve` and `reject` in hand, to settle it when a test decides. */
export interface Deferred<A> {
  readonly promise: Promise<A>
  resolve(value: A): void
  reject(error: unknown): void
}

export const deferred = <A>(): Deferred<A> => {
  let resolve!: (value: A) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<A>((onResolve, onReject) => {
    resolve = onResolve
    reject = onReject
  })
  return { promise, resolve, reject }
}

/** One request that a collector received. */
export interface ReceivedRequest {
  readonly method: string | undefined
  readonly url: string | undefined
  readonly contentType: string | undefined
  readonly body: string
}

/** An HTTP server of the test's own that keeps every request. */
export interface Collector {
  /** `http://127.0.0.1:<port>/ingest`. */
  readonly url: string
  readonly received: Array<ReceivedRequest>
}

const servers: Array<Server> = []

/**
 * Starts an HTTP server on 127.0.0.1 and a free port that keeps every
 * request and responds to each with `status` and an empty body.
 * `stopCollectors` closes it.
 */
export const startCollector = async (status = 204): Promise<Collector> => {
  const received: Array<ReceivedRequest> = []
  const server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      received.push({
        method: request.method,
        url: request.url,
        contentType: request.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
      })
      response.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  servers.push(server)
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/ingest`, received }
}

/** Closes every server that `startCollector` started, with their open connections. */
export const stopCollectors = async (): Promise<void> => {
  const pending = servers.splice(0)
  await Promise.all(
    pending.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    ),
  )
}
