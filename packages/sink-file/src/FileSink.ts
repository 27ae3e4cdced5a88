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
 *   append of `separator + body`. Before it writes, the sink records the
 *   old size and footer in a journal next to the file
 *   (`.<name>.append-journal`). When the write fails (a full disk), the old
 *   document is put back at once. When the process dies mid-write, the
 *   next append through any file sink for that path puts it back before it
 *   writes, and `onRepaired` reports it.
 * - `append`, file does not end with the footer (another format, another
 *   program's file, or an append cut short whose journal is gone): the
 *   sink leaves its content alone, renames it to
 *   `<path>.corrupt-<UTC time>` and starts a new file. It logs nothing; `onMovedAside` reports the move.
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
 *   interleave. Appends from several processes take turns through the
 *   journal, which names its process and appears complete in one step (a
 *   hard link): while that process runs, another process's append fails
 *   and keeps its batch. Two sinks for one path in one process are not
 *   coordinated.
 * - An append writes in place and is not atomic. Between a crash in the
 *   middle of one and the next append, the file ends with part of a batch.
 *   The journal lets the next append restore the last complete document.
 * - Files that the sink creates get `mode` exactly, whatever the umask.
 *   Directories that it creates get the process defaults (0o777 less the
 *   umask).
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
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
} from "node:fs/promises"
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
  /** Called after the sink restored a file that an interrupted append had left unfinished. Default: none. */
  readonly onRepaired?: ((repaired: RepairedAppend) => void) | undefined
  /** Wall clock in Unix milliseconds, for the names of moved-aside files. Default `Date.now`. */
  readonly nowMillis?: (() => number) | undefined
  /**
   * Permission bits of each file that the sink creates: a new document, the
   * temporary file of a replace and the append journal. They are set
   * exactly, whatever the process umask. A file that is replaced keeps its
   * own bits instead. An integer from `0` to `0o777`. Default `0o600`.
   */
  readonly mode?: number | undefined
}

/**
 * The permission bits of files the sink creates, unless `mode` sets
 * others: read and write for the owner only, because custom metrics,
 * operation names and host names may be private to the program.
 *
 * @since 0.1.0
 */
export const DEFAULT_MODE = 0o600

/**
 * A file that the sink restored to its last complete document, because an
 * append had stopped in the middle (the process was killed, or the write
 * failed and could not be undone at once).
 *
 * @since 0.1.0
 */
export interface RepairedAppend {
  /** The file that was restored. */
  readonly path: string
  /** Its size in bytes after the repair, the size before the unfinished append. */
  readonly restoredSize: number
  /** Bytes of the unfinished batch that the repair removed. */
  readonly removedBytes: number
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
  const state: SinkState = { sweptTemporaries: false }

  return {
    destination: DESTINATION,
    deliver: (payload) => {
      const fileMode = settings.fileMode ?? payload.fileMode
      if (fileMode === "append" && payload.body === "") return Effect.void

      const write = Effect.tryPromise({
        try: () =>
          fileMode === "replace"
            ? replaceFile(settings, state, payload)
            : appendFile(settings, state, payload),
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
      onRepaired: (repaired) =>
        logger.warn(
          `file sink: an earlier append to ${repaired.path} stopped in the middle (the process may have been killed). Its last complete document was restored, and ${repaired.removedBytes} bytes of the unfinished batch were removed.`,
        ),
      ...usableOptions(options, logger),
      path: config.outputFile ?? `dinoair-telemetry.${exporter.fileExtension}`,
    }),
}

const KNOWN_OPTIONS = ["fileMode", "mode", "onMovedAside", "onRepaired", "nowMillis"]

/**
 * Returns the `sinkOptions` that `make` accepts. Each unknown or invalid one
 * is logged once and left out, so its default applies, because one bad
 * option must not keep the whole sink from loading.
 */
const usableOptions = (
  options: Readonly<Record<string, unknown>>,
  logger: Plugin.PluginContext["logger"],
): Partial<FileSinkOptions> => {
  const usable: Record<string, unknown> = {}
  for (const key of Object.keys(options)) {
    const value = options[key]
    const problem = optionProblem(key, value)
    if (problem === undefined) usable[key] = value
    else logger.warn(`file sink: ${problem}`)
  }
  return usable
}

/** Describes why `make` cannot use an option from `sinkOptions`, or returns `undefined`. */
const optionProblem = (key: string, value: unknown): string | undefined => {
  const invalid = (expected: string, used: string): string =>
    `invalid value ${describeValue(value)} for option ${JSON.stringify(key)} (expected ${expected}); using ${used} instead.`
  switch (key) {
    case "path":
      return "sinkOptions.path is ignored because the path comes from outputFile."
    case "fileMode":
      return value === undefined || value === "append" || value === "replace"
        ? undefined
        : invalid('"append" or "replace"', "the payload's own mode")
    case "mode":
      return value === undefined ||
        (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0o777)
        ? undefined
        : invalid("an integer permission mask from 0 to 0o777", "0o600")
    case "onMovedAside":
    case "onRepaired":
    case "nowMillis":
      return value === undefined || typeof value === "function"
        ? undefined
        : invalid("a function", key === "nowMillis" ? "Date.now" : "the default")
    default:
      return `unknown option ${JSON.stringify(key)} is ignored. Known options: ${KNOWN_OPTIONS.join(", ")}.`
  }
}

/** Renders an option value for a log line without calling any of its methods. */
const describeValue = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value)
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "object" && value !== null) {
    return Array.isArray(value) ? "an array" : "an object"
  }
  return String(value)
}

