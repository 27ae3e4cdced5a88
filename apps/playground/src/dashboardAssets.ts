/**
 * The files of the dashboard page: its HTML, script and style sheet from
 * `src/page`, and uPlot's script and style sheet from the installed `uplot`
 * package. They are read once when the server starts, so the page works
 * offline and a missing file fails the start instead of a request.
 */
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

/**
 * One file that the server sends.
 */
export interface Asset {
  readonly contentType: string
  readonly body: Buffer
}

/** The URL paths of the page and its files, and where each comes from. */
export const ASSET_FILES: ReadonlyArray<{
  readonly path: string
  readonly contentType: string
  readonly file: () => string
}> = [
  { path: "/", contentType: "text/html; charset=utf-8", file: () => pageFile("index.html") },
  {
    path: "/dashboard.js",
    contentType: "text/javascript; charset=utf-8",
    file: () => pageFile("dashboard.js"),
  },
  {
    path: "/dashboard.css",
    contentType: "text/css; charset=utf-8",
    file: () => pageFile("dashboard.css"),
  },
  {
    path: "/vendor/uplot.js",
    contentType: "text/javascript; charset=utf-8",
    file: () => uplotFile("uPlot.iife.min.js"),
  },
  {
    path: "/vendor/uplot.css",
    contentType: "text/css; charset=utf-8",
    file: () => uplotFile("uPlot.min.css"),
  },
]

/**
 * Reads every file of `ASSET_FILES`. Rejects with the read error of the
 * first file that cannot be read.
 */
export const loadAssets = async (): Promise<ReadonlyMap<string, Asset>> => {
  const entries = await Promise.all(
    ASSET_FILES.map(
      async ({ path, contentType, file }) =>
        [path, { contentType, body: await readFile(file()) }] as const,
    ),
  )
  return new Map(entries)
}

// The page sits in src/page, one level up from both src/*.ts under Vitest and dist/*.js when built.
const pageFile = (name: string): string =>
  fileURLToPath(new URL(`../src/page/${name}`, import.meta.url))

// uplot has no exports map, so its dist files resolve as subpaths.
const uplotFile = (name: string): string =>
  createRequire(import.meta.url).resolve(`uplot/dist/${name}`)
