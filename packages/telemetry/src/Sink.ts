/**
 * The Sink contract: a destination that takes a payload and delivers it, or
 * fails with a `SinkError`.
 *
 * A sink is a thin transport: it does not buffer, retry on its own schedule
 * or drop records. The telemetry manager owns buffering, and it gives a
 * failed batch back to its buffer.
 *
 * @since 0.1.0
 * @module
 */
import { Context, Effect, Layer } from "effect"
import { documentOf, type Payload } from "./Exporter.js"
import { SinkError } from "./SinkError.js"

/**
 * A destination.
 *
 * @since 0.1.0
 */
export interface SinkShape {
  /** The name a configuration uses for it, such as `file`. */
  readonly destination: string
  /** Delivers one payload. */
  deliver(payload: Payload): Effect.Effect<void, SinkError>
  /** Releases connections and handles. Called once, at shutdown. */
  readonly close?: Effect.Effect<void> | undefined
}

/**
 * The Sink service.
 *
 * @since 0.1.0
 */
export class Sink extends Context.Service<Sink, SinkShape>()("@dinoair/telemetry/Sink") {}

/**
 * Options of the console sink.
 *
 * @since 0.1.0
 */
export interface ConsoleSinkOptions {
  /** The stream that receives each document. Default `process.stdout`. */
  readonly stream?: NodeJS.WritableStream | undefined
}

/**
 * Creates a sink that writes each payload as one document to a stream,
 * standard output by default.
 *
 * @since 0.1.0
 */
export const makeConsole = (options: ConsoleSinkOptions = {}): SinkShape => ({
  destination: "console",
  deliver: (payload) =>
    Effect.callback<void, SinkError>((resume) => {
      const stream = options.stream ?? process.stdout
      const text = documentOf(payload)
      try {
        stream.write(text.endsWith("\n") ? text : `${text}\n`, (error) => {
          resume(
            error == null
              ? Effect.void
              : Effect.fail(
                  new SinkError({
                    reason: "WriteFailed",
                    message: `console write failed: ${error.message}`,
                    destination: "console",
                    cause: error,
                  }),
                ),
          )
        })
      } catch (error) {
        resume(
          Effect.fail(
            new SinkError({
              reason: "WriteFailed",
              message: `console write failed: ${String(error)}`,
              destination: "console",
              cause: error,
            }),
          ),
        )
      }
    }),
})

/**
 * A layer with the console sink.
 *
 * @since 0.1.0
 */
export const layerConsole = (options: ConsoleSinkOptions = {}): Layer.Layer<Sink> =>
  Layer.succeed(Sink, makeConsole(options))

/**
 * A sink that keeps every delivered payload in memory, for tests.
 *
 * @since 0.1.0
 */
export interface MemorySink extends SinkShape {
  /** Payloads delivered, oldest first. */
  readonly payloads: ReadonlyArray<Payload>
  /** When set, the next deliveries fail with this error until it is cleared. */
  failWith: SinkError | undefined
  /** Returns each delivered payload as one standalone document, oldest first. */
  documents(): Array<string>
  /** Removes the delivered payloads. `failWith` stays as it is. */
  clear(): void
}

/**
 * Creates a sink that keeps payloads in memory, for tests.
 *
 * @example
 * ```ts
 * import { Sink, Telemetry } from "@dinoair/telemetry"
 * import { JsonExporter } from "@dinoair/exporter-json"
 *
 * const sink = Sink.makeMemory()
 * const telemetry = Telemetry.makeUnsafe({}, { exporter: JsonExporter.make(), sink })
 * ```
 *
 * @since 0.1.0
 */
export const makeMemory = (): MemorySink => {
  const payloads: Array<Payload> = []
  const sink: MemorySink = {
    destination: "memory",
    payloads,
    failWith: undefined,
    deliver: (payload) =>
      Effect.suspend(() => {
        if (sink.failWith !== undefined) return Effect.fail(sink.failWith)
        payloads.push(payload)
        return Effect.void
      }),
    documents: () => payloads.map(documentOf),
    clear: () => {
      payloads.length = 0
    },
  }
  return sink
}

/**
 * The memory sink of `layerMemory`, as a service of its own, so that a
 * test reads what the `Sink` service received.
 *
 * @since 0.1.0
 */
export class Memory extends Context.Service<Memory, MemorySink>()(
  "@dinoair/telemetry/Sink/Memory",
) {}

/**
 * A layer with a fresh memory sink, provided both as the `Sink` service
 * and as `Memory`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Sink } from "@dinoair/telemetry"
 *
 * const delivered = Effect.gen(function* () {
 *   const memory = yield* Sink.Memory
 *   return memory.documents()
 * })
 * Effect.runPromise(delivered.pipe(Effect.provide(Sink.layerMemory)))
 * ```
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Sink | Memory> = Layer.effect(
  Sink,
  Effect.service(Memory),
).pipe(Layer.provideMerge(Layer.effect(Memory, Effect.sync(makeMemory))))
