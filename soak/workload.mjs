/**
 * The soak's child process: a program that uses DinoAir as a user would,
 * through the `@dinoair/api` facade, with telemetry exported over HTTP.
 *
 * `soak/run.mjs` forks it with `--expose-gc` and an IPC channel, and passes
 * the settings as one JSON argument. The phases:
 *
 * 1. Work: `workers` async loops run monitored operations for `seconds`.
 *    Every `sampleIntervalMs` the heap is measured after a full GC.
 * 2. The child sends `work-ended` with its counters and waits for `drain`,
 *    which the parent sends once its server stops failing.
 * 3. It disconnects the IPC channel and does nothing else. No shutdown is
 *    called: the process must exit on its own, and the telemetry manager's
 *    final flush on `beforeExit` must deliver what was left.
 * 4. On `exit` it writes its final counters to `resultFile`.
 */
import { writeFileSync } from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { setTimeout as delay } from "node:timers/promises"
import {
  enablePerformanceMonitoring,
  enableTelemetry,
  getTelemetryManager,
  monitorPerformance,
  setLogger,
} from "@dinoair/api"
import { seededRandom } from "./fault-server.mjs"

const settings = JSON.parse(process.argv[2])

/** Log lines printed per level; later ones are only counted. `verbose` prints every line with its time. */
const MAX_PRINTED_PER_LEVEL = 10
const logCounts = { debug: 0, info: 0, warn: 0, error: 0 }
const logAt =
  (level) =>
  (...parts) => {
    logCounts[level]++
    if (settings.verbose) {
      process.stderr.write(`[workload ${level} ${new Date().toISOString()}] ${parts.join(" ")}\n`)
      return
    }
    if (level === "debug" || logCounts[level] > MAX_PRINTED_PER_LEVEL) return
    process.stderr.write(`[workload ${level}] ${parts.join(" ")}\n`)
  }
setLogger({
  debug: logAt("debug"),
  info: logAt("info"),
  warn: logAt("warn"),
  error: logAt("error"),
})

const unhandledRejections = []
process.on("unhandledRejection", (reason) => {
  unhandledRejections.push(
    reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
  )
})

const heap = { samples: 0, firstBytes: 0, peakBytes: 0, lastBytes: 0 }
const measureHeap = () => {
  globalThis.gc()
  const used = process.memoryUsage().heapUsed
  if (heap.samples === 0) heap.firstBytes = used
  heap.samples++
  heap.lastBytes = used
  heap.peakBytes = Math.max(heap.peakBytes, used)
}

/** Copies the manager's counters into plain data that JSON can carry. */
const statsSnapshot = () => {
  const stats = getTelemetryManager().stats
  return {
    produced: stats.produced,
    delivered: stats.delivered,
    buffered: stats.buffered,
    inFlight: stats.inFlight,
    dropped: { ...stats.dropped },
    batchesDelivered: stats.batchesDelivered,
    batchesFailed: stats.batchesFailed,
    lastError: stats.lastError === undefined ? null : String(stats.lastError.message),
  }
}

/** Sampling interval of the event loop delay histogram, in milliseconds. */
const LOOP_DELAY_RESOLUTION_MS = 10

/**
 * Converts a histogram value to the delay past the sampling timer's due time, in
 * milliseconds. Node.js 20 records the whole interval, the resolution included:
 * an idle process shows about 10 ms at a resolution of 10.
 */
const loopDelayMs = (nanoseconds) => Math.max(0, nanoseconds / 1e6 - LOOP_DELAY_RESOLUTION_MS)

const OPERATION_NAMES = Array.from({ length: 16 }, (_, index) => `soak_op_${index}`)

