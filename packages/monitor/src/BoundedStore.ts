/**
 * Records kept in memory under hard bounds.
 *
 * A store keeps one ring per operation name and enforces four bounds, each
 * with a documented drop policy and an exact count of what it dropped:
 *
 * | bound | when it is exceeded | drop reason |
 * |---|---|---|
 * | `maxPerOperation` | the oldest record of that operation is dropped | `perOperation` |
 * | `maxTotal` | the oldest record of the operation holding the most records is dropped | `total` |
 * | `retentionSeconds` | records older than this, by their `timestamp`, are dropped | `retention` |
 * | `maxOperations` | records of further names go to the `overflowOperation` bucket | (nothing dropped) |
 *
 * `clear` drops records on request and counts them as `cleared`, so that
 * added = stored + taken + dropped is true at all times.
 *
 * The `BoundedStore` class is the data structure, which the monitor and the
 * telemetry buffer each own. `RecordStore` is the service that gives Effect
 * code a store of `OperationMetrics` of its own, with `make` and `layer`.
 * Its retention reads Effect's `Clock`, so under `TestClock` it follows the
 * test clock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedStore } from "@dinoair/monitor"
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* BoundedStore.RecordStore
 *   return store.counts()
 * })
 * Effect.runPromise(program.pipe(Effect.provide(BoundedStore.layer({ maxPerOperation: 100 }))))
 * ```
 *
 * @since 0.1.0
 * @module
 */
import { Clock, Context, Effect, Layer } from "effect"
import { RecordColumns } from "./internal/RecordColumns.js"
import type { OperationMetrics } from "./OperationMetrics.js"
import { Ring } from "./Ring.js"

/**
 * The records of one operation name, oldest first: the queue a store keeps
 * per name. The store enforces every bound, so a queue only stores.
 *
 * @since 0.1.0
 */
export interface RecordQueue<R> {
  /** The operation name of the bucket. */
  readonly name: string
  /** Records stored now. */
  readonly size: number
  /** Appends a record as the newest. */
  push(record: R): void
  /** Inserts a record as the oldest. */
  unshift(record: R): void
  /** Removes and returns the oldest record. */
  shift(): R | undefined
  /** Removes the oldest record without returning it. */
  dropFirst(): void
  /** The timestamp of the oldest record, or `undefined` when empty. */
  firstTimestamp(): number | undefined
  /** Returns the record at `index` from the oldest, or `undefined` past the end. */
  at(index: number): R | undefined
}

/** The default queue: the record objects themselves in a ring. */
class ObjectQueue<R extends StoredRecord> extends Ring<R> implements RecordQueue<R> {
  constructor(readonly name: string) {
    super()
  }

  dropFirst(): void {
    this.shift()
  }

  firstTimestamp(): number | undefined {
    return this.peek()?.timestamp
  }
}

/**
 * Creates the queue of one operation name that stores `OperationMetrics`
 * by column: about 60 bytes per record plus its id string, against about
 * 260 bytes for the record object (`pnpm bench` case 6, Node 20). Records
 * are rebuilt as new objects when read. A record whose fields do not have
 * the documented types is kept as it is.
 *
 * @since 0.1.0
 */
export const columnQueue = (name: string): RecordQueue<OperationMetrics> =>
  new RecordColumns(name, "stored")

/**
 * The fields a store needs of a record.
 *
 * @since 0.1.0
 */
export interface StoredRecord {
  /** Operation name, the key of the record's ring (the overflow bucket past `maxOperations`). */
  readonly operation: string
  /** Unix time in seconds; retention compares against it. */
  readonly timestamp: number
}

/**
 * The reason a record left a store without being taken.
 *
 * @since 0.1.0
 */
export type DropReason = "perOperation" | "total" | "retention" | "cleared"

/**
 * Counts of dropped records, by reason.
 *
 * @since 0.1.0
 */
export type DropCounts = { readonly [R in DropReason]: number }

