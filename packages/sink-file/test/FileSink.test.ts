import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  open,
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
import { type DinoLogger, Logging, type OperationMetrics } from "@dinoair/monitor"
import { Exporter, Sink, type SinkError, Telemetry, TelemetryConfig } from "@dinoair/telemetry"
import { Cause, Effect, Exit } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { FileSink, type MovedAside, plugin } from "../src/index.js"

let directory: string

beforeEach(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), "dinoair-sink-file-"))
})

afterEach(async () => {
  await rm(directory, { recursive: true, force: true })
})

const record = (id: string): OperationMetrics => ({
  id,
  operation: "load",
  duration: 0.25,
  timestamp: 1699123456.5,
  memoryUsage: 1024,
  memoryDelta: undefined,
  cpuUsage: 3.5,
  status: "ok",
  error: undefined,
  customMetrics: { rows: 10 },
  parentId: undefined,
  systemInfo: undefined,
})

const context: Exporter.ExportContext = {
  timestamp: 1699123460,
  processMetrics: undefined,
  includeCustomMetrics: true,
  source: "test",
}

const jsonPayload = (ids: ReadonlyArray<string>, indent = 0): Exporter.Payload =>
  JsonExporter.make({ indent }).encode(ids.map(record), context)

const deliver = (sink: Sink.SinkShape, payload: Exporter.Payload): Promise<void> =>
  Effect.runPromise(sink.deliver(payload))

const failure = (sink: Sink.SinkShape, payload: Exporter.Payload): Promise<SinkError.SinkError> =>
  Effect.runPromise(Effect.flip(sink.deliver(payload)))

const idsIn = async (file: string): Promise<Array<unknown>> => {
  const document = JSON.parse(await readFile(file, "utf8")) as {
    readonly metrics: ReadonlyArray<{ readonly id: unknown }>
  }
  return document.metrics.map((metric) => metric.id)
}

const FIXED_MILLIS = Date.UTC(2024, 0, 2, 3, 4, 5, 678)
const FIXED_STAMP = "2024-01-02T03-04-05.678Z"

