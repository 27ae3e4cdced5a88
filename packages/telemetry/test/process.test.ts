/**
 * Behaviour that only a whole process shows: whether timers keep it alive,
 * and the final flush on `beforeExit`. Each test runs a child `node` that
 * imports the built package, so `npx tsc -b` must have run first.
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const builtEntry = fileURLToPath(new URL("../dist/index.js", import.meta.url))

/** Upper bound for a child run; a child still running then is killed and the test fails. */
const KILL_AFTER_MS = 20_000

interface ChildResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly killed: boolean
  readonly stdout: string
  readonly stderr: string
}

/** Runs an ES module script in a child `node` started in the package folder. */
const runScript = (script: string): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: packageDir,
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    let killed = false
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    const safety = setTimeout(() => {
      killed = true
      child.kill("SIGKILL")
    }, KILL_AFTER_MS)
    child.on("error", (error) => {
      clearTimeout(safety)
      reject(error)
    })
    child.on("close", (code, signal) => {
      clearTimeout(safety)
      resolve({ code, signal, killed, stdout, stderr })
    })
  })

/** Script lines shared by every child: imports and an exporter that writes one id per line. */
const prelude = `
import { Effect } from "effect"
import { Sink, Telemetry } from "@dinoair/telemetry"
const exporter = {
  format: "lines",
  contentType: "text/plain",
  fileExtension: "txt",
  encode: (records) => ({
    contentType: "text/plain",
    fileExtension: "txt",
    fileMode: "append",
    header: "BEGIN\\n",
    body: records.map((each) => each.id + "\\n").join(""),
    footer: "END\\n",
    separator: "",
    recordCount: records.length,
  }),
}
const record = (id) => ({
  id,
  operation: "child",
  duration: 0.01,
  timestamp: Date.now() / 1000,
  memoryUsage: undefined,
  memoryDelta: undefined,
  cpuUsage: undefined,
  status: "ok",
  error: undefined,
  customMetrics: {},
  parentId: undefined,
  systemInfo: undefined,
})
`

