/**
 * The DinoAir soak: a child process runs concurrent monitored work for a
 * fixed time while telemetry exports every 100 ms over HTTP to a local
 * server that fails at random. Then the checks below run on what the child
 * and the server counted.
 *
 * First the fault server's own counting is checked (`server-check.mjs`).
 * Then four scenarios run one after the other, each in a fresh child:
 * - `baseline` (`--baseline-seconds`, default 10): the server never fails, to
 *   show what the same setup delivers without faults.
 * - `healed` (`--seconds`, default 60): when the work ends, the server stops
 *   failing, and everything left must be delivered before the child exits.
 * - `Prometheus, healed` (`--prometheus-seconds`, default 10): the same with
 *   Prometheus text, whose running counter the server checks instead of ids.
 * - `dead endpoint` (`--dead-seconds`, default 5): when the work ends, the
 *   server keeps every request open without responding. The child must still exit
 *   on its own, and what it could not deliver stays counted as buffered.
 *
 * Usage: `node soak/run.mjs [--seconds=60] [--baseline-seconds=10] [--prometheus-seconds=10]
 * [--dead-seconds=5] [--seed=1] [--workers=64] [--no-write] [--verbose]`. It writes `soak/results.json` and `soak/RESULTS.md`
 * unless `--no-write` is given, and exits with 1 when a check fails.
 * `--verbose` prints every log line of the workload with its time.
 *
 * Checks, in each scenario:
 * - produced = delivered + buffered + in flight + dropped (by reason), exactly,
 *   when the work ends and again at exit;
 * - the records that the server accepted, by id, are exactly the delivered ones;
 * - the peak heap after a full GC stays within `HEAP_BOUND_BYTES`;
 * - no unhandled rejection, and the child exits with code 0;
 * - once its work has ended and its IPC channel is closed, the child exits
 *   on its own within `EXIT_BOUND_MS`.
 */
import { fork } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { OUTCOME_WEIGHTS, startFaultServer } from "./fault-server.mjs"
import { checkFaultServer } from "./server-check.mjs"

const HERE = dirname(fileURLToPath(import.meta.url))

const NUMBER_OPTIONS = [
  "seconds",
  "baseline-seconds",
  "prometheus-seconds",
  "dead-seconds",
  "seed",
  "workers",
]
const FLAGS = ["--no-write", "--verbose"]

// Every argument must be a known flag or `--name=value`; anything else, such
// as `--seconds 5` with a space, would otherwise be ignored without a word.
for (const arg of process.argv.slice(2)) {
  // pnpm passes the `--` of `pnpm soak -- --seconds=5` through.
  if (arg === "--") continue
  const known = FLAGS.includes(arg) || NUMBER_OPTIONS.some((name) => arg.startsWith(`--${name}=`))
  if (!known) {
    console.error(
      `soak: unknown argument ${JSON.stringify(arg)}. Use ${NUMBER_OPTIONS.map((name) => `--${name}=N`).join(", ")}, ${FLAGS.join(" or ")}.`,
    )
    process.exit(2)
  }
}

const option = (name, fallback) => {
  const prefix = `--${name}=`
  const given = process.argv.find((arg) => arg.startsWith(prefix))
  if (given === undefined) return fallback
  const value = Number(given.slice(prefix.length))
  if (!Number.isInteger(value) || value < 1) {
    console.error(
      `soak: invalid --${name}=${given.slice(prefix.length)}: expected a positive integer`,
    )
    process.exit(2)
  }
  return value
}

const SETTINGS = {
  seconds: option("seconds", 60),
  baselineSeconds: option("baseline-seconds", 10),
  prometheusSeconds: option("prometheus-seconds", 10),
  deadSeconds: option("dead-seconds", 5),
  seed: option("seed", 1),
  workers: option("workers", 64),
  exportIntervalSeconds: 0.1,
  /** Telemetry buffer bounds, above the defaults (100 and 10,000) as for a busy service. */
  maxMetricsPerOperation: 5000,
  maxTotalMetrics: 20_000,
  /** The default of `shutdownTimeoutMs`, which bounds the final flush on `beforeExit`. */
  shutdownTimeoutMs: 5000,
  sampleIntervalMs: 1000,
  /** Share of the operations that throw or are marked failed. */
  errorRate: 0.02,
  /**
   * The sink's options: short timeouts and backoffs, so faults are met often and survived.
   * `timeoutMs` stays well above the server's slowest 2xx (`slowMs`), so that the sink misses
   * a 2xx only when the child's event loop stalls for the difference.
   */
  sinkOptions: {
    timeoutMs: 2000,
    maxAttempts: 3,
    initialBackoffMs: 50,
    maxBackoffMs: 400,
    maxRetryAfterMs: 2000,
  },
  server: { slowMs: 600, hangMs: 2500, retryAfterSeconds: 1 },
}
const WRITE = !process.argv.includes("--no-write")
/** Prints every log line of the workload, debug included, with its time. */
const VERBOSE = process.argv.includes("--verbose")

