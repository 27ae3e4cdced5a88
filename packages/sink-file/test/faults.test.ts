/**
 * File faults through a real telemetry manager: a missing directory, a
 * read-only directory, a full disk, a file size limit, a directory at the
 * output path, and concurrent exports. In every case no exception reaches
 * the caller, `forceExport` returns `false` while the fault lasts, the
 * records stay buffered for the next try, and the file stays a complete
 * document. Also the permission bits of the files the sink creates.
 *
 * Faults that need another user, a file size limit or a small disk run in a
 * child process (`fixtures/export-child.mjs`), so that nothing outside the
 * test's own temporary directory is touched.
 */
import { execFileSync } from "node:child_process"
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { JsonExporter } from "@dinoair/exporter-json"
import { Logging, type OperationMetrics } from "@dinoair/monitor"
import { Exporter, Telemetry } from "@dinoair/telemetry"
import { Effect } from "effect"
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest"
import { FileSink } from "../src/index.js"
import { type Child, canMountTmpfs, canRunAs, startChild } from "./child.js"

let directory: string
const children: Array<Child> = []

beforeEach(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), "dinoair-sink-file-faults-"))
})

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill("SIGKILL")
    }
    await child.exited
  }
  await rm(directory, { recursive: true, force: true })
})

afterAll(async () => {
  // The tests never write to /dev/full, only to copies made with mknod in
  // their own directory; this checks that it is still the device it was.
  expect((await lstat("/dev/full")).isCharacterDevice()).toBe(true)
})

const NOW_SECONDS = 1_700_000_000

const record = (id: string): OperationMetrics => ({
  id,
  operation: "load",
  duration: 0.25,
  timestamp: NOW_SECONDS,
  memoryUsage: 1024,
  memoryDelta: undefined,
  cpuUsage: 3.5,
  status: "ok",
  error: undefined,
  customMetrics: { rows: 10 },
  parentId: undefined,
  systemInfo: undefined,
})

const ids = (prefix: string, count: number): Array<string> =>
  Array.from({ length: count }, (_, index) => `${prefix}-${index}`)

const idsIn = async (file: string): Promise<Array<string>> =>
  (
    JSON.parse(await readFile(file, "utf8")) as { metrics: ReadonlyArray<{ id: string }> }
  ).metrics.map((metric) => metric.id)

const makeTelemetry = (sink: FileSink.FileSinkOptions, batchSize = 500) =>
  Telemetry.makeUnsafe(
    {
      source: () => () => {},
      flushOnExit: false,
      includeSystemMetrics: false,
      nowSeconds: () => NOW_SECONDS,
      logger: Logging.silentLogger,
      batchSize,
    },
    { exporter: JsonExporter.make(), sink: FileSink.make(sink) },
  )

const forceExport = (telemetry: Telemetry.TelemetryInstance): Promise<boolean> =>
  Effect.runPromise(telemetry.forceExport)

const spawnChild = async (...args: Parameters<typeof startChild>): Promise<Child> => {
  const child = await startChild(...args)
  children.push(child)
  return child
}

/** The documented shape of an export reply of the child. */
interface ExportReply {
  readonly delivered: boolean
  readonly buffered: number
  readonly deliveredRecords: number
  readonly inFlight: number
  readonly error?: { readonly reason: string; readonly message: string }
}

const exportIn = async (child: Child): Promise<ExportReply> =>
  (await child.send({ op: "export" })) as unknown as ExportReply

const isRoot = process.getuid?.() === 0
const NOBODY = 65534

