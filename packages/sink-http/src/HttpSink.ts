/**
 * The HTTP sink: sends each payload as one request on undici, with the
 * exporter's content type, and retries transient failures.
 *
 * A delivery runs these steps:
 *
 * 1. The document (`header + body + footer`) is encoded once, gzip-compressed
 *    when `compression` is `gzip`. Every attempt sends the same bytes.
 * 2. Each attempt is one request with `Content-Type` from the payload, the
 *    `headers` option, and `Content-Encoding: gzip` when compressed.
 *    `timeoutMs` bounds the whole attempt: connecting, sending, waiting for
 *    the response and reading it. When it passes, the request is aborted and
 *    its connection closed.
 * 3. A 2xx response is a success. Its body is read and discarded, so the
 *    kept-alive connection serves the next request.
 * 4. Network errors, timeouts, 429 and 5xx are retried on the schedule of
 *    `HttpRetry.schedule`: capped exponential backoff with jitter, at most
 *    `maxAttempts` attempts, `Retry-After` honoured. When the attempts run
 *    out, the delivery fails with reason `Network`, `Timeout` or `Status`,
 *    which the telemetry manager treats as transient: the batch goes back
 *    to its buffer.
 * 5. Any other status (3xx, because redirects are not followed, and 4xx
 *    other than 429) is not retried. The sink logs it once at error level
 *    with the status and the start of the response body, and fails with
 *    reason `Rejected`, which the manager counts as `dropped.rejected`.
 *
 * Credentials:
 * - A user name and password in the URL are sent as HTTP basic
 *   authentication and removed from the request URL.
 * - Log lines and error messages show the URL through `redactUrl`, never
 *   show a header value, and pass text from elsewhere (undici errors, the
 *   response body) through a scrubber that replaces the sink's secrets.
 * - The first delivery over plain `http://` to a host that is not loopback
 *   logs a warning, once per sink.
 *
 * Each sink keeps one connection alive in an undici `Pool` of its own, which
 * `close` closes. Deliveries through one sink take turns on it, and an idle
 * connection does not keep the process alive.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JsonExporter } from "@dinoair/exporter-json"
 * import { HttpSink } from "@dinoair/sink-http"
 *
 * const sink = HttpSink.make({
 *   url: "https://collector.example/ingest",
 *   headers: { authorization: `Bearer ${process.env.COLLECTOR_TOKEN}` },
 *   compression: "gzip",
 * })
 * const payload = JsonExporter.make().encode(records, context)
 * await Effect.runPromise(sink.deliver(payload))
 * await Effect.runPromise(sink.close ?? Effect.void)
 * ```
 *
 * @since 0.1.0
 * @module
 */
import { STATUS_CODES } from "node:http"
import { promisify } from "node:util"
import { gzip } from "node:zlib"
import { Exporter, Plugin, Sink, SinkError } from "@dinoair/telemetry"
import { Clock, Duration, Effect, Layer, Schedule } from "effect"
import { buildConnector, type Dispatcher, Pool, request } from "undici"
import * as HttpRetry from "./HttpRetry.js"
import { log, resolve, type Settings, settingDefaults, usableOptions } from "./internal/settings.js"

/**
 * A logger with the four usual level methods, such as `console` or pino.
 *
 * @since 0.1.0
 */
export type HttpSinkLogger = Plugin.PluginContext["logger"]

/**
 * Options of the HTTP sink.
 *
 * @since 0.1.0
 */