/** Runs one monitored operation of a kind that a random draw picks. */
const runOperation = async (random) => {
  const name = OPERATION_NAMES[Math.floor(random() * OPERATION_NAMES.length)]
  const kind = random()
  const fails = random() < settings.errorRate

  if (kind < 0.5) {
    // Async work that waits on a timer, as I/O would.
    await monitorPerformance(name, async () => {
      await delay(Math.floor(random() * 3))
      if (fails) throw new Error("soak: simulated failure")
    })
    return
  }
  if (kind < 0.75) {
    // Nested operations: the inner record carries the outer one's id as parent_id.
    await monitorPerformance(name, async () => {
      await monitorPerformance(`${name}_child`, async () => {
        await delay(1)
      })
      if (fails) throw new Error("soak: simulated failure")
    })
    return
  }
  // Synchronous work in an operation scope with custom metrics. Node 20 has
  // no `using` statement, so the scope is disposed as `using` would do it.
  const scope = monitorPerformance(name, { worker: "sync" })
  try {
    let sum = 0
    for (let index = 0; index < 200; index++) sum += Math.sqrt(index)
    scope.recordMetric("sum", sum)
    if (fails) scope.fail(new Error("soak: simulated failure"))
  } finally {
    scope[Symbol.dispose]()
  }
  await new Promise((resolve) => setImmediate(resolve))
}

let operationsStarted = 0

const runWorker = async (workerIndex, deadline) => {
  const random = seededRandom(settings.seed * 1000 + workerIndex)
  while (performance.now() < deadline) {
    operationsStarted++
    try {
      await runOperation(random)
    } catch (error) {
      if (!String(error).includes("soak: simulated failure")) throw error
    }
  }
}

const work = async () => {
  enablePerformanceMonitoring({ thresholdDurationMs: 1000 })
  const ready = await enableTelemetry({
    enabled: true,
    exportFormat: settings.exportFormat,
    exportDestination: "http",
    httpEndpoint: settings.endpoint,
    exportIntervalSeconds: settings.exportIntervalSeconds,
    maxMetricsPerOperation: settings.maxMetricsPerOperation,
    maxTotalMetrics: settings.maxTotalMetrics,
    shutdownTimeoutMs: settings.shutdownTimeoutMs,
    sinkOptions: settings.sinkOptions,
  })
  if (!ready) throw new Error("soak: telemetry did not get its exporter and sink")

  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
  loopDelay.enable()
  const started = performance.now()
  const deadline = started + settings.seconds * 1000
  const perSecond = []
  let lastCount = 0
  const sampler = setInterval(() => {
    measureHeap()
    perSecond.push(((operationsStarted - lastCount) * 1000) / settings.sampleIntervalMs)
    lastCount = operationsStarted
  }, settings.sampleIntervalMs)

  const workers = Array.from({ length: settings.workers }, (_, index) => runWorker(index, deadline))
  await Promise.all(workers)
  const workSeconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  loopDelay.disable()
  measureHeap()

  return {
    workSeconds,
    operations: operationsStarted,
    operationsPerSecond: perSecond,
    stats: statsSnapshot(),
    heap: { ...heap },
    eventLoopDelayMs: {
      p50: loopDelayMs(loopDelay.percentile(50)),
      p99: loopDelayMs(loopDelay.percentile(99)),
      max: loopDelayMs(loopDelay.max),
    },
    activeResources: process.getActiveResourcesInfo(),
  }
}

const finish = () => {
  const exitReport = { disconnectedAt: Date.now() }
  // Registered after the manager's own listener, so it reads what the final flush has to send.
  process.once("beforeExit", () => {
    exitReport.atFirstBeforeExit = statsSnapshot()
  })
  process.once("exit", (code) => {
    const result = {
      ...exitReport,
      exitCode: code,
      exitedAt: Date.now(),
      finalStats: statsSnapshot(),
      unhandledRejections,
      logCounts,
      heap,
    }
    writeFileSync(settings.resultFile, `${JSON.stringify(result, null, 2)}\n`)
  })
  process.disconnect()
}

process.on("message", (message) => {
  if (message?.type === "drain") finish()
})

work().then(
  (report) => process.send({ type: "work-ended", report }),
  (error) => {
    process.stderr.write(`soak workload failed: ${error?.stack ?? error}\n`)
    process.exitCode = 1
    process.disconnect()
  },
)
