import { describe, expect, it } from "vitest"
import { Resources } from "../src/index.js"

/** A raw source that returns 1, 2, 3, ... and counts its calls. */
const countingSource = () => {
  const source = {
    calls: 0,
    read: () => {
      source.calls++
      return source.calls
    },
  }
  return source
}

const cachedReader = (maxAgeMs?: number) => {
  let now = 0
  const heap = countingSource()
  const rss = countingSource()
  const reader = Resources.liveResourceReader({
    maxAgeMs,
    monotonicMs: () => now,
    readHeapUsedBytes: heap.read,
    readRssBytes: rss.read,
  })
  const advance = (ms: number): void => {
    now += ms
  }
  return { reader, heap, rss, advance }
}

describe("liveResourceReader", () => {
  it("heap reading is cached", () => {
    const { reader, heap } = cachedReader()

    const first = reader.heapUsedBytes()
    const second = reader.heapUsedBytes()

    expect(second).toBe(first)
    expect(heap.calls).toBe(1)
  })

  it("heap reading refreshes after max age", () => {
    const { reader, heap, advance } = cachedReader(5)

    reader.heapUsedBytes()
    advance(4.9)
    reader.heapUsedBytes()
    advance(0.1)
    const refreshed = reader.heapUsedBytes()

    expect(heap.calls).toBe(2)
    expect(refreshed).toBe(2)
  })

  it("RSS reading refreshes after max age", () => {
    const { reader, rss, advance } = cachedReader(5)

    reader.rssBytes()
    reader.rssBytes()
    advance(5)
    reader.rssBytes()

    expect(rss.calls).toBe(2)
  })

  it("max age 0 reads every time", () => {
    const { reader, heap } = cachedReader(0)

    reader.heapUsedBytes()
    reader.heapUsedBytes()

    expect(heap.calls).toBe(2)
  })

  it("default max age is a few milliseconds", () => {
    expect(Resources.DEFAULT_MAX_AGE_MS).toBe(5)
  })

  it("live sources give plausible figures", () => {
    const reader = Resources.liveResourceReader()

    expect(reader.heapUsedBytes()).toBeGreaterThan(0)
    expect(reader.rssBytes()).toBeGreaterThan(0)
    expect(reader.cpuMicros()).toBeGreaterThan(0)
  })
})