export interface HttpSinkOptions {
  /**
   * The endpoint, an `http:` or `https:` URL. A user name and password in it
   * are sent as basic authentication and never logged. Required.
   */
  readonly url: string
  /** The request method. Default `POST`. */
  readonly method?: "POST" | "PUT" | undefined
  /**
   * Extra request headers, such as `authorization`. Their values are never
   * logged. The sink sets `content-type`, `content-encoding`,
   * `content-length` and the connection headers itself, so they are not
   * allowed here. Default: none.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** `gzip` compresses the body and sets `Content-Encoding: gzip`. Default `none`. */
  readonly compression?: "gzip" | "none" | undefined
  /**
   * Milliseconds that one attempt may take, from connecting to reading the
   * response. The request is aborted when they pass. Default `10000`.
   */
  readonly timeoutMs?: number | undefined
  /** Attempts per delivery, the first one included. 1 turns retries off. Default `5`. */
  readonly maxAttempts?: number | undefined
  /** Backoff before the first retry, in milliseconds. It doubles on each retry. Default `500`. */
  readonly initialBackoffMs?: number | undefined
  /**
   * Cap on the backoff in milliseconds, applied before the ±20 % jitter, so
   * a wait is at most 1.2 times this. Default `30000`.
   */
  readonly maxBackoffMs?: number | undefined
  /**
   * Longest `Retry-After` that the sink waits for, in milliseconds. A server
   * asking for more ends the retries, and the delivery fails with reason
   * `Status`. Default `60000`.
   */
  readonly maxRetryAfterMs?: number | undefined
  /**
   * Milliseconds that an idle connection stays open for the next request
   * when the server sends no `Keep-Alive: timeout=…` hint. With a hint,
   * undici 7 uses the hint less one second instead. Default `4000`.
   */
  readonly keepAliveTimeoutMs?: number | undefined
  /**
   * The logger for retries (debug), the plain-http warning (warn) and
   * rejections (error). The plugin passes the facade's logger. Default:
   * `console`, without debug lines.
   */
  readonly logger?: HttpSinkLogger | undefined
  /**
   * The undici dispatcher to send through, such as a `ProxyAgent` or a
   * `MockAgent`. The caller owns it: `close` leaves it open. Default: a
   * `Pool` of the sink's own with one kept-alive connection.
   */
  readonly dispatcher?: Dispatcher | undefined
}

/**
 * The defaults of every optional setting.
 *
 * @since 0.1.0
 */
export const defaults = settingDefaults

/** The name a configuration uses for this destination. @since 0.1.0 */
export const DESTINATION = "http"

/**
 * Creates an HTTP sink.
 *
 * Throws a `TypeError` when an option is invalid, because no delivery could
 * succeed. The message names the option and never shows the URL's
 * credentials or a header value.
 *
 * @since 0.1.0
 */
export const make = (options: HttpSinkOptions): Sink.SinkShape => {
  const settings = resolve(options)
  // One connection, because the telemetry manager sends one batch at a time.
  // An undici 7 Agent would open a second connection on the first reuse,
  // while it checks the idle one, and then alternate between the two.
  const ownPool =
    settings.dispatcher === undefined
      ? new Pool(new URL(settings.requestUrl).origin, {
          connections: 1,
          keepAliveTimeout: settings.keepAliveTimeoutMs,
          connect: unreferencedConnector(),
        })
      : undefined
  const dispatcher = settings.dispatcher ?? (ownPool as Pool)
  const retry = retrySchedule(settings)
  let warnedPlainHttp = false
  let closing: Promise<void> | undefined

  return {
    destination: DESTINATION,
    deliver: (payload) =>
      Effect.suspend(() => {
        if (closing !== undefined) return Effect.fail(closedError(settings))
        if (settings.plainHttpWarning !== undefined && !warnedPlainHttp) {
          warnedPlainHttp = true
          log(settings.logger, "warn", settings.plainHttpWarning)
        }
        return deliverPayload(settings, dispatcher, retry, payload)
      }),
    // Waits for the requests in flight, which timeoutMs bounds.
    close: Effect.promise(() => {
      closing ??= ownPool?.close().catch(() => undefined) ?? Promise.resolve()
      return closing
    }),
  }
}

