/**
 * A double-ended queue on a circular array that grows by doubling. Callers
 * enforce their own capacity; the ring only stores.
 */
export class Ring<T> {
  #items: Array<T | undefined>
  #head = 0
  #size = 0

  constructor(initialCapacity = 8) {
    this.#items = new Array(Math.max(1, initialCapacity))
  }

  get size(): number {
    return this.#size
  }

  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow()
    this.#items[(this.#head + this.#size) % this.#items.length] = item
    this.#size++
  }

  unshift(item: T): void {
    if (this.#size === this.#items.length) this.#grow()
    this.#head = (this.#head - 1 + this.#items.length) % this.#items.length
    this.#items[this.#head] = item
    this.#size++
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head] = undefined
    this.#head = (this.#head + 1) % this.#items.length
    this.#size--
    return item
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head]
  }

  /** Returns the item at `index` from the oldest, or `undefined` past the end. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#size) return undefined
    return this.#items[(this.#head + index) % this.#items.length]
  }

  toArray(): Array<T> {
    const out = new Array<T>(this.#size)
    for (let i = 0; i < this.#size; i++)
      out[i] = this.#items[(this.#head + i) % this.#items.length] as T
    return out
  }

  clear(): void {
    this.#items = new Array(8)
    this.#head = 0
    this.#size = 0
  }

  #grow(): void {
    const next = new Array<T | undefined>(this.#items.length * 2)
    for (let i = 0; i < this.#size; i++)
      next[i] = this.#items[(this.#head + i) % this.#items.length]
    this.#items = next
    this.#head = 0
  }
}
