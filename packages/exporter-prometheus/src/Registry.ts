/**
 * The cumulative state behind the Prometheus counters and histograms: how
 * many operations ended, by operation and status, the distribution of their
 * durations, and the latest record of each operation.
 *
 * Prometheus expects a counter to grow for the life of the process, and
 * reads a drop as a restart. An exporter gets only the records of one
 * batch, and must not change state while encoding, so the running totals
 * live here instead. A registry counts each record it is given through
 * `observe`: subscribe it once to the records as they end, with
 * `monitor.subscribe(registry.observe)` for one monitor or
 * `OperationBus.subscribeAll(registry.observe)` for every monitor in the
 * process. The exporter and the pull handler read it through
 * `snapshot` and never change it.
 *
 * Bounds: at most `maxOperations` distinct operation names get their own
 * series. Records of later new names are counted under the operation
 * `dinoair_overflow`, the bucket name that the monitor also uses, which
 * takes no slot. `overflowedRecords` counts them. Nothing is ever removed,
 * so a counter never goes down while the registry lives.
 *
 * @example
 * ```ts
 * import { Monitor } from "@dinoair/monitor"
 * import { Registry } from "@dinoair/exporter-prometheus"
 *
 * const monitor = Monitor.makeUnsafe()
 * const registry = Registry.make({ buckets: [0.01, 0.1, 1] })
 * const unsubscribe = monitor.subscribe(registry.observe)
 * ```
 *
 * @since 0.1.0
 * @module
 */
import type { OperationMetrics } from "@dinoair/monitor"
import { compareStrings, isAtLeastAsRecent } from "./internal/order.js"
import { toWellFormed } from "./Names.js"

/**
 * Options of a registry.
 *
 * @since 0.1.0
 */
export interface RegistryOptions {
  /**
   * Upper bounds of the duration histogram's buckets, in seconds: finite,
   * at least 0 and strictly increasing. The `+Inf` bucket is always added.
   * Default `DEFAULT_BUCKETS`.
   */
  readonly buckets?: ReadonlyArray<number> | undefined
  /** Distinct operation names that get their own series. Default 1000. */
  readonly maxOperations?: number | undefined
}

/**
 * prom-client's default histogram buckets, in seconds.
 *
 * @since 0.1.0
 */
export const DEFAULT_BUCKETS: ReadonlyArray<number> = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

/**
 * The default of `maxOperations`: distinct operation names with series of their own.
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_OPERATIONS = 1000

/**
 * The operation label of records past `maxOperations`. It is the same
 * string as the monitor's overflow bucket.
 *
 * @since 0.1.0
 */
export const OVERFLOW_OPERATION = "dinoair_overflow"

/**
 * The totals of one operation at the time of a snapshot.
 *
 * @since 0.1.0
 */
export interface OperationTotals {
  /** The operation label value, well-formed UTF-16. */
  readonly operation: string
  /** Ended operations by status, sorted by status. */
  readonly statuses: ReadonlyArray<readonly [status: string, count: number]>
  /**
   * Observations per bucket, not cumulative: entry `i` counts durations
   * above bound `i - 1` and at most bound `i`, and the last entry counts
   * those above the highest bound.
   */
  readonly bucketCounts: ReadonlyArray<number>
  /** The sum of observed durations, in seconds. */
  readonly sum: number
  /** The number of observed durations. */
  readonly count: number
  /** The record with the greatest timestamp seen for this operation. */
  readonly latest: OperationMetrics
}

/**
 * An immutable copy of a registry's state.
 *
 * @since 0.1.0
 */
export interface RegistrySnapshot {
  /** The bucket bounds, in seconds, without `+Inf`. */
  readonly buckets: ReadonlyArray<number>
  /** One entry per operation, sorted by operation. */
  readonly operations: ReadonlyArray<OperationTotals>
  /** Records counted under `OVERFLOW_OPERATION` because of `maxOperations`. */
  readonly overflowedRecords: number
}

/**
 * A registry of cumulative operation totals. Build one with `make`.
 *
 * @since 0.1.0
 */
export class Registry {
  /** Validated upper bounds of the duration histogram's buckets in seconds, without `+Inf`. */
  readonly buckets: ReadonlyArray<number>
  /** Maximum number of distinct operation names with series of their own. */
  readonly maxOperations: number
  readonly #operations = new Map<string, MutableTotals>()
  #overflowedRecords = 0

  constructor(options: RegistryOptions = {}) {
    // Options may come from an untyped configuration, where `null` stands for none.
    const given: RegistryOptions = typeof options === "object" && options !== null ? options : {}
    this.buckets = validateBuckets(given.buckets ?? DEFAULT_BUCKETS)
    this.maxOperations = validateMaxOperations(given.maxOperations ?? DEFAULT_MAX_OPERATIONS)
  }

