import { Effect, Exit, type Layer } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Scheduler, Sink, SinkError, Telemetry } from "../src/index.js"
import { record } from "./fixtures.js"

const payload = (body: string) => ({
  contentType: "text/plain",
  fileExtension: "txt",
  fileMode: "append" as const,
  header: "[",
  body,
  footer: "]",
  separator: ",",
  recordCount: 1,
})

describe("Scheduler.make", () => {
  it("stops when the scope closes", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        let runs = 0
        const scheduler = yield* Effect.scoped(
          Effect.gen(function* () {
            const scoped = yield* Scheduler.make
            yield* scoped.start(
              10,
              Effect.sync(() => runs++),
            )
            yield* TestClock.adjust("10 seconds")
            return scoped
          }),
        )
        yield* TestClock.adjust("30 seconds")
        return { runs, running: scheduler.running }
      }).pipe(Effect.provide(TestClock.layer())),
    )

    expect(result.runs).toBe(1)
    expect(result.running).toBe(false)
  })
})

describe("Scheduler.layerNoop", () => {
  it("never runs the task", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const scheduler = yield* Scheduler.Scheduler
        let runs = 0
        yield* scheduler.start(
          1,
          Effect.sync(() => runs++),
        )
        yield* TestClock.adjust("1 minute")
        return { runs, running: scheduler.running }
      }).pipe(Effect.provide(Scheduler.layerNoop), Effect.provide(TestClock.layer())),
    )

    expect(result.runs).toBe(0)
    expect(result.running).toBe(false)
  })
})

describe("Sink.layerMemory", () => {
  it("Sink and Memory are one sink", async () => {
    const documents = await Effect.runPromise(
      Effect.gen(function* () {
        const sink = yield* Sink.Sink
        yield* sink.deliver(payload("1"))
        const memory = yield* Sink.Memory
        return memory.documents()
      }).pipe(Effect.provide(Sink.layerMemory)),
    )

    expect(documents).toEqual(["[1]"])
  })

  it("each build is a fresh sink", async () => {
    const deliverOne = Effect.gen(function* () {
      const sink = yield* Sink.Sink
      yield* sink.deliver(payload("1"))
      const memory = yield* Sink.Memory
      return memory.payloads.length
    })

    const first = await Effect.runPromise(deliverOne.pipe(Effect.provide(Sink.layerMemory)))
    const second = await Effect.runPromise(deliverOne.pipe(Effect.provide(Sink.layerMemory)))

    expect(first).toBe(1)
    expect(second).toBe(1)
  })
})

describe("memory sink", () => {
  it("clear forgets payloads", async () => {
    const sink = Sink.makeMemory()
    await Effect.runPromise(sink.deliver(payload("1")))

    sink.clear()
    await Effect.runPromise(sink.deliver(payload("2")))

    expect(sink.documents()).toEqual(["[2]"])
  })

  it("failWith fails deliveries", async () => {
    const sink = Sink.makeMemory()
    sink.failWith = new SinkError.SinkError({ reason: "Timeout", message: "slow" })

    const exit = await Effect.runPromiseExit(sink.deliver(payload("1")))

    expect(Exit.isFailure(exit)).toBe(true)
    expect(sink.payloads).toHaveLength(0)
  })
})

describe("Telemetry.layerNoop", () => {
  it("enable collects from no monitor", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const telemetry = yield* Telemetry.Telemetry
        yield* telemetry.enable()
        return { enabled: telemetry.enabled, buffered: telemetry.getTotalMetricsCount() }
      }).pipe(Effect.provide(Telemetry.layerNoop)),
    )

    expect(result.enabled).toBe(true)
    expect(result.buffered).toBe(0)
  })

  it("export discards and succeeds", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const telemetry = yield* Telemetry.Telemetry
        telemetry.collect(record("direct"))
        const delivered = yield* telemetry.forceExport
        return { delivered, buffered: telemetry.getTotalMetricsCount() }
      }).pipe(Effect.provide(Telemetry.layerNoop)),
    )

    expect(result.delivered).toBe(true)
    expect(result.buffered).toBe(0)
  })

  it("needs no other layer", async () => {
    const NoopLive: Layer.Layer<Telemetry.Telemetry> = Telemetry.layerNoop

    const destination = await Effect.runPromise(
      Effect.map(
        Effect.service(Telemetry.Telemetry),
        (telemetry) => telemetry.pipeline?.sink.destination,
      ).pipe(Effect.provide(NoopLive)),
    )

    expect(destination).toBe("noop")
  })
})
