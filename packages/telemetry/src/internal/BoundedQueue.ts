/**
 * A first-in, first-out queue with a capacity: adding to a full queue drops
 * the oldest item and counts it. Adding and draining cost O(1) per item.
 */
export class BoundedQueue<A> {
  #items: Array<A | undefined> = []
  #start = 0
  #size = 0
  #capacity: number
  /** Items dropped because the queue was full, or because `resize` shrank it. */
  dropped = 0

  /** @param capacity the number of items kept, a whole number of at least 0. */
  constructor(capacity: number) {
    this.#capacity = capacity
  }

  get size(): number {
    return this.#size
  }

  /** Adds `item` at the end, dropping the oldest item when the queue is full. */
  push(item: A): void {
    if (this.#capacity === 0) {
      this.dropped++
      return
    }
    if (this.#size < this.#capacity) {
      this.#items[(this.#start + this.#size) % this.#capacity] = item
      this.#size++
      return
    }
    this.#items[this.#start] = item
    this.#start = (this.#start + 1) % this.#capacity
    this.dropped++
  }

  /** Removes every item and returns them, oldest first. */
  drain(): Array<A> {
    const out: Array<A> = []
    for (let index = 0; index < this.#size; index++) {
      out.push(this.#items[(this.#start + index) % this.#capacity] as A)
    }
    this.clear()
    return out
  }

  /** Removes every item without counting it as dropped. */
  clear(): void {
    this.#items = []
    this.#start = 0
    this.#size = 0
  }

  /** Changes the capacity; when it shrinks below the size, the oldest items are dropped and counted. */
  resize(capacity: number): void {
    if (capacity === this.#capacity) return
    const kept = this.drain()
    this.#capacity = capacity
    const excess = Math.max(0, kept.length - capacity)
    this.dropped += excess
    for (let index = excess; index < kept.length; index++) this.push(kept[index] as A)
  }
}
