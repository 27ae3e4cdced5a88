/**
 * The work done for each file: three operations monitored through the
 * `@dinoair/api` facade, and a pool that runs files with bounded
 * concurrency.
 */
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { promisify } from "node:util"
import { gzip } from "node:zlib"
import { monitorPerformance } from "@dinoair/api"
import type { ListedFile } from "./walk.js"

// Node 20 has no promise-based zlib module, and this form runs on the libuv thread pool.
const gzipAsync = promisify(gzip)

/**
 * The operation names that every file goes through, in order.
 */
export const OPERATIONS = ["read", "gzip", "sha256"] as const

/** The operation that `--extra-operations` adds, before its number. */
const SCAN_OPERATION = "scan"

/**
 * Names the extra `scan` operation of the file at `index` in the walk,
 * when there are `names` of them: `scan-00` to `scan-<names-1>`,
 * zero-padded to a common width (at least 2 digits) so that names sort in
 * number order.
 */
export const scanOperationName = (index: number, names: number): string => {
  const width = Math.max(2, String(names - 1).length)
  return `${SCAN_OPERATION}-${String(index % names).padStart(width, "0")}`
}

/**
 * Sizes measured while processing one file.
 */
export interface FileResult {
  /** Size of the file as read. */
  readonly bytes: number
  /** Size of its gzip output. */
  readonly gzipBytes: number
}

/**
 * Reads a file, gzips its content and hashes it with SHA-256, each step a
 * monitored operation. With `scanOperation`, it then counts the content's
 * line feeds in one more monitored operation of that name.
 *
 * Details: a failing step records its operation with status `error` and
 * rejects with the original error, so the later steps do not run for that
 * file. `read` carries the relative path as custom metric `file`; `gzip`,
 * `sha256` and the scan carry the input size as `bytes`.
 */
export const processFile = async (
  file: ListedFile,
  scanOperation?: string,
): Promise<FileResult> => {
  const data = await monitorPerformance("read", () => readFile(file.path), {
    file: file.relativePath,
  })

  const compressed = await monitorPerformance("gzip", () => gzipAsync(data), {
    bytes: data.length,
  })

  // Synchronous on purpose: hashing runs on the main thread, so its CPU reading is the hash itself.
  monitorPerformance("sha256", () => createHash("sha256").update(data).digest("hex"), {
    bytes: data.length,
  })

  if (scanOperation !== undefined) {
    monitorPerformance(scanOperation, () => countLineFeeds(data), { bytes: data.length })
  }

  return { bytes: data.length, gzipBytes: compressed.length }
}

/**
 * Options of `runPool`.
 */
export interface PoolOptions<A> {
  /** Items processed at the same time, at least 1. */
  readonly concurrency: number
  /** Called after each item that succeeded. */
  readonly onSuccess: (item: A, result: FileResult) => void
  /** Called after each item that failed; the pool goes on with the next item. */
  readonly onFailure: (item: A, error: unknown) => void
  /**
   * Checked before each new item: once it returns `true`, no item starts,
   * and the pool resolves when the items in progress are done. Default:
   * never stops early.
   */
  readonly stopped?: (() => boolean) | undefined
}

/**
 * Runs `work` on every item, with its index, with at most `concurrency`
 * items in progress, and resolves when all are done or `stopped` returns `true`.
 * It never rejects because of an item: failures go to `onFailure`.
 */
export const runPool = async <A>(
  items: ReadonlyArray<A>,
  work: (item: A, index: number) => Promise<FileResult>,
  options: PoolOptions<A>,
): Promise<void> => {
  const stopped = options.stopped ?? (() => false)
  let next = 0

  const worker = async (): Promise<void> => {
    // Taking the index and incrementing it happen in one synchronous step, so no two workers share an item.
    while (next < items.length && !stopped()) {
      const index = next++
      const item = items[index]!
      let result: FileResult
      try {
        result = await work(item, index)
      } catch (error) {
        options.onFailure(item, error)
        continue
      }
      options.onSuccess(item, result)
    }
  }

  const workers = Math.max(1, Math.min(options.concurrency, items.length))
  await Promise.all(Array.from({ length: workers }, worker))
}

const LINE_FEED = 0x0a

const countLineFeeds = (data: Buffer): number => {
  let count = 0
  for (let at = data.indexOf(LINE_FEED); at !== -1; at = data.indexOf(LINE_FEED, at + 1)) count++
  return count
}