interface Settings {
  readonly path: string
  readonly fileMode: "append" | "replace" | undefined
  readonly onMovedAside: ((moved: MovedAside) => void) | undefined
  readonly onRepaired: ((repaired: RepairedAppend) => void) | undefined
  readonly nowMillis: () => number
  readonly mode: number
}

interface SinkState {
  /** Whether the first delivery already removed temporary files that dead processes left. */
  sweptTemporaries: boolean
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

  const mode = options.mode ?? DEFAULT_MODE
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new TypeError(
      `file sink: "mode" must be an integer permission mask from 0 to 0o777, such as 0o600 or 0o644, got ${String(options.mode)}`,
    )
  }

  return {
    path: path.resolve(options.path),
    fileMode,
    onMovedAside: options.onMovedAside,
    onRepaired: options.onRepaired,
    nowMillis: options.nowMillis ?? Date.now,
    mode,
  }
}

const replaceFile = async (
  settings: Settings,
  state: SinkState,
  payload: Exporter.Payload,
): Promise<void> => {
  const target = await prepareTarget(settings, state)
  await writeAtomically(target, Exporter.documentOf(payload), settings.mode)
  // A journal left by an append that died refers to the content just replaced.
  // One of a process that still runs is that process's to remove.
  if ((await journalStats(target)) === undefined) return
  const journal = parseJournal(await readFile(journalPathOf(target), "utf8"))
  if (!isAnotherRunningProcess(journal)) await rm(journalPathOf(target))
}

const appendFile = async (
  settings: Settings,
  state: SinkState,
  payload: Exporter.Payload,
): Promise<void> => {
  const target = await prepareTarget(settings, state)
  await repairInterruptedAppend(target, settings)

  const outcome = await spliceIntoDocument(target, payload, settings.mode)
  if (outcome === "appended") return

  if (outcome === "missing") {
    // Another process may start the file at the same moment, and renaming over its new
    // document would drop that batch. So the file is created only where nothing is yet.
    const document = Exporter.documentOf(payload)
    if (await writeAtomically(target, document, settings.mode, { exclusive: true })) return
    if ((await spliceIntoDocument(target, payload, settings.mode)) === "appended") return
    throw new Error(
      `another process started or changed ${target} while this append wrote it, so this append waits for a later export`,
    )
  }

  // NOTE: two processes that find the file empty or foreign at the same moment are not
  // coordinated, so one may rename over or move aside the document that the other wrote.
  if (outcome === "foreign") {
    const aside = await moveAside(target, settings.nowMillis)
    notify(settings.onMovedAside, aside)
  }
  await writeAtomically(target, Exporter.documentOf(payload), settings.mode)
}

