/**
 * `performanceDecorator`: a standard method decorator that is also a
 * wrapper for plain functions.
 *
 * @since 0.1.0
 */
import type { CustomMetrics } from "@dinoair/monitor"
import { getPerformanceMonitor } from "./global.js"

/**
 * Any function or method, whatever its `this`, parameters and result: what
 * `performanceDecorator` accepts.
 *
 * @since 0.1.0
 */
// biome-ignore lint/suspicious/noExplicitAny: a decorator must accept any method signature.
export type AnyFunction = (this: any, ...args: Array<any>) => any

/**
 * Something that decorates a class method or wraps a function, keeping its
 * type.
 *
 * @since 0.1.0
 */
export interface PerformanceDecorator {
  <F extends AnyFunction>(method: F, context: ClassMethodDecoratorContext): F
  <F extends AnyFunction>(fn: F): F
}

/**
 * Monitors every call of a method or function with the process-wide
 * monitor. `this`, the arguments and the return value pass through; an
 * async function is timed until its promise settles.
 *
 * Details: without `name`, a method is named after itself and a function
 * after its `name` (or `anonymous`).
 *
 * @example
 * ```ts
 * import { performanceDecorator } from "@dinoair/api"
 *
 * class Calculator {
 *   @performanceDecorator("expensive_calculation")
 *   calculate(data: Array<number>): number {
 *     return data.reduce((sum, value) => sum + value, 0)
 *   }
 * }
 *
 * const parse = performanceDecorator()(function parseConfig(text: string) {
 *   return JSON.parse(text)
 * })
 * ```
 *
 * @since 0.1.0
 */
export const performanceDecorator = (
  name?: string,
  metadata?: CustomMetrics,
): PerformanceDecorator =>
  ((target: AnyFunction, context?: ClassMethodDecoratorContext): AnyFunction => {
    if (typeof target !== "function") return target
    const operation =
      name ?? (context === undefined ? target.name || "anonymous" : String(context.name))

    return function monitored(this: unknown, ...args: Array<unknown>) {
      return getPerformanceMonitor().monitorOperation(
        operation,
        () => target.apply(this, args),
        metadata,
      )
    }
  }) as PerformanceDecorator
