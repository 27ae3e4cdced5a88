/**
 * DinoAir performance monitoring and telemetry: the Promise-based facade.
 *
 * It mirrors the DinoAir reference API in camelCase: `PerformanceMonitor`,
 * `TelemetryManager`, and the global functions that work on process-wide
 * instances of both. Nothing here throws from a monitoring or export call;
 * failures are logged and reported as `undefined` or `false`.
 *
 * @since 0.1.0
 * @packageDocumentation
 */

export type {
  CustomMetrics,
  DinoLogger,
  OperationMetrics,
  OperationStatus,
  OperationSummary,
  SystemInfo,
} from "@dinoair/monitor"
export {
  type AnyFunction,
  type PerformanceDecorator,
  performanceDecorator,
} from "./decorator.js"
export {
  ConfigError,
  DinoAirError,
  ExportError,
  type TaggedDinoAirError,
  toError,
} from "./errors.js"
export {
  configurePerformance,
  configureTelemetry,
  disablePerformanceMonitoring,
  disableTelemetry,
  enablePerformanceMonitoring,
  enableTelemetry,
  exportTelemetry,
  getMetricsCount,
  getPerformanceMonitor,
  getTelemetryManager,
  monitorPerformance,
  resetGlobals,
  setLogger,
} from "./global.js"
export { PerformanceMonitor, type PerformanceOptions } from "./PerformanceMonitor.js"
export { registerPlugin } from "./plugins.js"
export { TelemetryManager, type TelemetryOptions } from "./TelemetryManager.js"
export * as Testing from "./Testing.js"