/**
 * A layer with an HTTP sink as the `Sink` service, closed when the layer's
 * scope closes. Building it fails with a `SinkError` of reason
 * `InvalidConfig` when an option is invalid; the message never shows the
 * URL's credentials or a header value.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { JsonExporter } from "@dinoair/exporter-json"
 * import { HttpSink } from "@dinoair/sink-http"
 * import { Scheduler, Telemetry } from "@dinoair/telemetry"
 *
 * const TelemetryLive = Telemetry.layer({ enabled: true }).pipe(
 *   Layer.provide(
 *     Layer.mergeAll(
 *       JsonExporter.layer(),
 *       HttpSink.layer({ url: "https://collector.example/ingest", compression: "gzip" }),
 *       Scheduler.layer,
 *     ),
 *   ),
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: HttpSinkOptions): Layer.Layer<Sink.Sink, SinkError.SinkError> =>
  Layer.effect(
    Sink.Sink,
    Effect.acquireRelease(
      Effect.try({
        try: () => make(options),
        catch: (error) =>
          new SinkError.SinkError({
            reason: "InvalidConfig",
            message: error instanceof Error ? error.message : String(error),
            destination: DESTINATION,
            cause: error,
          }),
      }),
      (sink) => sink.close ?? Effect.void,
    ),
  )

/**
 * The plugin that the facade loads for `exportDestination: "http"`. The URL
 * is the configuration's `httpEndpoint`, `sinkOptions` supply the other
 * options, and the facade's logger is the default logger.
 *
 * Unlike `make`, the plugin does not throw for an invalid option: it logs
 * each invalid option or `headers` entry by name and leaves it out. When
 * `httpEndpoint` has a user name or password and `sinkOptions.headers` has
 * an `authorization` header, the header is sent and the URL's credentials
 * are not, with a warning.
 *
 * @since 0.1.0
 */
export const plugin: Plugin.SinkPlugin = {
  kind: "sink",
  destination: DESTINATION,
  make: ({ config, options, logger }) => {
    if (config.httpEndpoint === null) {
      throw new TypeError(
        'http sink: exportDestination "http" needs httpEndpoint, the URL that telemetry is sent to',
      )
    }
    if ("url" in options) {
      log(
        logger,
        "warn",
        "http sink: sinkOptions.url is ignored because the URL comes from httpEndpoint.",
      )
    }
    // The facade passes sinkOptions untyped: each option or header that `resolve` rejects is
    // logged and left out, and an authorization header replaces credentials in httpEndpoint.
    const usable = usableOptions(options, config.httpEndpoint, logger)
    return make({ logger, ...usable.options, url: usable.url } as HttpSinkOptions)
  },
}

// ---------------------------------------------------------------------------
// Delivery

/** The parts of one attempt's response that decide what happens next. */
interface ResponseSummary {
  readonly status: number
  readonly retryAfter: string | undefined
  /** The start of the response body, for error messages. Empty for 2xx. */
  readonly bodyStart: string
}

/** Bytes of an error response read for its message. The rest is discarded with the connection. */
const MAX_ERROR_BODY_BYTES = 4096

/** Characters of an error response shown in messages. */
const MAX_EXCERPT_CHARS = 200

/** Bytes of a 2xx response read to free the connection. A longer body closes the connection instead. */
const MAX_DRAINED_BYTES = 64 * 1024

const gzipAsync = promisify(gzip)

const deliverPayload = (
  settings: Settings,
  dispatcher: Dispatcher,
  retry: Schedule.Schedule<Duration.Duration, HttpRetry.AttemptFailure>,
  payload: Exporter.Payload,
): Effect.Effect<void, SinkError.SinkError> =>
  Effect.gen(function* () {
    // Encoded once, before the retries, so every attempt sends the same bytes.
    const body = yield* encodeBody(settings, payload)
    const headers = requestHeaders(settings, payload)

    let attempts = 0
    const attempt = Effect.suspend(() => {
      attempts++
      return sendOnce(settings, dispatcher, body, headers)
    })

    yield* attempt.pipe(
      Effect.retry(retry),
      Effect.mapError((failure) => finalError(settings, failure, attempts)),
      Effect.tapError((error) =>
        error.reason === "Rejected"
          ? Effect.sync(() => log(settings.logger, "error", `http sink: ${error.message}`))
          : Effect.void,
      ),
    )
  })

const encodeBody = (
  settings: Settings,
  payload: Exporter.Payload,
): Effect.Effect<Buffer, SinkError.SinkError> => {
  const document = utf8Document(payload)
  if (settings.compression === "none") return document

  return Effect.flatMap(document, (bytes) =>
    Effect.tryPromise({
      try: () => gzipAsync(bytes),
      catch: (cause) =>
        new SinkError.SinkError({
          reason: "Encode",
          message: `http sink: gzip compression of a ${bytes.length}-byte payload failed: ${describeCause(settings, cause)}`,
          destination: settings.redactedUrl,
          cause,
        }),
    }),
  )
}