describe("FileSink append", () => {
  it("creates missing directories", async () => {
    const file = path.join(directory, "a", "b", "c", "telemetry.json")
    const sink = FileSink.make({ path: file })

    await deliver(sink, jsonPayload(["a1"]))

    expect(await idsIn(file)).toStrictEqual(["a1"])
  })

  it("three appends make one document", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file })

    await deliver(sink, jsonPayload(["a1", "a2"]))
    expect(await idsIn(file)).toStrictEqual(["a1", "a2"])

    await deliver(sink, jsonPayload(["b1"]))
    expect(await idsIn(file)).toStrictEqual(["a1", "a2", "b1"])

    await deliver(sink, jsonPayload(["c1", "c2"]))
    expect(await idsIn(file)).toStrictEqual(["a1", "a2", "b1", "c1", "c2"])
  })

  it("indented appends stay one document", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file })

    await deliver(sink, jsonPayload(["a1"], 2))
    await deliver(sink, jsonPayload(["b1"], 2))

    expect(await idsIn(file)).toStrictEqual(["a1", "b1"])
  })

  it("append rewrites only the footer", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file })
    await deliver(sink, jsonPayload(["a1"]))
    const before = await readFile(file)
    const inodeBefore = (await stat(file)).ino
    const next = jsonPayload(["b1"])

    await deliver(sink, next)

    const footerLength = Buffer.byteLength(next.footer)
    const expected = Buffer.concat([
      before.subarray(0, before.length - footerLength),
      Buffer.from(next.separator + next.body + next.footer),
    ])
    expect((await readFile(file)).equals(expected)).toBe(true)
    expect((await stat(file)).ino).toBe(inodeBefore)
  })

  it("append cost ignores file size", async () => {
    // A 3 GiB sparse file: reading it whole fails (fs.readFile stops at 2 GiB) and copying it
    // would write gigabytes, so only a sink that touches the tail alone passes.
    const file = path.join(directory, "huge.json")
    const next = jsonPayload(["b1"])
    const size = 3 * 2 ** 30
    const handle = await open(file, "w")
    await handle.write(next.header, 0)
    await handle.truncate(size - Buffer.byteLength(next.footer))
    await handle.write(next.footer, size - Buffer.byteLength(next.footer))
    await handle.close()
    const inodeBefore = (await stat(file)).ino

    await deliver(FileSink.make({ path: file }), next)

    const added = Buffer.from(next.separator + next.body + next.footer)
    const grown = size + Buffer.byteLength(next.separator + next.body)
    const tail = Buffer.alloc(added.length)
    const reader = await open(file, "r")
    await reader.read(tail, 0, tail.length, grown - tail.length)
    await reader.close()
    expect((await stat(file)).size).toBe(grown)
    expect(tail.equals(added)).toBe(true)
    expect((await stat(file)).ino).toBe(inodeBefore)
  })

  it("empty batch writes nothing", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file })

    await deliver(sink, jsonPayload([]))
    expect(existsSync(file)).toBe(false)

    await deliver(sink, jsonPayload(["a1"]))
    const before = await readFile(file, "utf8")
    await deliver(sink, jsonPayload([]))
    expect(await readFile(file, "utf8")).toBe(before)
  })

  it.each([0, 2])("empty array with indent %i gets no separator", async (indent) => {
    const file = path.join(directory, "telemetry.json")
    await deliver(FileSink.make({ path: file, fileMode: "replace" }), jsonPayload([], indent))

    await deliver(FileSink.make({ path: file }), jsonPayload(["a1"], indent))

    expect(await idsIn(file)).toStrictEqual(["a1"])
  })

  it("empty file is replaced by a document", async () => {
    const file = path.join(directory, "telemetry.json")
    await writeFile(file, "")

    await deliver(FileSink.make({ path: file }), jsonPayload(["a1"]))

    expect(await idsIn(file)).toStrictEqual(["a1"])
  })

  it("empty footer appends plainly", async () => {
    const file = path.join(directory, "telemetry.csv")
    const sink = FileSink.make({ path: file })
    const csv = (body: string): Exporter.Payload => ({
      contentType: "text/csv",
      fileExtension: "csv",
      fileMode: "append",
      header: "operation,duration\r\n",
      body,
      footer: "",
      separator: "",
      recordCount: 1,
    })

    await deliver(sink, csv("load,0.25\r\n"))
    await deliver(sink, csv("save,0.5\r\n"))

    expect(await readFile(file, "utf8")).toBe("operation,duration\r\nload,0.25\r\nsave,0.5\r\n")
  })

  it("concurrent deliveries never interleave", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file })
    const ids = Array.from({ length: 20 }, (_, index) => `r${index}`)

    await Effect.runPromise(
      Effect.all(
        ids.map((id) => sink.deliver(jsonPayload([id]))),
        { concurrency: "unbounded" },
      ),
    )

    expect((await idsIn(file)).sort()).toStrictEqual([...ids].sort())
  })

  it("relative path resolves against the working directory", async () => {
    const file = path.join(directory, "relative.json")
    const sink = FileSink.make({ path: path.relative(process.cwd(), file) })

    await deliver(sink, jsonPayload(["a1"]))

    expect(await idsIn(file)).toStrictEqual(["a1"])
  })
})

