import { homedir } from "node:os"
import { join, resolve } from "node:path"
import { describe, expect, it } from "vitest"
import {
  checkPaths,
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

  it("defaults to JSON in a file without a server", () => {
    const options = runOptions([])

    expect(options.format).toBe("json")
    expect(options.destination).toBe("file")
    expect(options.endpoint).toBeUndefined()
    expect(options.serve).toBe(false)
    expect(options.port).toBe(0)
    expect(options.lingerSeconds).toBe(0)
  })

  it.each([
    ["json", "telemetry.json"],
    ["prometheus", "telemetry.prom"],
    ["csv", "telemetry.csv"],
  ])("names the default file after %s", (format, file) => {
    expect(runOptions(["--format", format]).outputFile).toBe(
      join(workspaceRoot, "out", "playground", file),
    )
  })

  it("keeps --out whatever the format", () => {
    expect(runOptions(["--format", "csv", "--out", "/tmp/x.txt"]).outputFile).toBe("/tmp/x.txt")
  })

  it("reads the Pushgateway flags", () => {
    const options = runOptions([
      "--format",
      "prometheus",
      "--destination",
      "http",
      "--endpoint",
      "http://127.0.0.1:9091/metrics/job/dinoair_playground",
    ])

    expect(options.format).toBe("prometheus")
    expect(options.destination).toBe("http")
    expect(options.endpoint).toBe("http://127.0.0.1:9091/metrics/job/dinoair_playground")
  })

  it("reads the server flags", () => {
    const options = runOptions(["--serve", "--port", "9464", "--linger-seconds", "30"])

    expect(options.serve).toBe(true)
    expect(options.port).toBe(9464)
    expect(options.lingerSeconds).toBe(30)
  })

  it("reads the workload flags", () => {
    const options = runOptions(["--repeat-seconds", "60", "--extra-operations", "100"])

    expect(options.repeatSeconds).toBe(60)
    expect(options.extraOperations).toBe(100)
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
      format: "json",
      destination: "file",
      endpoint: undefined,
      serve: false,
      port: 0,
      lingerSeconds: 0,
      repeatSeconds: 0,
      extraOperations: 0,
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
    [["--format", "xml"]],
    [["--destination", "kafka"]],
    [["--destination", "http"]],
    [["--endpoint", "http://127.0.0.1:9091/x"]],
    [["--destination", "http", "--endpoint", "ftp://127.0.0.1/x"]],
    [["--destination", "http", "--endpoint", "not a url"]],
    [["--destination", "console", "--out", "/tmp/x.json"]],
    [["--port", "9464"]],
    [["--linger-seconds", "5"]],
    [["--serve", "--port", "65536"]],
    [["--serve", "--port", "-1"]],
    [["--serve", "--linger-seconds", "1.5"]],
    [["--repeat-seconds", "-1"]],
    [["--repeat-seconds", "2.5"]],
    [["--extra-operations", "501"]],
    [["--extra-operations", "-1"]],
  ])("rejects %j", (args) => {
    expect(() => parseCommand(args)).toThrow(UsageError)
  })

  it("keeps endpoint credentials out of messages", () => {
    expect(() =>
      parseCommand(["--destination", "http", "--endpoint", "ftp://user:s3cret@127.0.0.1/x"]),
    ).toThrow(/^(?!.*s3cret)invalid --endpoint: the scheme is ftp/)
  })

  it("names the missing endpoint", () => {
    expect(() => parseCommand(["--destination", "http"])).toThrow(
      "--destination http needs --endpoint, the URL to send telemetry to, such as --endpoint http://127.0.0.1:9091/metrics/job/dinoair_playground.",
    )
  })

  it("skips the --out checks for other destinations", async () => {
    const options = runOptions(["--dir", import.meta.dirname, "--destination", "console"])

    await expect(checkPaths({ ...options, outputFile: import.meta.dirname })).resolves.toBe(
      undefined,
    )
  })

  it("names the value and the fix", () => {
    expect(() => parseCommand(["--concurrency", "300"])).toThrow(
      'invalid --concurrency "300": expected an integer from 1 to 256, such as --concurrency 8.',
    )
  })
})