/**
 * The bound on the child's heap used after a full GC, in bytes. The
 * telemetry buffer keeps at most `maxTotalMetrics` (20,000) records, and the
 * monitor keeps `maxMetricsRetained` (1,000) records per operation name for
 * its 32 names. At about 300 bytes a record, both come to under 16 MiB. Loaded
 * modules and the batch being encoded add about 15 MiB, measured. 64 MiB
 * leaves room for both, and catches a leak that grows with the run's length.
 */
const HEAP_BOUND_BYTES = 64 * 1024 * 1024

/**
 * The maximum time that one delivery can take, in milliseconds: every attempt timing
 * out, and every wait between attempts as long as the server's largest
 * `Retry-After` or the jittered backoff cap (1.2 × `maxBackoffMs`),
 * whichever is longer.
 */
const DELIVERY_BOUND_MS =
  SETTINGS.sinkOptions.maxAttempts * SETTINGS.sinkOptions.timeoutMs +
  (SETTINGS.sinkOptions.maxAttempts - 1) *
    Math.max(SETTINGS.server.retryAfterSeconds * 1000, 1.2 * SETTINGS.sinkOptions.maxBackoffMs)

const EXIT_MARGIN_MS = 3000

/**
 * Milliseconds that the child may take to exit once its work has ended and
 * its IPC channel has closed. The export in flight then ends within
 * `DELIVERY_BOUND_MS`, because a failed batch ends the export, and the final
 * flush within `shutdownTimeoutMs`. `EXIT_MARGIN_MS` more covers late
 * timers on a loaded machine: one run with a load average of 8 on 2 cores
 * took 10.9 s of the 13 s that the two parts add up to.
 */
// NOTE: `shutdownTimeoutMs` bounds only the final flush. An export in flight when the work
// ends keeps the process alive until its delivery ends, before `beforeExit` can fire. With the
// sink's default options (5 attempts, 10 s timeout) against an endpoint that never responds,
// that took 58 s before the final flush started, measured on the soak's machine.
const EXIT_BOUND_MS = DELIVERY_BOUND_MS + SETTINGS.shutdownTimeoutMs + EXIT_MARGIN_MS

/** Milliseconds that a scenario may take beyond its work before its child is stopped. */
const SETUP_AND_EXIT_BOUND_MS = 60_000

const SCENARIOS = [
  {
    name: "baseline",
    seconds: SETTINGS.baselineSeconds,
    exportFormat: "json",
    workMode: "healthy",
    exitMode: "healthy",
    summary: "JSON; the server never fails, to show what the same setup delivers without faults",
  },
  {
    name: "healed",
    seconds: SETTINGS.seconds,
    exportFormat: "json",
    workMode: "faulty",
    exitMode: "healthy",
    summary: "JSON; the server stops failing when the work ends",
  },
  {
    name: "Prometheus, healed",
    seconds: SETTINGS.prometheusSeconds,
    exportFormat: "prometheus",
    workMode: "faulty",
    exitMode: "healthy",
    summary: "Prometheus text; the server stops failing when the work ends",
  },
  {
    name: "dead endpoint",
    seconds: SETTINGS.deadSeconds,
    exportFormat: "json",
    workMode: "faulty",
    exitMode: "hanging",
    summary: "JSON; the server keeps every request open without responding once the work ends",
  },
]

const sumOf = (counts) => Object.values(counts).reduce((sum, count) => sum + count, 0)

const reconciles = (stats) =>
  stats.produced === stats.delivered + stats.buffered + stats.inFlight + sumOf(stats.dropped)

