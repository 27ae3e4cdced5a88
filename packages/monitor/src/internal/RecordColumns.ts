/**
 * Records of one operation name stored by column, in a double-ended queue.
 *
 * A record object with twelve fields takes an estimated 120 bytes on a
 * 64-bit V8 heap without pointer compression, plus 16 bytes for each boxed
 * double and the id string. `pnpm bench` case 6 measured about 258 bytes per
 * retained record object on Node 20. The columns keep the numbers in
 * `Float64Array`s and keep the reference fields (error, custom metrics,
 * parent id, system info) only for the records that have them. The id is
 * either stored or, for the monitor's own records, rebuilt from the
 * sequence number. Records are rebuilt as objects only when read.
 */
import type {
  CustomMetrics,
  OperationMetrics,
  OperationStatus,
  SystemInfo,
} from "../OperationMetrics.js"

const HAS_CPU = 1
const HAS_MEMORY = 2
const HAS_MEMORY_DELTA = 4
const IS_ERROR = 8
/** The record did not have the documented field types, so it is kept as the object itself. */
const IS_WHOLE = 16

/** The column length of a queue's first record; columns double from there. */
const INITIAL_LENGTH = 16

/** The custom metrics of records that have none, shared by all of them. */
export const EMPTY_METRICS: CustomMetrics = Object.freeze(Object.create(null))

/**
 * The storage of ids: `stored` keeps each id string, and `sequence` keeps a
 * number and rebuilds the id as `name#sequence`, which is how the monitor
 * makes ids.
 */
export type IdColumn = "stored" | "sequence"

/**
 * A column of references that allocates no array until the first value
 * that is not the default, so that a queue whose records all have the
 * default pays nothing for it.
 */
class SparseColumn<T> {
  #values: Array<T> | undefined

  constructor(readonly defaultValue: T) {}

  set(slot: number, value: T, length: number): void {
    if (this.#values === undefined) {
      if (value === this.defaultValue) return
      this.#values = new Array<T>(length).fill(this.defaultValue)
    }
    this.#values[slot] = value
  }

  get(slot: number): T {
    return this.#values === undefined ? this.defaultValue : (this.#values[slot] as T)
  }

  /** Moves the values of the slots in `order` to slots 0, 1, ... of a column of `length`. */
  relayout(length: number, order: ReadonlyArray<number>): void {
    if (this.#values === undefined) return
    const next = new Array<T>(length).fill(this.defaultValue)
    for (let i = 0; i < order.length; i++) next[i] = this.#values[order[i] as number] as T
    this.#values = next
  }

  clear(): void {
    this.#values = undefined
  }
}

type Float64Column = Float64Array<ArrayBuffer>

const isNumberOrUndefined = (value: unknown): boolean =>
  value === undefined || typeof value === "number"

const isStringOrUndefined = (value: unknown): boolean =>
  value === undefined || typeof value === "string"

/** Whether every field has the type `OperationMetrics` documents, so the columns can hold it. */
const fitsColumns = (record: OperationMetrics): boolean =>
  typeof record.id === "string" &&
  typeof record.operation === "string" &&
  typeof record.duration === "number" &&
  typeof record.timestamp === "number" &&
  isNumberOrUndefined(record.cpuUsage) &&
  isNumberOrUndefined(record.memoryUsage) &&
  isNumberOrUndefined(record.memoryDelta) &&
  (record.status === "ok" || record.status === "error") &&
  isStringOrUndefined(record.error) &&
  isStringOrUndefined(record.parentId) &&
  typeof record.customMetrics === "object" &&
  record.customMetrics !== null &&
  (record.systemInfo === undefined || typeof record.systemInfo === "object")

/**
 * A double-ended queue of the records of one operation name. It grows by
 * doubling and never drops anything itself: callers enforce their bounds.
 */
export class RecordColumns {
  #length = 0
  #head = 0
  #size = 0
  #sequence = new Float64Array(0)
  #duration = new Float64Array(0)
  #timestamp = new Float64Array(0)
  #cpu = new Float64Array(0)
  #memory = new Float64Array(0)
  #memoryDelta = new Float64Array(0)
  #flags = new Uint8Array(0)
  #ids: Array<string> = []
  /** Operation names that differ from `name`, as in a bucket that takes overflowing names. */
  readonly #operations: SparseColumn<string>
  readonly #errors = new SparseColumn<string | undefined>(undefined)
  readonly #metrics = new SparseColumn<CustomMetrics>(EMPTY_METRICS)
  readonly #parents = new SparseColumn<string | undefined>(undefined)
  readonly #systems = new SparseColumn<SystemInfo | undefined>(undefined)
  readonly #wholes = new SparseColumn<OperationMetrics | undefined>(undefined)

