/**
 * Listing the regular files of a directory tree without following
 * symbolic links.
 *
 * pnpm's `node_modules` links every package into place, so following links
 * would visit the same real file many times and could loop. The real files
 * sit under `node_modules/.pnpm`, which a walk that skips links still
 * reaches.
 */
import type { Dirent } from "node:fs"
import { readdir } from "node:fs/promises"
import { join, relative, resolve } from "node:path"

/**
 * Options of `listFiles`.
 */
export interface ListFilesOptions {
  /** Files listed at most; the walk stops there. Default: no limit. */
  readonly limit?: number | undefined
  /** Absolute paths left out of the listing, such as the file the run writes. Default: none. */
  readonly exclude?: ReadonlyArray<string> | undefined
  /** Called once for each directory that cannot be read, which is then skipped. */
  readonly onUnreadable?: ((path: string, error: unknown) => void) | undefined
}

/**
 * A regular file found by the walk.
 */
export interface ListedFile {
  /** Absolute path. */
  readonly path: string
  /** Path relative to the walked root, with the platform's separator. */
  readonly relativePath: string
}

/**
 * Counts of what the walk found and left out.
 */
export interface WalkCounts {
  /** Regular files listed. */
  readonly files: number
  readonly directories: number
  /** Symbolic links, not followed. */
  readonly symlinks: number
  /** Sockets, FIFOs and devices, which cannot be read like files. */
  readonly otherEntries: number
  /** Directories that could not be read and were skipped. */
  readonly unreadableDirectories: number
  /** Whether `limit` ended the walk before the whole tree was seen. */
  readonly truncated: boolean
}

/**
 * Lists the regular files under `root`, depth first, with the entries of
 * each directory in name order so that `limit` picks the same files on
 * every run over the same tree.
 *
 * Details: the whole listing is built before it is returned, which lets the
 * caller show a progress bar with a known total. Its memory grows with the
 * number of files (one path string each).
 *
 * @example
 * ```ts
 * const { files, counts } = await listFiles("/tmp/tree", { limit: 100 })
 * ```
 */
export const listFiles = async (
  root: string,
  options: ListFilesOptions = {},
): Promise<{ readonly files: ReadonlyArray<ListedFile>; readonly counts: WalkCounts }> => {
  const limit = options.limit ?? Number.POSITIVE_INFINITY
  const excluded = new Set((options.exclude ?? []).map((path) => resolve(path)))
  const absoluteRoot = resolve(root)

  const files: Array<ListedFile> = []
  const counts = {
    files: 0,
    directories: 0,
    symlinks: 0,
    otherEntries: 0,
    unreadableDirectories: 0,
    truncated: false,
  }

  // An explicit stack instead of recursion: node_modules trees nest deeply.
  const pending: Array<string> = [absoluteRoot]
  while (pending.length > 0) {
    const directory = pending.pop()!
    let entries: Array<Dirent>
    try {
      entries = await readdir(directory, { withFileTypes: true })
    } catch (error) {
      counts.unreadableDirectories++
      options.onUnreadable?.(directory, error)
      continue
    }
    counts.directories++

    entries.sort((a, b) => compareCodePoints(a.name, b.name))
    const subdirectories: Array<string> = []
    for (const entry of entries) {
      const path = join(directory, entry.name)
      if (entry.isSymbolicLink()) {
        counts.symlinks++
      } else if (entry.isDirectory()) {
        subdirectories.push(path)
      } else if (!entry.isFile()) {
        counts.otherEntries++
      } else if (!excluded.has(path)) {
        if (files.length >= limit) {
          counts.truncated = true
          return { files, counts: { ...counts, files: files.length } }
        }
        files.push({ path, relativePath: relative(absoluteRoot, path) })
      }
    }

    // Pushed in reverse, so that the stack pops them in name order.
    for (let i = subdirectories.length - 1; i >= 0; i--) pending.push(subdirectories[i]!)
  }

  return { files, counts: { ...counts, files: files.length } }
}

// Code-point order, not localeCompare: the same on every machine and locale.
const compareCodePoints = (a: string, b: string): number => {
  if (a < b) return -1
  if (a > b) return 1
  return 0
}