/** Runs one child and returns what it and the server reported. */
const runScenario = async (scenario) => {
  const server = await startFaultServer({ seed: SETTINGS.seed, ...SETTINGS.server })
  server.setMode(scenario.workMode)
  const workDir = mkdtempSync(join(tmpdir(), "dinoair-soak-"))
  const resultFile = join(workDir, "workload.json")
  const { server: _server, ...shared } = SETTINGS
  const childSettings = {
    ...shared,
    seconds: scenario.seconds,
    exportFormat: scenario.exportFormat,
    endpoint: server.url,
    resultFile,
    verbose: VERBOSE,
  }

  const child = fork(join(HERE, "workload.mjs"), [JSON.stringify(childSettings)], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  })
  const exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  )

  let workEnded
  let serverAtWorkEnd
  child.on("message", (message) => {
    if (message?.type !== "work-ended") return
    workEnded = message.report
    serverAtWorkEnd = server.stats()
    server.setMode(scenario.exitMode)
    child.send({ type: "drain" }, (error) => {
      // A child that died after its report has closed the channel; its exit code tells why.
      if (error) console.error(`soak: could not send drain to the workload: ${error.message}`)
    })
  })

  // The exit clock starts when the child closes its IPC channel, its last handle of its own.
  let disconnectedAt
  let exitTimer
  const exitBound = new Promise((resolve) => {
    child.once("disconnect", () => {
      disconnectedAt = performance.now()
      exitTimer = setTimeout(() => resolve("timeout"), EXIT_BOUND_MS)
    })
  })
  const overall = setTimeout(
    () => {
      console.error(`soak: scenario ${scenario.name} took too long; stopping the workload`)
      child.kill("SIGKILL")
    },
    scenario.seconds * 1000 + SETUP_AND_EXIT_BOUND_MS,
  )

  const first = await Promise.race([exited, exitBound])
  const killedForExit = first === "timeout"
  if (killedForExit) {
    console.error(`soak: the workload did not exit within ${EXIT_BOUND_MS} ms; stopping it`)
    child.kill("SIGKILL")
  }
  const exit = await exited
  const exitMs = disconnectedAt === undefined ? undefined : performance.now() - disconnectedAt
  clearTimeout(overall)
  clearTimeout(exitTimer)

  let final
  try {
    final = JSON.parse(readFileSync(resultFile, "utf8"))
  } catch {
    final = undefined
  }
  rmSync(workDir, { recursive: true, force: true })
  const serverAtExit = server.stats()
  await server.close()

  return { scenario, exit, exitMs, killedForExit, workEnded, serverAtWorkEnd, final, serverAtExit }
}

