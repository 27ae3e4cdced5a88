/**
 * The file sink: writes every payload to one file, which is one valid
 * document after each export.
 *
 * How a payload is written depends on its `fileMode` (or the `fileMode`
 * option, which overrides it):
 *
 * - `replace`: `header + body + footer` goes to a temporary file in the same
 *   directory (`.<name>.<pid>.<random>.tmp`), which is flushed to disk and
 *   renamed over the target. Readers see the old document or the new one,
 *   never a part. An empty batch still writes a document. A replaced file
 *   keeps its permission bits.
 * - `append`, file missing or empty: the same atomic write of
 *   `header + body + footer`.
 * - `append`, file ends with the payload's `footer`: the sink reads only
 *   those last bytes and writes `separator + body + footer` over the old
 *   footer, so an export costs what its batch costs, not what the file
 *   holds. When the footer is empty (a format such as CSV), this is a plain
 *   append of `separator + body`.
 * - `append`, file does not end with the footer (another format, another
 *   program's file, or an append cut short by a crash): the sink leaves its
 *   content alone, renames it to `<path>.corrupt-<UTC time>` and starts a
 *   new file. It logs nothing; `onMovedAside` reports the move.
 * - `append`, empty body: nothing is written, because `separator + ""`
 *   would leave a dangling separator (a trailing comma in JSON).
 *
 * The sink writes only regular files. Before each write it checks the path
 * with `lstat`: a missing file is created, and a symbolic link is followed
 * to the file it points to, which must be a regular file (the link itself
 * stays). Anything else, such as a directory, a character device like
 * `/dev/null`, a FIFO or a socket, or a link to one, fails the delivery
 * with `WriteFailed` and a message that names the path and its kind. The
 * sink never renames, replaces or moves such a file, and the telemetry
 * manager keeps the batch buffered.
 *
 * Missing parent directories are created. Every file-system failure becomes
 * a `SinkError` with reason `WriteFailed`, whose message names the path and
 * the OS error code.
 *
 * Gotchas:
 * - A JSON document whose array is still empty (`"metrics":[]`, written by
 *   a replace or by another program) gets the first body without a
 *   separator. The sink treats the document as empty when the byte before
 *   the footer is the `[` or `{` that ends the header, which no JSON value
 *   ends with.
 * - Deliveries through one sink run one at a time, so two appends never
 *   interleave. Two sinks or two processes writing the same path are not
 *   coordinated.
 * - An append writes in place and is not atomic. A crash in the middle
 *   leaves a file without its footer, which the next export moves aside.
 * - The kind of file is checked just before each write, and again on the
 *   open handle before an append. A file that another program swaps in
 *   between the check and a rename is not detected.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JsonExporter } from "@dinoair/exporter-json"
 * import { FileSink } from "@dinoair/sink-file"
 *
 * const sink = FileSink.make({ path: "logs/telemetry.json" })
 * const payload = JsonExporter.make().encode(records, context)
 * await Effect.runPromise(sink.deliver(payload))
 * ```
 *
 * @since 0.1.0
 * @module
 */
import { randomBytes } from "node:crypto"
import type { Stats } from "node:fs"
import { type FileHandle, lstat, mkdir, open, realpath, rename, rm, stat } from "node:fs/promises"
import path from "node:path"
import { Exporter, type Plugin, Sink, SinkError } from "@dinoair/telemetry"
import { Effect, Layer, Semaphore } from "effect"

/**
 * Options of the file sink.
 *
 * @since 0.1.0
 */
export interface FileSinkOptions {
  /** The file to write. A relative path resolves against `process.cwd()` when the sink is made. Required. */
  readonly path: string
  /** Overrides the `fileMode` of every payload. Default: each payload's own. */
  readonly fileMode?: "append" | "replace" | undefined
  /** Called after a file that did not end with the footer was renamed aside. Default: none. */
  readonly onMovedAside?: ((moved: MovedAside) => void) | undefined
  /** Wall clock in Unix milliseconds, for the names of moved-aside files. Default `Date.now`. */
  readonly nowMillis?: (() => number) | undefined
}