/** Finds the file to write, creates its directory, and on the first delivery sweeps stale temporary files. */
const prepareTarget = async (settings: Settings, state: SinkState): Promise<string> => {
  const target = await regularFileAt(settings.path)
  await mkdir(path.dirname(target), { recursive: true })
  if (!state.sweptTemporaries) {
    state.sweptTemporaries = true
    await sweepTemporaries(target)
  }
  return target
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
  if (stats.isSymbolicLink()) return "a symbolic link"
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
  mode: number,
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
    if (size < footer.length) return await confirmForeign(target, handle, size)

    // One byte more than the footer, to tell an empty JSON array from one with values.
    const tailLength = Math.min(size, footer.length + 1)
    const tail = await readAt(handle, size - tailLength, tailLength)
    if (!tail.subarray(tail.length - footer.length).equals(footer)) {
      return await confirmForeign(target, handle, size)
    }

    const before = tail.length > footer.length ? tail[0] : undefined
    const separator = isEmptyDocument(before, payload) ? "" : payload.separator
    const added = Buffer.from(separator + payload.body + payload.footer, "utf8")
    const start = size - footer.length
    const journal: AppendJournal = {
      size,
      footer: payload.footer,
      finalSize: start + added.length,
      pid: process.pid,
    }

    // The journal is on disk before the first byte of the file changes, so a
    // crash at any later point can be undone.
    const journalPath = journalPathOf(target)
    try {
      await writeJournal(target, journal, mode)
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error
      throw new Error(
        `another process is appending to ${target} now (its journal ${journalPath} appeared after this append read the file), so this append waits for a later export`,
      )
    }

    // Holding the journal keeps other appends out, but another process may have
    // finished a whole append between the size read above and the journal.
    const now = await handle.stat()
    if (now.size !== size) {
      await rm(journalPath, { force: true })
      throw new Error(
        `another process appended to ${target} while this append read its end (size ${size} became ${now.size}), so this append waits for a later export`,
      )
    }

    try {
      await writeAt(handle, added, start)
      await handle.datasync()
    } catch (error) {
      // Put the old document back at once, so that a full disk leaves no
      // unfinished file. If that fails too, the journal stays for the next append.
      await restoreFromJournal(handle, journal)
        .then(() => rm(journalPath, { force: true }))
        .catch(() => undefined)
      throw error
    }
    await rm(journalPath, { force: true })
    return "appended"
  } finally {
    await handle.close()
  }
}

/**
 * Confirms that a file whose end did not match the footer is another
 * program's, and not one that another process was appending to while this
 * one read it: that process held the journal during its write, so it holds
 * it still, or it has finished and the size changed. Throws in both cases,
 * and the batch waits for a later export.
 */