/** Turns one scenario's reports into its checks and the figures that the page shows. */
const evaluate = (run) => {
  const checks = []
  const check = (name, passed, detail) => checks.push({ name, passed: Boolean(passed), detail })
  const { workEnded, final, serverAtExit } = run

  check("workload ran to the end of its work", workEnded !== undefined, "work-ended message")
  check("workload wrote its final report", final !== undefined, "report written on exit")
  check(
    "workload exited with code 0",
    run.exit.code === 0,
    `code ${run.exit.code}, signal ${run.exit.signal}`,
  )
  check(
    `workload exited on its own within ${EXIT_BOUND_MS} ms`,
    workEnded !== undefined &&
      !run.killedForExit &&
      run.exitMs !== undefined &&
      run.exitMs <= EXIT_BOUND_MS,
    run.exitMs === undefined
      ? "never closed its IPC channel"
      : `${Math.round(run.exitMs)} ms after its work ended`,
  )
  if (workEnded === undefined || final === undefined) return { checks, figures: undefined }

  const atWorkEnd = workEnded.stats
  const atExit = final.finalStats
  const left = final.atFirstBeforeExit
  const leftCount = left === undefined ? 0 : left.buffered + left.inFlight
  check("counts reconcile when the work ends", reconciles(atWorkEnd), equationText(atWorkEnd))
  check("counts reconcile at exit", reconciles(atExit), equationText(atExit))
  if (run.scenario.exitMode === "healthy") {
    // The export in flight when the work ended may deliver everything before `beforeExit`,
    // so how much the final flush itself sent varies from run to run. It is a figure only.
    check(
      "nothing is left buffered or in flight at exit",
      atExit.buffered === 0 && atExit.inFlight === 0,
      `buffered ${atExit.buffered}, in flight ${atExit.inFlight}; ${leftCount} records were left for the final flush on beforeExit`,
    )
  } else {
    check(
      "records were left for the final flush",
      leftCount > 0,
      left === undefined
        ? "beforeExit never fired"
        : `${leftCount} records buffered or in flight on beforeExit`,
    )
    check(
      "undelivered records stay counted as buffered",
      atExit.buffered > 0 && atExit.inFlight === 0,
      `buffered ${atExit.buffered}, in flight ${atExit.inFlight}`,
    )
  }
  if (run.scenario.exportFormat === "json") {
    check(
      "the server accepted exactly the delivered records",
      serverAtExit.uniqueAcceptedRecords === atExit.delivered,
      `server ${serverAtExit.uniqueAcceptedRecords}, delivered ${atExit.delivered}`,
    )
  } else {
    const { exposition } = serverAtExit
    check(
      "the operations counter never went down",
      exposition.documents > 0 && exposition.decreases === 0,
      `${exposition.decreases} decreases over ${exposition.documents} accepted expositions`,
    )
    check(
      "the last exposition counts every produced record",
      exposition.lastTotal === atExit.produced,
      `dinoair_operations_total sums to ${exposition.lastTotal}, produced ${atExit.produced}`,
    )
  }
  check(
    "the server parsed every body it read",
    serverAtExit.invalidBodies === 0,
    `${serverAtExit.invalidBodies} invalid bodies`,
  )
  if (run.scenario.workMode === "faulty") {
    check(
      "the server failed some requests",
      serverAtExit.requests > serverAtExit.acceptedRequests,
      `${serverAtExit.requests - serverAtExit.acceptedRequests} of ${serverAtExit.requests} requests failed`,
    )
  }
  const peakHeap = Math.max(final.heap.peakBytes, workEnded.heap.peakBytes)
  check(
    `peak heap after GC within ${mebibytes(HEAP_BOUND_BYTES)}`,
    peakHeap <= HEAP_BOUND_BYTES,
    `${mebibytes(peakHeap)} peak over ${final.heap.samples} samples`,
  )
  check(
    "no unhandled rejections",
    final.unhandledRejections.length === 0,
    final.unhandledRejections.length === 0
      ? "none"
      : final.unhandledRejections.slice(0, 3).join(" | "),
  )

  const perSecond = workEnded.operationsPerSecond
  const failedDuringWork = run.serverAtWorkEnd.requests - run.serverAtWorkEnd.acceptedRequests
  const figures = {
    workSeconds: round(workEnded.workSeconds, 2),
    operations: workEnded.operations,
    operationsPerSecond: Math.round(workEnded.operations / workEnded.workSeconds),
    lowestOperationsPerSecond: perSecond.length === 0 ? null : Math.round(Math.min(...perSecond)),
    recordsProduced: atExit.produced,
    recordsDelivered: atExit.delivered,
    recordsDeliveredPerSecondDuringWork: Math.round(atWorkEnd.delivered / workEnded.workSeconds),
    recordsDropped: atExit.dropped,
    recordsBufferedAtExit: atExit.buffered,
    duplicateRecords: serverAtExit.duplicateRecords,
    duplicatesByFirstOutcome: serverAtExit.duplicatesAfter,
    exportRequests: serverAtExit.requests,
    exportRequestsFailed: serverAtExit.requests - serverAtExit.acceptedRequests,
    exportRequestsFailedDuringWork: failedDuringWork,
    outcomes: serverAtExit.outcomes,
    batchesDelivered: atExit.batchesDelivered,
    batchesFailedAfterRetries: atExit.batchesFailed,
    eventLoopDelayMs: {
      p50: round(workEnded.eventLoopDelayMs.p50, 1),
      p99: round(workEnded.eventLoopDelayMs.p99, 1),
      max: round(workEnded.eventLoopDelayMs.max, 1),
    },
    bufferedWhenWorkEnded: atWorkEnd.buffered + atWorkEnd.inFlight,
    leftForFinalFlush: leftCount,
    firstHeapBytes: workEnded.heap.firstBytes,
    lastHeapBytes: workEnded.heap.lastBytes,
    peakHeapBytes: peakHeap,
    heapBoundBytes: HEAP_BOUND_BYTES,
    heapSamples: final.heap.samples,
    exitMs: run.exitMs === undefined ? null : Math.round(run.exitMs),
    exitBoundMs: EXIT_BOUND_MS,
    unhandledRejections: final.unhandledRejections.length,
    logLines: final.logCounts,
  }
  return { checks, figures }
}

const equationText = (stats) =>
  `produced ${stats.produced} = delivered ${stats.delivered} + buffered ${stats.buffered} + in flight ${stats.inFlight} + dropped ${sumOf(stats.dropped)} (${dropText(stats.dropped)})`

const dropText = (dropped) =>
  Object.entries(dropped)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(", ")

const mebibytes = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

const round = (value, digits) => Number(value.toFixed(digits))

