import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { Monitor } from "../src/index.js"
import { capturingLogger, manualClock, sequence } from "./helpers.js"

const plainMonitor = (options: Monitor.MonitorOptions = {}) =>
  Monitor.makeUnsafe({
    enableCpuTracking: false,
    enableMemoryTracking: false,
    clock: manualClock(),
    ...options,
    publish: false,
    logger: capturingLogger(),
  })

const idOf = (monitor: Monitor.MonitorInstance, operation: string) =>
  monitor.getRecords(operation)[0]?.id

const parentOf = (monitor: Monitor.MonitorInstance, operation: string) =>
  monitor.getRecords(operation)[0]?.parentId

describe("nesting with run", () => {
  it("sync child records parent", () => {
    const monitor = plainMonitor()

    monitor.run("outer", () => {
      monitor.run("inner", () => undefined)
    })

    expect(parentOf(monitor, "inner")).toBe(idOf(monitor, "outer"))
    expect(parentOf(monitor, "outer")).toBeUndefined()
  })

  it("three levels record each parent", () => {
    const monitor = plainMonitor()

    monitor.run("a", () => monitor.run("b", () => monitor.run("c", () => undefined)))

    expect(parentOf(monitor, "b")).toBe(idOf(monitor, "a"))
    expect(parentOf(monitor, "c")).toBe(idOf(monitor, "b"))
  })

  it("child after await records parent", async () => {
    const monitor = plainMonitor()

    await monitor.run("outer", async () => {
      await Promise.resolve()
      await new Promise((resolve) => setImmediate(resolve))
      monitor.run("inner", () => undefined)
    })

    expect(parentOf(monitor, "inner")).toBe(idOf(monitor, "outer"))
  })

  it("manual start inside run records parent", () => {
    const monitor = plainMonitor()

    monitor.run("outer", () => {
      monitor.endOperation(monitor.startOperation("manual"))
    })

    expect(parentOf(monitor, "manual")).toBe(idOf(monitor, "outer"))
  })

  it("sibling after run has no parent", async () => {
    const monitor = plainMonitor()

    await monitor.run("first", async () => {
      await Promise.resolve()
    })
    monitor.run("second", () => undefined)

    expect(parentOf(monitor, "second")).toBeUndefined()
  })

  it("concurrent runs keep own parents", async () => {
    const monitor = plainMonitor()

    const left = monitor.run("left", async () => {
      await Promise.resolve()
      monitor.run("left.child", () => undefined)
    })
    const right = monitor.run("right", async () => {
      await Promise.resolve()
      monitor.run("right.child", () => undefined)
    })
    await Promise.all([left, right])

    expect(parentOf(monitor, "left.child")).toBe(idOf(monitor, "left"))
    expect(parentOf(monitor, "right.child")).toBe(idOf(monitor, "right"))
  })

  it("unsampled parent is skipped", () => {
    // Draws: outer 0.1 (sampled), middle 0.9 (left out), inner 0.1 (sampled).
    const monitor = plainMonitor({ samplingRate: 0.5, random: sequence(0.1, 0.9, 0.1) })

    monitor.run("outer", () => monitor.run("middle", () => monitor.run("inner", () => undefined)))

    expect(monitor.getRecords("middle")).toHaveLength(0)
    expect(parentOf(monitor, "inner")).toBe(idOf(monitor, "outer"))
  })

  it("monitors keep separate parents", () => {
    const first = plainMonitor()
    const second = plainMonitor()

    first.run("outer", () => {
      second.run("inner", () => undefined)
    })

    expect(parentOf(second, "inner")).toBeUndefined()
  })
})