describe("Telemetry in a process", () => {
  beforeAll(() => {
    if (!existsSync(builtEntry)) {
      throw new Error(`${builtEntry} is missing; run "npx tsc -b" in packages/telemetry first.`)
    }
  })

  it(
    "enabled schedule lets the process exit",
    async () => {
      const result = await runScript(`${prelude}
const telemetry = Telemetry.makeUnsafe(
  { exportIntervalSeconds: 3600, flushOnExit: false },
  { exporter, sink: Sink.makeMemory() },
)
await Effect.runPromise(telemetry.enable())
console.log("enabled", telemetry.enabled)
`)

      expect(result.stderr).toBe("")
      expect(result.stdout).toBe("enabled true\n")
      expect(result.killed).toBe(false)
      expect(result.signal).toBeNull()
      expect(result.code).toBe(0)
    },
    KILL_AFTER_MS + 10_000,
  )

  it(
    "beforeExit runs a final flush",
    async () => {
      const result = await runScript(`${prelude}
const telemetry = Telemetry.makeUnsafe(
  { exportIntervalSeconds: 3600, includeSystemMetrics: false },
  { exporter, sink: Sink.makeConsole() },
)
await Effect.runPromise(telemetry.enable())
for (const id of ["flush-1", "flush-2", "flush-3"]) telemetry.collect(record(id))
`)

      expect(result.stderr).toBe("")
      expect(result.stdout).toBe("BEGIN\nflush-1\nflush-2\nflush-3\nEND\n")
      expect(result.killed).toBe(false)
      expect(result.code).toBe(0)
    },
    KILL_AFTER_MS + 10_000,
  )

  it(
    "flushOnExit false skips the final flush",
    async () => {
      const result = await runScript(`${prelude}
const telemetry = Telemetry.makeUnsafe(
  { exportIntervalSeconds: 3600, includeSystemMetrics: false, flushOnExit: false },
  { exporter, sink: Sink.makeConsole() },
)
await Effect.runPromise(telemetry.enable())
telemetry.collect(record("never-flushed"))
`)

      expect(result.stdout).toBe("")
      expect(result.killed).toBe(false)
      expect(result.code).toBe(0)
    },
    KILL_AFTER_MS + 10_000,
  )

  it(
    "hanging final flush stops at shutdownTimeoutMs",
    async () => {
      const result = await runScript(`${prelude}
// A destination that never responds and, like an open socket, keeps the process alive.
const sink = {
  destination: "hanging",
  deliver: () =>
    Effect.callback(() => {
      const keepAlive = setInterval(() => {}, 1000)
      return Effect.sync(() => clearInterval(keepAlive))
    }),
}
const telemetry = Telemetry.makeUnsafe(
  {
    exportIntervalSeconds: 3600,
    includeSystemMetrics: false,
    shutdownTimeoutMs: 200,
    logger: { debug() {}, info() {}, warn: (message) => console.log(message), error() {} },
  },
  { exporter, sink },
)
await Effect.runPromise(telemetry.enable())
telemetry.collect(record("stuck-1"))
telemetry.collect(record("stuck-2"))
process.on("exit", () => console.log("buffered", telemetry.stats.buffered))
`)

      expect(result.killed).toBe(false)
      expect(result.signal).toBeNull()
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("did not finish within 200 ms; 2 records stay unexported")
      expect(result.stdout).toContain("buffered 2\n")
    },
    KILL_AFTER_MS + 10_000,
  )

  it(
    "no scheduled export runs after the final flush",
    async () => {
      const result = await runScript(`${prelude}
import { SinkError } from "@dinoair/telemetry"
// Each delivery holds the process open for 300 ms, as a request does, then fails.
let deliveries = 0
const sink = {
  destination: "slow-failing",
  deliver: () =>
    Effect.callback((resume) => {
      deliveries++
      const timer = setTimeout(
        () => resume(Effect.fail(new SinkError.SinkError({ reason: "Network", message: "unreachable" }))),
        300,
      )
      return Effect.sync(() => clearTimeout(timer))
    }),
}
// The 50 ms schedule comes due while the final flush is delivering.
const telemetry = Telemetry.makeUnsafe(
  {
    exportIntervalSeconds: 0.05,
    includeSystemMetrics: false,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  },
  { exporter, sink },
)
await Effect.runPromise(telemetry.enable())
telemetry.collect(record("undeliverable"))
process.on("exit", () => console.log("deliveries", deliveries, "buffered", telemetry.stats.buffered))
`)

      expect(result.stdout).toBe("deliveries 1 buffered 1\n")
      expect(result.killed).toBe(false)
      expect(result.code).toBe(0)
    },
    KILL_AFTER_MS + 10_000,
  )

  it(
    "final flush waits for export in flight",
    async () => {
      const result = await runScript(`${prelude}
// Each delivery takes 300 ms on an unref'd timer, as the HTTP sink's scheduled
// deliveries do, so beforeExit fires while the scheduled export is in flight.
let deliveries = 0
const sink = {
  destination: "slow-unreferenced",
  deliver: () =>
    Effect.callback((resume) => {
      deliveries++
      const timer = setTimeout(() => resume(Effect.void), 300)
      timer.unref()
      return Effect.sync(() => clearTimeout(timer))
    }),
}
const telemetry = Telemetry.makeUnsafe(
  {
    exportIntervalSeconds: 0.05,
    includeSystemMetrics: false,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  },
  { exporter, sink },
)
await Effect.runPromise(telemetry.enable())
telemetry.collect(record("in-flight"))
// The work goes on for 100 ms, so the 50 ms schedule starts an export first.
setTimeout(() => {}, 100)
process.on("exit", () =>
  console.log("deliveries", deliveries, "delivered", telemetry.stats.delivered, "buffered", telemetry.stats.buffered),
)
`)

      // Interrupting the scheduled export would put the batch back and send it a second time.
      expect(result.stdout).toBe("deliveries 1 delivered 1 buffered 0\n")
      expect(result.code).toBe(0)
    },
    KILL_AFTER_MS + 10_000,
  )

  it(
    "failing final flush still lets the process exit",
    async () => {
      const result = await runScript(`${prelude}
import { SinkError } from "@dinoair/telemetry"
const sink = Sink.makeMemory()
sink.failWith = new SinkError.SinkError({ reason: "Network", message: "unreachable" })
const telemetry = Telemetry.makeUnsafe(
  {
    exportIntervalSeconds: 3600,
    includeSystemMetrics: false,
    logger: { debug() {}, info() {}, warn: (message) => console.log(message), error() {} },
  },
  { exporter, sink },
)
await Effect.runPromise(telemetry.enable())
telemetry.collect(record("lost"))
process.on("exit", () => console.log("buffered", telemetry.stats.buffered))
`)

      expect(result.stdout).toContain(
        "telemetry: the final flush on process exit failed (DINOAIR_SINK_NETWORK); 1 records stay unexported.\n",
      )
      expect(result.stdout).toMatch(/buffered 1\n$/)
      expect(result.killed).toBe(false)
      expect(result.code).toBe(0)
    },
    KILL_AFTER_MS + 10_000,
  )
})
