/**
 * Operation monitoring for DinoAir: the Monitor service, the bounded store
 * of records, the tracer that records Effect spans as operations, and the
 * configuration and logging they share.
 *
 * @since 0.1.0
 * @packageDocumentation
 */
export * as BoundedStore from "./BoundedStore.js"
export * as Config from "./Config.js"
export type { DinoLogger } from "./Logging.js"
export * as Logging from "./Logging.js"
export * as Monitor from "./Monitor.js"
export * as MonitorError from "./MonitorError.js"
export * as MonitorTracer from "./MonitorTracer.js"
export * as OperationBus from "./OperationBus.js"
export type {
  CustomMetrics,
  OperationMetrics,
  OperationStatus,
  SystemInfo,
} from "./OperationMetrics.js"
export * as Operation from "./OperationMetrics.js"
export * as PerformanceConfig from "./PerformanceConfig.js"
export * as Resources from "./Resources.js"
export type { OperationSummary } from "./Summary.js"
export * as Summary from "./Summary.js"
