/**
 * The process-wide channel on which every monitor publishes ended
 * operations, so that a telemetry manager collects from all monitors in the
 * process, as the reference API's examples assume.
 *
 * The bus lives on `globalThis` under a registered symbol, so that two
 * copies of this package in one process still share it.
 *
 * @since 0.1.0
 * @module
 */
import type { OperationMetrics } from "./OperationMetrics.js"

/**
 * Receives each ended operation. It runs synchronously on the hot path, so
 * it must be cheap; what it throws is caught and counted.
 *
 * @since 0.1.0
 */
export type OperationListener = (record: OperationMetrics) => void

interface Bus {
  listeners: ReadonlyArray<OperationListener>
  listenerErrors: number
}

const BUS_KEY = Symbol.for("@dinoair/monitor/OperationBus")

const bus = (): Bus => {
  const holder = globalThis as { [BUS_KEY]?: Bus }
  holder[BUS_KEY] ??= { listeners: [], listenerErrors: 0 }
  return holder[BUS_KEY]
}

/**
 * Adds a listener for every monitor in the process, and returns the
 * function that removes it.
 *
 * @since 0.1.0
 */
export const subscribeAll = (listener: OperationListener): (() => void) => {
  const shared = bus()
  // Copy on write, so that a publish in progress keeps its own array.
  shared.listeners = [...shared.listeners, listener]
  return () => {
    shared.listeners = shared.listeners.filter((each) => each !== listener)
  }
}

/**
 * Sends a record to a list of listeners, catching and counting what they throw.
 *
 * @since 0.1.0
 */
export const publishTo = (
  listeners: ReadonlyArray<OperationListener>,
  record: OperationMetrics,
): void => {
  for (let i = 0; i < listeners.length; i++) {
    try {
      ;(listeners[i] as OperationListener)(record)
    } catch {
      bus().listenerErrors++
    }
  }
}

/**
 * Sends a record to every process-wide listener.
 *
 * @since 0.1.0
 */
export const publishAll = (record: OperationMetrics): void => {
  const { listeners } = bus()
  if (listeners.length > 0) publishTo(listeners, record)
}

/**
 * How many times a listener threw since the process started.
 *
 * @since 0.1.0
 */
export const listenerErrorCount = (): number => bus().listenerErrors