const UTF8 = new TextEncoder()

/** UTF-16 code units encoded per step, about 1 ms of work for ASCII text. */
const CHARS_PER_STEP = 1 << 20

/**
 * Encodes `header + body + footer` as UTF-8 into one buffer, at most
 * `CHARS_PER_STEP` code units at a time, and lets the event loop run between
 * steps, so a 20 MB document does not block it for one long stretch.
 *
 * Details: the body is read through its `bodyChunks` when the exporter set
 * them, because reading a body built by concatenation would copy it whole
 * first. For the same reason the parts are never joined: that copy took
 * longer than the encoding itself for a 20 MB JSON body. The buffer starts
 * with one byte per code unit, which fits ASCII, and grows when the text
 * goes beyond it.
 */
const utf8Document = (payload: Exporter.Payload): Effect.Effect<Buffer> =>
  Effect.suspend(() => {
    const parts = [payload.header, ...Exporter.bodyChunksOf(payload), payload.footer]
    let remaining = parts.reduce((sum, part) => sum + part.length, 0)
    let bytes = Buffer.allocUnsafe(remaining)
    let offset = 0
    let partIndex = 0
    let start = 0

    const step = (): Effect.Effect<Buffer> => {
      let budget = CHARS_PER_STEP
      while (partIndex < parts.length && budget > 0) {
        const part = parts[partIndex] as string
        const end = sliceEnd(part, start, Math.min(part.length, start + budget))
        const { read, written } = UTF8.encodeInto(part.slice(start, end), bytes.subarray(offset))
        offset += written
        start += read
        budget -= read
        remaining -= read

        if (start < end) {
          // Text beyond ASCII filled the buffer: at most 3 bytes per code unit remain.
          const grown = Buffer.allocUnsafe(offset + remaining * 3)
          bytes.copy(grown, 0, 0, offset)
          bytes = grown
        }
        if (start === part.length) {
          partIndex++
          start = 0
        }
      }

      if (partIndex === parts.length) return Effect.succeed(bytes.subarray(0, offset))
      return Effect.flatMap(Effect.yieldNow, step)
    }
    return step()
  })

/**
 * Moves `end` off a high surrogate so that a slice never splits a surrogate
 * pair: back by one, or forward by one when going back would leave nothing.
 */
const sliceEnd = (text: string, start: number, end: number): number => {
  if (end >= text.length) return text.length
  const last = text.charCodeAt(end - 1)
  if (last < 0xd800 || last > 0xdbff) return end
  return end - 1 > start ? end - 1 : end + 1
}

const requestHeaders = (settings: Settings, payload: Exporter.Payload): Record<string, string> => {
  const headers: Record<string, string> = { ...settings.headers }
  headers["content-type"] = payload.contentType
  if (settings.compression === "gzip") headers["content-encoding"] = "gzip"
  return headers
}

/**
 * Runs one request within `timeoutMs`. Interrupting the request's effect,
 * which the timeout does, aborts its signal, and undici then destroys the
 * connection.
 */
const sendOnce = (
  settings: Settings,
  dispatcher: Dispatcher,
  body: Buffer,
  headers: Record<string, string>,
): Effect.Effect<void, HttpRetry.AttemptFailure> =>
  Effect.suspend(() => {
    const progress: { status: number | undefined } = { status: undefined }

    const exchangeEffect = Effect.tryPromise({
      try: (signal) => exchange(settings, dispatcher, body, headers, signal, progress),
      catch: (cause) => networkFailure(settings, cause),
    })
    // Node runs due timers before it reads sockets, so a response that is
    // already waiting on the socket when the timeout fires is read first,
    // one turn of the event loop later, before the request is aborted.
    // A 2xx that arrived by then is a delivery, even if reading the rest of
    // its body was cut short: retrying would send the batch twice.
    const deadline = Effect.sleep(Duration.millis(settings.timeoutMs)).pipe(
      Effect.andThen(nextIoTurn),
      Effect.andThen(
        Effect.suspend(() =>
          progress.status !== undefined && isSuccess(progress.status)
            ? Effect.succeed<ResponseSummary>({
                status: progress.status,
                retryAfter: undefined,
                bodyStart: "",
              })
            : Effect.fail(timeoutFailure(settings)),
        ),
      ),
    )
    return Effect.raceFirst(exchangeEffect, deadline).pipe(
      Effect.flatMap((response) => classify(settings, response)),
    )
  })