/**
 * Bounds of a store. Every field is optional; an absent bound is unlimited
 * except where a default is given.
 *
 * @since 0.1.0
 */
export interface BoundedStoreOptions {
  /** Records kept per operation name. Default 1000. */
  readonly maxPerOperation?: number | undefined
  /** Records kept across all operations. Default unlimited. */
  readonly maxTotal?: number | undefined
  /** Age in seconds after which a record is dropped. Default unlimited. */
  readonly retentionSeconds?: number | undefined
  /** Distinct operation names that get a bucket of their own. Default 1000. */
  readonly maxOperations?: number | undefined
  /** The bucket for names past `maxOperations`. Default `OVERFLOW_OPERATION`. */
  readonly overflowOperation?: string | undefined
  /**
   * Wall clock in Unix seconds, for retention. Default `Date.now() / 1000`,
   * and in `make` and `layer` the context's Effect `Clock`.
   */
  readonly nowSeconds?: (() => number) | undefined
}

/**
 * The bucket that receives records of operation names past the distinct-name
 * cap.
 *
 * @since 0.1.0
 */
export const OVERFLOW_OPERATION = "dinoair_overflow"

/**
 * The default of `maxPerOperation`: records kept per operation name.
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_PER_OPERATION = 1000
/**
 * The default of `maxOperations`: distinct operation names with a bucket of their own.
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_OPERATIONS = 1000

const wallSeconds = (): number => Date.now() / 1000

/**
 * A bounded, per-operation store of records.
 *
 * @since 0.1.0
 */
export class BoundedStore<R extends StoredRecord> {
  readonly #buckets = new Map<string, RecordQueue<R>>()
  readonly #newQueue: (name: string) => RecordQueue<R>
  #size = 0
  #maxPerOperation: number
  #maxTotal: number
  #retentionSeconds: number
  #maxOperations: number
  #overflowOperation: string
  #nowSeconds: () => number
  #dropped = { perOperation: 0, total: 0, retention: 0, cleared: 0 }
  #added = 0
  #taken = 0
  #overflowed = 0
  #onFirstOverflow: ((name: string) => void) | undefined

  /**
   * @param newQueue creates the queue of a new operation name. Default: a
   *   ring of the record objects. `columnQueue` stores `OperationMetrics`
   *   in less memory.
   */
  constructor(
    options: BoundedStoreOptions = {},
    newQueue: (name: string) => RecordQueue<R> = (name) => new ObjectQueue<R>(name),
  ) {
    this.#newQueue = newQueue
    this.#maxPerOperation = options.maxPerOperation ?? DEFAULT_MAX_PER_OPERATION
    this.#maxTotal = options.maxTotal ?? Number.POSITIVE_INFINITY
    this.#retentionSeconds = options.retentionSeconds ?? Number.POSITIVE_INFINITY
    this.#maxOperations = options.maxOperations ?? DEFAULT_MAX_OPERATIONS
    this.#overflowOperation = options.overflowOperation ?? OVERFLOW_OPERATION
    this.#nowSeconds = options.nowSeconds ?? wallSeconds
  }

  /** Records stored now, across all operations. */
  get size(): number {
    return this.#size
  }

  /** Records ever added, including those later dropped or taken. */
  get added(): number {
    return this.#added
  }

  /** Records removed by `take` and not given back. */
  get taken(): number {
    return this.#taken
  }

  /** Records that went to the overflow bucket because of the distinct-name cap. */
  get overflowed(): number {
    return this.#overflowed
  }

