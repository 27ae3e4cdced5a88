/**
 * Packing the workspace's published packages into tarballs.
 */
import { spawn } from "node:child_process"
import { readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { fileURLToPath } from "node:url"

/** Tarball path by package name, such as `@dinoair/api`. */
export type Tarballs = Readonly<Record<string, string>>

/** The repository root, three folders up from this file. */
export const repositoryRoot = fileURLToPath(new URL("../../../../", import.meta.url))

/** One published package of the workspace: its folder, name and version. */
export interface PublishedPackage {
  readonly directory: string
  readonly name: string
  readonly version: string
}

/** Lists the packages under `packages/` that are not private. */
export const publishedPackages = async (): Promise<ReadonlyArray<PublishedPackage>> => {
  const parent = path.join(repositoryRoot, "packages")
  const found: Array<PublishedPackage> = []
  for (const entry of await readdir(parent, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const directory = path.join(parent, entry.name)
    const manifest = JSON.parse(await readFile(path.join(directory, "package.json"), "utf8")) as {
      readonly name: string
      readonly version: string
      readonly private?: boolean
    }
    if (manifest.private === true) continue
    found.push({ directory, name: manifest.name, version: manifest.version })
  }
  return found.sort((left, right) => left.name.localeCompare(right.name))
}

/**
 * Packs every published package into `destination`, two at a time, and
 * returns the tarball of each.
 */
export const packAll = async (destination: string): Promise<Tarballs> => {
  const queue = [...(await publishedPackages())]
  const tarballs: Record<string, string> = {}

  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      await pnpm(["pack", "--pack-destination", destination], next.directory)
      tarballs[next.name] = path.join(destination, tarballName(next))
    }
  }
  await Promise.all([worker(), worker()])
  return tarballs
}

// npm's naming: the scope's "@" dropped and its "/" turned into "-".
const tarballName = (manifest: PublishedPackage): string =>
  `${manifest.name.replace(/^@/, "").replace("/", "-")}-${manifest.version}.tgz`

/**
 * Runs pnpm: the one running this script when pnpm started it (as
 * `npx pnpm@… test` does in CI, where no pnpm need be on the PATH),
 * otherwise `pnpm` from the PATH.
 */
const pnpm = (args: ReadonlyArray<string>, cwd: string): Promise<void> => {
  const execPath = process.env.npm_execpath
  const viaExecPath = execPath !== undefined && /pnpm/.test(path.basename(execPath))
  const [command, commandArgs] = viaExecPath
    ? [process.execPath, [execPath, ...args]]
    : ["pnpm", [...args]]

  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("error", reject)
    child.on("close", (code) => {
      if (code === 0) resolve()
      else
        reject(new Error(`pnpm ${args.join(" ")} failed in ${cwd} with code ${code}:\n${output}`))
    })
  })
}
