/**
 * The Scheduler service: runs a task every interval on a fiber of its own.
 *
 * Under the live clock it sleeps on an unref'd Node timer, so a scheduled
 * export never keeps the process alive on its own. Node fires a timer
 * longer than 2^31 − 1 ms (about 24.8 days) after 1 ms instead, so a longer
 * interval is slept as a chain of timers of at most that length. Under
 * Effect's `TestClock` it sleeps on the test clock, so tests advance time
 * with `TestClock.adjust` and no real time passes.
 *
 * @since 0.1.0
 * @module
 */
import { Clock, Context, Duration, Effect, Fiber, Layer, type Scope } from "effect"

/**
 * A periodic task that can be started, restarted and stopped.
 *
 * @since 0.1.0
 */
export interface SchedulerShape {
  /**
   * Runs `task` every `intervalSeconds`, the first time one interval from
   * now. An interval below `MIN_INTERVAL_SECONDS`, or `NaN`, runs every
   * `MIN_INTERVAL_SECONDS`. Starting again replaces the previous schedule.
   * The task's failures and defects are caught, so the loop never dies.
   */
  start(intervalSeconds: number, task: Effect.Effect<unknown, unknown>): Effect.Effect<void>
  /** Stops the schedule. A task that is running is interrupted. */
  readonly stop: Effect.Effect<void>
  /** Whether a schedule is running. */
  readonly running: boolean
}

/**
 * The minimum interval of a schedule, in seconds: 0.01 (10 ms).
 *
 * @since 0.1.0
 */
export const MIN_INTERVAL_SECONDS = 0.01

/**
 * The Scheduler service.
 *
 * @since 0.1.0
 */
export class Scheduler extends Context.Service<Scheduler, SchedulerShape>()(
  "@dinoair/telemetry/Scheduler",
) {}

/**
 * Creates a scheduler without a scope. Call its `stop` when done. Under
 * the live clock its timer never keeps the process alive on its own.
 *
 * @since 0.1.0
 */
export const makeUnsafe = (): SchedulerShape => {
  let fiber: Fiber.Fiber<unknown, unknown> | undefined

  const stop = Effect.suspend(() => {
    const current = fiber
    fiber = undefined
    return current === undefined ? Effect.void : Fiber.interrupt(current)
  })

  return {
    get running() {
      return fiber !== undefined
    },
    stop,
    start: (intervalSeconds, task) =>
      Effect.gen(function* () {
        yield* stop
        const clock = yield* Clock.Clock
        const seconds = Number.isNaN(intervalSeconds)
          ? MIN_INTERVAL_SECONDS
          : Math.max(intervalSeconds, MIN_INTERVAL_SECONDS)
        const interval = Duration.seconds(seconds)
        const sleep = isTestClock(clock) ? clock.sleep(interval) : unrefSleep(interval)
        const loop = Effect.forever(
          Effect.andThen(sleep, Effect.ignore(Effect.catchCause(task, () => Effect.void))),
        )
        fiber = yield* Effect.forkDetach(loop)
      }),
  }
}

/**
 * Creates a scheduler that stops when the scope closes.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<SchedulerShape, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(makeUnsafe),
  (scheduler) => scheduler.stop,
)

/**
 * A layer with a fresh scheduler that stops when the layer's scope closes.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { JsonExporter } from "@dinoair/exporter-json"
 * import { Scheduler, Sink, Telemetry } from "@dinoair/telemetry"
 *
 * const TelemetryLive = Telemetry.layer({ enabled: true, exportIntervalSeconds: 30 }).pipe(
 *   Layer.provide(Layer.mergeAll(JsonExporter.layer(), Sink.layerConsole(), Scheduler.layer)),
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Scheduler> = Layer.effect(Scheduler, make)

/**
 * A scheduler that never runs its task: `start` and `stop` do nothing, and
 * `running` stays `false`. Exports then happen only on request.
 *
 * @since 0.1.0
 */
export const noop: SchedulerShape = {
  running: false,
  stop: Effect.void,
  start: () => Effect.void,
}

/**
 * A layer with the scheduler that never runs its task, for managers that
 * export only on `forceExport`, `flush` or `shutdown`.
 *
 * @since 0.1.0
 */
export const layerNoop: Layer.Layer<Scheduler> = Layer.succeed(Scheduler, noop)

/** Whether `clock` is Effect's `TestClock`, which tests drive by hand. */
export const isTestClock = (clock: Clock.Clock): boolean => "adjust" in clock && "setTime" in clock

/**
 * Returns a clock that reads the time from `clock` and sleeps on timers that
 * do not keep the event loop alive, for work that must not hold the process
 * open. A `TestClock` is returned as it is.
 *
 * @since 0.1.0
 */
export const unreferencedClock = (clock: Clock.Clock): Clock.Clock => {
  if (isTestClock(clock)) return clock
  const wrapped: Clock.Clock = Object.create(clock)
  return Object.assign(wrapped, { sleep: unrefSleep })
}

/** The maximum delay of Node's `setTimeout`, in milliseconds; a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Sleeps on Node timers that do not keep the event loop alive, chaining
 * timers of at most `MAX_TIMER_MS` until the whole duration has passed.
 * An infinite duration never ends.
 */
const unrefSleep = (duration: Duration.Duration): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    let remainingMs = Duration.toMillis(duration)
    let timer: ReturnType<typeof setTimeout> | undefined

    const arm = (): void => {
      const stepMs = Math.min(remainingMs, MAX_TIMER_MS)
      remainingMs -= stepMs
      timer = setTimeout(() => (remainingMs > 0 ? arm() : resume(Effect.void)), stepMs)
      timer.unref()
    }

    arm()
    return Effect.sync(() => clearTimeout(timer))
  })