describe("FileSink foreign files", () => {
  it("foreign file is moved aside", async () => {
    const file = path.join(directory, "telemetry.json")
    await writeFile(file, "not telemetry\n")
    const moves: Array<MovedAside> = []
    const sink = FileSink.make({
      path: file,
      nowMillis: () => FIXED_MILLIS,
      onMovedAside: (moved) => moves.push(moved),
    })

    await deliver(sink, jsonPayload(["a1"]))

    const aside = `${file}.corrupt-${FIXED_STAMP}`
    expect(await idsIn(file)).toStrictEqual(["a1"])
    expect(await readFile(aside, "utf8")).toBe("not telemetry\n")
    expect(moves).toStrictEqual([{ from: file, to: aside }])
  })

  it("truncated document is moved aside", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file, nowMillis: () => FIXED_MILLIS })
    await deliver(sink, jsonPayload(["a1"]))
    const cut = (await readFile(file, "utf8")).slice(0, -2)
    await writeFile(file, cut)

    await deliver(sink, jsonPayload(["b1"]))

    expect(await idsIn(file)).toStrictEqual(["b1"])
    expect(await readFile(`${file}.corrupt-${FIXED_STAMP}`, "utf8")).toBe(cut)
  })

  it("moved-aside names never collide", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file, nowMillis: () => FIXED_MILLIS })

    await writeFile(file, "first\n")
    await deliver(sink, jsonPayload(["a1"]))
    await writeFile(file, "second\n")
    await deliver(sink, jsonPayload(["b1"]))

    expect(await readFile(`${file}.corrupt-${FIXED_STAMP}`, "utf8")).toBe("first\n")
    expect(await readFile(`${file}.corrupt-${FIXED_STAMP}-1`, "utf8")).toBe("second\n")
  })

  it("throwing onMovedAside does not fail delivery", async () => {
    const file = path.join(directory, "telemetry.json")
    await writeFile(file, "junk")
    const sink = FileSink.make({
      path: file,
      onMovedAside: () => {
        throw new Error("logger down")
      },
    })

    await deliver(sink, jsonPayload(["a1"]))

    expect(await idsIn(file)).toStrictEqual(["a1"])
  })
})

describe("FileSink replace", () => {
  it("replaces the whole file", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file, fileMode: "replace" })
    await deliver(sink, jsonPayload(["a1", "a2"]))

    const second = jsonPayload(["b1"])
    await deliver(sink, second)

    expect(await readFile(file, "utf8")).toBe(Exporter.documentOf(second))
  })

  it("leaves no temporary files", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file, fileMode: "replace" })

    await deliver(sink, jsonPayload(["a1"]))
    await deliver(sink, jsonPayload(["b1"]))

    expect(await readdir(directory)).toStrictEqual(["telemetry.json"])
  })

  it("empty batch still writes a document", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file, fileMode: "replace" })

    await deliver(sink, jsonPayload([]))

    expect(await idsIn(file)).toStrictEqual([])
  })

  it("keeps permission bits", async () => {
    const file = path.join(directory, "telemetry.json")
    await writeFile(file, "old")
    await chmod(file, 0o640)

    await deliver(FileSink.make({ path: file, fileMode: "replace" }), jsonPayload(["a1"]))

    expect((await stat(file)).mode & 0o777).toBe(0o640)
  })

  it("payload replace mode is honoured", async () => {
    const file = path.join(directory, "metrics.prom")
    const sink = FileSink.make({ path: file })
    const prometheus = (body: string): Exporter.Payload => ({
      contentType: "text/plain; version=0.0.4",
      fileExtension: "prom",
      fileMode: "replace",
      header: "",
      body,
      footer: "",
      separator: "",
      recordCount: 1,
    })

    await deliver(sink, prometheus("up 1\n"))
    await deliver(sink, prometheus("up 0\n"))

    expect(await readFile(file, "utf8")).toBe("up 0\n")
  })

  it("failed rename removes the temporary file", async () => {
    const target = path.join(directory, "occupied")
    await mkdir(target)
    await writeFile(path.join(target, "keep.txt"), "x")
    const sink = FileSink.make({ path: target, fileMode: "replace" })

    const error = await failure(sink, jsonPayload(["a1"]))

    expect(error.reason).toBe("WriteFailed")
    expect(await readdir(directory)).toStrictEqual(["occupied"])
  })
})

describe("FileSink errors", () => {
  it("parent that is a file fails with WriteFailed", async () => {
    const blocker = path.join(directory, "blocker")
    await writeFile(blocker, "x")
    const file = path.join(blocker, "telemetry.json")

    const error = await failure(FileSink.make({ path: file }), jsonPayload(["a1"]))

    expect(error._tag).toBe("SinkError")
    expect(error.reason).toBe("WriteFailed")
    expect(error.code).toBe("DINOAIR_SINK_WRITE_FAILED")
    expect(error.destination).toBe(file)
    expect(error.message).toContain(file)
    // The check of the path's kind meets the file in the parent's place first.
    expect(error.message).toContain("ENOTDIR")
  })

  it("directory at the path fails with WriteFailed", async () => {
    const file = path.join(directory, "telemetry.json")
    await mkdir(file)

    const error = await failure(FileSink.make({ path: file }), jsonPayload(["a1"]))

    expect(error.reason).toBe("WriteFailed")
    expect(error.message).toContain("EISDIR")
  })

  it.each([
    ["empty path", { path: "" }],
    ["missing path", {}],
    ["unknown fileMode", { path: "x.json", fileMode: "rotate" }],
  ])("%s throws TypeError", (_name, options) => {
    expect(() => FileSink.make(options as unknown as FileSink.FileSinkOptions)).toThrow(TypeError)
  })
})

