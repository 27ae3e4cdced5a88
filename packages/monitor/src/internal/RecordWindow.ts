/**
 * The retained records of one operation name, stored by column.
 *
 * A record object with twelve fields takes an estimated 120 bytes on a
 * 64-bit V8 heap without pointer compression, plus 16 bytes for each boxed
 * double and the id string (258 bytes per retained record in all, measured
 * by `pnpm bench` case 6 on Node 20). The window keeps the numbers in
 * `Float64Array` columns and the id as its sequence number, and keeps the
 * reference fields (error, custom metrics, parent id, system info, id) only
 * for the records that have them. That makes 49 bytes of columns per plain
 * record (53 measured), and records are rebuilt as objects only when read.
 */
import type { CustomMetrics, OperationMetrics, SystemInfo } from "../OperationMetrics.js"

const HAS_CPU = 1
const HAS_MEMORY = 2
const IS_ERROR = 4

/** The initial column length; columns double up to the window's capacity. */
const INITIAL_LENGTH = 16

/** The custom metrics of records that have none, shared by all of them. */
export const EMPTY_METRICS: CustomMetrics = Object.freeze(Object.create(null))

/**
 * A sparse column of references: no array until the first value that is
 * not the default, so that a window whose records all have the default
 * pays nothing for it.
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

  resize(length: number, order: ReadonlyArray<number>): void {
    if (this.#values === undefined) return
    const next = new Array<T>(length).fill(this.defaultValue)
    for (let i = 0; i < order.length; i++) next[i] = this.#values[order[i] as number] as T
    this.#values = next
  }

  clear(): void {
    this.#values = undefined
  }
}

/**
 * A ring of at most `capacity` records of one operation; adding to a full
 * ring overwrites the oldest record.
 */
export class RecordWindow {
  #capacity: number
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
  readonly #ids = new SparseColumn<string | undefined>(undefined)
  readonly #errors = new SparseColumn<string | undefined>(undefined)
  readonly #metrics = new SparseColumn<CustomMetrics>(EMPTY_METRICS)
  readonly #parents = new SparseColumn<string | undefined>(undefined)
  readonly #systems = new SparseColumn<SystemInfo | undefined>(undefined)

  /**
   * @param operation the operation name of every record in the window.
   * @param capacity the maximum number of records.
   * @param keepIds whether to store each id. Otherwise an id is rebuilt as
   *   `operation#sequence`, which is how the monitor makes ids; the
   *   overflow window keeps ids because they carry the original names.
   */
  constructor(
    readonly operation: string,
    capacity: number,
    readonly keepIds: boolean,
  ) {
    this.#capacity = capacity
  }

  /** Records stored now. */
  get size(): number {
    return this.#size
  }

