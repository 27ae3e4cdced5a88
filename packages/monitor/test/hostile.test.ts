/**
 * Inputs that plain JavaScript callers can pass despite the types: the hot
 * path must return normally for every one of them and never leave an
 * operation active by accident.
 */
import { describe, expect, it } from "vitest"
import { Monitor } from "../src/index.js"
import { capturingLogger, manualClock } from "./helpers.js"

const hostileMonitor = (options: Monitor.MonitorOptions = {}) => {
  const logger = capturingLogger()
  const monitor = Monitor.makeUnsafe({
    enableCpuTracking: false,
    enableMemoryTracking: false,
    clock: manualClock(),
    ...options,
    publish: false,
    logger,
  })
  return { monitor, logger }
}

/** An object whose conversion to a string throws. */
const unprintable = (): unknown => ({
  toString() {
    throw new Error("toString exploded")
  },
})

/** Metadata whose `secret` getter throws; `plain` reads normally. */
const metadataWithThrowingGetter = (): Record<string, unknown> =>
  Object.defineProperty({ plain: 1 }, "secret", {
    enumerable: true,
    get() {
      throw new Error("getter exploded")
    },
  })

const throwingProxy = (): Record<string, unknown> =>
  new Proxy(
    {},
    {
      ownKeys() {
        throw new Error("ownKeys exploded")
      },
    },
  )

// The types forbid these values; the casts stand for untyped callers.
const asString = (value: unknown): string => value as string

describe("hostile metadata", () => {
  it("throwing getter is skipped", () => {
    const { monitor } = hostileMonitor()

    const id = monitor.startOperation("load", metadataWithThrowingGetter())
    const record = monitor.endOperation(id)

    expect(record?.customMetrics).toEqual({ plain: 1 })
  })

  it("proxy with throwing ownKeys starts empty", () => {
    const { monitor } = hostileMonitor()

    const id = monitor.startOperation("load", throwingProxy())
    const record = monitor.endOperation(id)

    expect(record?.customMetrics).toEqual({})
  })

  it("proxy with throwing get trap is skipped", () => {
    const { monitor } = hostileMonitor()
    const metadata = new Proxy(
      { a: 1, b: 2 },
      {
        get(target, key) {
          if (key === "b") throw new Error("get exploded")
          return Reflect.get(target, key)
        },
      },
    )

    const record = monitor.endOperation(monitor.startOperation("load", metadata))

    expect(record?.customMetrics).toEqual({ a: 1 })
  })

  it("run with hostile metadata still runs", () => {
    const { monitor } = hostileMonitor()

    const value = monitor.run("load", () => 7, metadataWithThrowingGetter())

    expect(value).toBe(7)
    expect(monitor.getRecords("load")).toHaveLength(1)
  })
})

describe("hostile names and ids", () => {
  it("symbol id ends as unknown", () => {
    const { monitor, logger } = hostileMonitor()

    const record = monitor.endOperation(asString(Symbol("id")))

    expect(record).toBeUndefined()
    expect(monitor.stats.unknownIds).toBe(1)
    expect(logger.warnings[0]).toContain("Symbol(id)")
  })

  it("unprintable id ends as unknown", () => {
    const { monitor } = hostileMonitor()

    expect(monitor.endOperation(asString(unprintable()))).toBeUndefined()
    expect(monitor.stats.unknownIds).toBe(1)
  })

  it("symbol id rejects a metric", () => {
    const { monitor, logger } = hostileMonitor()

    expect(monitor.recordCustomMetric(asString(Symbol("id")), "rows", 1)).toBe(false)
    expect(logger.warnings).toHaveLength(1)
  })

  it("unprintable id rejects a metric", () => {
    const { monitor } = hostileMonitor()

    expect(monitor.recordCustomMetric(asString(unprintable()), "rows", 1)).toBe(false)
  })

  it("unprintable name is rejected", () => {
    const { monitor, logger } = hostileMonitor()

    const id = monitor.startOperation(asString(unprintable()))

    expect(typeof id).toBe("string")
    expect(monitor.getActiveOperations()).toHaveLength(0)
    expect(logger.warnings).toHaveLength(1)
  })

  it("symbol name is rejected", () => {
    const { monitor } = hostileMonitor()

    const id = monitor.startOperation(asString(Symbol("name")))

    expect(id).toContain("Symbol(name)")
    expect(monitor.getActiveOperations()).toHaveLength(0)
  })

  it.each([
    ["a symbol", Symbol("name")],
    ["an unprintable object", unprintable()],
    ["a number", 42],
  ])("disabled monitor accepts %s as name", (_kind, name) => {
    const { monitor, logger } = hostileMonitor({ enabled: false })

    const id = monitor.startOperation(asString(name))

    expect(typeof id).toBe("string")
    expect(monitor.endOperation(id)).toBeUndefined()
    expect(logger.warnings).toHaveLength(0)
  })

  it("unprintable metric name is rejected", () => {
    const { monitor, logger } = hostileMonitor()
    const id = monitor.startOperation("load")

    const recorded = monitor.recordCustomMetric(id, asString(unprintable()), 1)
    const record = monitor.endOperation(id)

    expect(recorded).toBe(false)
    expect(record?.customMetrics).toEqual({})
    expect(logger.warnings).toHaveLength(1)
  })

  it("symbol metric name is kept as text", () => {
    const { monitor } = hostileMonitor()
    const id = monitor.startOperation("load")

    monitor.recordCustomMetric(id, asString(Symbol("m")), 1)
    const record = monitor.endOperation(id)

    expect(record?.customMetrics).toEqual({ "Symbol(m)": 1 })
  })

  it("hostile end options never throw", () => {
    const { monitor } = hostileMonitor()
    const id = monitor.startOperation("load")
    const options = Object.defineProperty({}, "status", {
      get() {
        throw new Error("status exploded")
      },
    })

    const record = monitor.endOperation(id, options)

    expect(record?.status).toBe("ok")
  })

  it("unknown status becomes error", () => {
    const { monitor } = hostileMonitor()
    const id = monitor.startOperation("load")

    const record = monitor.endOperation(id, { status: asString("weird") as "ok" })

    expect(record?.status).toBe("error")
  })

  it("unprintable error keeps error status", () => {
    const { monitor } = hostileMonitor()
    const id = monitor.startOperation("load")
    const error = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error("prototype exploded")
        },
      },
    )

    const record = monitor.endOperation(id, { status: "error", error })

    expect(record?.status).toBe("error")
    expect(typeof record?.error).toBe("string")
  })
})

