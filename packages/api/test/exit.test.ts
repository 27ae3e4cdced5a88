/**
 * A program whose work has ended exits on its own, even when telemetry is
 * exporting to an HTTP server that accepts the connection and never
 * responds. The program runs in a child process; the parent starts the
 * server on 127.0.0.1 and times how long the child takes to exit.
 */
import { spawn } from "node:child_process"
import { writeFile } from "node:fs/promises"
import { createServer as createHttpServer } from "node:http"
import { createServer, type Server, type Socket } from "node:net"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { makeTempDir, removeTempDirs } from "./helpers.js"

const API_ENTRY = pathToFileURL(
  path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js"),
).href

/** Starts a server that reads requests and never responds to them. */
const silentServer = async (): Promise<{
  server: Server
  port: number
  requests: () => number
}> => {
  let requests = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on("data", (chunk) => {
      if (chunk.toString("latin1").includes("POST ")) requests++
    })
    socket.on("close", () => sockets.delete(socket))
  })
  server.on("close", () => {
    for (const socket of sockets) socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return { server, port, requests: () => requests }
}

const program = (port: number): string => `
import { enableTelemetry, monitorPerformance } from ${JSON.stringify(API_ENTRY)}
await enableTelemetry({
  exportFormat: "json",
  exportDestination: "http",
  httpEndpoint: "http://127.0.0.1:${port}/telemetry",
  exportIntervalSeconds: 0.1,
  shutdownTimeoutMs: 1000,
})
for (let i = 0; i < 10; i++) monitorPerformance("job", () => i * 2)
// The work ends here; a scheduled export starts and hangs on the server.
setTimeout(() => process.stdout.write("work ended\\n"), 300)
`

/** Runs `source` as an ES module and resolves with its exit code, output and run time. */
const runChild = async (
  file: string,
  source: string,
  limitMs: number,
): Promise<{ code: number | null; elapsedMs: number; stdout: string; stderr: string }> => {
  await writeFile(file, source)
  const started = performance.now()
  const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const killer = setTimeout(() => child.kill("SIGKILL"), limitMs)
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
  clearTimeout(killer)
  return { code, elapsedMs: performance.now() - started, stdout, stderr }
}

/** Starts a server that responds to every request with 204 after `delayMs`. */
const slowServer = async (delayMs: number): Promise<{ server: Server; port: number }> => {
  const server = createHttpServer((request, response) => {
    request.resume()
    request.on("end", () => {
      setTimeout(() => response.writeHead(204).end(), delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return { server, port }
}

const awaitingProgram = (port: number): string => `
import { enableTelemetry, exportTelemetry, monitorPerformance } from ${JSON.stringify(API_ENTRY)}
await enableTelemetry({
  exportFormat: "json",
  exportDestination: "http",
  httpEndpoint: "http://127.0.0.1:${port}/telemetry",
  exportIntervalSeconds: 3600,
  flushOnExit: false,
})
for (let i = 0; i < 10; i++) monitorPerformance("job", () => i * 2)
const delivered = await exportTelemetry()
process.stdout.write("delivered " + delivered + "\\n")
`

afterEach(removeTempDirs)

describe("process exit", () => {
  it("exits while an export hangs", async () => {
    const { server, port, requests } = await silentServer()
    try {
      const dir = await makeTempDir()

      const result = await runChild(path.join(dir, "program.mjs"), program(port), 30_000)

      expect(result.stdout).toContain("work ended")
      expect(result.code).toBe(0)
      expect(requests()).toBeGreaterThan(0)
      // Without the fix the sink's defaults (10 s per attempt, 5 attempts) held it for about a minute.
      // The bound is the final flush's 1 s limit plus start-up and the 0.3 s of work, with room for a busy machine.
      expect(result.elapsedMs).toBeLessThan(15_000)
      expect(result.stderr).toContain("did not finish within 1000 ms")
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }, 40_000)

  it("awaited export keeps process alive", async () => {
    const { server, port } = await slowServer(800)
    try {
      const dir = await makeTempDir()

      const result = await runChild(path.join(dir, "awaiting.mjs"), awaitingProgram(port), 30_000)

      expect(result.code).toBe(0)
      expect(result.stdout).toContain("delivered true")
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }, 40_000)
})
