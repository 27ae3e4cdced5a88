/**
 * The packed tarballs pass publint (strict, suggestions included) and Are
 * the Types Wrong? with its ESM-only profile, which ignores the
 * resolutions of CommonJS code under TypeScript (node10, node16 from CJS),
 * because the packages are ES modules only.
 */
import { spawn } from "node:child_process"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import path from "node:path"
import { publint } from "publint"
import { formatMessage } from "publint/utils"
import { describe, expect, inject, it } from "vitest"

const tarballs = Object.entries(inject("tarballs"))

/** The resolutions that `--profile esm-only` leaves out. */
const IGNORED_RESOLUTIONS = new Set(["node10", "node16-cjs"])

const attwBin = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@arethetypeswrong/cli/package.json")),
  "dist",
  "index.js",
)

interface AttwReport {
  readonly analysis: {
    readonly problems?: ReadonlyArray<{ readonly kind: string; readonly resolutionKind?: string }>
  }
}

const runAttw = (tarball: string): Promise<{ readonly code: number; readonly stdout: string }> =>
  new Promise((resolve, reject) => {
    // --no-definitely-typed keeps attw from looking up @types packages on npm.
    const args = [
      attwBin,
      tarball,
      "--profile",
      "esm-only",
      "--no-definitely-typed",
      "--format",
      "json",
    ]
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? 1, stdout }))
  })

describe("package checks", () => {
  it.each(tarballs)("publint finds nothing in %s", async (_name, tarball) => {
    const data = await readFile(tarball)
    const result = await publint({
      pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
      level: "suggestion",
      strict: true,
    })
    const messages = result.messages.map((message) => formatMessage(message, result.pkg))

    expect(messages).toEqual([])
  })

  it.each(tarballs)("attw finds nothing in %s", async (_name, tarball) => {
    const { code, stdout } = await runAttw(tarball)
    const report = JSON.parse(stdout) as AttwReport
    const counted = (report.analysis.problems ?? []).filter(
      (problem) => !IGNORED_RESOLUTIONS.has(problem.resolutionKind ?? ""),
    )

    expect(counted).toEqual([])
    expect(code).toBe(0)
  })
})
