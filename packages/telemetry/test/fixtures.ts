/**
 * Test fixtures: records, a capturing logger and exporter, and a telemetry
 * manager wired to a private source and an injected clock.
 */
import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import { Effect } from "effect"
import { expect } from "vitest"
import { type Exporter, Sink, Telemetry } from "../src/index.js"

/** Unix time in seconds that every fixture clock starts at. */
export const START_SECONDS = 1_700_000_000

let sequence = 0

/** Builds an ended operation named `operation`, stamped `START_SECONDS` unless `fields` sets another time. */
export const record = (
  operation: string,
  fields: Partial<OperationMetrics> = {},
): OperationMetrics => {
  sequence++
  return {
    id: `${operation}-${sequence}`,
    operation,
    duration: 0.01,
    timestamp: START_SECONDS,
    memoryUsage: undefined,
    memoryDelta: undefined,
    cpuUsage: undefined,
    status: "ok",
    error: undefined,
    customMetrics: {},
    parentId: undefined,
    systemInfo: undefined,
    ...fields,
  }
}

/** One logged line. */
export interface LogEntry {
  readonly level: keyof DinoLogger
  readonly message: string
}

/** A logger that keeps every line. */
export interface CapturingLogger extends DinoLogger {
  readonly entries: Array<LogEntry>
  /** Messages logged at `level`. */
  at(level: keyof DinoLogger): Array<string>
}

export const makeLogger = (): CapturingLogger => {
  const entries: Array<LogEntry> = []
  const log =
    (level: keyof DinoLogger) =>
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
  }
}

/** One call of a capturing exporter's `encode`. */
export interface EncodeCall {
  readonly records: ReadonlyArray<OperationMetrics>
  readonly context: Exporter.ExportContext
}

/** An exporter that writes one record id per line and keeps what it was given. */
export interface CapturingExporter extends Exporter.ExporterShape {
  readonly calls: Array<EncodeCall>
}

export const makeExporter = (): CapturingExporter => {
  const calls: Array<EncodeCall> = []
  return {
    format: "lines",
    contentType: "text/plain",
    fileExtension: "txt",
    calls,
    encode: (records, context) => {
      calls.push({ records, context })
      return {
        contentType: "text/plain",
        fileExtension: "txt",
        fileMode: "append",
        header: "BEGIN\n",
        body: records.map((each) => `${each.id}\n`).join(""),
        footer: "END\n",
        separator: "",
        recordCount: records.length,
      }
    },
  }
}

/** A clock that tests move by hand. */
export interface ManualClock {
  seconds: number
  readonly now: () => number
}

export const makeClock = (): ManualClock => {
  const clock: ManualClock = {
    seconds: START_SECONDS,
    now: () => clock.seconds,
  }
  return clock
}

/** A telemetry manager with everything a test needs to drive and observe it. */
export interface Harness {
  readonly telemetry: Telemetry.TelemetryInstance
  readonly exporter: CapturingExporter
  readonly sink: Sink.MemorySink
  readonly logger: CapturingLogger
  readonly clock: ManualClock
  /** Sends a record to the subscribed listener, as a monitor would; does nothing when unsubscribed. */
  emit(record: OperationMetrics): void
  /** Whether the manager is subscribed to the private source. */
  readonly subscribed: boolean
}

/**
 * Creates a manager that collects only from its own private source, with a
 * memory sink, a capturing exporter and logger, and a manual clock. The final
 * flush on `beforeExit` is off unless `options` turns it on.
 */
export const makeHarness = (
  options: Telemetry.TelemetryOptions = {},
  pipeline: Partial<Telemetry.Pipeline> = {},
): Harness => {
  const exporter = makeExporter()
  const sink = Sink.makeMemory()
  const logger = makeLogger()
  const clock = makeClock()
  let listener: ((record: OperationMetrics) => void) | undefined

  const telemetry = Telemetry.makeUnsafe(
    {
      flushOnExit: false,
      logger,
      nowSeconds: clock.now,
      sourceName: "test-source",
      source: (each) => {
        listener = each
        return () => {
          listener = undefined
        }
      },
      ...options,
    },
    { exporter: pipeline.exporter ?? exporter, sink: pipeline.sink ?? sink },
  )

  return {
    telemetry,
    exporter,
    sink,
    logger,
    clock,
    emit: (each) => listener?.(each),
    get subscribed() {
      return listener !== undefined
    },
  }
}

/** Sum of every drop reason. */
export const droppedTotal = (stats: Telemetry.TelemetryStats): number =>
  Object.values(stats.dropped).reduce((sum, count) => sum + count, 0)

/** Asserts produced = delivered + buffered + inFlight + sum(dropped). */
export const expectReconciled = (telemetry: Telemetry.TelemetryInstance): void => {
  const stats = telemetry.stats
  expect(stats.delivered + stats.buffered + stats.inFlight + droppedTotal(stats)).toBe(
    stats.produced,
  )
}

/** Ids of the records in each delivered payload, in delivery order. */
export const deliveredIds = (sink: Sink.MemorySink): Array<string> =>
  sink.payloads.flatMap((payload) => payload.body.split("\n").filter((line) => line !== ""))

/** Runs `telemetry.forceExport` and returns its result. */
export const forceExport = (telemetry: Telemetry.TelemetryInstance): Promise<boolean> =>
  Effect.runPromise(telemetry.forceExport)

/** Lets pending timers, I/O callbacks and fibers run once; no time has to pass. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