/**
 * Creates a special file inside the test's temporary directory with
 * `mknod` or `mkfifo`, and returns `undefined` when this machine does not
 * allow it (`mknod` of a character device needs root).
 */
const makeNode = (name: string, args: ReadonlyArray<string>): string | undefined => {
  const file = path.join(directory, name)
  try {
    execFileSync(args[0] as string, [file, ...args.slice(1)], { stdio: "ignore" })
    return file
  } catch {
    return undefined
  }
}

/** The same numbers as /dev/null (1, 3) and /dev/full (1, 7), made in the temporary directory. */
const SPECIAL_FILES = [
  ["character device like /dev/null", "null-device", ["mknod", "c", "1", "3"], "character device"],
  ["character device like /dev/full", "full-device", ["mknod", "c", "1", "7"], "character device"],
  ["FIFO", "pipe", ["mkfifo"], "FIFO"],
] as const

describe("FileSink special files", () => {
  describe.each(SPECIAL_FILES)("%s", (_label, name, command, kind) => {
    it.for(["append", "replace"] as const)(
      "%s fails and leaves it in place",
      async (fileMode, context) => {
        const file = makeNode(name, command)
        if (file === undefined) return context.skip(`${command[0]} is not allowed here`)
        const sink = FileSink.make({ path: file, fileMode })

        const error = await failure(sink, jsonPayload(["a1"]))
        const after = await lstat(file)

        expect(error.reason).toBe("WriteFailed")
        expect(error.message).toContain(file)
        expect(error.message).toContain(kind)
        expect(after.isFile()).toBe(false)
        expect(after.isCharacterDevice() || after.isFIFO()).toBe(true)
        expect(await readdir(directory)).toStrictEqual([name])
      },
    )
  })

  it("moved-aside callback is not called", async (context) => {
    const file = makeNode("null-device", ["mknod", "c", "1", "3"])
    if (file === undefined) return context.skip("mknod is not allowed here")
    const moved: Array<MovedAside> = []
    const sink = FileSink.make({ path: file, onMovedAside: (each) => moved.push(each) })

    await failure(sink, jsonPayload(["a1"]))

    expect(moved).toStrictEqual([])
  })

  it("telemetry keeps the batch buffered", async (context) => {
    const file = makeNode("full-device", ["mknod", "c", "1", "7"])
    if (file === undefined) return context.skip("mknod is not allowed here")
    const telemetry = Telemetry.makeUnsafe(
      {
        source: () => () => {},
        flushOnExit: false,
        includeSystemMetrics: false,
        nowSeconds: () => 1699123460,
        logger: Logging.silentLogger,
      },
      { exporter: JsonExporter.make(), sink: FileSink.make({ path: file }) },
    )
    telemetry.collect(record("a1"))

    const delivered = await Effect.runPromise(telemetry.forceExport)

    expect(delivered).toBe(false)
    expect(telemetry.stats.buffered).toBe(1)
    expect(telemetry.stats.lastError?.message).toContain("character device")
  })
})

