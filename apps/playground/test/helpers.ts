import { execFileSync, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** The playground package folder. */
export const packageDir = fileURLToPath(new URL("..", import.meta.url))

/** The built entry point. */
export const mainJs = join(packageDir, "dist", "main.js")

/**
 * Builds the playground with `tsc -b`, which is incremental: it costs little
 * when `dist` is current, and a stale `dist` would test old code.
 */
export const buildPlayground = (): void => {
  execFileSync("npx", ["tsc", "-b"], { cwd: packageDir, stdio: "inherit" })
  if (!existsSync(mainJs)) throw new Error(`tsc -b did not produce ${mainJs}`)
}

/** Result of one run of the built CLI. */
export interface CliRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node dist/main.js` with `args` and waits for it. */
export const runCli = (args: ReadonlyArray<string>): CliRun => {
  const result = spawnSync(process.execPath, [mainJs, ...args], {
    encoding: "utf8",
    timeout: 120_000,
  })
  if (result.error !== undefined) throw result.error
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** A temporary tree and what the walk should find in it. */
export interface TestTree {
  readonly root: string
  /** Relative paths of the regular files, sorted. */
  readonly files: ReadonlyArray<string>
  readonly symlinks: number
}

/**
 * Creates a tree of 32 regular files of varied sizes (empty to 1 MiB), in
 * nested directories, plus a symbolic link to a file and one to the root,
 * which a walk that followed links would loop on.
 */
export const makeTree = async (): Promise<TestTree> => {
  const root = await mkdtemp(join(tmpdir(), "dinoair-playground-"))
  const files = new Map<string, Buffer>()

  files.set("empty.txt", Buffer.alloc(0))
  for (let i = 0; i < 20; i++) {
    files.set(
      `small-${String(i).padStart(2, "0")}.txt`,
      Buffer.from("line of text\n".repeat(i * 37 + 1)),
    )
  }
  for (let i = 0; i < 5; i++) {
    files.set(
      join("nested", `mid-${i}.json`),
      Buffer.from(JSON.stringify({ index: i, values: range(i * 500) })),
    )
  }
  for (let i = 0; i < 5; i++) {
    files.set(join("nested", "a", "b", "c", `deep-${i}.bin`), pseudoRandomBytes(1024 * 4 ** i, i))
  }
  files.set("big.bin", pseudoRandomBytes(1024 * 1024, 99))

  for (const [path, content] of files) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), content)
  }
  await symlink(join(root, "small-00.txt"), join(root, "link-to-file.txt"))
  await symlink(root, join(root, "nested", "link-to-root"))

  return { root, files: [...files.keys()].sort(), symlinks: 2 }
}

const range = (length: number): Array<number> => Array.from({ length }, (_, i) => i)

/** Bytes from a small linear congruential generator: deterministic and poorly compressible. */
const pseudoRandomBytes = (length: number, seed: number): Buffer => {
  const bytes = Buffer.alloc(length)
  let state = (seed * 2654435761 + 1) >>> 0
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    bytes[i] = state >>> 24
  }
  return bytes
}

/**
 * Creates a flat tree of `count` files of pseudo-random bytes,
 * `file-000.bin` and on, from 1 to about 20 KiB, for runs that need many
 * files rather than varied ones.
 */
export const makeWideTree = async (count: number): Promise<TestTree> => {
  const root = await mkdtemp(join(tmpdir(), "dinoair-playground-wide-"))
  const files: Array<string> = []
  for (let i = 0; i < count; i++) {
    const name = `file-${String(i).padStart(3, "0")}.bin`
    await writeFile(join(root, name), pseudoRandomBytes(1024 + ((i * 7919) % 19_000), i))
    files.push(name)
  }
  return { root, files, symlinks: 0 }
}