  /**
   * @param name the operation name of the queue; a record with another
   *   name costs a slot in a sparse column.
   * @param idColumn how ids are kept.
   */
  constructor(
    readonly name: string,
    readonly idColumn: IdColumn,
  ) {
    this.#operations = new SparseColumn<string>(name)
  }

  /** Records stored now. */
  get size(): number {
    return this.#size
  }

  /** Appends `record` as the newest. `sequence` is the number its id ends in, for `sequence` ids. */
  push(record: OperationMetrics, sequence = 0): void {
    this.#append(record, sequence, fitsColumns(record))
  }

  /**
   * Appends a record that the monitor built itself, whose fields have the
   * documented types, so the type checks of `push` are skipped.
   */
  pushBuilt(record: OperationMetrics, sequence: number): void {
    this.#append(record, sequence, true)
  }

  /** Inserts `record` as the oldest. */
  unshift(record: OperationMetrics, sequence = 0): void {
    if (this.#size === this.#length) this.#grow()
    this.#head = this.#head === 0 ? this.#length - 1 : this.#head - 1
    this.#size++
    this.#write(this.#head, record, sequence, fitsColumns(record))
  }

  /** Removes and returns the oldest record. */
  shift(): OperationMetrics | undefined {
    if (this.#size === 0) return undefined
    const record = this.#recordAt(this.#head)
    this.dropFirst()
    return record
  }

  /** Removes the oldest record without rebuilding it. */
  dropFirst(): void {
    if (this.#size === 0) return
    const slot = this.#head
    // Reference slots are cleared so that a dropped record's objects can be collected.
    this.#clearReferences(slot)
    this.#head = slot + 1 === this.#length ? 0 : slot + 1
    this.#size--
  }

  /** Returns the timestamp of the oldest record, or `undefined` when empty. */
  firstTimestamp(): number | undefined {
    if (this.#size === 0) return undefined
    const whole = this.#wholes.get(this.#head)
    return whole === undefined ? this.#timestamp[this.#head] : whole.timestamp
  }

  /** Returns the record at `index` from the oldest, or `undefined` past the end. */
  at(index: number): OperationMetrics | undefined {
    if (index < 0 || index >= this.#size) return undefined
    return this.#recordAt(this.#slotOf(index))
  }

  /** Returns the durations in seconds, oldest first. */
  durations(): Array<number> {
    const out = new Array<number>(this.#size)
    for (let i = 0; i < this.#size; i++) {
      const slot = this.#slotOf(i)
      const whole = this.#wholes.get(slot)
      out[i] = whole === undefined ? (this.#duration[slot] as number) : whole.duration
    }
    return out
  }

  /** Rebuilds the records as objects, oldest first, and appends them to `out`. */
  appendTo(out: Array<OperationMetrics>): Array<OperationMetrics> {
    for (let i = 0; i < this.#size; i++) out.push(this.#recordAt(this.#slotOf(i)))
    return out
  }

  /** Drops the oldest records until at most `max` remain, and returns how many it dropped. */
  trimTo(max: number): number {
    const dropped = Math.max(0, this.#size - max)
    if (dropped === 0) return 0
    const keep = this.#size - dropped
    const length = keep === 0 ? 0 : Math.max(INITIAL_LENGTH, keep)
    this.#relayout(length, keep, dropped)
    return dropped
  }

  /** Drops every record. */
  clear(): void {
    this.#relayout(0, 0, 0)
    this.#operations.clear()
    this.#errors.clear()
    this.#metrics.clear()
    this.#parents.clear()
    this.#systems.clear()
    this.#wholes.clear()
  }

  #append(record: OperationMetrics, sequence: number, fits: boolean): void {
    if (this.#size === this.#length) this.#grow()
    let slot = this.#head + this.#size
    if (slot >= this.#length) slot -= this.#length
    this.#size++
    this.#write(slot, record, sequence, fits)
  }

  #write(slot: number, record: OperationMetrics, sequence: number, fits: boolean): void {
    const length = this.#length
    if (!fits) {
      this.#flags[slot] = IS_WHOLE
      this.#wholes.set(slot, record, length)
      return
    }
    this.#wholes.set(slot, undefined, length)

    if (this.idColumn === "stored") this.#ids[slot] = record.id
    else this.#sequence[slot] = sequence
    this.#duration[slot] = record.duration
    this.#timestamp[slot] = record.timestamp
    let flags = record.status === "error" ? IS_ERROR : 0
    if (record.cpuUsage !== undefined) {
      flags |= HAS_CPU
      this.#cpu[slot] = record.cpuUsage
    }
    if (record.memoryUsage !== undefined) {
      flags |= HAS_MEMORY
      this.#memory[slot] = record.memoryUsage
    }
    if (record.memoryDelta !== undefined) {
      flags |= HAS_MEMORY_DELTA
      this.#memoryDelta[slot] = record.memoryDelta
    }
    this.#flags[slot] = flags

    this.#operations.set(slot, record.operation, length)
    this.#errors.set(slot, record.error, length)
    this.#metrics.set(slot, record.customMetrics, length)
    this.#parents.set(slot, record.parentId, length)
    this.#systems.set(slot, record.systemInfo, length)
  }

  #clearReferences(slot: number): void {
    const length = this.#length
    if (this.idColumn === "stored") this.#ids[slot] = ""
    this.#operations.set(slot, this.name, length)
    this.#errors.set(slot, undefined, length)
    this.#metrics.set(slot, EMPTY_METRICS, length)
    this.#parents.set(slot, undefined, length)
    this.#systems.set(slot, undefined, length)
    this.#wholes.set(slot, undefined, length)
  }

  #slotOf(index: number): number {
    const slot = this.#head + index
    return slot >= this.#length ? slot - this.#length : slot
  }

  #recordAt(slot: number): OperationMetrics {
    const flags = this.#flags[slot] as number
    if ((flags & IS_WHOLE) !== 0) return this.#wholes.get(slot) as OperationMetrics
    const operation = this.#operations.get(slot)
    const status: OperationStatus = (flags & IS_ERROR) !== 0 ? "error" : "ok"
    return {
      id:
        this.idColumn === "stored"
          ? (this.#ids[slot] as string)
          : `${operation}#${this.#sequence[slot] as number}`,
      operation,
      duration: this.#duration[slot] as number,
      timestamp: this.#timestamp[slot] as number,
      memoryUsage: (flags & HAS_MEMORY) !== 0 ? this.#memory[slot] : undefined,
      memoryDelta: (flags & HAS_MEMORY_DELTA) !== 0 ? this.#memoryDelta[slot] : undefined,
      cpuUsage: (flags & HAS_CPU) !== 0 ? this.#cpu[slot] : undefined,
      status,
      error: this.#errors.get(slot),
      customMetrics: this.#metrics.get(slot),
      parentId: this.#parents.get(slot),
      systemInfo: this.#systems.get(slot),
    }
  }

  #grow(): void {
    this.#relayout(Math.max(INITIAL_LENGTH, this.#length * 2), this.#size, 0)
  }

  /** Copies the `keep` records after the oldest `skip` into slots 0, 1, ... of columns of `length`. */
  #relayout(length: number, keep: number, skip: number): void {
    const order = new Array<number>(keep)
    for (let i = 0; i < keep; i++) order[i] = this.#slotOf(skip + i)
    const copy = (column: Float64Column): Float64Column => {
      const next = new Float64Array(length)
      for (let i = 0; i < keep; i++) next[i] = column[order[i] as number] as number
      return next
    }
    this.#sequence = this.idColumn === "sequence" ? copy(this.#sequence) : this.#sequence
    this.#duration = copy(this.#duration)
    this.#timestamp = copy(this.#timestamp)
    this.#cpu = copy(this.#cpu)
    this.#memory = copy(this.#memory)
    this.#memoryDelta = copy(this.#memoryDelta)
    const flags = new Uint8Array(length)
    for (let i = 0; i < keep; i++) flags[i] = this.#flags[order[i] as number] as number
    this.#flags = flags
    if (this.idColumn === "stored") {
      const ids = new Array<string>(length).fill("")
      for (let i = 0; i < keep; i++) ids[i] = this.#ids[order[i] as number] as string
      this.#ids = ids
    }
    this.#operations.relayout(length, order)
    this.#errors.relayout(length, order)
    this.#metrics.relayout(length, order)
    this.#parents.relayout(length, order)
    this.#systems.relayout(length, order)
    this.#wholes.relayout(length, order)
    this.#length = length
    this.#head = 0
    this.#size = keep
  }
}