  /**
   * Stores `record`, whose id ends in `#` and the decimal `sequence`.
   * Returns whether the oldest record was overwritten.
   */
  add(record: OperationMetrics, sequence: number): boolean {
    if (this.#capacity === 0) return true
    let overwrote = false
    if (this.#size === this.#length && this.#length < this.#capacity) this.#grow()
    let slot: number
    if (this.#size === this.#capacity) {
      slot = this.#head
      this.#head = slot + 1 === this.#length ? 0 : slot + 1
      overwrote = true
    } else {
      slot = this.#head + this.#size
      if (slot >= this.#length) slot -= this.#length
      this.#size++
    }

    this.#sequence[slot] = sequence
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
      this.#memoryDelta[slot] = record.memoryDelta ?? 0
    }
    this.#flags[slot] = flags

    const length = this.#length
    if (this.keepIds) this.#ids.set(slot, record.id, length)
    this.#errors.set(slot, record.error, length)
    this.#metrics.set(slot, record.customMetrics, length)
    this.#parents.set(slot, record.parentId, length)
    this.#systems.set(slot, record.systemInfo, length)
    return overwrote
  }

  /** Returns the durations in seconds, oldest first. */
  durations(): Array<number> {
    const out = new Array<number>(this.#size)
    for (let i = 0; i < this.#size; i++) out[i] = this.#duration[this.#slotOf(i)] as number
    return out
  }

  /** Rebuilds the records as objects, oldest first, and appends them to `out`. */
  appendTo(out: Array<OperationMetrics>): Array<OperationMetrics> {
    for (let i = 0; i < this.#size; i++) out.push(this.#recordAt(this.#slotOf(i)))
    return out
  }

  /** Changes the capacity, keeping the newest records that fit. Returns how many were dropped. */
  resize(capacity: number): number {
    const dropped = Math.max(0, this.#size - capacity)
    this.#capacity = capacity
    if (dropped === 0 && this.#length <= capacity) return 0
    this.#relayout(Math.min(this.#size - dropped, capacity), dropped)
    return dropped
  }

  /** Drops every record. */
  clear(): void {
    this.#length = 0
    this.#head = 0
    this.#size = 0
    this.#sequence = new Float64Array(0)
    this.#duration = new Float64Array(0)
    this.#timestamp = new Float64Array(0)
    this.#cpu = new Float64Array(0)
    this.#memory = new Float64Array(0)
    this.#memoryDelta = new Float64Array(0)
    this.#flags = new Uint8Array(0)
    this.#ids.clear()
    this.#errors.clear()
    this.#metrics.clear()
    this.#parents.clear()
    this.#systems.clear()
  }

  #slotOf(index: number): number {
    const slot = this.#head + index
    return slot >= this.#length ? slot - this.#length : slot
  }

  #recordAt(slot: number): OperationMetrics {
    const flags = this.#flags[slot] as number
    const hasMemory = (flags & HAS_MEMORY) !== 0
    const sequence = this.#sequence[slot] as number
    return {
      id: this.#ids.get(slot) ?? `${this.operation}#${sequence}`,
      operation: this.operation,
      duration: this.#duration[slot] as number,
      timestamp: this.#timestamp[slot] as number,
      memoryUsage: hasMemory ? this.#memory[slot] : undefined,
      memoryDelta: hasMemory ? this.#memoryDelta[slot] : undefined,
      cpuUsage: (flags & HAS_CPU) !== 0 ? this.#cpu[slot] : undefined,
      status: (flags & IS_ERROR) !== 0 ? "error" : "ok",
      error: this.#errors.get(slot),
      customMetrics: this.#metrics.get(slot),
      parentId: this.#parents.get(slot),
      systemInfo: this.#systems.get(slot),
    }
  }

  #grow(): void {
    const length = Math.min(this.#capacity, Math.max(INITIAL_LENGTH, this.#length * 2))
    this.#relayoutTo(length, this.#size, 0)
  }

  /** Copies the `keep` records after the first `skip` into columns of a length that fits them. */
  #relayout(keep: number, skip: number): void {
    const length = keep === 0 ? 0 : Math.min(this.#capacity, Math.max(INITIAL_LENGTH, keep))
    this.#relayoutTo(length, keep, skip)
  }

  #relayoutTo(length: number, keep: number, skip: number): void {
    const order = new Array<number>(keep)
    for (let i = 0; i < keep; i++) order[i] = this.#slotOf(skip + i)
    const copy = (column: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const next = new Float64Array(length)
      for (let i = 0; i < keep; i++) next[i] = column[order[i] as number] as number
      return next
    }
    this.#sequence = copy(this.#sequence)
    this.#duration = copy(this.#duration)
    this.#timestamp = copy(this.#timestamp)
    this.#cpu = copy(this.#cpu)
    this.#memory = copy(this.#memory)
    this.#memoryDelta = copy(this.#memoryDelta)
    const flags = new Uint8Array(length)
    for (let i = 0; i < keep; i++) flags[i] = this.#flags[order[i] as number] as number
    this.#flags = flags
    this.#ids.resize(length, order)
    this.#errors.resize(length, order)
    this.#metrics.resize(length, order)
    this.#parents.resize(length, order)
    this.#systems.resize(length, order)
    this.#length = length
    this.#head = 0
    this.#size = keep
  }
}
