import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, promtoolCheck } from "@dinoair/test-support"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { buildPlayground, type CliRun, makeTree, runCli, type TestTree } from "./helpers.js"

const OPERATIONS = ["read", "gzip", "sha256"] as const

interface ExportedRecord {
  readonly operation: string
  readonly status: string
  readonly custom_metrics: Record<string, unknown>
}

/** The numbers of the `Records: produced ... : OK` line. */
interface RecordLine {
  readonly produced: number
  readonly exported: number
  readonly buffered: number
  readonly inFlight: number
  readonly dropped: number
  readonly reasons: ReadonlyArray<number>
  readonly verdict: string
}

const parseRecordLine = (stdout: string): RecordLine => {
  const match =
    /Records: produced (\d+) = exported (\d+) \+ buffered (\d+) \+ in flight (\d+) \+ dropped (\d+) \(per-operation cap (\d+), total cap (\d+), retention (\d+), cleared (\d+), rejected (\d+)\): (OK|MISMATCH)/.exec(
      stdout,
    )
  if (match === null) throw new Error(`no Records line in the output:\n${stdout}`)
  const numbers = match.slice(1, 11).map(Number)
  return {
    produced: numbers[0]!,
    exported: numbers[1]!,
    buffered: numbers[2]!,
    inFlight: numbers[3]!,
    dropped: numbers[4]!,
    reasons: numbers.slice(5),
    verdict: match[11]!,
  }
}

/** Splits the table row of `operation` into its trimmed cells. */
const tableRow = (stdout: string, operation: string): Array<string> => {
  const line = stdout.split("\n").find((each) => each.startsWith(`│ ${operation} `))
  if (line === undefined) throw new Error(`no table row for ${operation} in the output:\n${stdout}`)
  return line
    .split("│")
    .slice(1, -1)
    .map((cell) => cell.trim())
}

const sum = (values: ReadonlyArray<number>): number =>
  values.reduce((total, value) => total + value, 0)

describe("playground over a small tree", () => {
  let tree: TestTree
  let outFile: string
  let run: CliRun
  let text: string
  let records: Array<ExportedRecord>

  beforeAll(async () => {
    buildPlayground()
    tree = await makeTree()
    // Inside the walked tree on purpose: the run must not read its own output.
    outFile = join(tree.root, "out", "telemetry.json")
    run = runCli(["--dir", tree.root, "--out", outFile, "--quiet"])
    text = await readFile(outFile, "utf8")
    records = (JSON.parse(text) as { metrics: Array<ExportedRecord> }).metrics
  }, 180_000)

  afterAll(async () => {
    await rm(tree.root, { recursive: true, force: true })
  })

  it("exits with code 0", () => {
    expect(run.status, run.stderr).toBe(0)
  })

  it("writes a file that JSON.parse reads", () => {
    expect(() => JSON.parse(text)).not.toThrow()
  })

  it("writes one record per exported record", () => {
    expect(records.length).toBe(parseRecordLine(run.stdout).exported)
  })

  it.each(OPERATIONS)("exports %s once per file", (operation) => {
    const count = records.filter((record) => record.operation === operation).length
    expect(count).toBe(tree.files.length)
  })

  it("exports only ok records", () => {
    expect(records.filter((record) => record.status !== "ok")).toEqual([])
  })

  it("reads every regular file once and no link", () => {
    const read = records
      .filter((record) => record.operation === "read")
      .map((record) => String(record.custom_metrics.file))
      .sort()
    expect(read).toEqual(tree.files)
  })

  it.each(OPERATIONS)("prints the %s row", (operation) => {
    const cells = tableRow(run.stdout, operation)
    expect(cells[1]).toBe(String(tree.files.length))
    expect(cells[8]).toBe(String(tree.files.length))
    expect(cells[9]).toBe("0")
  })

  it("reconciles produced records", () => {
    const line = parseRecordLine(run.stdout)
    expect(line.produced).toBe(line.exported + line.buffered + line.inFlight + line.dropped)
    expect(line.dropped).toBe(sum(line.reasons))
    expect(line.produced).toBe(OPERATIONS.length * tree.files.length)
    expect(line.verdict).toBe("OK")
  })

  it("reports the walk", () => {
    expect(run.stdout).toContain(
      `${tree.files.length} files in 6 directories; skipped ${tree.symlinks} symbolic links`,
    )
  })

  it("prints the output path", () => {
    expect(run.stdout).toContain(`Telemetry written to ${outFile}\n`)
  })

  it("prints nothing to stderr when quiet", () => {
    expect(run.stderr).toBe("")
  })

  it("replaces the file on the next run", async () => {
    const limited = runCli(["--dir", tree.root, "--out", outFile, "--quiet", "--limit", "5"])
    const metrics = (JSON.parse(await readFile(outFile, "utf8")) as { metrics: Array<unknown> })
      .metrics

    expect(limited.status, limited.stderr).toBe(0)
    expect(metrics.length).toBe(OPERATIONS.length * 5)
    expect(limited.stdout).toContain("5 files in")
    expect(limited.stdout).toContain("(stopped at --limit)")
  })

  it("records nothing at --sample-rate 0", () => {
    const sampled = runCli(["--dir", tree.root, "--out", outFile, "--quiet", "--sample-rate", "0"])
    const line = parseRecordLine(sampled.stdout)

    expect(sampled.status, sampled.stderr).toBe(0)
    expect(line.produced).toBe(0)
    expect(sampled.stdout).toContain("no operations recorded")
  })
})

