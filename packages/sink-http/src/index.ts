/**
 * The HTTP sink for DinoAir telemetry, on undici: requests with retries on a
 * capped, jittered exponential schedule, kept-alive connections, and logs
 * without credentials.
 *
 * @since 0.1.0
 * @packageDocumentation
 */

export * as HttpRetry from "./HttpRetry.js"
export type { HttpSinkLogger, HttpSinkOptions } from "./HttpSink.js"
export * as HttpSink from "./HttpSink.js"
export { plugin } from "./HttpSink.js"
export * as Redaction from "./Redaction.js"
