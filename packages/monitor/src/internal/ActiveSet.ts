/**
 * The operations that started and have not ended, by id, oldest first.
 *
 * Most operations end before the next one starts, or are nested a few
 * levels deep. The newest few sit in a short array that `take` scans
 * comparing ids, which is cheaper than hashing a fresh id string into a
 * `Map` and deleting it again. Older ones move to a `Map`, so a program
 * with thousands of open operations still finds each one in constant time.
 */

/** How many of the newest operations stay in the array. */
const RECENT = 4

export class ActiveSet<T extends { readonly id: string }> {
  /** Older operations, oldest first. Every one started before those in `#recent`. */
  readonly #older = new Map<string, T>()
  /** The newest operations, oldest first. */
  readonly #recent: Array<T> = []

  get size(): number {
    return this.#older.size + this.#recent.length
  }

  add(item: T): void {
    if (this.#recent.length === RECENT) {
      const oldest = this.#recent.shift() as T
      this.#older.set(oldest.id, oldest)
    }
    this.#recent.push(item)
  }

  get(id: string): T | undefined {
    const recent = this.#recent
    for (let i = recent.length - 1; i >= 0; i--) {
      const item = recent[i] as T
      if (item.id === id) return item
    }
    return this.#older.get(id)
  }

  /** Removes and returns the operation with `id`, or returns `undefined`. */
  take(id: string): T | undefined {
    const recent = this.#recent
    const last = recent.length - 1
    for (let i = last; i >= 0; i--) {
      const item = recent[i] as T
      if (item.id !== id) continue
      if (i === last) recent.pop()
      else recent.splice(i, 1)
      return item
    }
    const item = this.#older.get(id)
    if (item !== undefined) this.#older.delete(id)
    return item
  }

  has(id: string): boolean {
    return this.get(id) !== undefined
  }

  /** Removes and returns the operation that started first. */
  takeOldest(): T | undefined {
    const first = this.#older.values().next()
    if (first.done !== true) {
      this.#older.delete(first.value.id)
      return first.value
    }
    return this.#recent.shift()
  }

  /** Returns every operation, oldest first. */
  values(): Array<T> {
    return [...this.#older.values(), ...this.#recent]
  }

  clear(): void {
    this.#older.clear()
    this.#recent.length = 0
  }
}