/** Waits until the event loop has processed pending I/O once (a `setImmediate` turn). */
const nextIoTurn: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const exchange = async (
  settings: Settings,
  dispatcher: Dispatcher,
  body: Buffer,
  headers: Record<string, string>,
  signal: AbortSignal,
  progress: { status: number | undefined },
): Promise<ResponseSummary> => {
  const response = await request(settings.requestUrl, {
    dispatcher,
    method: settings.method,
    headers,
    body,
    signal,
  })
  const status = response.statusCode
  progress.status = status

  if (isSuccess(status)) {
    // The server has the payload. Reading the rest of the response only
    // frees the connection for the next request, so a failure here is not a
    // delivery failure.
    await response.body.dump({ limit: MAX_DRAINED_BYTES, signal }).catch(() => undefined)
    return { status, retryAfter: undefined, bodyStart: "" }
  }

  const bodyStart = await readStart(response.body, MAX_ERROR_BODY_BYTES).catch(() => "")
  return { status, retryAfter: headerValue(response.headers["retry-after"]), bodyStart }
}

const classify = (
  settings: Settings,
  response: ResponseSummary,
): Effect.Effect<void, HttpRetry.AttemptFailure> => {
  const { status } = response
  if (isSuccess(status)) return Effect.void

  if (!HttpRetry.isTransientStatus(status)) {
    return Effect.fail({
      transient: false,
      retryAfterMs: undefined,
      error: new SinkError.SinkError({
        reason: "Rejected",
        message: `${settings.method} ${settings.redactedUrl} was rejected with HTTP ${statusLine(status)}${status < 400 ? " (redirects are not followed)" : ""} and will not be retried. ${bodyClause(settings, response.bodyStart)}`,
        destination: settings.redactedUrl,
        status,
      }),
    })
  }

  return Effect.flatMap(Clock.currentTimeMillis, (nowMillis) =>
    Effect.fail({
      transient: true,
      retryAfterMs: HttpRetry.parseRetryAfter(response.retryAfter, nowMillis),
      error: new SinkError.SinkError({
        reason: "Status",
        message: `${settings.method} ${settings.redactedUrl} failed with HTTP ${statusLine(status)}. ${bodyClause(settings, response.bodyStart)}`,
        destination: settings.redactedUrl,
        status,
      }),
    }),
  )
}

const retrySchedule = (
  settings: Settings,
): Schedule.Schedule<Duration.Duration, HttpRetry.AttemptFailure> =>
  HttpRetry.schedule(settings.retry).pipe(
    Schedule.tap(({ input, attempt, duration }) =>
      Effect.sync(() =>
        log(
          settings.logger,
          "debug",
          `http sink: ${Plugin.withoutFinalPeriod(input.error.message)}. Attempt ${attempt + 1} of ${settings.retry.maxAttempts} starts in ${Duration.toMillis(duration)} ms.`,
        ),
      ),
    ),
  )

/** The error a delivery fails with once no further attempt runs. */
const finalError = (
  settings: Settings,
  failure: HttpRetry.AttemptFailure,
  attempts: number,
): SinkError.SinkError => {
  const notes: Array<string> = []
  if (
    failure.transient &&
    failure.retryAfterMs !== undefined &&
    failure.retryAfterMs > settings.retry.maxRetryAfterMs
  ) {
    notes.push(
      `the server asked to retry after ${failure.retryAfterMs} ms, more than maxRetryAfterMs (${settings.retry.maxRetryAfterMs} ms)`,
    )
  }
  if (attempts > 1) notes.push(`gave up after ${attempts} attempts`)
  if (notes.length === 0) return failure.error

  const { error } = failure
  return new SinkError.SinkError({
    reason: error.reason,
    message: `${error.message} (${notes.join("; ")})`,
    destination: error.destination,
    status: error.status,
    cause: error.cause,
  })
}