const confirmForeign = async (
  target: string,
  handle: FileHandle,
  sizeRead: number,
): Promise<"foreign"> => {
  if ((await journalStats(target)) !== undefined) {
    throw new Error(
      `another process is appending to ${target} now (its journal ${journalPathOf(target)} exists), so this append waits for a later export`,
    )
  }
  // NOTE: an append that failed and was undone leaves the old size, so a read during it
  // can still look foreign here. That takes a failed write, such as a full disk, at this moment.
  const { size } = await handle.stat()
  if (size !== sizeRead) {
    throw new Error(
      `another process appended to ${target} while this append read its end (size ${sizeRead} became ${size}), so this append waits for a later export`,
    )
  }
  return "foreign"
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
 *
 * With `exclusive`, the file is hard-linked to `target` instead, which
 * fails when anything is there already: then nothing changes and the result
 * is `false`. A file system without hard links gets the rename.
 */
const writeAtomically = async (
  target: string,
  text: string,
  mode: number,
  options?: { readonly exclusive: boolean },
): Promise<boolean> => {
  const temporary = temporaryPathOf(target)
  const permissions = (await existingPermissions(target)) ?? mode

  let handle: FileHandle | undefined
  try {
    // Created with the final bits, which the umask can only narrow, so the
    // file is never more open than requested; chmod then sets them exactly.
    handle = await open(temporary, "wx", permissions)
    await handle.chmod(permissions)
    await writeAt(handle, Buffer.from(text, "utf8"), 0)
    await handle.sync()
    await handle.close()
    handle = undefined
    if (options?.exclusive === true) return await linkOrRename(temporary, target)
    await rename(temporary, target)
    return true
  } catch (error) {
    await handle?.close().catch(() => undefined)
    await rm(temporary, { force: true }).catch(() => undefined)
    throw error
  }
}

/**
 * Links `temporary` to `target` and removes the temporary name. Returns
 * `false` when `target` exists. Renames instead where hard links are unsupported.
 */
const linkOrRename = async (temporary: string, target: string): Promise<boolean> => {
  try {
    await link(temporary, target)
  } catch (error) {
    const code = errorCode(error) ?? ""
    if (code === "EEXIST") {
      await rm(temporary, { force: true })
      return false
    }
    if (!LINK_UNSUPPORTED.has(code)) throw error
    await rename(temporary, target)
    return true
  }
  await rm(temporary, { force: true })
  return true
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
 * Returns a new temporary name next to `file` that names this process, so
 * that `sweepTemporaries` removes it once the process is gone.
 */
const temporaryPathOf = (file: string): string =>
  path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  )

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

const notify = <A>(callback: ((event: A) => void) | undefined, event: A): void => {
  try {
    callback?.(event)
  } catch {
    // The change already happened and the export goes on; a failing callback must not undo that.
  }
}

/**
 * The record of an append in progress, written before the file changes and
 * removed once the append is on disk.
 */
interface AppendJournal {
  /** The file's size in bytes before the append. */
  readonly size: number
  /** The footer that ended the file before the append. */
  readonly footer: string
  /** The file's size in bytes once the append has finished. */
  readonly finalSize: number
  /** The process that appends. While it runs, other processes leave the file alone. */
  readonly pid: number
}

const journalPathOf = (target: string): string =>
  path.join(path.dirname(target), `.${path.basename(target)}.append-journal`)

/**
 * Publishes the journal of an append to `target` whole: it is written and
 * flushed under a temporary name, then hard-linked to the journal path. The
 * link fails with `EEXIST` when anything is at that path already, so only one
 * append at a time holds the journal, and no reader ever sees a journal that
 * exists but is not yet written.
 */
const writeJournal = async (
  target: string,
  journal: AppendJournal,
  mode: number,
): Promise<void> => {
  const file = journalPathOf(target)
  const text = JSON.stringify(journal)
  // Named like a replace's temporary file, so that a crash before the link
  // leaves nothing that the next sink's sweep does not remove.
  const temporary = temporaryPathOf(target)
  let written = false
  try {
    await writeNewFile(temporary, text, mode)
    written = true
    await link(temporary, file)
  } catch (error) {
    if (!written || !LINK_UNSUPPORTED.has(errorCode(error) ?? "")) throw error
    // A file system without hard links (FAT, some network shares): the journal is
    // created in place, so a reader may find it empty for a moment.
    await writeNewFile(file, text, mode)
  } finally {
    await rm(temporary, { force: true })
  }
}

/** Error codes of `link` on file systems that have no hard links. */
const LINK_UNSUPPORTED = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"])

const writeNewFile = async (file: string, text: string, mode: number): Promise<void> => {
  // "wx" creates a new file and fails on anything already there, so the
  // journal never writes through a link or into a device.
  const handle = await open(file, "wx", mode)
  try {
    await handle.chmod(mode)
    await writeAt(handle, Buffer.from(text, "utf8"), 0)
    await handle.datasync()
  } finally {
    await handle.close()
  }
}

/** Reads a journal, returning `undefined` for one cut short, which means the file was not touched yet. */
const parseJournal = (text: string): AppendJournal | undefined => {
  try {
    const value = JSON.parse(text) as Partial<AppendJournal> | null
    const { size, footer, finalSize, pid } = value ?? {}
    if (!Number.isSafeInteger(size) || typeof footer !== "string") return undefined
    if (!Number.isSafeInteger(finalSize) || !Number.isSafeInteger(pid)) return undefined
    return { size: size as number, footer, finalSize: finalSize as number, pid: pid as number }
  } catch {
    return undefined
  }
}

/**
 * Finishes what an append that stopped in the middle left behind: restores
 * the document it started from, unless the append completed. Then removes
 * the journal.
 */
const repairInterruptedAppend = async (target: string, settings: Settings): Promise<void> => {
  if ((await journalStats(target)) === undefined) return
  const journalPath = journalPathOf(target)

  let text: string
  try {
    text = await readFile(journalPath, "utf8")
  } catch (error) {
    // The append that owned it has finished since the check above.
    if (errorCode(error) === "ENOENT") return
    throw error
  }

  // A journal is published whole, so one that does not parse was left by a
  // crash of the fallback for file systems without hard links, before the file changed.
  const journal = parseJournal(text)
  throwIfAnotherProcessAppends(target, journal)
  if (journal !== undefined) {
    const removedBytes = await restoreFile(target, journal)
    if (removedBytes !== undefined) {
      notify(settings.onRepaired, { path: target, restoredSize: journal.size, removedBytes })
    }
  }
  await rm(journalPath, { force: true })
}

const isAnotherRunningProcess = (journal: AppendJournal | undefined): boolean =>
  journal !== undefined && journal.pid !== process.pid && isRunning(journal.pid)

/**
 * Throws when the journal belongs to another process that still runs: it
 * is appending now, so this delivery fails and its batch stays buffered for
 * the next export instead of writing into the other append.
 */
const throwIfAnotherProcessAppends = (target: string, journal: AppendJournal | undefined): void => {
  if (journal === undefined || !isAnotherRunningProcess(journal)) return
  throw new Error(
    `process ${journal.pid} is appending to ${target} now (its journal is ${journalPathOf(target)}), so this append waits for a later export`,
  )
}

/**
 * Returns the stats of the journal next to `target`, or `undefined` when
 * there is none. Throws for anything but a regular file, which the sink
 * neither reads nor removes: reading a FIFO would block the export.
 */
const journalStats = async (target: string): Promise<Stats | undefined> => {
  const journalPath = journalPathOf(target)
  let stats: Stats
  try {
    stats = await lstat(journalPath)
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined
    throw error
  }
  if (!stats.isFile()) throw notRegularFile(journalPath, stats)
  return stats
}

const restoreFile = async (target: string, journal: AppendJournal): Promise<number | undefined> => {
  let handle: FileHandle
  try {
    handle = await open(target, "r+")
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined
    throw error
  }
  try {
    return await restoreFromJournal(handle, journal)
  } finally {
    await handle.close()
  }
}

/**
 * Truncates the file to its size before the append and writes the old
 * footer back. Returns the bytes of the unfinished append that it removed,
 * or `undefined` when there was nothing to undo: the append had not
 * started or had finished, or the file is shorter than the journal's start,
 * because something else rewrote it since.
 */
const restoreFromJournal = async (
  handle: FileHandle,
  journal: AppendJournal,
): Promise<number | undefined> => {
  const footer = Buffer.from(journal.footer, "utf8")
  const start = journal.size - footer.length
  const stats = await handle.stat()
  if (!stats.isFile()) return undefined
  const { size } = stats
  if (size < start) return undefined
  // Ending with the footer at the old size means the write had not started;
  // at the final size, that it finished.
  if (size === journal.size || size === journal.finalSize) {
    const tail = await readAt(handle, size - footer.length, footer.length)
    if (tail.equals(footer)) return undefined
  }

  // Truncating first frees the blocks that the footer write may need on a full disk.
  await handle.truncate(journal.size)
  await writeAt(handle, footer, start)
  await handle.datasync()
  return Math.max(0, size - start)
}

/** Matches the temporary files of `writeAtomically` and captures the writer's process id. */
const temporaryPattern = (base: string): RegExp =>
  new RegExp(`^\\.${escapeRegExp(base)}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`)

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Removes the temporary files that processes which died in the middle of a
 * replace left next to `target`. A file whose process still runs, this
 * one included, stays.
 */
const sweepTemporaries = async (target: string): Promise<void> => {
  const pattern = temporaryPattern(path.basename(target))
  const directory = path.dirname(target)
  const names = await readdir(directory).catch(() => [] as Array<string>)
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1])
    if (!Number.isSafeInteger(pid) || pid === process.pid || isRunning(pid)) continue
    await rm(path.join(directory, name), { force: true }).catch(() => undefined)
  }
}

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return errorCode(error) !== "ESRCH"
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