describe("FileSink symbolic links", () => {
  it("append goes to the file the link points to", async () => {
    const real = path.join(directory, "real.json")
    const link = path.join(directory, "link.json")
    await writeFile(real, "")
    await symlink(real, link)
    const sink = FileSink.make({ path: link })

    await deliver(sink, jsonPayload(["a1"]))
    await deliver(sink, jsonPayload(["b1"]))

    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await idsIn(real)).toStrictEqual(["a1", "b1"])
  })

  it("replace keeps the link", async () => {
    const real = path.join(directory, "real.json")
    const link = path.join(directory, "link.json")
    await writeFile(real, "old")
    await symlink(real, link)
    const sink = FileSink.make({ path: link, fileMode: "replace" })

    await deliver(sink, jsonPayload(["a1"]))

    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await idsIn(real)).toStrictEqual(["a1"])
  })

  it("foreign file behind a link is moved aside", async () => {
    const real = path.join(directory, "real.json")
    const link = path.join(directory, "link.json")
    await writeFile(real, "not json")
    await symlink(real, link)
    const moved: Array<MovedAside> = []
    const sink = FileSink.make({
      path: link,
      nowMillis: () => FIXED_MILLIS,
      onMovedAside: (each) => moved.push(each),
    })

    await deliver(sink, jsonPayload(["a1"]))

    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(moved).toStrictEqual([{ from: real, to: `${real}.corrupt-${FIXED_STAMP}` }])
    expect(await readFile(`${real}.corrupt-${FIXED_STAMP}`, "utf8")).toBe("not json")
  })

  it("link to a device fails", async (context) => {
    const device = makeNode("null-device", ["mknod", "c", "1", "3"])
    if (device === undefined) return context.skip("mknod is not allowed here")
    const link = path.join(directory, "link.json")
    await symlink(device, link)

    const error = await failure(FileSink.make({ path: link }), jsonPayload(["a1"]))

    expect(error.reason).toBe("WriteFailed")
    expect(error.message).toContain("character device")
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect((await lstat(device)).isCharacterDevice()).toBe(true)
  })

  it("dangling link fails and stays", async () => {
    const link = path.join(directory, "link.json")
    await symlink(path.join(directory, "missing.json"), link)

    const error = await failure(FileSink.make({ path: link }), jsonPayload(["a1"]))

    expect(error.reason).toBe("WriteFailed")
    expect(error.message).toContain("missing")
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await readdir(directory)).toStrictEqual(["link.json"])
  })
})

describe("FileSink services", () => {
  it("close waits for a delivery in flight", async () => {
    const file = path.join(directory, "telemetry.json")
    const sink = FileSink.make({ path: file })
    let writtenAtClose: boolean | undefined

    await Effect.runPromise(
      Effect.all(
        [
          sink.deliver(jsonPayload(["a1"])),
          (sink.close ?? Effect.void).pipe(
            Effect.tap(() => Effect.sync(() => (writtenAtClose = existsSync(file)))),
          ),
        ],
        { concurrency: "unbounded" },
      ),
    )

    expect(writtenAtClose).toBe(true)
  })

  it("layer provides the Sink service", async () => {
    const file = path.join(directory, "telemetry.json")

    await Effect.runPromise(
      Effect.flatMap(Effect.service(Sink.Sink), (sink) => sink.deliver(jsonPayload(["a1"]))).pipe(
        Effect.provide(FileSink.layer({ path: file })),
      ),
    )

    expect(await idsIn(file)).toStrictEqual(["a1"])
  })

  it("layer fails with InvalidConfig", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.service(Sink.Sink).pipe(Effect.provide(FileSink.layer({ path: "" }))),
    )
    const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined

    expect((error as SinkError.SinkError | undefined)?._tag).toBe("SinkError")
    expect((error as SinkError.SinkError).reason).toBe("InvalidConfig")
    expect((error as SinkError.SinkError).code).toBe("DINOAIR_TELEMETRY_INVALID_CONFIG")
    expect((error as SinkError.SinkError).message).toContain('"path" must be a non-empty string')
  })

  it("plugin writes to outputFile", async () => {
    const file = path.join(directory, "out", "telemetry.json")
    const logger: DinoLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

    const sink = plugin.make({
      config: { ...TelemetryConfig.defaultTelemetryConfig, outputFile: file },
      options: {},
      logger,
      exporter: JsonExporter.make(),
    })
    await deliver(sink, jsonPayload(["a1"]))

    expect(sink.destination).toBe("file")
    expect(await idsIn(file)).toStrictEqual(["a1"])
  })
})