/**
 * A file that the sink renamed aside instead of appending to it.
 *
 * @since 0.1.0
 */
export interface MovedAside {
  /** The file that was moved and where a new file was started: the sink's path, or the file that a symbolic link there points to. */
  readonly from: string
  /** The path of the old content after the move. */
  readonly to: string
}

/** The name a configuration uses for this destination. @since 0.1.0 */
export const DESTINATION = "file"

/**
 * Creates a file sink.
 *
 * Throws a `TypeError` when `path` is missing or empty, or `fileMode` is
 * neither `append` nor `replace`, because no delivery could succeed.
 *
 * @since 0.1.0
 */
export const make = (options: FileSinkOptions): Sink.SinkShape => {
  const settings = resolve(options)
  // One permit, so a delivery has the file to itself from its first read to its last write.
  const lock = Semaphore.makeUnsafe(1)

  return {
    destination: DESTINATION,
    deliver: (payload) => {
      const fileMode = settings.fileMode ?? payload.fileMode
      if (fileMode === "append" && payload.body === "") return Effect.void

      const write = Effect.tryPromise({
        try: () =>
          fileMode === "replace" ? replaceFile(settings, payload) : appendFile(settings, payload),
        catch: (error) => writeFailed(settings.path, error),
      })
      // Once started, a write runs to the end even if the fiber is interrupted. Releasing the
      // permit earlier would let the next delivery interleave with a promise still running.
      return lock.withPermit(Effect.uninterruptible(write))
    },
    // Waits for a delivery in flight; the sink keeps no handle open between deliveries.
    close: lock.withPermit(Effect.void),
  }
}

/**
 * A layer with a file sink as the `Sink` service. Building it fails with a
 * `SinkError` of reason `InvalidConfig` when the options are invalid.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { JsonExporter } from "@dinoair/exporter-json"
 * import { FileSink } from "@dinoair/sink-file"
 * import { Scheduler, Telemetry } from "@dinoair/telemetry"
 *
 * const TelemetryLive = Telemetry.layer({ enabled: true }).pipe(
 *   Layer.provide(
 *     Layer.mergeAll(
 *       JsonExporter.layer(),
 *       FileSink.layer({ path: "logs/telemetry.json" }),
 *       Scheduler.layer,
 *     ),
 *   ),
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: FileSinkOptions): Layer.Layer<Sink.Sink, SinkError.SinkError> =>
  Layer.effect(
    Sink.Sink,
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
  )

/**
 * The plugin that the facade loads for `exportDestination: "file"`. The path
 * is the configuration's `outputFile`, or `dinoair-telemetry.<extension>` in
 * the working directory, and `sinkOptions` supply the other options.
 *
 * @since 0.1.0
 */
export const plugin: Plugin.SinkPlugin = {
  kind: "sink",
  destination: DESTINATION,
  make: ({ config, options, exporter, logger }) =>
    make({
      onMovedAside: (moved) =>
        logger.warn(
          `file sink: ${moved.from} did not end like a ${exporter.format} export, so it was moved to ${moved.to} and a new file was started.`,
        ),
      ...options,
      path: config.outputFile ?? `dinoair-telemetry.${exporter.fileExtension}`,
    }),
}

interface Settings {
  readonly path: string
  readonly fileMode: "append" | "replace" | undefined
  readonly onMovedAside: ((moved: MovedAside) => void) | undefined
  readonly nowMillis: () => number
}

// Options may come from an untyped configuration, so they are checked at run time too.
const resolve = (options: FileSinkOptions): Settings => {
  if (typeof options.path !== "string" || options.path === "") {
    throw new TypeError(`file sink: "path" must be a non-empty string, got ${String(options.path)}`)
  }
  const fileMode = options.fileMode
  if (fileMode !== undefined && fileMode !== "append" && fileMode !== "replace") {
    throw new TypeError(
      `file sink: "fileMode" must be "append" or "replace", got ${String(fileMode)}`,
    )
  }

  return {
    path: path.resolve(options.path),
    fileMode,
    onMovedAside: options.onMovedAside,
    nowMillis: options.nowMillis ?? Date.now,
  }
}