describe("playground with other formats", () => {
  let tree: TestTree
  // Outside the tree, so that no run walks the output of an earlier one.
  let outDir: string

  beforeAll(async () => {
    buildPlayground()
    tree = await makeTree()
    outDir = await mkdtemp(join(tmpdir(), "dinoair-playground-out-"))
  }, 180_000)

  afterAll(async () => {
    await rm(tree.root, { recursive: true, force: true })
    await rm(outDir, { recursive: true, force: true })
  })

  it("writes CSV with one header", async () => {
    const outFile = join(outDir, "telemetry.csv")
    const run = runCli(["--dir", tree.root, "--format", "csv", "--out", outFile, "--quiet"])
    const lines = (await readFile(outFile, "utf8")).split("\r\n")

    expect(run.status, run.stderr).toBe(0)
    expect(lines[0]).toBe(
      "operation,duration,memory_usage,cpu_usage,timestamp,status,custom_metrics",
    )
    expect(lines.filter((line) => line.startsWith("operation,"))).toHaveLength(1)
    expect(parseRecordLine(run.stdout).exported).toBe(OPERATIONS.length * tree.files.length)
    expect(parseRecordLine(run.stdout).verdict).toBe("OK")
    for (const operation of OPERATIONS) {
      expect(lines.filter((line) => line.startsWith(`${operation},`))).toHaveLength(
        tree.files.length,
      )
      expect(tableRow(run.stdout, operation)[8]).toBe(String(tree.files.length))
    }
  })

  it("writes Prometheus text that promtool accepts", { timeout: 60_000 }, async () => {
    const outFile = join(outDir, "metrics.prom")
    const run = runCli(["--dir", tree.root, "--format", "prometheus", "--out", outFile, "--quiet"])
    const text = await readFile(outFile, "utf8")
    const check = await promtoolCheck(text)

    expect(run.status, run.stderr).toBe(0)
    expect(parseRecordLine(run.stdout).verdict).toBe("OK")
    expect(run.stdout).toContain(
      "Exported is the sink's delivered count, because a Prometheus file",
    )
    for (const operation of OPERATIONS) {
      expect(text).toMatch(
        new RegExp(
          `^dinoair_operations_total\\{operation="${operation}",status="ok"\\} ${tree.files.length} \\d+$`,
          "m",
        ),
      )
      expect(tableRow(run.stdout, operation)[8]).toBe("-")
    }
    if (check !== undefined) {
      expect(check.output).toBe("")
      expect(check.code).toBe(0)
    }
  })

  it("defaults the file name to the format", () => {
    const run = runCli(["--format", "csv", "--help"])

    expect(run.status).toBe(0)
    expect(run.stdout).toContain("telemetry.<json|prom|csv>")
  })

  it("writes JSON to standard output", () => {
    const run = runCli(["--dir", tree.root, "--destination", "console", "--quiet", "--limit", "4"])
    const document = run.stdout.split("\n").find((line) => line.startsWith("{"))
    const line = parseRecordLine(run.stdout)

    expect(run.status, run.stderr).toBe(0)
    expect(line.verdict).toBe("OK")
    expect(line.exported).toBe(OPERATIONS.length * 4)
    expect(
      (JSON.parse(document ?? "{}") as { metrics?: Array<unknown> }).metrics?.length,
    ).toBeGreaterThan(0)
    expect(run.stdout).toContain("Telemetry (JSON) written to standard output\n")
  })

  it("exits with code 3 when nothing is delivered", { timeout: 120_000 }, async () => {
    // Nothing listens on a port that was just free, so every attempt is refused.
    const endpoint = `http://127.0.0.1:${await freePort()}/x`
    const run = runCli([
      "--dir",
      tree.root,
      "--destination",
      "http",
      "--endpoint",
      endpoint,
      "--quiet",
      "--limit",
      "5",
    ])
    const line = parseRecordLine(run.stdout)

    expect(run.status, run.stderr).toBe(3)
    expect(line.verdict).toBe("OK")
    expect(line.exported).toBe(0)
    expect(line.buffered).toBe(OPERATIONS.length * 5)
    expect(run.stdout).toContain("The final export did not deliver everything")
    expect(run.stdout).not.toContain("sent to")
    expect(run.stdout).toContain(
      `Telemetry (JSON) was not delivered to ${endpoint}: ${OPERATIONS.length * 5} records still buffered\n`,
    )
  })

  it("serves /metrics on the given port", () => {
    const run = runCli([
      "--dir",
      tree.root,
      "--quiet",
      "--limit",
      "2",
      "--serve",
      "--out",
      join(outDir, "served.json"),
    ])

    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toMatch(
      /^Serving Prometheus metrics at http:\/\/127\.0\.0\.1:\d+\/metrics$/m,
    )
  })
})