const OUTCOME_TEXT = {
  ok: "reads the body and responds with 204",
  slow: `responds with 204 after up to ${SETTINGS.server.slowMs} ms`,
  status500: "responds with 500",
  status502: "responds with 502",
  status503: "responds with 503",
  status429: `responds with 429 and a Retry-After of 0 to ${SETTINGS.server.retryAfterSeconds} s`,
  resetBeforeBody: "destroys the connection before reading the body",
  resetAfterBody: "reads the body, then destroys the connection without responding",
  hang: `reads the body and destroys the connection after ${SETTINGS.server.hangMs} ms, past the sink's timeout`,
}

const renderScenario = (result) => {
  const { scenario, figures, checks } = result
  const lines = [
    `## Scenario: ${scenario.name}`,
    "",
    `${scenario.seconds} s of work; ${scenario.summary}.`,
    "",
  ]
  if (figures !== undefined) {
    lines.push(
      "| figure | value |",
      "|---|---|",
      `| operations per second held (mean over ${figures.workSeconds} s) | ${figures.operationsPerSecond} |`,
      `| lowest operations in one second | ${figures.lowestOperationsPerSecond} |`,
      `| event loop delay p50 / p99 / max | ${figures.eventLoopDelayMs.p50} / ${figures.eventLoopDelayMs.p99} / ${figures.eventLoopDelayMs.max} ms |`,
      `| records produced | ${figures.recordsProduced} |`,
      `| records delivered | ${figures.recordsDelivered} |`,
      `| records delivered per second during the work | ${figures.recordsDeliveredPerSecondDuringWork} |`,
      ...Object.entries(figures.recordsDropped).map(
        ([reason, count]) => `| records dropped: ${reason} | ${count} |`,
      ),
      `| records still buffered at exit | ${figures.recordsBufferedAtExit} |`,
      `| records the server received twice | ${figures.duplicateRecords} |`,
      `| export requests | ${figures.exportRequests} |`,
      `| export requests that failed and were survived | ${figures.exportRequestsFailed} |`,
      `| batches delivered | ${figures.batchesDelivered} |`,
      `| batches that failed after the sink's retries | ${figures.batchesFailedAfterRetries} |`,
      `| records buffered or in flight when the work ended | ${figures.bufferedWhenWorkEnded} |`,
      `| records left for the final flush on beforeExit | ${figures.leftForFinalFlush} |`,
      `| heap used after GC, first sample (after 1 s) / when the work ended | ${mebibytes(figures.firstHeapBytes)} / ${mebibytes(figures.lastHeapBytes)} |`,
      `| peak heap used after GC | ${mebibytes(figures.peakHeapBytes)} (bound ${mebibytes(figures.heapBoundBytes)}, ${figures.heapSamples} samples) |`,
      `| exit after the work ended | ${figures.exitMs} ms (bound ${figures.exitBoundMs} ms) |`,
      `| unhandled rejections | ${figures.unhandledRejections} |`,
      "",
      "Requests by outcome:",
      "",
      "| outcome | requests |",
      "|---|---|",
      ...Object.entries(figures.outcomes).map(([name, count]) => `| ${name} | ${count} |`),
      "",
    )
  }
  lines.push(...checkTable(checks))
  return lines
}

const checkTable = (checks) => [
  "| check | result | detail |",
  "|---|---|---|",
  ...checks.map(
    (each) =>
      `| ${each.name} | ${each.passed ? "pass" : "FAIL"} | ${each.detail.replaceAll("|", "\\|")} |`,
  ),
  "",
]