describe("FileSink permissions", () => {
  it("default mode is 0o600", async () => {
    const file = path.join(directory, "telemetry.json")
    const telemetry = makeTelemetry({ path: file })
    telemetry.collect(record("a-0"))

    expect(await forceExport(telemetry)).toBe(true)

    expect((await stat(file)).mode & 0o777).toBe(FileSink.DEFAULT_MODE)
    expect(FileSink.DEFAULT_MODE).toBe(0o600)
  })

  it.each([
    ["append", "077", 0o644],
    ["append", "000", undefined],
    ["replace", "077", 0o640],
    ["replace", "022", 0o666],
  ] as const)("%s under umask %s sets mode exactly", async (fileMode, umaskText, mode) => {
    const umask = Number.parseInt(umaskText, 8)
    const file = path.join(directory, "telemetry.json")
    const child = await spawnChild({ path: file, fileMode, umask, mode })
    await child.send({ op: "collect", prefix: "a", count: 3 })

    expect((await exportIn(child)).delivered).toBe(true)

    expect((await stat(file)).mode & 0o777).toBe(mode ?? 0o600)
    expect(await idsIn(file)).toStrictEqual(ids("a", 3))
  })

  it("append journal is gone after the append", async () => {
    const file = path.join(directory, "telemetry.json")
    const telemetry = makeTelemetry({ path: file })
    telemetry.collect(record("a-0"))
    await forceExport(telemetry)
    telemetry.collect(record("b-0"))

    await forceExport(telemetry)

    expect(await readdir(directory)).toStrictEqual(["telemetry.json"])
  })

  it.each([
    ["negative", -1],
    ["above 0o777", 0o1777],
    ["fractional", 0.5],
    ["a string", "0644"],
  ])("%s mode throws TypeError", (_name, mode) => {
    expect(() => FileSink.make({ path: "x.json", mode: mode as number })).toThrow(/"mode" must be/)
  })
})

