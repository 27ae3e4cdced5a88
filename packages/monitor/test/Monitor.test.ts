import os from "node:os"
import { describe, expect, it } from "vitest"
import { Monitor, OperationBus, type OperationMetrics } from "../src/index.js"
import { capturingLogger, fakeResources, manualClock } from "./helpers.js"

const quietMonitor = (options: Monitor.MonitorOptions = {}) => {
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

describe("startOperation and endOperation", () => {
  it("id contains operation name", () => {
    const { monitor } = quietMonitor()

    const id = monitor.startOperation("db.query")

    expect(id).toContain("db.query")
  })

  it("ids are distinct", () => {
    const { monitor } = quietMonitor()

    const first = monitor.startOperation("same")
    const second = monitor.startOperation("same")

    expect(first).not.toBe(second)
  })

  it("end returns the record", () => {
    const { monitor, clock } = quietMonitor()

    const id = monitor.startOperation("load")
    clock.advance(40)
    const record = monitor.endOperation(id)

    expect(record?.id).toBe(id)
    expect(record?.operation).toBe("load")
    expect(record?.status).toBe("ok")
    expect(record?.error).toBeUndefined()
    expect(record?.parentId).toBeUndefined()
  })

  it("second end returns undefined", () => {
    const { monitor, logger } = quietMonitor()

    const id = monitor.startOperation("load")
    monitor.endOperation(id)
    const again = monitor.endOperation(id)

    expect(again).toBeUndefined()
    expect(monitor.stats.unknownIds).toBe(1)
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain(id)
  })

  it("unknown id warns once", () => {
    const { monitor, logger } = quietMonitor()

    monitor.endOperation("never#1")
    monitor.endOperation("never#1")

    expect(monitor.stats.unknownIds).toBe(2)
    expect(logger.warnings).toHaveLength(1)
  })

  it("error status keeps error message", () => {
    const { monitor } = quietMonitor()

    const id = monitor.startOperation("save")
    const record = monitor.endOperation(id, { status: "error", error: new Error("disk full") })

    expect(record?.status).toBe("error")
    expect(record?.error).toBe("disk full")
  })

  it("disabled monitor records nothing", () => {
    const { monitor } = quietMonitor({ enabled: false })

    const id = monitor.startOperation("load")
    const record = monitor.endOperation(id)

    expect(id).toContain("load")
    expect(record).toBeUndefined()
    expect(monitor.getRecords()).toHaveLength(0)
    expect(monitor.stats.started).toBe(0)
  })

  it("non-string name is rejected", () => {
    const { monitor, logger } = quietMonitor()

    const id = monitor.startOperation(42 as unknown as string)

    expect(monitor.endOperation(id)).toBeUndefined()
    expect(monitor.getRecords()).toHaveLength(0)
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain("must be a string")
  })
})

describe("clocks", () => {
  it("duration uses monotonic clock", () => {
    const { monitor, clock } = quietMonitor()

    const id = monitor.startOperation("load")
    clock.advance(250)
    // A wall clock step backwards, as NTP may cause, must not change the duration.
    clock.setWall(1_600_000_000_000)
    const record = monitor.endOperation(id)

    expect(record?.duration).toBe(0.25)
  })

  it("timestamp uses wall clock", () => {
    const { monitor, clock } = quietMonitor()

    const id = monitor.startOperation("load")
    clock.advance(10)
    clock.setWall(1_700_000_123_500)
    const record = monitor.endOperation(id)

    expect(record?.timestamp).toBe(1_700_000_123.5)
  })
})

describe("custom metrics", () => {
  it("metadata starts custom metrics", () => {
    const { monitor } = quietMonitor()

    const id = monitor.startOperation("upload", { userId: "123", sizeBytes: 2048 })
    const record = monitor.endOperation(id)

    expect(record?.customMetrics).toEqual({ userId: "123", sizeBytes: 2048 })
  })

  it("metadata is copied at start", () => {
    const { monitor } = quietMonitor()
    const metadata: Record<string, unknown> = { userId: "123" }

    const id = monitor.startOperation("upload", metadata)
    metadata.userId = "456"
    const record = monitor.endOperation(id)

    expect(record?.customMetrics.userId).toBe("123")
  })

  it("recorded values join metadata", () => {
    const { monitor } = quietMonitor()

    const id = monitor.startOperation("import", { source: "csv" })
    const accepted = monitor.recordCustomMetric(id, "rows", 1000)
    monitor.recordCustomMetric(id, "errors", 0)
    const record = monitor.endOperation(id)

    expect(accepted).toBe(true)
    expect(record?.customMetrics).toEqual({ source: "csv", rows: 1000, errors: 0 })
  })

  it("recorded value overrides metadata", () => {
    const { monitor } = quietMonitor()

    const id = monitor.startOperation("import", { rows: 0 })
    monitor.recordCustomMetric(id, "rows", 7)
    const record = monitor.endOperation(id)

    expect(record?.customMetrics.rows).toBe(7)
  })

  it("records do not share metrics", () => {
    const { monitor } = quietMonitor()

    const first = monitor.startOperation("import")
    const second = monitor.startOperation("import")
    monitor.recordCustomMetric(first, "rows", 1)
    const secondRecord = monitor.endOperation(second)
    const firstRecord = monitor.endOperation(first)

    expect(firstRecord?.customMetrics).toEqual({ rows: 1 })
    expect(secondRecord?.customMetrics).toEqual({})
  })

  it("unknown id returns false, warns once", () => {
    const { monitor, logger } = quietMonitor()

    const first = monitor.recordCustomMetric("gone#9", "rows", 1)
    const second = monitor.recordCustomMetric("gone#9", "rows", 2)

    expect(first).toBe(false)
    expect(second).toBe(false)
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain("gone#9")
  })

  it("ended id rejects metric", () => {
    const { monitor } = quietMonitor()

    const id = monitor.startOperation("import")
    const record = monitor.endOperation(id)
    const accepted = monitor.recordCustomMetric(id, "rows", 1)

    expect(accepted).toBe(false)
    expect(record?.customMetrics).toEqual({})
  })

  it("non-string id never throws", () => {
    const { monitor } = quietMonitor()

    const accepted = monitor.recordCustomMetric(7 as unknown as string, "rows", 1)
    const record = monitor.endOperation(7 as unknown as string)

    expect(accepted).toBe(false)
    expect(record).toBeUndefined()
  })
})

describe("CPU and memory", () => {
  it("CPU percent of one core", () => {
    const resources = fakeResources()
    const { monitor, clock } = quietMonitor({ enableCpuTracking: true, resources })

    resources.cpu = 1_000
    const id = monitor.startOperation("hash")
    clock.advance(10)
    resources.cpu = 6_000
    const record = monitor.endOperation(id)

    expect(record?.cpuUsage).toBe(50)
  })

  it("zero duration gives zero CPU", () => {
    const resources = fakeResources()
    const { monitor } = quietMonitor({ enableCpuTracking: true, resources })

    const id = monitor.startOperation("hash")
    resources.cpu = 500
    const record = monitor.endOperation(id)

    expect(record?.cpuUsage).toBe(0)
  })

  it("memory usage and heap delta", () => {
    const resources = fakeResources()
    const { monitor, clock } = quietMonitor({ enableMemoryTracking: true, resources })

    resources.heap = 2_000_000
    const id = monitor.startOperation("parse")
    clock.advance(5)
    resources.heap = 2_500_000
    resources.rss = 80_000_000
    const record = monitor.endOperation(id)

    expect(record?.memoryUsage).toBe(80_000_000)
    expect(record?.memoryDelta).toBe(500_000)
  })

  it("heap delta may be negative", () => {
    const resources = fakeResources()
    const { monitor } = quietMonitor({ enableMemoryTracking: true, resources })

    resources.heap = 3_000
    const id = monitor.startOperation("gc")
    resources.heap = 1_000
    const record = monitor.endOperation(id)

    expect(record?.memoryDelta).toBe(-2_000)
  })

  it("tracking off never reads resources", () => {
    const resources = fakeResources()
    const { monitor, clock } = quietMonitor({ resources })

    const id = monitor.startOperation("hash")
    clock.advance(10)
    const record = monitor.endOperation(id)

    expect(resources.calls.cpuMicros).toBe(0)
    expect(resources.calls.heapUsedBytes).toBe(0)
    expect(resources.calls.rssBytes).toBe(0)
    expect(record?.cpuUsage).toBeUndefined()
    expect(record?.memoryUsage).toBeUndefined()
    expect(record?.memoryDelta).toBeUndefined()
  })

  it("CPU only reads CPU", () => {
    const resources = fakeResources()
    const { monitor } = quietMonitor({ enableCpuTracking: true, resources })

    const id = monitor.startOperation("hash")
    monitor.endOperation(id)

    expect(resources.calls.cpuMicros).toBe(2)
    expect(resources.calls.heapUsedBytes).toBe(0)
    expect(resources.calls.rssBytes).toBe(0)
  })

  it("memory only reads memory", () => {
    const resources = fakeResources()
    const { monitor } = quietMonitor({ enableMemoryTracking: true, resources })

    const id = monitor.startOperation("parse")
    monitor.endOperation(id)

    expect(resources.calls.cpuMicros).toBe(0)
    expect(resources.calls.heapUsedBytes).toBe(2)
    expect(resources.calls.rssBytes).toBe(1)
  })

  it("live reader gives plausible figures", () => {
    const logger = capturingLogger()
    const monitor = Monitor.makeUnsafe({ publish: false, logger })

    const id = monitor.startOperation("live")
    const record = monitor.endOperation(id)

    expect(record?.memoryUsage).toBeGreaterThan(0)
    expect(record?.cpuUsage).toBeGreaterThanOrEqual(0)
    expect(Number.isFinite(record?.memoryDelta)).toBe(true)
  })
})

describe("includeSystemInfo", () => {
  it("true adds host facts", () => {
    const { monitor } = quietMonitor({ includeSystemInfo: true })

    const record = monitor.endOperation(monitor.startOperation("load"))

    expect(record?.systemInfo?.hostname).toBe(os.hostname())
    expect(record?.systemInfo?.platform).toBe(process.platform)
    expect(record?.systemInfo?.arch).toBe(process.arch)
    expect(record?.systemInfo?.runtimeVersion).toBe(process.version)
    expect(record?.systemInfo?.cpuCount).toBe(os.availableParallelism())
    expect(record?.systemInfo?.totalMemory).toBe(os.totalmem())
  })

  it("false leaves it out", () => {
    const { monitor } = quietMonitor({ includeSystemInfo: false })

    const record = monitor.endOperation(monitor.startOperation("load"))

    expect(record?.systemInfo).toBeUndefined()
  })
})

describe("slow-operation warning", () => {
  it("slow operation warns with name and duration", () => {
    const { monitor, logger, clock } = quietMonitor({ thresholdDurationMs: 100 })

    const id = monitor.startOperation("report.render")
    clock.advance(150)
    monitor.endOperation(id)

    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toContain('"report.render"')
    expect(logger.warnings[0]).toContain("150.0 ms")
    expect(monitor.stats.slowOperations).toBe(1)
  })

  it("operation at threshold does not warn", () => {
    const { monitor, logger, clock } = quietMonitor({ thresholdDurationMs: 100 })

    const id = monitor.startOperation("report.render")
    clock.advance(100)
    monitor.endOperation(id)

    expect(logger.warnings).toHaveLength(0)
    expect(monitor.stats.slowOperations).toBe(0)
  })

  it("rate limit counts suppressed warnings", () => {
    const { monitor, logger, clock } = quietMonitor({ thresholdDurationMs: 10 })

    // Twelve slow operations within one second: ten warnings, two suppressed.
    for (let i = 0; i < 12; i++) {
      const id = monitor.startOperation("slow")
      clock.advance(20)
      monitor.endOperation(id)
    }
    const withinWindow = logger.warnings.length
    clock.advance(1_000)
    const id = monitor.startOperation("slow")
    clock.advance(20)
    monitor.endOperation(id)

    expect(withinWindow).toBe(10)
    expect(logger.warnings).toHaveLength(11)
    expect(logger.warnings[10]).toContain("2 more slow-operation warnings were suppressed")
    expect(monitor.stats.slowOperations).toBe(13)
  })
})

describe("active operations", () => {
  it("lists started operations oldest first", () => {
    const { monitor, clock } = quietMonitor()

    const first = monitor.startOperation("a")
    clock.advance(1_500)
    const second = monitor.startOperation("b")
    clock.advance(500)
    const active = monitor.getActiveOperations()

    expect(active.map((each) => each.id)).toEqual([first, second])
    expect(active[0]?.elapsed).toBe(2)
    expect(active[1]?.elapsed).toBe(0.5)
    expect(active[0]?.operation).toBe("a")
  })

  it("ended operation leaves list", () => {
    const { monitor } = quietMonitor()

    const id = monitor.startOperation("a")
    monitor.endOperation(id)

    expect(monitor.getActiveOperations()).toHaveLength(0)
  })
})

describe("clearMetrics", () => {
  it("clears one operation", () => {
    const { monitor } = quietMonitor()
    monitor.endOperation(monitor.startOperation("a"))
    monitor.endOperation(monitor.startOperation("b"))

    monitor.clearMetrics("a")

    expect(monitor.getRecords("a")).toHaveLength(0)
    expect(monitor.getRecords("b")).toHaveLength(1)
    expect(Object.keys(monitor.getMetricsSummary())).toEqual(["b"])
  })

  it("clears every operation", () => {
    const { monitor } = quietMonitor()
    monitor.endOperation(monitor.startOperation("a"))
    monitor.endOperation(monitor.startOperation("b"))

    monitor.clearMetrics()

    expect(monitor.getRecords()).toHaveLength(0)
    expect(Object.keys(monitor.getMetricsSummary())).toHaveLength(0)
  })

  it("keeps active operations", () => {
    const { monitor } = quietMonitor()
    const id = monitor.startOperation("a")

    monitor.clearMetrics()
    const record = monitor.endOperation(id)

    expect(record?.operation).toBe("a")
    expect(monitor.getRecords("a")).toHaveLength(1)
  })
})

describe("reset", () => {
  it("forgets records, active operations and counters", () => {
    const { monitor } = quietMonitor()
    monitor.endOperation(monitor.startOperation("a"))
    monitor.startOperation("b")

    monitor.reset()

    expect(monitor.getRecords()).toHaveLength(0)
    expect(monitor.getActiveOperations()).toHaveLength(0)
    expect(monitor.stats.started).toBe(0)
    expect(monitor.stats.recorded).toBe(0)
  })
})

describe("stats", () => {
  it("counts started and recorded", () => {
    const { monitor } = quietMonitor()

    monitor.endOperation(monitor.startOperation("a"))
    monitor.endOperation(monitor.startOperation("a"))
    monitor.startOperation("b")
    monitor.endOperation("missing#1")

    expect(monitor.stats).toEqual({
      started: 3,
      sampledOut: 0,
      recorded: 2,
      evictedActive: 0,
      unknownIds: 1,
      overflowedNames: 0,
      slowOperations: 0,
      droppedCustomMetrics: 0,
      truncatedCustomMetricNames: 0,
      truncatedOperationNames: 0,
    })
  })
})

describe("listeners", () => {
  it("subscribe receives this monitor's records", () => {
    const { monitor } = quietMonitor()
    const received: Array<OperationMetrics> = []

    const unsubscribe = monitor.subscribe((record) => received.push(record))
    const record = monitor.endOperation(monitor.startOperation("a"))
    unsubscribe()
    monitor.endOperation(monitor.startOperation("a"))

    expect(received).toEqual([record])
  })

  it("throwing listener does not break end", () => {
    const { monitor } = quietMonitor()
    const before = OperationBus.listenerErrorCount()

    monitor.subscribe(() => {
      throw new Error("listener failed")
    })
    const record = monitor.endOperation(monitor.startOperation("a"))

    expect(record?.operation).toBe("a")
    expect(OperationBus.listenerErrorCount()).toBe(before + 1)
  })

  it("process-wide bus receives published records", () => {
    const logger = capturingLogger()
    const monitor = Monitor.makeUnsafe({ publish: true, logger })
    const received: Array<OperationMetrics> = []

    const unsubscribe = OperationBus.subscribeAll((record) => {
      if (record.operation === "bus.published") received.push(record)
    })
    let record: OperationMetrics | undefined
    try {
      record = monitor.endOperation(monitor.startOperation("bus.published"))
    } finally {
      unsubscribe()
    }

    expect(received).toHaveLength(1)
    expect(received[0]).toBe(record)
  })

  it("publish false keeps bus silent", () => {
    const { monitor } = quietMonitor()
    const received: Array<OperationMetrics> = []

    const unsubscribe = OperationBus.subscribeAll((record) => {
      if (record.operation === "bus.silent") received.push(record)
    })
    try {
      monitor.endOperation(monitor.startOperation("bus.silent"))
    } finally {
      unsubscribe()
    }

    expect(received).toHaveLength(0)
  })
})

describe("Monitor source options", () => {
  const cases: ReadonlyArray<[string, Record<string, unknown>]> = [
    ["clock", { clock: 5 }],
    ["clock", { clock: { monotonicMs: () => 1 } }],
    ["resources", { resources: "live", enableCpuTracking: true }],
    ["random", { random: 0.5, samplingRate: 0.5 }],
    ["publish", { publish: "no" }],
  ]

  it.each(cases)("bad %s is logged and replaced", (name, options) => {
    const logger = capturingLogger()
    const monitor = Monitor.makeUnsafe({ ...options, logger } as Monitor.MonitorOptions)

    const id = monitor.startOperation("op")
    monitor.endOperation(id)

    const warnings = logger.warnings.filter((line) => line.includes(`MonitorOptions.${name}`))
    expect(warnings).toHaveLength(1)
    expect(monitor.stats.started).toBe(1)
  })
})

describe("Monitor name and CPU bounds", () => {
  it("long operation name is cut", () => {
    const logger = capturingLogger()
    const monitor = Monitor.makeUnsafe({ publish: false, logger, clock: manualClock() })
    const name = `${"n".repeat(199)}\u{1F600}tail`

    const id = monitor.startOperation(name)
    const record = monitor.endOperation(id)
    monitor.endOperation(monitor.startOperation(`${"x".repeat(300)}`))

    expect(record?.operation).toBe("n".repeat(199))
    expect(id.startsWith(`${"n".repeat(199)}#`)).toBe(true)
    expect(monitor.stats.truncatedOperationNames).toBe(2)
    expect(logger.warnings.filter((line) => line.includes("operation name"))).toHaveLength(1)
  })

  it("CPU percent capped at cores", () => {
    const clock = manualClock()
    const resources = fakeResources()
    const monitor = Monitor.makeUnsafe({
      publish: false,
      logger: capturingLogger(),
      clock,
      resources,
      enableCpuTracking: true,
    })

    const id = monitor.startOperation("tiny")
    clock.advance(0.01)
    resources.cpu += 4000
    const record = monitor.endOperation(id)

    expect(record?.cpuUsage).toBe(100 * os.availableParallelism())
  })
})
