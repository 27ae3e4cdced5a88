/**
 * Every TypeScript block of the guides and of every README type-checks
 * against the built packages, and every block marked `runnable` runs to
 * exit code 0. The flags are described in `support/codeBlocks.ts` and in
 * the docs app's README.
 */
import { execFile } from "node:child_process"
import { readdirSync } from "node:fs"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { docsDir, repoDir } from "../src/paths.js"
import { type CodeBlock, collectBlocks } from "./support/codeBlocks.js"
import { type CompiledBlocks, compileBlocks } from "./support/compileBlocks.js"

const run = promisify(execFile)

/** Fragments skip the type-check, so their number is kept small on purpose. */
const MAX_FRAGMENTS = 3

/** Time one runnable block may take, in milliseconds. */
const RUN_TIMEOUT_MS = 60_000

const blocks = collectBlocks(repoDir, docsDir)
const checked = blocks.filter((block) => !block.fragment)
const runnable = blocks.filter((block) => block.runnable)
const fragments = blocks.filter((block) => block.fragment)
const label = (block: CodeBlock): string => `${block.displayPath}:${block.fenceLine}`

let compiled: CompiledBlocks
let scratchDir: string

beforeAll(async () => {
  compiled = compileBlocks(blocks, repoDir, docsDir)
  // Inside apps/docs, so that the compiled blocks resolve the workspace packages.
  await mkdir(join(docsDir, "test-artifacts"), { recursive: true })
  scratchDir = await mkdtemp(join(docsDir, "test-artifacts", "code-blocks-"))
  await writeFile(join(scratchDir, "loopback-only.mjs"), LOOPBACK_ONLY)
}, 120_000)

afterAll(async () => {
  if (scratchDir !== undefined) await rm(scratchDir, { recursive: true, force: true })
})

describe("code blocks", () => {
  it("compiler settings load", () => {
    expect(compiled.globalDiagnostics).toEqual([])
  })

  it("every guide has a block", () => {
    const guides = readdirSync(join(docsDir, "guides")).filter((name) => name.endsWith(".md"))
    const withBlocks = new Set(blocks.map((block) => block.displayPath))

    expect(guides.filter((name) => !withBlocks.has(`apps/docs/guides/${name}`))).toEqual([])
  })

  it("fragments stay few", () => {
    console.info(
      `code blocks: ${blocks.length} in all, ${runnable.length} runnable, ${fragments.length} fragments (${fragments.map(label).join(", ") || "none"})`,
    )
    expect(fragments.length).toBeLessThanOrEqual(MAX_FRAGMENTS)
  })

  it("no block is both runnable and a fragment", () => {
    expect(blocks.filter((block) => block.runnable && block.fragment).map(label)).toEqual([])
  })

  it.each(checked.map((block) => [label(block), block] as const))(
    "%s type-checks",
    (name, block) => {
      expect(compiled.diagnosticsOf(block), `${name} does not compile`).toEqual([])
    },
  )

  it.each(runnable.map((block) => [label(block), block] as const))(
    "%s runs",
    async (name, block) => {
      const script = join(scratchDir, `${name.replaceAll("/", "_").replace(":", ".L")}.js`)
      await writeFile(script, compiled.javascriptOf(block))
      const workDir = await mkdtemp(join(tmpdir(), "dinoair-code-block-"))
      try {
        const guard = pathToFileURL(join(scratchDir, "loopback-only.mjs")).href
        const outcome = await run(process.execPath, ["--import", guard, script], {
          cwd: workDir,
          timeout: RUN_TIMEOUT_MS,
        }).then(
          () => ({ code: 0, output: "" }),
          (error: { code?: unknown; stdout?: string; stderr?: string }) => ({
            code: typeof error.code === "number" ? error.code : 1,
            output: `${error.stdout ?? ""}${error.stderr ?? ""}`,
          }),
        )
        expect(outcome.code, `${name} exited with ${outcome.code}:\n${outcome.output}`).toBe(0)
      } finally {
        await rm(workDir, { recursive: true, force: true })
      }
    },
    RUN_TIMEOUT_MS + 10_000,
  )
})

/**
 * Loaded with `--import` before a runnable block: any TCP or TLS connection
 * to a host other than the loopback one throws, so that a block cannot
 * reach the network.
 */
const LOOPBACK_ONLY = `import net from "node:net"

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"])
const connect = net.Socket.prototype.connect

const hostOf = (args) => {
  // net.connect passes its normalized arguments as one array.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0]
  if (first !== null && typeof first === "object") return first.path === undefined ? (first.host ?? "localhost") : undefined
  if (typeof first === "string" && !/^\\d+$/.test(first)) return undefined
  return typeof args[1] === "string" ? args[1] : "localhost"
}

net.Socket.prototype.connect = function (...args) {
  const host = hostOf(args)
  if (host !== undefined && !LOOPBACK.has(host)) {
    throw new Error("a runnable code block may connect only to 127.0.0.1, not to " + host)
  }
  return connect.apply(this, args)
}
`