  /** Dropped records by reason, as a fresh object. */
  get dropped(): DropCounts {
    return { ...this.#dropped }
  }

  /** Registers a callback that runs the first time a name overflows the distinct-name cap. */
  onFirstOverflow(callback: (name: string) => void): void {
    this.#onFirstOverflow = callback
  }

  /** Changes the bounds and applies them at once, dropping what no longer fits. */
  reconfigure(options: BoundedStoreOptions): void {
    if (options.maxPerOperation !== undefined) this.#maxPerOperation = options.maxPerOperation
    if (options.maxTotal !== undefined) this.#maxTotal = options.maxTotal
    if (options.retentionSeconds !== undefined) this.#retentionSeconds = options.retentionSeconds
    if (options.maxOperations !== undefined) this.#maxOperations = options.maxOperations
    if (options.nowSeconds !== undefined) this.#nowSeconds = options.nowSeconds

    for (const ring of this.#buckets.values()) {
      while (ring.size > this.#maxPerOperation) this.#dropOldest(ring, "perOperation")
    }
    this.#enforceTotal()
    this.pruneExpired()
  }

  /** Stores one record, then drops whatever the bounds require. */
  add(record: R): void {
    this.#added++
    const ring = this.#bucketFor(record.operation)
    ring.push(record)
    this.#size++

    if (ring.size > this.#maxPerOperation) this.#dropOldest(ring, "perOperation")
    if (this.#size > this.#maxTotal) this.#enforceTotal()
    if (this.#retentionSeconds !== Number.POSITIVE_INFINITY) this.#pruneRing(ring, this.#cutoff())
  }

  /**
   * Removes and returns up to `max` records, oldest first within each
   * operation, operation after operation.
   */
  take(max: number): Array<R> {
    this.pruneExpired()
    const out: Array<R> = []
    for (const [name, ring] of this.#buckets) {
      while (out.length < max && ring.size > 0) out.push(ring.shift() as R)
      if (ring.size === 0) this.#buckets.delete(name)
      if (out.length >= max) break
    }
    this.#size -= out.length
    this.#taken += out.length
    return out
  }

  /**
   * Puts records taken earlier back in front of newer ones, for example
   * after a failed export, then applies the bounds again. Returned records
   * are the oldest, so they are the first to go when the bounds are tight.
   */
  giveBack(records: ReadonlyArray<R>): void {
    this.#taken -= records.length
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records[i] as R
      const ring = this.#bucketFor(record.operation)
      ring.unshift(record)
      this.#size++
    }
    for (const ring of this.#buckets.values()) {
      while (ring.size > this.#maxPerOperation) this.#dropOldest(ring, "perOperation")
    }
    this.#enforceTotal()
    this.pruneExpired()
  }

  /** Drops every record older than the retention period. */
  pruneExpired(): void {
    if (this.#retentionSeconds === Number.POSITIVE_INFINITY) return
    const cutoff = this.#cutoff()
    for (const ring of this.#buckets.values()) this.#pruneRing(ring, cutoff)
  }

  /** Drops all records, or those of one operation, counting them as `cleared`. */
  clear(operation?: string): void {
    if (operation === undefined) {
      this.#dropped.cleared += this.#size
      this.#size = 0
      this.#buckets.clear()
      return
    }
    const ring = this.#buckets.get(operation)
    if (ring === undefined) return
    this.#dropped.cleared += ring.size
    this.#size -= ring.size
    this.#buckets.delete(operation)
  }

  /** Resets the record counters and the drop counts, keeping the records. */
  resetCounters(): void {
    this.#dropped = { perOperation: 0, total: 0, retention: 0, cleared: 0 }
    this.#added = this.#size
    this.#taken = 0
    this.#overflowed = 0
  }

  /** Stored records per operation name. */
  counts(): Record<string, number> {
    this.pruneExpired()
    const out: Record<string, number> = Object.create(null)
    for (const [name, ring] of this.#buckets) out[name] = ring.size
    return out
  }

  /** Returns the stored records of one operation, oldest first, as a fresh array. */
  recordsOf(operation: string): Array<R> {
    const ring = this.#buckets.get(operation)
    const out: Array<R> = []
    if (ring === undefined) return out
    for (let i = 0; i < ring.size; i++) out.push(ring.at(i) as R)
    return out
  }

  /** Returns all stored records, operation after operation, as a fresh array. */
  records(): Array<R> {
    const out: Array<R> = []
    for (const ring of this.#buckets.values()) {
      for (let i = 0; i < ring.size; i++) out.push(ring.at(i) as R)
    }
    return out
  }

  /** Names of the operations that have stored records. */
  operations(): Array<string> {
    return [...this.#buckets.keys()]
  }

  #bucketFor(operation: string): RecordQueue<R> {
    let ring = this.#buckets.get(operation)
    if (ring !== undefined) return ring

    // The overflow bucket does not take one of the `maxOperations` slots.
    const named = this.#buckets.size - (this.#buckets.has(this.#overflowOperation) ? 1 : 0)
    if (named >= this.#maxOperations && operation !== this.#overflowOperation) {
      this.#overflowed++
      if (this.#overflowed === 1) this.#onFirstOverflow?.(operation)
      return this.#bucketFor(this.#overflowOperation)
    }
    ring = this.#newQueue(operation)
    this.#buckets.set(operation, ring)
    return ring
  }

  /** Drops the oldest record of a bucket, and the bucket itself once it is empty. */
  #dropOldest(ring: RecordQueue<R>, reason: DropReason): void {
    ring.dropFirst()
    this.#size--
    this.#dropped[reason]++
    if (ring.size === 0) this.#buckets.delete(ring.name)
  }

  /** Drops the oldest record of the largest bucket until the total fits. */
  #enforceTotal(): void {
    while (this.#size > this.#maxTotal) {
      let largest: RecordQueue<R> | undefined
      for (const ring of this.#buckets.values()) {
        if (largest === undefined || ring.size > largest.size) largest = ring
      }
      if (largest === undefined || largest.size === 0) return
      this.#dropOldest(largest, "total")
    }
  }

  #pruneRing(ring: RecordQueue<R>, cutoff: number): void {
    // Queues are in insertion order, which is end-time order for one process,
    // so expired records sit at the front.
    let oldest = ring.firstTimestamp()
    while (oldest !== undefined && oldest < cutoff) {
      this.#dropOldest(ring, "retention")
      oldest = ring.firstTimestamp()
    }
  }

  #cutoff(): number {
    return this.#nowSeconds() - this.#retentionSeconds
  }
}

/**
 * The RecordStore service: a bounded store of `OperationMetrics`.
 *
 * @since 0.1.0
 */
export class RecordStore extends Context.Service<RecordStore, BoundedStore<OperationMetrics>>()(
  "@dinoair/monitor/BoundedStore/RecordStore",
) {}

/**
 * Creates a store without Effect. The same as `new BoundedStore(options)`.
 *
 * @since 0.1.0
 */
export const makeUnsafe = <R extends StoredRecord = OperationMetrics>(
  options: BoundedStoreOptions = {},
  newQueue?: (name: string) => RecordQueue<R>,
): BoundedStore<R> => new BoundedStore<R>(options, newQueue)

/**
 * Creates a store whose retention reads the context's Effect `Clock`,
 * unless `options.nowSeconds` is given.
 *
 * @since 0.1.0
 */
export const make = <R extends StoredRecord = OperationMetrics>(
  options: BoundedStoreOptions = {},
  newQueue?: (name: string) => RecordQueue<R>,
): Effect.Effect<BoundedStore<R>> =>
  Effect.map(Effect.service(Clock.Clock), (clock) =>
    makeUnsafe<R>(
      {
        ...options,
        nowSeconds: options.nowSeconds ?? (() => clock.currentTimeMillisUnsafe() / 1000),
      },
      newQueue,
    ),
  )

/**
 * A layer with a fresh `RecordStore` built by `make`, which stores the
 * records by column (`columnQueue`).
 *
 * @since 0.1.0
 */
export const layer = (options: BoundedStoreOptions = {}): Layer.Layer<RecordStore> =>
  Layer.effect(RecordStore, make<OperationMetrics>(options, columnQueue))
