/**
 * Scratch projects outside the workspace: a temporary folder with its own
 * package.json, filled by npm from the packed tarballs, where the fixtures
 * run as a user's code would.
 */
import { spawn } from "node:child_process"
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * npm's download cache, shared by every scenario and kept between runs, so
 * only the first run on a machine downloads effect, undici and the types.
 */
const npmCache = path.join(tmpdir(), "dinoair-install-test-npm-cache")

/** The fixtures folder, whose files are copied into scratch projects. */
const fixtures = fileURLToPath(new URL("../../fixtures/", import.meta.url))

/** A finished child process. */
export interface Finished {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** A scratch project in a temporary folder. */
export interface ScratchProject {
  readonly directory: string
  /** Runs `npm install` with the given specs (tarball paths or registry names). */
  install(specs: ReadonlyArray<string>): Promise<void>
  /** Copies files from the fixtures folder into the project, keeping their names. */
  copyFixtures(names: ReadonlyArray<string>): Promise<void>
  /** Runs a command in the project with npm's and pnpm's variables removed. */
  run(command: string, args: ReadonlyArray<string>, env?: Record<string, string>): Promise<Finished>
  /** The `@dinoair` packages in the project's node_modules. */
  dinoairPackages(): Promise<ReadonlyArray<string>>
  /** Where npm took each installed `@dinoair` package from, by name. */
  dinoairSources(): Promise<Readonly<Record<string, string>>>
  remove(): Promise<void>
}

/** Creates an empty project whose package.json `type` field is `type`. */
export const makeScratchProject = async (
  label: string,
  type: "module" | "commonjs" = "module",
): Promise<ScratchProject> => {
  const directory = await mkdtemp(path.join(tmpdir(), `dinoair-${label}-`))
  const manifest = { name: `scratch-${label}`, version: "0.0.0", private: true, type }
  await writeFile(path.join(directory, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`)

  const run = (command: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
    runIn(directory, command, args, env)

  return {
    directory,
    run,
    install: async (specs) => {
      const result = await run("npm", [
        "install",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
        "--ignore-scripts",
        "--prefer-offline",
        "--loglevel=warn",
        "--fetch-retries=1",
        `--cache=${npmCache}`,
        ...specs,
      ])
      if (result.code !== 0) {
        throw new Error(
          `npm install failed with code ${result.code} in ${directory}:\n${result.stderr}`,
        )
      }
    },
    copyFixtures: async (names) => {
      for (const name of names) {
        await copyFile(path.join(fixtures, name), path.join(directory, path.basename(name)))
      }
    },
    dinoairPackages: async () => {
      const scope = path.join(directory, "node_modules", "@dinoair")
      const entries = await readdir(scope).catch(() => [])
      return entries.map((entry) => `@dinoair/${entry}`).sort()
    },
    dinoairSources: async () => {
      const lock = JSON.parse(
        await readFile(path.join(directory, "package-lock.json"), "utf8"),
      ) as {
        readonly packages: Record<string, { readonly resolved?: string }>
      }
      const sources: Record<string, string> = {}
      for (const [key, entry] of Object.entries(lock.packages)) {
        const match = /(?:^|\/)node_modules\/(@dinoair\/[^/]+)$/.exec(key)
        if (match?.[1] !== undefined) sources[match[1]] = entry.resolved ?? "(no resolved field)"
      }
      return sources
    },
    remove: () => rm(directory, { recursive: true, force: true }),
  }
}

/**
 * Builds the environment for child processes. Variables that pnpm, npm and Vitest
 * set for their own children (`npm_config_*`, `npm_package_*`,
 * `NODE_OPTIONS`) would change how npm and node behave in the scratch
 * project, so they are left out.
 */
const childEnvironment = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === "NODE_OPTIONS" || key.startsWith("VITEST")) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

const runIn = (
  cwd: string,
  command: string,
  args: ReadonlyArray<string>,
  extra: Record<string, string>,
): Promise<Finished> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: childEnvironment(extra),
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }))
  })

/** Runs Node.js with the given arguments in this package's folder. */
export const runNode = (args: ReadonlyArray<string>): Promise<Finished> =>
  runIn(fileURLToPath(new URL("../../", import.meta.url)), process.execPath, args, {})

/** Parses the last line of a fixture's standard output, which is its JSON result. */
export const lastJsonLine = <A>(finished: Finished): A => {
  const lines = finished.stdout.trim().split("\n")
  const last = lines.at(-1)
  if (finished.code !== 0 || last === undefined || last === "") {
    throw new Error(
      `the fixture exited with code ${finished.code}\nstdout:\n${finished.stdout}\nstderr:\n${finished.stderr}`,
    )
  }
  return JSON.parse(last) as A
}
