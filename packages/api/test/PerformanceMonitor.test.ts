import { copyFile, readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { Monitor, type Resources } from "@dinoair/monitor"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import {
  PerformanceMonitor,
  type PerformanceOptions,
  resetGlobals,
  setLogger,
} from "../src/index.js"
import {
  type CapturingLogger,
  capturingLogger,
  deferred,
  makeTempDir,
  removeTempDirs,
} from "./helpers.js"

/** A clock that moves only when the test advances it. */
interface ManualClock extends Resources.MonitorClock {
  advance(ms: number): void
}

const manualClock = (): ManualClock => {
  let monotonic = 0
  let wall = 1_699_123_456_000
  return {
    monotonicMs: () => monotonic,
    wallMs: () => wall,
    advance: (ms) => {
      monotonic += ms
      wall += ms
    },
  }
}

/** Resource readings that stay where the test sets them. */
const fixedResources = (): Resources.ResourceReader & {
  cpu: number
  heap: number
  rss: number
} => {
  const reader = {
    cpu: 0,
    heap: 0,
    rss: 0,
    cpuMicros: () => reader.cpu,
    heapUsedBytes: () => reader.heap,
    rssBytes: () => reader.rss,
  }
  return reader
}

/** Builds a facade monitor on an injected clock that publishes to no telemetry manager. */
const makeMonitor = (config?: PerformanceOptions) => {
  const clock = manualClock()
  const resources = fixedResources()
  const monitor = new PerformanceMonitor(
    config,
    Monitor.makeUnsafe({ clock, resources, publish: false }),
  )
  return { monitor, clock, resources }
}

let logger: CapturingLogger

beforeEach(() => {
  logger = capturingLogger()
  setLogger(logger)
})

afterEach(async () => {
  await resetGlobals()
  await removeTempDirs()
})

describe("PerformanceMonitor manual operations", () => {
  it("startOperation returns an id containing the name", () => {
    const { monitor } = makeMonitor()

    const id = monitor.startOperation("data_processing", { user_id: "123" })

    expect(id).toContain("data_processing")
  })

  it("ids of two operations differ", () => {
    const { monitor } = makeMonitor()

    const first = monitor.startOperation("job")
    const second = monitor.startOperation("job")

    expect(first).not.toBe(second)
  })

  it("endOperation returns the measured record", () => {
    const { monitor, clock, resources } = makeMonitor()
    resources.rss = 1_048_576

    const id = monitor.startOperation("data_processing", { user_id: "123" })
    clock.advance(153)
    const record = monitor.endOperation(id)

    expect(record?.id).toBe(id)
    expect(record?.operation).toBe("data_processing")
    expect(record?.duration).toBe(0.153)
    expect(record?.timestamp).toBe(1_699_123_456.153)
    expect(record?.memoryUsage).toBe(1_048_576)
    expect(record?.status).toBe("ok")
    expect(record?.customMetrics).toEqual({ user_id: "123" })
  })

  it("endOperation of an unknown id returns undefined and warns", () => {
    const { monitor } = makeMonitor()

    const record = monitor.endOperation("never_started#1")

    expect(record).toBeUndefined()
    expect(logger.containing("never_started#1")).toHaveLength(1)
  })

  it("endOperation twice returns undefined the second time", () => {
    const { monitor } = makeMonitor()
    const id = monitor.startOperation("once")

    monitor.endOperation(id)
    const second = monitor.endOperation(id)

    expect(second).toBeUndefined()
  })

  it("recordCustomMetric adds to an active operation", () => {
    const { monitor } = makeMonitor()
    const id = monitor.startOperation("import", { source: "csv" })

    const recorded = monitor.recordCustomMetric(id, "rows", 250)
    const record = monitor.endOperation(id)

    expect(recorded).toBe(true)
    expect(record?.customMetrics).toEqual({ source: "csv", rows: 250 })
  })

  it("recordCustomMetric on an unknown id returns false", () => {
    const { monitor } = makeMonitor()

    const recorded = monitor.recordCustomMetric("missing#9", "rows", 1)

    expect(recorded).toBe(false)
    expect(logger.containing("missing#9")).toHaveLength(1)
  })

  it("metadata is copied at start", () => {
    const { monitor } = makeMonitor()
    const metadata: Record<string, unknown> = { attempt: 1 }

    const id = monitor.startOperation("copy", metadata)
    metadata.attempt = 2
    const record = monitor.endOperation(id)

    expect(record?.customMetrics).toEqual({ attempt: 1 })
  })
})

describe("PerformanceMonitor.monitorOperation with a function", () => {
  it("returns the function's result", () => {
    const { monitor } = makeMonitor()

    const total = monitor.monitorOperation("sum", () => 1 + 2)

    expect(total).toBe(3)
    expect(monitor.getMetricsSummary("sum").sum?.count).toBe(1)
  })

  it("passes metadata to the record", () => {
    const { monitor } = makeMonitor()

    monitor.monitorOperation("tagged", () => undefined, { team: "search" })

    expect(monitor.instance.getRecords("tagged")[0]?.customMetrics).toEqual({ team: "search" })
  })

  it("waits for a returned promise before ending", async () => {
    const { monitor, clock } = makeMonitor()
    const gate = deferred<string>()

    const result = monitor.monitorOperation("fetch", () => gate.promise)
    clock.advance(40)

    expect(monitor.getActiveOperations().map((active) => active.operation)).toEqual(["fetch"])
    expect(monitor.getMetricsSummary("fetch")).toEqual({})

    gate.resolve("payload")

    await expect(result).resolves.toBe("payload")
    expect(monitor.getActiveOperations()).toEqual([])
    expect(monitor.instance.getRecords("fetch")[0]?.duration).toBe(0.04)
  })

  it("rethrows a thrown error unchanged with status error", () => {
    const { monitor } = makeMonitor()
    const failure = new Error("disk full")

    const run = () =>
      monitor.monitorOperation("write", () => {
        throw failure
      })

    expect(run).toThrow(failure)
    const record = monitor.instance.getRecords("write")[0]
    expect(record?.status).toBe("error")
    expect(record?.error).toBe("disk full")
    expect(monitor.getMetricsSummary("write").write?.errorCount).toBe(1)
  })

  it("rethrows the same thrown object", () => {
    const { monitor } = makeMonitor()
    const failure = new Error("same object")
    let caught: unknown

    try {
      monitor.monitorOperation("identity", () => {
        throw failure
      })
    } catch (error) {
      caught = error
    }

    expect(caught).toBe(failure)
  })

  it("rejects with the same error and status error", async () => {
    const { monitor } = makeMonitor()
    const failure = new Error("timeout")

    const result = monitor.monitorOperation("remote", async () => {
      throw failure
    })

    await expect(result).rejects.toBe(failure)
    expect(monitor.instance.getRecords("remote")[0]?.status).toBe("error")
  })

  it("runs the function while disabled without recording", () => {
    const { monitor } = makeMonitor({ enabled: false })

    const value = monitor.monitorOperation("off", () => "ran")

    expect(value).toBe("ran")
    expect(monitor.getMetricsSummary()).toEqual({})
  })

  it("nested operations record their parent", () => {
    const { monitor } = makeMonitor()

    monitor.monitorOperation("outer", () => monitor.monitorOperation("inner", () => undefined))

    const outer = monitor.instance.getRecords("outer")[0]
    const inner = monitor.instance.getRecords("inner")[0]
    expect(inner?.parentId).toBe(outer?.id)
  })
})

describe("PerformanceMonitor.monitorOperation as a scope", () => {
  it("ends the operation when the block exits", async () => {
    const { monitor } = makeMonitor()
    const directory = await makeTempDir()
    const source = path.join(directory, "upload.txt")
    const target = path.join(directory, "uploaded.txt")
    await writeFile(source, "file body")

    let scopeId = ""
    {
      using upload = monitor.monitorOperation("file_upload", { bucket: "incoming" })
      scopeId = upload.id
      await copyFile(source, target)
      upload.recordMetric("bytes", (await readFile(target)).length)
      expect(monitor.getActiveOperations().map((active) => active.id)).toEqual([upload.id])
    }

    expect(scopeId).toContain("file_upload")
    expect(monitor.getActiveOperations()).toEqual([])
    const record = monitor.instance.getRecords("file_upload")[0]
    expect(record?.id).toBe(scopeId)
    expect(record?.customMetrics).toEqual({ bucket: "incoming", bytes: 9 })
    expect(record?.status).toBe("ok")
  })

  it("fail marks the operation as an error", () => {
    const { monitor } = makeMonitor()

    {
      using job = monitor.monitorOperation("job")
      job.fail(new Error("bad input"))
    }

    const record = monitor.instance.getRecords("job")[0]
    expect(record?.status).toBe("error")
    expect(record?.error).toBe("bad input")
  })

  it("ends once when an exception leaves the block", () => {
    const { monitor } = makeMonitor()

    const run = () => {
      using _step = monitor.monitorOperation("step")
      throw new Error("stop")
    }

    expect(run).toThrow("stop")
    expect(monitor.getMetricsSummary("step").step?.count).toBe(1)
    expect(monitor.getActiveOperations()).toEqual([])
  })
})

describe("PerformanceMonitor queries", () => {
  it("getMetricsSummary covers every operation or one", () => {
    const { monitor, clock } = makeMonitor()
    for (const ms of [10, 20, 30]) {
      const id = monitor.startOperation("query")
      clock.advance(ms)
      monitor.endOperation(id)
    }
    monitor.endOperation(monitor.startOperation("render"))

    const all = monitor.getMetricsSummary()
    const one = monitor.getMetricsSummary("query")

    expect(Object.keys(all).sort()).toEqual(["query", "render"])
    expect(Object.keys(one)).toEqual(["query"])
    expect(one.query?.count).toBe(3)
    expect(one.query?.minDuration).toBe(0.01)
    expect(one.query?.maxDuration).toBe(0.03)
    expect(one.query?.meanDuration).toBeCloseTo(0.02, 12)
    expect(monitor.getMetricsSummary("unknown")).toEqual({})
  })

  it("getActiveOperations reports elapsed seconds", () => {
    const { monitor, clock } = makeMonitor()
    const id = monitor.startOperation("long_running")
    clock.advance(2500)

    const active = monitor.getActiveOperations()

    expect(active).toHaveLength(1)
    expect(active[0]?.id).toBe(id)
    expect(active[0]?.operation).toBe("long_running")
    expect(active[0]?.elapsed).toBe(2.5)
  })

  it("clearMetrics forgets one operation", () => {
    const { monitor } = makeMonitor()
    monitor.monitorOperation("keep", () => undefined)
    monitor.monitorOperation("drop", () => undefined)

    monitor.clearMetrics("drop")

    expect(Object.keys(monitor.getMetricsSummary())).toEqual(["keep"])
  })

  it("clearMetrics without a name forgets all", () => {
    const { monitor } = makeMonitor()
    monitor.monitorOperation("a", () => undefined)
    monitor.monitorOperation("b", () => undefined)

    monitor.clearMetrics()

    expect(monitor.getMetricsSummary()).toEqual({})
  })

  it("maxMetricsRetained bounds the retained records", () => {
    const { monitor } = makeMonitor({ maxMetricsRetained: 3 })

    for (let i = 0; i < 5; i++) monitor.monitorOperation("burst", () => undefined)

    expect(monitor.getMetricsSummary("burst").burst?.count).toBe(5)
    expect(monitor.getMetricsSummary("burst").burst?.retained).toBe(3)
  })
})

describe("PerformanceMonitor.configure", () => {
  it("returns the updated configuration", () => {
    const { monitor } = makeMonitor()

    const config = monitor.configure({ samplingRate: 0.5, thresholdDurationMs: 250 })

    expect(config.samplingRate).toBe(0.5)
    expect(config.thresholdDurationMs).toBe(250)
    expect(monitor.config).toEqual(config)
  })

  it("disabling makes operations no-ops", () => {
    const { monitor } = makeMonitor()

    monitor.configure({ enabled: false })
    const id = monitor.startOperation("ignored")
    const record = monitor.endOperation(id)

    expect(id).toContain("ignored")
    expect(record).toBeUndefined()
    expect(monitor.getMetricsSummary()).toEqual({})
    expect(logger.entries).toEqual([])
  })

  it("samplingRate 0 records nothing", () => {
    const { monitor } = makeMonitor({ samplingRate: 0 })

    monitor.monitorOperation("sampled_out", () => undefined)

    expect(monitor.getMetricsSummary()).toEqual({})
    expect(monitor.stats.sampledOut).toBe(1)
  })

  it("slow operations log a warning", () => {
    const { monitor, clock } = makeMonitor({ thresholdDurationMs: 50 })

    const id = monitor.startOperation("slow_query")
    clock.advance(75)
    monitor.endOperation(id)

    expect(logger.at("warn")).toHaveLength(1)
    expect(logger.at("warn")[0]).toContain("slow_query")
  })

  it("tracking switches leave readings out", () => {
    const { monitor } = makeMonitor({ enableCpuTracking: false, enableMemoryTracking: false })

    const record = monitor.endOperation(monitor.startOperation("light"))

    expect(record?.cpuUsage).toBeUndefined()
    expect(record?.memoryUsage).toBeUndefined()
    expect(record?.memoryDelta).toBeUndefined()
  })

  it("includeSystemInfo adds host facts", () => {
    const { monitor } = makeMonitor({ includeSystemInfo: true })

    const record = monitor.endOperation(monitor.startOperation("with_host"))

    expect(record?.systemInfo?.platform).toBe(process.platform)
  })
})