describe("FileSink faults with the telemetry manager", () => {
  it("missing directories are created", async () => {
    const file = path.join(directory, "a", "b", "telemetry.json")
    const telemetry = makeTelemetry({ path: file })
    for (const id of ids("a", 3)) telemetry.collect(record(id))

    expect(await forceExport(telemetry)).toBe(true)

    expect(await idsIn(file)).toStrictEqual(ids("a", 3))
  })

  it("directory at the path keeps the batch", async () => {
    const file = path.join(directory, "telemetry.json")
    await mkdir(file)
    const telemetry = makeTelemetry({ path: file })
    for (const id of ids("a", 3)) telemetry.collect(record(id))

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(false)
    expect(telemetry.stats.buffered).toBe(3)
    expect(telemetry.stats.lastError?.reason).toBe("WriteFailed")
    expect(telemetry.stats.lastError?.message).toContain("EISDIR")
    expect((await stat(file)).isDirectory()).toBe(true)
    expect(await readdir(directory)).toStrictEqual(["telemetry.json"])

    await rm(file, { recursive: true })
    expect(await forceExport(telemetry)).toBe(true)
    expect(await idsIn(file)).toStrictEqual(ids("a", 3))
  })

  it.for(["append", "replace"] as const)(
    "read-only directory keeps the batch (%s)",
    async (fileMode, context) => {
      if (isRoot && !canRunAs(NOBODY, NOBODY)) {
        return context.skip("the user nobody cannot read this repository's test files")
      }
      const readOnly = path.join(directory, "read-only")
      const file = path.join(readOnly, "telemetry.json")
      await mkdir(readOnly)
      const seed = makeTelemetry({ path: file, mode: 0o644 })
      seed.collect(record("seed-0"))
      await forceExport(seed)
      const before = await readFile(file)

      // Root ignores permission bits, so as root the child runs as nobody,
      // who may write the file but not the directory.
      if (isRoot) {
        await chmod(directory, 0o755)
        await chmod(readOnly, 0o755)
        await chown(file, NOBODY, NOBODY)
      } else {
        await chmod(readOnly, 0o555)
      }
      const launch = isRoot
        ? ({ kind: "user", uid: NOBODY, gid: NOBODY } as const)
        : ({ kind: "direct" } as const)
      const child = await spawnChild({ path: file, fileMode }, launch)
      await child.send({ op: "collect", prefix: "a", count: 3 })

      const failed = await exportIn(child)

      expect(failed.delivered).toBe(false)
      expect(failed.buffered).toBe(3)
      expect(failed.error?.reason).toBe("WriteFailed")
      expect(failed.error?.message).toContain("EACCES")
      expect((await readFile(file)).equals(before)).toBe(true)
      expect(await readdir(readOnly)).toStrictEqual(["telemetry.json"])

      if (isRoot) await chown(readOnly, NOBODY, NOBODY)
      else await chmod(readOnly, 0o755)
      const retried = await exportIn(child)

      expect(retried.delivered).toBe(true)
      expect(retried.buffered).toBe(0)
      expect(await idsIn(file)).toStrictEqual(
        fileMode === "append" ? ["seed-0", ...ids("a", 3)] : ids("a", 3),
      )
    },
  )

  it.for(["append", "replace"] as const)(
    "read-only file system keeps the batch (%s)",
    async (fileMode, context) => {
      const mounted = path.join(directory, "mounted")
      await mkdir(mounted)
      if (!canMountTmpfs(mounted)) {
        return context.skip("bind mounts in a private mount namespace need root and unshare")
      }
      const file = path.join(mounted, "telemetry.json")
      const seed = makeTelemetry({ path: file })
      seed.collect(record("seed-0"))
      await forceExport(seed)
      const before = await readFile(file)
      const child = await spawnChild(
        { path: file, fileMode },
        { kind: "readOnlyMount", directory: mounted },
      )
      await child.send({ op: "collect", prefix: "a", count: 3 })

      const failed = await exportIn(child)

      expect(failed.delivered).toBe(false)
      expect(failed.buffered).toBe(3)
      expect(failed.error?.reason).toBe("WriteFailed")
      expect(failed.error?.message).toContain("EROFS")
      expect((await readFile(file)).equals(before)).toBe(true)

      await child.send({ op: "remount", path: mounted, readOnly: false })
      const retried = await exportIn(child)

      expect(retried.delivered).toBe(true)
      expect(retried.buffered).toBe(0)
      expect(await idsIn(file)).toStrictEqual(
        fileMode === "append" ? ["seed-0", ...ids("a", 3)] : ids("a", 3),
      )
      expect(await readdir(mounted)).toStrictEqual(["telemetry.json"])
    },
  )

  it("file size limit restores the document", async () => {
    const file = path.join(directory, "telemetry.json")
    const child = await spawnChild(
      { path: file, batchSize: 100 },
      { kind: "fileSizeLimit", kib: 256 },
    )
    await child.send({ op: "collect", prefix: "seed", count: 10, padding: 100 })
    expect((await exportIn(child)).delivered).toBe(true)
    const before = await readFile(file)

    // 100 records of 4 KiB each pass the 256 KiB limit in the middle of the write.
    await child.send({ op: "collect", prefix: "big", count: 100, padding: 4096 })
    const failed = await exportIn(child)

    expect(failed.delivered).toBe(false)
    expect(failed.buffered).toBe(100)
    expect(failed.inFlight).toBe(0)
    expect(failed.error?.reason).toBe("WriteFailed")
    expect(failed.error?.message).toContain("EFBIG")
    expect((await readFile(file)).equals(before)).toBe(true)
    expect(await readdir(directory)).toStrictEqual(["telemetry.json"])
  })

  it.for(["append", "replace"] as const)(
    "full disk keeps the batch and the document (%s)",
    async (fileMode, context) => {
      const disk = path.join(directory, "disk")
      await mkdir(disk)
      if (!canMountTmpfs(disk)) {
        return context.skip("mounting a tmpfs in a private mount namespace needs root and unshare")
      }
      const file = path.join(disk, "telemetry.json")
      const filler = path.join(disk, "filler")
      const child = await spawnChild(
        { path: file, fileMode, batchSize: 1000 },
        { kind: "tmpfs", directory: disk, kib: 1024 },
      )
      await child.send({ op: "collect", prefix: "seed", count: 20, padding: 100 })
      expect((await exportIn(child)).delivered).toBe(true)

      // The filler leaves 64 KiB free, less than the next batch of about 250 KiB.
      const seeded = (await child.send({ op: "read", path: file })).ids
      expect(await child.send({ op: "fill", path: filler, leaveBytes: 64 * 1024 })).toMatchObject({
        filled: true,
      })
      await child.send({ op: "collect", prefix: "big", count: 200, padding: 1024 })
      const failed = await exportIn(child)

      expect(failed.delivered).toBe(false)
      expect(failed.buffered).toBe(200)
      expect(failed.error?.reason).toBe("WriteFailed")
      expect(failed.error?.message).toContain("ENOSPC")
      expect((await child.send({ op: "read", path: file })).ids).toStrictEqual(seeded)
      expect((await child.send({ op: "list", path: disk })).names).toStrictEqual([
        "filler",
        "telemetry.json",
      ])

      await child.send({ op: "remove", path: filler })
      const retried = await exportIn(child)

      expect(retried.delivered).toBe(true)
      expect(retried.buffered).toBe(0)
      const expected =
        fileMode === "append" ? [...ids("seed", 20), ...ids("big", 200)] : ids("big", 200)
      expect((await child.send({ op: "read", path: file })).ids).toStrictEqual(expected)
    },
  )

  it("concurrent exports write each record once", async () => {
    const file = path.join(directory, "telemetry.json")
    const telemetry = makeTelemetry({ path: file }, 7)
    const produced: Array<string> = []
    const exports: Array<Promise<boolean>> = []

    for (let round = 0; round < 20; round++) {
      for (const id of ids(`r${round}`, 5)) {
        produced.push(id)
        telemetry.collect(record(id))
      }
      exports.push(forceExport(telemetry))
    }
    const results = await Promise.all(exports)

    expect(results.every(Boolean)).toBe(true)
    expect(telemetry.stats.delivered).toBe(100)
    expect(telemetry.stats.buffered).toBe(0)
    expect((await idsIn(file)).sort()).toStrictEqual([...produced].sort())
  })

  it.each([
    ["FIFO", "FIFO (named pipe)"],
    ["symbolic link", "symbolic link"],
  ] as const)("%s at the journal path is left alone", async (kind, named) => {
    const file = path.join(directory, "telemetry.json")
    const journal = path.join(directory, ".telemetry.json.append-journal")
    const victim = path.join(directory, "victim.txt")
    const telemetry = makeTelemetry({ path: file })
    telemetry.collect(record("a-0"))
    await forceExport(telemetry)
    const before = await readFile(file)
    await writeFile(victim, "keep")
    if (kind === "FIFO") execFileSync("mkfifo", [journal])
    else await symlink(victim, journal)
    telemetry.collect(record("b-0"))

    const delivered = await forceExport(telemetry)

    expect(delivered).toBe(false)
    expect(telemetry.stats.buffered).toBe(1)
    expect(telemetry.stats.lastError?.message).toContain(journal)
    expect(telemetry.stats.lastError?.message).toContain(named)
    expect((await readFile(file)).equals(before)).toBe(true)
    expect(await readFile(victim, "utf8")).toBe("keep")
    const after = await lstat(journal)
    expect(kind === "FIFO" ? after.isFIFO() : after.isSymbolicLink()).toBe(true)
  })

  it("empty batch through the sink keeps the file", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file })
    const payload = JsonExporter.make().encode([record("a-0")], {
      timestamp: NOW_SECONDS,
      processMetrics: undefined,
      includeCustomMetrics: true,
      source: "test",
    })
    await Effect.runPromise(sink.deliver(payload))

    await Effect.runPromise(sink.deliver({ ...payload, body: "", recordCount: 0 }))

    expect(await readFile(file, "utf8")).toBe(Exporter.documentOf(payload))
  })
})
