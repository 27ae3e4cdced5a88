import { PassThrough } from "node:stream"
import { Logging, type OperationMetrics } from "@dinoair/monitor"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Exporter, Scheduler, Sink, Telemetry } from "../src/index.js"
import { deliveredIds, makeExporter, makeLogger, record, START_SECONDS } from "./fixtures.js"

/** Options that keep a layer-built manager off the process-wide bus and `beforeExit`. */
const isolated = (): Telemetry.TelemetryOptions => ({
  flushOnExit: false,
  includeSystemMetrics: false,
  logger: makeLogger(),
  nowSeconds: () => START_SECONDS,
  source: () => () => {},
})

describe("Telemetry.layer", () => {
  it("composes with Exporter, Sink and Scheduler layers", async () => {
    const exporter = makeExporter()
    const sink = Sink.makeMemory()
    let closes = 0
    const closingSink: Sink.SinkShape = {
      ...sink,
      close: Effect.sync(() => {
        closes++
      }),
    }
    const TelemetryLive = Telemetry.layer(isolated()).pipe(
      Layer.provide(
        Layer.mergeAll(
          Layer.succeed(Exporter.Exporter, exporter),
          Layer.succeed(Sink.Sink, closingSink),
          Scheduler.layer,
        ),
      ),
    )
    const only = record("layered")

    const delivered = await Effect.runPromise(
      Effect.gen(function* () {
        const telemetry = yield* Telemetry.Telemetry
        telemetry.collect(only)
        return yield* telemetry.forceExport
      }).pipe(Effect.provide(TelemetryLive)),
    )

    expect(delivered).toBe(true)
    expect(deliveredIds(sink)).toEqual([only.id])
    expect(closes).toBe(1)
  })

  it("enabled option starts collecting and the scope flushes", async () => {
    const stream = new PassThrough()
    let listener: ((record: OperationMetrics) => void) | undefined
    const TelemetryLive = Telemetry.layer({
      ...isolated(),
      enabled: true,
      source: (each) => {
        listener = each
        return () => {
          listener = undefined
        }
      },
    }).pipe(
      Layer.provide(
        Layer.mergeAll(
          Layer.succeed(Exporter.Exporter, makeExporter()),
          Sink.layerConsole({ stream }),
          Scheduler.layer,
        ),
      ),
    )
    const only = record("scoped")

    const enabledInside = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(TelemetryLive)
          const telemetry = Context.get(context, Telemetry.Telemetry)
          listener?.(only)
          return telemetry.enabled
        }),
      ),
    )

    expect(enabledInside).toBe(true)
    expect(listener).toBeUndefined()
    expect(stream.read()?.toString("utf8")).toBe(`BEGIN\n${only.id}\nEND\n`)
  })

  it("layer schedule follows the TestClock", async () => {
    const sink = Sink.makeMemory()
    const TelemetryLive = Telemetry.layer({ ...isolated(), exportIntervalSeconds: 30 }).pipe(
      Layer.provide(
        Layer.mergeAll(
          Layer.succeed(Exporter.Exporter, makeExporter()),
          Layer.succeed(Sink.Sink, sink),
          Scheduler.layer,
        ),
      ),
    )

    const deliveries = await Effect.runPromise(
      Effect.gen(function* () {
        const telemetry = yield* Telemetry.Telemetry
        yield* telemetry.enable()
        telemetry.collect(record("clocked"))
        yield* TestClock.adjust("30 seconds")
        return sink.payloads.length
      }).pipe(Effect.provide(TelemetryLive), Effect.provide(TestClock.layer())),
    )

    expect(deliveries).toBe(1)
  })

  it("make reads the logger from CurrentLogger", async () => {
    const logger = makeLogger()
    const TelemetryLive = Telemetry.layer({
      flushOnExit: false,
      includeSystemMetrics: false,
      source: () => () => {},
      batchSize: 0,
    }).pipe(
      Layer.provide(
        Layer.mergeAll(
          Layer.succeed(Exporter.Exporter, makeExporter()),
          Layer.succeed(Sink.Sink, Sink.makeMemory()),
          Scheduler.layer,
          Layer.succeed(Logging.CurrentLogger, logger),
        ),
      ),
    )

    const batchSize = await Effect.runPromise(
      Effect.map(
        Effect.service(Telemetry.Telemetry),
        (telemetry) => telemetry.config.batchSize,
      ).pipe(Effect.provide(TelemetryLive)),
    )

    expect(batchSize).toBe(500)
    expect(logger.at("warn")).toHaveLength(1)
    expect(logger.at("warn")[0]).toContain('"batchSize"')
  })
})