const replaceFile = async (settings: Settings, payload: Exporter.Payload): Promise<void> => {
  const target = await regularFileAt(settings.path)
  await mkdir(path.dirname(target), { recursive: true })
  await writeAtomically(target, Exporter.documentOf(payload))
}

const appendFile = async (settings: Settings, payload: Exporter.Payload): Promise<void> => {
  const target = await regularFileAt(settings.path)
  await mkdir(path.dirname(target), { recursive: true })

  const outcome = await spliceIntoDocument(target, payload)
  if (outcome === "appended") return

  if (outcome === "foreign") {
    const aside = await moveAside(target, settings.nowMillis)
    notify(settings, aside)
  }
  await writeAtomically(target, Exporter.documentOf(payload))
}

/**
 * Returns the file to write for the sink's path: the path itself when it
 * is a regular file or missing, or the file that a symbolic link there
 * points to when that is a regular file. Throws for anything else, so
 * that no device, FIFO, socket or directory is ever renamed, replaced or
 * moved aside.
 */
const regularFileAt = async (configured: string): Promise<string> => {
  let stats: Stats
  try {
    stats = await lstat(configured)
  } catch (error) {
    if (errorCode(error) === "ENOENT") return configured
    throw error
  }
  if (stats.isFile()) return configured
  if (!stats.isSymbolicLink()) throw notRegularFile(configured, stats)

  let resolved: string
  try {
    resolved = await realpath(configured)
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error
    throw new Error(
      `${configured} is a symbolic link to a missing file; the file sink does not create the target of a link, so create it or point outputFile at a regular file`,
    )
  }
  const target = await stat(resolved)
  if (target.isFile()) return resolved
  throw notRegularFile(configured, target, resolved)
}

/** Builds the error for a path that is not a regular file. A directory keeps its standard code `EISDIR`. */
const notRegularFile = (configured: string, stats: Stats, resolved?: string): Error => {
  const subject =
    resolved === undefined ? configured : `${configured} (a symbolic link to ${resolved})`
  const error = new Error(
    `${subject} is ${kindOf(stats)}, not a regular file; the file sink writes only regular files and never replaces or moves anything else`,
  )
  return stats.isDirectory() ? Object.assign(error, { code: "EISDIR" }) : error
}

const kindOf = (stats: Stats): string => {
  if (stats.isDirectory()) return "a directory"
  if (stats.isCharacterDevice()) return "a character device"
  if (stats.isBlockDevice()) return "a block device"
  if (stats.isFIFO()) return "a FIFO (named pipe)"
  if (stats.isSocket()) return "a socket"
  return "a special file"
}

type SpliceOutcome = "appended" | "missing" | "empty" | "foreign"

/**
 * Writes `separator + body + footer` over the footer at the end of the file,
 * reading only the footer's bytes and the one before them.
 */
const spliceIntoDocument = async (
  target: string,
  payload: Exporter.Payload,
): Promise<SpliceOutcome> => {
  let handle: FileHandle
  try {
    handle = await open(target, "r+")
  } catch (error) {
    if (errorCode(error) === "ENOENT") return "missing"
    throw error
  }

  try {
    const stats = await handle.stat()
    // The kind was checked before the open, and this catches a file swapped in since then.
    if (!stats.isFile()) throw notRegularFile(target, stats)
    const size = stats.size
    if (size === 0) return "empty"

    const footer = Buffer.from(payload.footer, "utf8")
    if (size < footer.length) return "foreign"

    // One byte more than the footer, to tell an empty JSON array from one with values.
    const tailLength = Math.min(size, footer.length + 1)
    const tail = await readAt(handle, size - tailLength, tailLength)
    if (!tail.subarray(tail.length - footer.length).equals(footer)) return "foreign"

    const before = tail.length > footer.length ? tail[0] : undefined
    const separator = isEmptyDocument(before, payload) ? "" : payload.separator
    await writeAt(
      handle,
      Buffer.from(separator + payload.body + payload.footer, "utf8"),
      size - footer.length,
    )
    await handle.datasync()
    return "appended"
  } finally {
    await handle.close()
  }
}

