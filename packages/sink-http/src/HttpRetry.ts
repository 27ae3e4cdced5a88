/**
 * The retry policy of the HTTP sink, as an Effect `Schedule`.
 *
 * Each failed attempt is stepped into the schedule as an `AttemptFailure`.
 * The schedule decides whether another attempt runs and how long to wait
 * before it:
 *
 * - Only transient failures are retried: network errors, timeouts, 429 and
 *   5xx. Any other failure ends the retries at once.
 * - At most `maxAttempts` attempts run in all, the first one included.
 * - The backoff before retry `n` is `initialBackoffMs * 2^(n-1)`, capped at
 *   `maxBackoffMs`, then scaled by a random factor between 0.8 and 1.2
 *   (`Schedule.jittered`), so clients that failed together do not retry
 *   together. Delays are rounded up to whole milliseconds.
 * - A `Retry-After` from the server is honoured: the wait is the longer of
 *   the backoff and the server's delay. A server delay above
 *   `maxRetryAfterMs` ends the retries instead, because retrying sooner
 *   than the server asked would only fail again.
 *
 * The schedule sleeps through Effect's `Clock`, so `TestClock` drives it in
 * tests.
 *
 * @since 0.1.0
 * @module
 */
import type { SinkError } from "@dinoair/telemetry"
import { Duration, Effect, Schedule } from "effect"

/**
 * Bounds of the retry schedule.
 *
 * @since 0.1.0
 */
export interface RetryPolicy {
  /** Attempts in all, the first one included. 1 turns retries off. */
  readonly maxAttempts: number
  /** Backoff before the first retry, in milliseconds. */
  readonly initialBackoffMs: number
  /** Cap on the exponential backoff before jitter, in milliseconds. */
  readonly maxBackoffMs: number
  /** Longest `Retry-After` delay that is waited for, in milliseconds. */
  readonly maxRetryAfterMs: number
}

/**
 * One failed attempt, the input of the retry schedule.
 *
 * @since 0.1.0
 */
export interface AttemptFailure {
  /** The error that the delivery fails with when no further attempt runs. */
  readonly error: SinkError.SinkError
  /** Whether a later attempt may succeed: network errors, timeouts, 429 and 5xx. */
  readonly transient: boolean
  /** The delay that the server asked for in `Retry-After`, in milliseconds, if any. */
  readonly retryAfterMs: number | undefined
}

/**
 * Creates the retry schedule for `policy`. Its output is the delay before
 * the next attempt.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HttpRetry } from "@dinoair/sink-http"
 *
 * const retried = attempt.pipe(
 *   Effect.retry(
 *     HttpRetry.schedule({
 *       maxAttempts: 5,
 *       initialBackoffMs: 500,
 *       maxBackoffMs: 30_000,
 *       maxRetryAfterMs: 60_000,
 *     }),
 *   ),
 * )
 * ```
 *
 * @since 0.1.0
 */
export const schedule = (
  policy: RetryPolicy,
): Schedule.Schedule<Duration.Duration, AttemptFailure> =>
  Schedule.exponential(Duration.millis(policy.initialBackoffMs), 2).pipe(
    Schedule.modifyDelay(({ duration }) =>
      Effect.succeed(Duration.min(duration, Duration.millis(policy.maxBackoffMs))),
    ),
    Schedule.jittered,
    Schedule.setInputType<AttemptFailure>(),
    // `attempt` counts the failures stepped in so far, so retry number `attempt` is attempt `attempt + 1`.
    Schedule.while(
      ({ input, attempt }) => attempt < policy.maxAttempts && shouldRetry(input, policy),
    ),
    Schedule.modifyDelay(({ duration, input }) => {
      // Whole milliseconds, so that logs show the delay exactly as it is waited.
      const backoffMs = Math.ceil(Duration.toMillis(duration))
      return Effect.succeed(Duration.millis(Math.max(backoffMs, input.retryAfterMs ?? 0)))
    }),
  )

/**
 * Whether a status is worth retrying: 429 Too Many Requests and every 5xx.
 *
 * @since 0.1.0
 */
export const isTransientStatus = (status: number): boolean => status === 429 || status >= 500

/**
 * Parses a `Retry-After` header value into a delay in milliseconds.
 *
 * The value is either a whole number of seconds or an HTTP date, which is
 * measured from `nowMillis`. A date in the past gives 0. A missing or
 * malformed value gives `undefined`, and the backoff applies alone.
 *
 * @since 0.1.0
 */
export const parseRetryAfter = (
  value: string | undefined,
  nowMillis: number,
): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()

  if (/^\d+$/.test(text)) {
    const seconds = Number(text)
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined
  }

  // Date.parse also takes forms that are not HTTP dates (a bare "2"), so a
  // date must at least name its weekday and month as the IMF-fixdate, RFC 850
  // and asctime forms all do.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - nowMillis)
}

const shouldRetry = (failure: AttemptFailure, policy: RetryPolicy): boolean =>
  failure.transient &&
  (failure.retryAfterMs === undefined || failure.retryAfterMs <= policy.maxRetryAfterMs)
