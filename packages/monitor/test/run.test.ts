import { describe, expect, it } from "vitest"
import { Monitor } from "../src/index.js"
import { capturingLogger, manualClock } from "./helpers.js"

const plainMonitor = (options: Monitor.MonitorOptions = {}) => {
  const logger = capturingLogger()
  const clock = manualClock()
  const monitor = Monitor.makeUnsafe({
    enableCpuTracking: false,
    enableMemoryTracking: false,
    clock,
    ...options,
    publish: false,
    logger,
  })
  return { monitor, logger, clock }
}

describe("run", () => {
  it("passes sync return value through", () => {
    const { monitor, clock } = plainMonitor()

    const value = monitor.run("sum", () => {
      clock.advance(30)
      return 1 + 2
    })
    const record = monitor.getRecords("sum")[0]

    expect(value).toBe(3)
    expect(record?.status).toBe("ok")
    expect(record?.duration).toBe(0.03)
  })

  it("rethrows same sync error", () => {
    const { monitor } = plainMonitor()
    const error = new Error("bad input")

    let caught: unknown
    try {
      monitor.run("parse", () => {
        throw error
      })
    } catch (thrown) {
      caught = thrown
    }
    const record = monitor.getRecords("parse")[0]

    expect(caught).toBe(error)
    expect(record?.status).toBe("error")
    expect(record?.error).toBe("bad input")
  })

  it("passes promise value through", async () => {
    const { monitor, clock } = plainMonitor()

    const value = await monitor.run("fetch", async () => {
      await Promise.resolve()
      clock.advance(120)
      return { rows: 3 }
    })
    const record = monitor.getRecords("fetch")[0]

    expect(value).toEqual({ rows: 3 })
    expect(record?.status).toBe("ok")
    expect(record?.duration).toBe(0.12)
  })

  it("ends async operation after settle", async () => {
    const { monitor } = plainMonitor()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })

    const pending = monitor.run("wait", () => gate)
    const activeBefore = monitor.getActiveOperations().length
    release()
    await pending

    expect(activeBefore).toBe(1)
    expect(monitor.getActiveOperations()).toHaveLength(0)
    expect(monitor.getRecords("wait")).toHaveLength(1)
  })

  it("rethrows same rejection", async () => {
    const { monitor } = plainMonitor()
    const error = new Error("connection reset")

    const outcome = monitor.run("fetch", async () => {
      await Promise.resolve()
      throw error
    })

    await expect(outcome).rejects.toBe(error)
    expect(monitor.getRecords("fetch")[0]?.status).toBe("error")
    expect(monitor.getRecords("fetch")[0]?.error).toBe("connection reset")
  })

  it("non-Error rejection becomes message", async () => {
    const { monitor } = plainMonitor()

    const outcome = monitor.run("fetch", () => Promise.reject("timeout"))

    await expect(outcome).rejects.toBe("timeout")
    expect(monitor.getRecords("fetch")[0]?.error).toBe("timeout")
  })

  it("passes metadata to record", () => {
    const { monitor } = plainMonitor()

    monitor.run("import", () => undefined, { source: "s3" })

    expect(monitor.getRecords("import")[0]?.customMetrics).toEqual({ source: "s3" })
  })

  it("disabled monitor still runs", () => {
    const { monitor } = plainMonitor({ enabled: false })

    const value = monitor.run("sum", () => 5)

    expect(value).toBe(5)
    expect(monitor.getRecords()).toHaveLength(0)
  })

  it("current id set while running", () => {
    const { monitor } = plainMonitor()

    let inside: string | undefined
    monitor.run("outer", () => {
      inside = monitor.currentOperationId()
    })

    expect(inside).toBe(monitor.getRecords("outer")[0]?.id)
    expect(monitor.currentOperationId()).toBeUndefined()
  })
})

describe("scope", () => {
  it("using block records ok", () => {
    const { monitor, clock } = plainMonitor()

    let id = ""
    {
      using operation = monitor.scope("upload", { bytes: 10 })
      id = operation.id
      clock.advance(75)
      expect(monitor.getActiveOperations()).toHaveLength(1)
    }
    const record = monitor.getRecords("upload")[0]

    expect(record?.id).toBe(id)
    expect(record?.status).toBe("ok")
    expect(record?.duration).toBe(0.075)
    expect(record?.customMetrics).toEqual({ bytes: 10 })
    expect(monitor.getActiveOperations()).toHaveLength(0)
  })

  it("fail records error", () => {
    const { monitor } = plainMonitor()

    try {
      using operation = monitor.scope("upload")
      try {
        throw new Error("quota exceeded")
      } catch (error) {
        operation.fail(error)
        throw error
      }
    } catch {
      // The test checks the record, not the rethrow.
    }
    const record = monitor.getRecords("upload")[0]

    expect(record?.status).toBe("error")
    expect(record?.error).toBe("quota exceeded")
  })

  it("throw without fail records ok", () => {
    const { monitor } = plainMonitor()

    try {
      using _operation = monitor.scope("upload")
      throw new Error("not seen by the scope")
    } catch {
      // A `using` block cannot see the exception, so the scope ends ok.
    }

    expect(monitor.getRecords("upload")[0]?.status).toBe("ok")
  })

  it("recordMetric adds custom metric", () => {
    const { monitor } = plainMonitor()

    {
      using operation = monitor.scope("upload")
      operation.recordMetric("chunks", 4)
    }

    expect(monitor.getRecords("upload")[0]?.customMetrics).toEqual({ chunks: 4 })
  })

  it("end returns record once", () => {
    const { monitor } = plainMonitor()

    const operation = monitor.scope("upload")
    const first = operation.end()
    const second = operation.end()
    operation[Symbol.dispose]()

    expect(first?.id).toBe(operation.id)
    expect(second).toBeUndefined()
    expect(monitor.getRecords("upload")).toHaveLength(1)
    expect(monitor.stats.unknownIds).toBe(0)
  })

  it("unsampled scope ends silently", () => {
    const { monitor, logger } = plainMonitor({ samplingRate: 0 })

    {
      using operation = monitor.scope("upload")
      operation.recordMetric("chunks", 4)
    }

    expect(monitor.getRecords()).toHaveLength(0)
    expect(logger.warnings).toHaveLength(0)
  })
})