const OPENING_BRACKETS = new Set(["[", "{"])

/**
 * Checks whether the document has no records yet, that is, whether the byte
 * before the footer is the `[` or `{` that ends the header. No JSON value
 * ends with either, so the check is exact for JSON. A format whose header
 * ends otherwise always keeps its separator.
 */
const isEmptyDocument = (before: number | undefined, payload: Exporter.Payload): boolean => {
  if (before === undefined || payload.footer === "") return false
  const last = payload.header.at(-1)
  return last !== undefined && OPENING_BRACKETS.has(last) && before === last.charCodeAt(0)
}

/**
 * Writes `text` to a new temporary file next to `target`, flushes it to
 * disk and renames it over `target`. The temporary file is removed when
 * any step fails.
 */
const writeAtomically = async (target: string, text: string): Promise<void> => {
  const temporary = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  )
  const permissions = await existingPermissions(target)

  let handle: FileHandle | undefined
  try {
    handle = await open(temporary, "wx")
    if (permissions !== undefined) await handle.chmod(permissions)
    await writeAt(handle, Buffer.from(text, "utf8"), 0)
    await handle.sync()
    await handle.close()
    handle = undefined
    await rename(temporary, target)
  } catch (error) {
    await handle?.close().catch(() => undefined)
    await rm(temporary, { force: true }).catch(() => undefined)
    throw error
  }
}

/** Reads the permission bits of the file being replaced, so that a replace keeps them. */
const existingPermissions = async (target: string): Promise<number | undefined> => {
  try {
    const stats = await stat(target)
    return stats.isFile() ? stats.mode & 0o7777 : undefined
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined
    throw error
  }
}

/**
 * Renames the regular file `target` to `<target>.corrupt-<UTC time>`, with
 * `-1`, `-2`, ... added when that name is taken, so no earlier file is
 * overwritten.
 */
const moveAside = async (target: string, nowMillis: () => number): Promise<MovedAside> => {
  // Colons are not allowed in Windows file names.
  const stamp = new Date(nowMillis()).toISOString().replaceAll(":", "-")
  const base = `${target}.corrupt-${stamp}`

  let candidate = base
  for (let attempt = 1; await exists(candidate); attempt++) {
    candidate = `${base}-${attempt}`
  }
  await rename(target, candidate)
  return { from: target, to: candidate }
}

const notify = (settings: Settings, moved: MovedAside): void => {
  try {
    settings.onMovedAside?.(moved)
  } catch {
    // The move already happened and the export goes on; a failing callback must not undo that.
  }
}

const exists = async (file: string): Promise<boolean> => {
  try {
    await lstat(file)
    return true
  } catch (error) {
    if (errorCode(error) === "ENOENT") return false
    throw error
  }
}

const readAt = async (handle: FileHandle, position: number, length: number): Promise<Buffer> => {
  const buffer = Buffer.alloc(length)
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return buffer.subarray(0, filled)
}

const writeAt = async (handle: FileHandle, buffer: Buffer, position: number): Promise<void> => {
  let written = 0
  while (written < buffer.length) {
    const { bytesWritten } = await handle.write(
      buffer,
      written,
      buffer.length - written,
      position + written,
    )
    written += bytesWritten
  }
}

const errorCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

const writeFailed = (target: string, error: unknown): SinkError.SinkError => {
  const code = errorCode(error)
  const detail = error instanceof Error ? error.message : String(error)
  // Node's system errors already start with their code ("ENOTDIR: not a directory, ...").
  const reason = code === undefined || detail.startsWith(code) ? detail : `${code}: ${detail}`
  return new SinkError.SinkError({
    reason: "WriteFailed",
    message: `file write to ${target} failed: ${reason}`,
    destination: target,
    cause: error,
  })
}