const networkFailure = (settings: Settings, cause: unknown): HttpRetry.AttemptFailure => ({
  transient: true,
  retryAfterMs: undefined,
  error: new SinkError.SinkError({
    reason: "Network",
    message: `${settings.method} ${settings.redactedUrl} failed: ${describeCause(settings, cause)}`,
    destination: settings.redactedUrl,
    cause,
  }),
})

const timeoutFailure = (settings: Settings): HttpRetry.AttemptFailure => ({
  transient: true,
  retryAfterMs: undefined,
  error: new SinkError.SinkError({
    reason: "Timeout",
    message: `${settings.method} ${settings.redactedUrl} timed out after ${settings.timeoutMs} ms and was aborted`,
    destination: settings.redactedUrl,
  }),
})

const closedError = (settings: Settings): SinkError.SinkError =>
  new SinkError.SinkError({
    reason: "Network",
    message: `http sink for ${settings.redactedUrl} is closed, so nothing was sent`,
    destination: settings.redactedUrl,
  })

// ---------------------------------------------------------------------------
// Response helpers

const isSuccess = (status: number): boolean => status >= 200 && status < 300

const statusLine = (status: number): string => {
  const phrase = STATUS_CODES[status]
  return phrase === undefined ? String(status) : `${status} ${phrase}`
}

const headerValue = (value: string | Array<string> | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value

/** Reads at most `maxBytes` of a body. Stopping early destroys the stream and its connection. */
const readStart = async (body: AsyncIterable<Buffer>, maxBytes: number): Promise<string> => {
  const chunks: Array<Buffer> = []
  let size = 0
  for await (const chunk of body) {
    chunks.push(chunk)
    size += chunk.length
    if (size >= maxBytes) break
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString("utf8")
}

/**
 * Describes the start of a response body for a message. Secrets are
 * replaced, whitespace runs and control characters become one space, and
 * at most `MAX_EXCERPT_CHARS` characters are quoted.
 */
const bodyClause = (settings: Settings, text: string): string => {
  // Scrubbed before the cut, so that a secret straddling the cut cannot leave
  // its first half behind. A secret cut off at the 4 KiB read limit lies far
  // past the cut, which keeps at most 200 characters.
  const flat = settings.scrubber
    .scrub(text)
    .replace(/[\s\p{Cc}]+/gu, " ")
    .trim()
  if (flat === "") return "The response body is empty"

  const characters = Array.from(flat)
  const shown =
    characters.length > MAX_EXCERPT_CHARS
      ? `${characters.slice(0, MAX_EXCERPT_CHARS).join("")}…`
      : flat
  return `The response body starts with ${JSON.stringify(shown)}`
}

/** Describes an undici or Node error: its message and code, with the sink's secrets replaced. */
const describeCause = (settings: Settings, cause: unknown): string => {
  const code = errorCode(cause)
  let message = cause instanceof Error ? cause.message : String(cause)
  // Node reports a refused connection to a name with several addresses as an
  // AggregateError whose own message is empty.
  if (message === "" && cause instanceof AggregateError) {
    message = cause.errors
      .map((each) => (each instanceof Error ? each.message : String(each)))
      .join("; ")
  }
  if (message === "") message = "unknown error"
  const described = code === undefined || message.includes(code) ? message : `${message} (${code})`
  return settings.scrubber.scrub(described)
}

const errorCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

/**
 * Returns a connector whose sockets never keep the process alive. undici
 * refs a socket while a request is pending on it, so a scheduled export to
 * a server that does not respond would hold a finished program open for up
 * to `timeoutMs` times `maxAttempts`. Here the socket's `ref` does nothing.
 * A delivery still keeps the process alive through the timer of its
 * attempt timeout, which sleeps on Effect's `Clock`, unless the caller
 * provides a clock with unref'd timers, as the telemetry manager does for
 * scheduled exports.
 */
const unreferencedConnector = (): buildConnector.connector => {
  const connect = buildConnector({})
  return (options, callback) =>
    connect(options, (error, socket) => {
      if (error !== null || socket === null) {
        callback(error ?? new Error("undici connector returned no socket"), null)
        return
      }
      socket.unref()
      socket.ref = () => socket
      callback(null, socket)
    })
}