describe("hostile thenables", () => {
  const throwingThen = (): unknown =>
    // biome-ignore lint/suspicious/noThenProperty: the test needs a then getter that throws.
    Object.defineProperty({ value: 1 }, "then", {
      get() {
        throw new Error("then exploded")
      },
    })

  it("run returns a value whose then getter throws", () => {
    const { monitor } = hostileMonitor()
    const result = throwingThen()

    const returned = monitor.run("load", () => result)

    expect(returned).toBe(result)
  })

  it("run ends the operation of such a value", () => {
    const { monitor } = hostileMonitor()

    monitor.run("load", throwingThen)

    expect(monitor.getActiveOperations()).toHaveLength(0)
    expect(monitor.getRecords("load")[0]?.status).toBe("ok")
  })

  it("thenable whose then throws records an error", async () => {
    const { monitor } = hostileMonitor()
    const failure = new Error("then call exploded")
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: the test needs a broken thenable.
      then() {
        throw failure
      },
    }

    const returned = monitor.run("load", () => thenable) as unknown as Promise<unknown>

    await expect(returned).rejects.toBe(failure)
    expect(monitor.getRecords("load")[0]?.status).toBe("error")
  })

  it("thenable settled twice ends once", async () => {
    const { monitor, logger } = hostileMonitor()
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: the test needs a misbehaving thenable.
      then(resolve: (value: number) => void, reject: (error: unknown) => void) {
        resolve(1)
        resolve(2)
        reject(new Error("late"))
      },
    }

    const value = await (monitor.run("load", () => thenable) as unknown as Promise<number>)

    expect(value).toBe(1)
    expect(monitor.getRecords("load")).toHaveLength(1)
    expect(logger.warnings).toHaveLength(0)
  })

  it("promise with throwing constructor getter ends", async () => {
    const { monitor } = hostileMonitor()
    const promise = Promise.resolve(5)
    Object.defineProperty(promise, "constructor", {
      get() {
        throw new Error("constructor exploded")
      },
    })

    // Promise.prototype.then reads `constructor`, so the returned promise rejects.
    const returned = monitor.run("load", () => promise)

    await expect(returned).rejects.toThrow("constructor exploded")
    expect(monitor.getActiveOperations()).toHaveLength(0)
    expect(monitor.getRecords("load")[0]?.status).toBe("error")
  })
})

describe("throwing logger", () => {
  it("warnings never reach the caller", () => {
    const throwing = {
      debug: () => {},
      info: () => {},
      warn: () => {
        throw new Error("logger exploded")
      },
      error: () => {},
    }
    const clock = manualClock()
    const monitor = Monitor.makeUnsafe({
      enableCpuTracking: false,
      enableMemoryTracking: false,
      thresholdDurationMs: 10,
      clock,
      publish: false,
      logger: throwing,
    })

    const id = monitor.startOperation("slow")
    clock.advance(50)
    const record = monitor.endOperation(id)
    const unknown = monitor.endOperation("missing#1")

    expect(record?.operation).toBe("slow")
    expect(unknown).toBeUndefined()
  })
})