const renderMarkdown = (output) => {
  const sink = SETTINGS.sinkOptions
  const lines = [
    // The front matter gives the page its title in the docs site.
    "---",
    "title: Soak test",
    "---",
    "",
    "# Soak test",
    "",
    "Generated by `pnpm soak` (`soak/run.mjs`). Do not edit this file by hand.",
    "",
    `Run: ${output.date}, Node ${output.node}, ${output.platform}, seed ${SETTINGS.seed}, ${output.totalSeconds} s in all.`,
    "The machine has 2 cores, shared with other work during the run, so the rates are a floor.",
    "",
    "## What runs",
    "",
    `A child process runs ${SETTINGS.workers} concurrent async loops of monitored operations through`,
    "`@dinoair/api`: timer waits, nested operations, synchronous work in operation scopes,",
    `and ${SETTINGS.errorRate * 100} % of them failing. Telemetry exports JSON, or Prometheus text in its own scenario, every`,
    `${SETTINGS.exportIntervalSeconds * 1000} ms through the HTTP sink (timeout ${sink.timeoutMs} ms, ${sink.maxAttempts} attempts per batch,`,
    `backoff from ${sink.initialBackoffMs} ms up to ${sink.maxBackoffMs} ms) with \`maxTotalMetrics\` ${SETTINGS.maxTotalMetrics},`,
    `\`maxMetricsPerOperation\` ${SETTINGS.maxMetricsPerOperation} and the default \`batchSize\` of 500.`,
    "The endpoint is a server on 127.0.0.1 that handles each request with an outcome drawn at",
    "random, with these weights out of 100:",
    "",
    "| outcome | weight | what the server does |",
    "|---|---|---|",
    ...Object.entries(OUTCOME_WEIGHTS).map(
      ([name, weight]) => `| ${name} | ${weight} | ${OUTCOME_TEXT[name]} |`,
    ),
    "",
    "The server counts a record as accepted only when it responded with 2xx to the request that",
    "carried it, and counts each record id once. The HTTP sink delivers at least once: when",
    "a 2xx is lost, for example with a connection reset after the server responded, it retries,",
    "and the server then receives the batch twice. The soak reports those records and checks",
    "the delivered count against the distinct ids. When the work ends, the child closes its",
    "IPC channel and calls nothing else, not even `shutdown`: it must exit on its own, and",
    "what was left must be delivered first, by the export in flight or by the final flush",
    "on `beforeExit`.",
    "",
    `The exit bound of ${EXIT_BOUND_MS} ms is one delivery's worst case (${DELIVERY_BOUND_MS} ms: every attempt`,
    `timing out, the longest waits between them) plus \`shutdownTimeoutMs\` (${SETTINGS.shutdownTimeoutMs} ms) and ${EXIT_MARGIN_MS} ms`,
    "of margin. A scheduled export does not keep the process alive, so `beforeExit` can fire",
    "while one is in flight; the final flush then waits for it and delivers what is left, all",
    "within `shutdownTimeoutMs`, so the exit usually comes well inside the bound.",
    "",
    "Records are dropped with reason `total` when the buffer is full. Exports run one at a",
    "time, so each failed request stalls delivery for its retry wait (backoff or Retry-After,",
    "up to 1 s) or its 2 s timeout, and about one request in five fails. Meanwhile the",
    "workload keeps producing records. The baseline scenario, without faults, shows what the",
    "same setup delivers when nothing fails.",
    "",
    ...output.scenarios.flatMap(renderScenario),
    "## Fault server self-check",
    "",
    "Before the scenarios, the server's own counting is checked against known requests.",
    "",
    ...checkTable(output.serverChecks),
  ]
  return `${lines.join("\n")}`
}

const printScenario = (result) => {
  console.log(`soak: scenario ${result.scenario.name}`)
  if (result.figures !== undefined) console.log(JSON.stringify(result.figures, null, 2))
  for (const each of result.checks) {
    console.log(`${each.passed ? "pass" : "FAIL"}  ${each.name}: ${each.detail}`)
  }
}

const main = async () => {
  const started = performance.now()
  const serverChecks = await checkFaultServer()
  console.log("soak: fault server self-check")
  for (const each of serverChecks) {
    console.log(`${each.passed ? "pass" : "FAIL"}  ${each.name}: ${each.detail}`)
  }

  const scenarios = []
  for (const scenario of SCENARIOS) {
    console.log(
      `soak: scenario ${scenario.name}, ${scenario.seconds} s, ${SETTINGS.workers} workers, seed ${SETTINGS.seed}, export every ${SETTINGS.exportIntervalSeconds * 1000} ms`,
    )
    const run = await runScenario(scenario)
    const result = { scenario, ...evaluate(run) }
    printScenario(result)
    scenarios.push(result)
  }

  const output = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    settings: SETTINGS,
    totalSeconds: round((performance.now() - started) / 1000, 1),
    serverChecks,
    scenarios,
  }
  const checks = [...serverChecks, ...scenarios.flatMap((each) => each.checks)]
  const failed = checks.filter((each) => !each.passed).length
  console.log(
    failed === 0
      ? `soak: all ${checks.length} checks held`
      : `soak: ${failed} of ${checks.length} checks did not hold`,
  )

  const complete = scenarios.every((each) => each.figures !== undefined)
  if (WRITE && complete) {
    writeFileSync(join(HERE, "results.json"), `${JSON.stringify(output, null, 2)}\n`)
    writeFileSync(join(HERE, "RESULTS.md"), renderMarkdown(output))
  }
  process.exitCode = failed === 0 ? 0 : 1
}

await main()