describe("nesting with scope", () => {
  it("sync child records scope", () => {
    const monitor = plainMonitor()

    {
      using _outer = monitor.scope("outer")
      monitor.run("inner", () => undefined)
    }

    expect(parentOf(monitor, "inner")).toBe(idOf(monitor, "outer"))
  })

  it("nested scopes record parent", () => {
    const monitor = plainMonitor()

    {
      using _outer = monitor.scope("outer")
      {
        using _inner = monitor.scope("inner")
      }
      monitor.run("after", () => undefined)
    }

    expect(parentOf(monitor, "inner")).toBe(idOf(monitor, "outer"))
    expect(parentOf(monitor, "after")).toBe(idOf(monitor, "outer"))
  })

  it("scope restores previous after block", () => {
    const monitor = plainMonitor()

    {
      using _operation = monitor.scope("outer")
    }
    monitor.run("later", () => undefined)

    expect(parentOf(monitor, "later")).toBeUndefined()
    expect(monitor.currentOperationId()).toBeUndefined()
  })

  it("child after await records scope", async () => {
    const monitor = plainMonitor()

    const work = async () => {
      using _operation = monitor.scope("outer")
      await Promise.resolve()
      monitor.run("inner", () => undefined)
    }
    await work()

    expect(parentOf(monitor, "inner")).toBe(idOf(monitor, "outer"))
  })

  it("ended async scope leaves caller", async () => {
    const monitor = plainMonitor()

    const work = async () => {
      using _operation = monitor.scope("work")
      await Promise.resolve()
    }
    await work()
    monitor.run("later", () => undefined)

    expect(parentOf(monitor, "later")).toBeUndefined()
    expect(monitor.currentOperationId()).toBeUndefined()
  })

  it("ended async scope restores enclosing run", async () => {
    const monitor = plainMonitor()

    await monitor.run("request", async () => {
      const work = async () => {
        using _operation = monitor.scope("work")
        await Promise.resolve()
      }
      await work()
      monitor.run("respond", () => undefined)
    })

    expect(parentOf(monitor, "work")).toBe(idOf(monitor, "request"))
    expect(parentOf(monitor, "respond")).toBe(idOf(monitor, "request"))
  })

  it("caller sees async scope until it ends", async () => {
    const monitor = plainMonitor()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })

    const work = async () => {
      using _operation = monitor.scope("work")
      await gate
    }
    const pending = work()
    const whileActive = monitor.currentOperationId()
    release()
    await pending

    expect(whileActive).toBe(monitor.getRecords("work")[0]?.id)
    expect(monitor.currentOperationId()).toBeUndefined()
  })

  it("repeated async scopes stay flat", async () => {
    const monitor = plainMonitor()

    const work = async (index: number) => {
      using _operation = monitor.scope(`work${index}`)
      await Promise.resolve()
    }
    for (let i = 0; i < 3; i++) await work(i)

    expect(parentOf(monitor, "work1")).toBeUndefined()
    expect(parentOf(monitor, "work2")).toBeUndefined()
  })
})

describe("nesting with track", () => {
  it("track inside track records parent", async () => {
    const monitor = plainMonitor()

    const inner = Effect.succeed(1).pipe(Monitor.track("inner"))
    const outer = Effect.gen(function* () {
      yield* Effect.yieldNow
      return yield* inner
    }).pipe(Monitor.track("outer"))
    await Effect.runPromise(outer.pipe(Effect.provideService(Monitor.Monitor, monitor)))

    expect(parentOf(monitor, "inner")).toBe(idOf(monitor, "outer"))
    expect(parentOf(monitor, "outer")).toBeUndefined()
  })

  it("forked child records parent", async () => {
    const monitor = plainMonitor()

    const outer = Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Effect.succeed(1).pipe(Monitor.track("child")))
      return yield* Fiber.join(fiber)
    }).pipe(Monitor.track("outer"))
    await Effect.runPromise(outer.pipe(Effect.provideService(Monitor.Monitor, monitor)))

    expect(parentOf(monitor, "child")).toBe(idOf(monitor, "outer"))
  })

  it("track inside run records parent", async () => {
    const monitor = plainMonitor()

    await monitor.run("request", () =>
      Effect.runPromise(
        Effect.succeed(1).pipe(
          Monitor.track("effect"),
          Effect.provideService(Monitor.Monitor, monitor),
        ),
      ),
    )

    expect(parentOf(monitor, "effect")).toBe(idOf(monitor, "request"))
  })

  it("runWithin inside track records parent", async () => {
    const monitor = plainMonitor()

    const program = Effect.gen(function* () {
      const parentId = yield* Monitor.CurrentOperationId
      if (parentId !== undefined) monitor.runWithin(parentId, () => monitor.run("plain", () => 1))
    }).pipe(Monitor.track("effect"))
    await Effect.runPromise(program.pipe(Effect.provideService(Monitor.Monitor, monitor)))

    expect(parentOf(monitor, "plain")).toBe(idOf(monitor, "effect"))
  })
})