describe("playground with invalid flags", () => {
  let root: string

  beforeAll(async () => {
    buildPlayground()
    root = (await makeTree()).root
    await mkdir(join(root, "a-directory"))
    await writeFile(join(root, "a-file"), "x")
  }, 180_000)

  afterAll(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it.each([
    [["--concurrency", "-1"], 'invalid --concurrency "-1"'],
    [["--concurrency=-1"], 'invalid --concurrency "-1"'],
    [["--concurrency", "0"], 'invalid --concurrency "0"'],
    [["--concurrency", "257"], 'invalid --concurrency "257"'],
    [["--limit", "abc"], 'invalid --limit "abc"'],
    [["--limit", "0"], 'invalid --limit "0"'],
    [["--limit", "2.5"], 'invalid --limit "2.5"'],
    [["--sample-rate", "1.5"], 'invalid --sample-rate "1.5"'],
    [["--sample-rate", "half"], 'invalid --sample-rate "half"'],
    [["--bogus"], 'unknown flag "--bogus"'],
    [["stray"], 'unexpected argument "stray"'],
  ])("rejects %j", (args, message) => {
    const run = runCli([...args, "--dir", root, "--out", join(root, "out.json")])

    expect(run.status).toBe(2)
    expect(run.stderr).toContain(message)
  })

  it("rejects a missing --dir", () => {
    const missing = join(root, "missing")
    const run = runCli(["--dir", missing, "--out", join(root, "out.json")])

    expect(run.status).toBe(2)
    expect(run.stderr).toContain(`--dir ${missing} cannot be read (ENOENT)`)
  })

  it("rejects a file as --dir", () => {
    const run = runCli(["--dir", join(root, "a-file"), "--out", join(root, "out.json")])

    expect(run.status).toBe(2)
    expect(run.stderr).toContain("is not a directory")
  })

  it("rejects a directory as --out", () => {
    const run = runCli(["--dir", root, "--out", join(root, "a-directory")])

    expect(run.status).toBe(2)
    expect(run.stderr).toContain(`--out ${join(root, "a-directory")} is a directory`)
  })

  it("prints help with exit code 0", () => {
    const run = runCli(["--help"])

    expect(run.status).toBe(0)
    expect(run.stdout).toContain("--concurrency N")
  })
})
