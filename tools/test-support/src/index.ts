/**
 * Helpers that DinoAir's test suites share.
 *
 * Tests that need a real peer tool (promtool, Prometheus, the Pushgateway,
 * Chromium) call `peerTool` first. Without the tool the test is skipped
 * with a message naming the Debian package. With `DINOAIR_REQUIRE_PEERS=1`,
 * as in CI, a missing tool fails the test instead.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { createServer } from "node:net"
import { delimiter, join } from "node:path"

/** Whether a missing peer tool fails the test instead of skipping it. */
export const peersRequired = (): boolean => process.env.DINOAIR_REQUIRE_PEERS === "1"

/**
 * Finds an executable on the PATH, returning its full path, or `undefined`.
 */
export const findExecutable = (name: string): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // Not in this directory.
    }
  }
  return undefined
}

/**
 * Looks up a peer tool. Returns its path, or `undefined` after printing why
 * the test is skipped. Throws when peers are required and the tool is missing.
 */
export const peerTool = (name: string, debianPackage: string): string | undefined => {
  const found = findExecutable(name)
  if (found !== undefined) return found
  const message = `${name} not found: install the Debian package ${debianPackage} (apt-get install -y --no-install-recommends ${debianPackage})`
  if (peersRequired()) throw new Error(`${message}; DINOAIR_REQUIRE_PEERS=1 makes this a failure`)
  console.warn(`skipped: ${message}`)
  return undefined
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/**
 * Polls `check` until it resolves `true` or `timeoutMs` passes. For waiting
 * on a real server that a test started, never for timing the code under test.
 */
export const waitFor = async (
  check: () => Promise<boolean>,
  options: {
    readonly timeoutMs?: number
    readonly intervalMs?: number
    readonly what?: string
  } = {},
): Promise<void> => {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${options.what ?? "a condition"}`)
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100))
  }
}

/** A child process that a test started, with its output kept for failure messages. */
export interface StartedProcess {
  readonly child: ChildProcess
  output(): string
  /** Ends the process by its id and waits for it to exit. */
  stop(): Promise<void>
}

/** Starts a long-running peer such as Prometheus and keeps its output. */
export const startProcess = (
  command: string,
  args: ReadonlyArray<string>,
  cwd?: string,
): StartedProcess => {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      await exited
    },
  }
}

/** Runs a command to completion and returns its exit code and output. */
export const runCommand = (
  command: string,
  args: ReadonlyArray<string>,
  input?: string,
): Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] })
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
    child.stdin.end(input ?? "")
  })

/**
 * Runs `promtool check metrics` on exposition text. Returns `undefined`
 * when promtool is missing and peers are not required.
 */
export const promtoolCheck = async (
  text: string,
): Promise<{ readonly code: number; readonly output: string } | undefined> => {
  const promtool = peerTool("promtool", "prometheus")
  if (promtool === undefined) return undefined
  const result = await runCommand(promtool, ["check", "metrics"], text)
  return { code: result.code, output: result.stdout + result.stderr }
}
