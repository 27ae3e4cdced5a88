/**
 * A testing kit for plain tests of code that uses the facade: a destination
 * that keeps payloads in memory, a snapshot of the process-wide monitor and
 * telemetry manager, and a reset of all process-wide state between tests.
 *
 * Effect code uses the `Testing` module of `@dinoair/telemetry` instead,
 * which provides the same memory sink and snapshot as layers.
 *
 * @example
 * ```ts
 * import { afterEach, expect, it } from "vitest"
 * import { enableTelemetry, exportTelemetry, monitorPerformance, Testing } from "@dinoair/api"
 *
 * afterEach(() => Testing.reset())
 *
 * it("exports the checkout operation", async () => {
 *   const sink = Testing.installMemorySink()
 *   await enableTelemetry({ exportDestination: Testing.MEMORY_DESTINATION })
 *
 *   monitorPerformance("checkout", () => 42)
 *   expect(Testing.snapshot().summaries.checkout?.count).toBe(1)
 *
 *   await exportTelemetry()
 *   expect(sink.documents()).toHaveLength(1)
 * })
 * ```
 *
 * @since 0.1.0
 * @module
 */
import { Logging } from "@dinoair/monitor"
import { Sink, Testing as TelemetryTesting } from "@dinoair/telemetry"
import { peekGlobals, resetGlobals } from "./global.js"
import { clearRegisteredPlugins, registerPlugin } from "./plugins.js"

/**
 * The contents of the process-wide monitor, telemetry manager and memory
 * sink at one moment. Every array is a fresh copy.
 *
 * @since 0.1.0
 */
export type Snapshot = TelemetryTesting.Snapshot

/**
 * The `exportDestination` under which `installMemorySink` registers its sink.
 *
 * @since 0.1.0
 */
export const MEMORY_DESTINATION = "memory"

let memorySink: Sink.MemorySink | undefined

/**
 * Registers a sink that keeps payloads in memory under the destination
 * `memory`, and returns it. A telemetry manager configured with
 * `exportDestination: "memory"` delivers to it. Each call replaces the
 * previous memory sink.
 *
 * Details: set the sink's `failWith` to a `SinkError` to make deliveries
 * fail, for example to test what a program does when the collector is down.
 *
 * @since 0.1.0
 */
export const installMemorySink = (): Sink.MemorySink => {
  const sink = Sink.makeMemory()
  memorySink = sink
  registerPlugin({ kind: "sink", destination: MEMORY_DESTINATION, make: () => sink })
  return sink
}

/**
 * Reads what the process-wide monitor, the process-wide telemetry manager
 * and the installed memory sink hold. Neither singleton is created by it: a
 * missing one leaves its fields empty.
 *
 * @since 0.1.0
 */
export const snapshot = (): Snapshot => {
  const { monitor, telemetry } = peekGlobals()
  return TelemetryTesting.snapshotOf({
    monitor: monitor?.instance,
    telemetry: telemetry?.instance,
    sink: memorySink,
  })
}

/**
 * Resets all process-wide DinoAir state: the telemetry manager drops its
 * buffer without exporting it and shuts down, both singletons are
 * forgotten, registered plugins and the memory sink are removed, and the
 * logger is `console` again.
 *
 * Gotchas: monitors and managers that a test created itself with `new` are
 * not process-wide. Shut them down in the test.
 *
 * @since 0.1.0
 */
export const reset = async (): Promise<void> => {
  // Dropping the buffer first keeps the shutdown's final flush from writing a file.
  peekGlobals().telemetry?.clearMetrics()
  await resetGlobals()
  clearRegisteredPlugins()
  memorySink = undefined
  Logging.setProcessLogger(Logging.consoleLogger)
}
