/**
 * Starts `fixtures/export-child.mjs`, a telemetry manager with the built
 * file sink in a process of its own, and talks to it one command at a time.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const SCRIPT = fileURLToPath(new URL("./fixtures/export-child.mjs", import.meta.url))

/** Options of the child's sink and manager. */
export interface ChildOptions {
  readonly path: string
  readonly fileMode?: "append" | "replace" | undefined
  readonly mode?: number | undefined
  readonly umask?: number | undefined
  readonly format?: "json" | "csv" | undefined
  readonly batchSize?: number | undefined
}

/** How the child is started: directly, under a file size limit, in a tmpfs, or as another user. */
export type Launch =
  | { readonly kind: "direct" }
  /** `ulimit -f` in bash: writes past `kib` KiB fail with EFBIG. */
  | { readonly kind: "fileSizeLimit"; readonly kib: number }
  /** A tmpfs of `kib` KiB mounted at `directory` in a mount namespace that only the child sees. */
  | { readonly kind: "tmpfs"; readonly directory: string; readonly kib: number }
  /** `directory` bind-mounted read-only onto itself, in a mount namespace that only the child sees. */
  | { readonly kind: "readOnlyMount"; readonly directory: string }
  | { readonly kind: "user"; readonly uid: number; readonly gid: number }

/** One reply line of the child, as parsed JSON. */
export type Reply = Record<string, unknown>

export interface Child {
  readonly process: ChildProcess
  /** Sends one command and resolves with its reply. */
  send(command: Record<string, unknown>): Promise<Reply>
  /** Sends one command without waiting for its reply. */
  post(command: Record<string, unknown>): void
  /** Resolves once the child has exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Everything that the child wrote to standard error, for failure messages. */
  stderr(): string
}

/** Starts the child and waits for its first line. */
export const startChild = async (
  options: ChildOptions,
  launch: Launch = { kind: "direct" },
): Promise<Child> => {
  const argument = JSON.stringify(options)
  const child = spawnLaunch(launch, argument)

  const replies: Array<Reply> = []
  const waiting: Array<(reply: Reply) => void> = []
  let pending = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8")
  child.stdout?.on("data", (chunk: string) => {
    pending += chunk
    for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
      const reply = JSON.parse(pending.slice(0, end)) as Reply
      pending = pending.slice(end + 1)
      const next = waiting.shift()
      if (next === undefined) replies.push(reply)
      else next(reply)
    }
  })
  child.stderr?.setEncoding("utf8")
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk
  })

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  )
  const nextReply = (): Promise<Reply> => {
    const ready = replies.shift()
    if (ready !== undefined) return Promise.resolve(ready)
    return Promise.race([
      new Promise<Reply>((resolve) => waiting.push(resolve)),
      exited.then(({ code, signal }) => {
        throw new Error(`child exited (code ${code}, signal ${signal}): ${stderr}`)
      }),
    ])
  }

  const ready = await nextReply()
  if (ready.op !== "ready") throw new Error(`child did not start: ${JSON.stringify(ready)}`)

  const post = (command: Record<string, unknown>): void => {
    child.stdin?.write(`${JSON.stringify(command)}\n`)
  }
  return {
    process: child,
    send: (command) => {
      post(command)
      return nextReply()
    },
    post,
    exited,
    stderr: () => stderr,
  }
}

const spawnLaunch = (launch: Launch, argument: string): ChildProcess => {
  const stdio: ["pipe", "pipe", "pipe"] = ["pipe", "pipe", "pipe"]
  switch (launch.kind) {
    case "direct":
      return spawn(process.execPath, [SCRIPT, argument], { stdio })
    case "user":
      return spawn(process.execPath, [SCRIPT, argument], {
        stdio,
        uid: launch.uid,
        gid: launch.gid,
      })
    case "fileSizeLimit":
      return spawn(
        "bash",
        ["-c", `ulimit -f ${launch.kib} && exec "$0" "$@"`, process.execPath, SCRIPT, argument],
        { stdio },
      )
    case "tmpfs":
      // unshare gives the child a private mount namespace, so the tmpfs is
      // invisible outside it and disappears when the child exits.
      return spawn(
        "unshare",
        [
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          `mount -t tmpfs -o size=${launch.kib}k dinoair-test "$0" && exec "$1" "$2" "$3"`,
          launch.directory,
          process.execPath,
          SCRIPT,
          argument,
        ],
        { stdio },
      )
    case "readOnlyMount":
      return spawn(
        "unshare",
        [
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$1" "$2" "$3"',
          launch.directory,
          process.execPath,
          SCRIPT,
          argument,
        ],
        { stdio },
      )
  }
}

/** Checks whether the user `uid` can read the child's script, which lies inside this repository. */
export const canRunAs = (uid: number, gid: number): boolean => {
  const check = `require("node:fs").accessSync(${JSON.stringify(SCRIPT)}, 4)`
  const result = spawnSync(process.execPath, ["-e", check], { uid, gid, stdio: "ignore" })
  return result.status === 0
}

/** Checks whether this machine lets the tests mount a tmpfs in a private mount namespace. */
export const canMountTmpfs = (directory: string): boolean => {
  const result = spawnSync(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount -t tmpfs -o size=64k dinoair-probe "$0"',
      directory,
    ],
    { stdio: "ignore" },
  )
  return result.status === 0
}
