import { homedir } from "node:os"
import { join, resolve } from "node:path"
import { describe, expect, it } from "vitest"
import {
  DEFAULT_CONCURRENCY,
  defaultDir,
  defaultOutputFile,
  parseCommand,
  UsageError,
  workspaceRoot,
} from "../src/options.js"

const runOptions = (args: ReadonlyArray<string>) => {
  const command = parseCommand(args)
  if (command._tag !== "Run") throw new Error(`expected a run, got ${command._tag}`)
  return command.options
}

describe("parseCommand", () => {
  it("defaults to the workspace node_modules", () => {
    expect(runOptions([]).dir).toBe(join(workspaceRoot, "node_modules"))
    expect(defaultDir).toBe(join(workspaceRoot, "node_modules"))
  })

  it("defaults the output to out/playground", () => {
    expect(runOptions([]).outputFile).toBe(defaultOutputFile)
    expect(defaultOutputFile).toBe(join(workspaceRoot, "out", "playground", "telemetry.json"))
  })

  it("finds the workspace root", () => {
    expect(resolve(workspaceRoot, "apps", "playground", "package.json")).toBe(
      resolve(import.meta.dirname, "..", "package.json"),
    )
  })

  it("fills defaults for numbers and quiet", () => {
    const options = runOptions([])

    expect(options.concurrency).toBe(DEFAULT_CONCURRENCY)
    expect(options.limit).toBeUndefined()
    expect(options.sampleRate).toBe(1)
    expect(options.quiet).toBe(false)
  })

  it("reads every flag", () => {
    const options = runOptions([
      "--dir",
      "/tmp/tree",
      "--out=/tmp/out/t.json",
      "--limit",
      "10",
      "--concurrency",
      "3",
      "--sample-rate",
      "0.25",
      "--quiet",
    ])

    expect(options).toEqual({
      dir: "/tmp/tree",
      outputFile: "/tmp/out/t.json",
      limit: 10,
      concurrency: 3,
      sampleRate: 0.25,
      quiet: true,
    })
  })

  it("resolves relative paths and ~", () => {
    expect(runOptions(["--dir", "tree"]).dir).toBe(resolve("tree"))
    expect(runOptions(["--dir=~/tree"]).dir).toBe(join(homedir(), "tree"))
  })

  it("ignores a leading --", () => {
    expect(runOptions(["--", "--limit", "4"]).limit).toBe(4)
  })

  it("returns help for -h", () => {
    expect(parseCommand(["-h"])._tag).toBe("Help")
  })

  it.each([
    [["--limit", "-3"]],
    [["--limit", ""]],
    [["--concurrency", "1e3"]],
    [["--sample-rate", "-0.1"]],
    [["--sample-rate", ""]],
    [["--dir", " "]],
    [["--quiet=yes"]],
    [["--limit"]],
  ])("rejects %j", (args) => {
    expect(() => parseCommand(args)).toThrow(UsageError)
  })

  it("names the value and the fix", () => {
    expect(() => parseCommand(["--concurrency", "300"])).toThrow(
      'invalid --concurrency "300": expected an integer from 1 to 256, such as --concurrency 8.',
    )
  })
})