  /**
   * Counts one ended operation. It is bound, so it can be passed as a
   * listener. It runs on the monitor's hot path, so it only scans the name
   * for lone surrogates, looks it up in a map, adds to a few totals and
   * runs a binary search over the buckets.
   *
   * Details: the status counter always counts the record. The histogram
   * observes its duration only when that is a finite number of at least 0.
   */
  readonly observe = (record: OperationMetrics): void => {
    const totals = this.#totalsFor(toWellFormed(String(record.operation)), record)
    const status = toWellFormed(String(record.status))
    totals.statuses.set(status, (totals.statuses.get(status) ?? 0) + 1)

    const duration = record.duration
    if (typeof duration === "number" && Number.isFinite(duration) && duration >= 0) {
      const index = bucketIndex(this.buckets, duration)
      totals.bucketCounts[index] = (totals.bucketCounts[index] ?? 0) + 1
      totals.sum += duration
      totals.count++
    }

    if (isAtLeastAsRecent(record, totals.latest)) totals.latest = record
  }

  /** Counts several records, in order. */
  observeAll(records: Iterable<OperationMetrics>): void {
    for (const record of records) this.observe(record)
  }

  /** Records counted under `OVERFLOW_OPERATION` because of `maxOperations`. */
  get overflowedRecords(): number {
    return this.#overflowedRecords
  }

  /** Copies the current state. Later observations do not change the copy. */
  snapshot(): RegistrySnapshot {
    const operations = [...this.#operations.entries()]
      .sort(([left], [right]) => compareStrings(left, right))
      .map(
        ([operation, totals]): OperationTotals => ({
          operation,
          statuses: [...totals.statuses.entries()].sort(([left], [right]) =>
            compareStrings(left, right),
          ),
          bucketCounts: [...totals.bucketCounts],
          sum: totals.sum,
          count: totals.count,
          latest: totals.latest,
        }),
      )

    return {
      buckets: this.buckets,
      operations,
      overflowedRecords: this.#overflowedRecords,
    }
  }

  #totalsFor(operation: string, record: OperationMetrics): MutableTotals {
    const known = this.#operations.get(operation)
    if (known !== undefined) return known

    const named = this.#operations.has(OVERFLOW_OPERATION)
      ? this.#operations.size - 1
      : this.#operations.size
    if (operation !== OVERFLOW_OPERATION && named >= this.maxOperations) {
      this.#overflowedRecords++
      return this.#totalsFor(OVERFLOW_OPERATION, record)
    }

    const created: MutableTotals = {
      statuses: new Map(),
      bucketCounts: new Array<number>(this.buckets.length + 1).fill(0),
      sum: 0,
      count: 0,
      latest: record,
    }
    this.#operations.set(operation, created)
    return created
  }
}

/**
 * Creates a registry.
 *
 * @throws TypeError when `buckets` are not finite, at least 0 and strictly
 *   increasing, or `maxOperations` is not a whole number of at least 1.
 *
 * @since 0.1.0
 */
export const make = (options: RegistryOptions = {}): Registry => new Registry(options)

/**
 * Checks that a value has a registry's `observe` and `snapshot`, which also
 * holds for a registry made by another copy of this package.
 *
 * @since 0.1.0
 */
export const isRegistry = (value: unknown): value is Registry =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { observe?: unknown }).observe === "function" &&
  typeof (value as { snapshot?: unknown }).snapshot === "function"

/**
 * Checks histogram bucket bounds and returns a frozen copy.
 *
 * @throws TypeError naming the first invalid bound.
 *
 * @since 0.1.0
 */
export const validateBuckets = (buckets: unknown): ReadonlyArray<number> => {
  if (!Array.isArray(buckets)) {
    throw new TypeError(
      `buckets must be an array of upper bounds in seconds, got ${describe(buckets)}`,
    )
  }

  const copy: Array<number> = []
  for (const [index, bound] of buckets.entries()) {
    if (typeof bound !== "number" || !Number.isFinite(bound) || bound < 0) {
      throw new TypeError(
        `buckets[${index}] must be a finite number of seconds, at least 0, got ${describe(bound)}; the +Inf bucket is always added`,
      )
    }
    const previous = copy[copy.length - 1]
    if (previous !== undefined && bound <= previous) {
      throw new TypeError(
        `buckets must be strictly increasing, but buckets[${index}] = ${bound} follows ${previous}`,
      )
    }
    copy.push(bound === 0 ? 0 : bound)
  }
  return Object.freeze(copy)
}

interface MutableTotals {
  readonly statuses: Map<string, number>
  readonly bucketCounts: Array<number>
  sum: number
  count: number
  latest: OperationMetrics
}

const validateMaxOperations = (value: unknown): number => {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new TypeError(
      `maxOperations must be a whole number of at least 1, got ${describe(value)}`,
    )
  }
  return value
}

/** Finds the first bucket whose bound is at least `value`, or the `+Inf` bucket, by binary search. */
const bucketIndex = (bounds: ReadonlyArray<number>, value: number): number => {
  let low = 0
  let high = bounds.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if ((bounds[middle] as number) < value) low = middle + 1
    else high = middle
  }
  return low
}

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (Array.isArray(value)) return "an array"
  // String() throws for an object without a prototype or with a throwing toString.
  if (typeof value === "object" && value !== null) return "an object"
  if (typeof value === "function") return "a function"
  return String(value)
}
