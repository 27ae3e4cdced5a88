/**
 * SIGKILL in the middle of an export. A child process exports a large
 * buffer through the real file sink, in batches, and the test kills it by
 * its pid once the file (or, for a replace, its temporary file) has started
 * to grow, at a different point in each run. Then it checks the guarantee
 * that the README states:
 *
 * - `replace`: the file is at every moment one complete document, the old
 *   one or a new one, and the next export removes the dead process's
 *   temporary file.
 * - `append`: the file may end with part of the unfinished batch, but the
 *   next append through a file sink for that path restores the last
 *   complete document first, so the file then holds whole batches only, in
 *   order, followed by the new one; `onRepaired` reports the repair.
 */
import { type FSWatcher, watch } from "node:fs"
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { JsonExporter } from "@dinoair/exporter-json"
import type { OperationMetrics } from "@dinoair/monitor"
import { type Exporter, TelemetryConfig } from "@dinoair/telemetry"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { FileSink, plugin, type RepairedAppend } from "../src/index.js"
import { type Child, type ChildOptions, startChild } from "./child.js"

/**
 * Time for one test. Each moves about 90 MB of records through a child
 * process (collect, encode, write, fsync). That took 1 to 2 s on an idle
 * 2-core machine, and `pnpm test` runs two package suites at once.
 */
const TEST_TIMEOUT_MS = 60_000
/** Time for cleanup: killing the children, waiting for them to exit and removing about 100 MB. */
const CLEANUP_TIMEOUT_MS = 30_000

let directory: string
/** Every child that a test started, killed and awaited by the cleanup. */
const children = new Set<Child>()

const start = async (options: ChildOptions): Promise<Child> => {
  const started = await startChild(options)
  children.add(started)
  return started
}

beforeEach(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), "dinoair-sink-file-crash-"))
})

// Children go first: one still writing would refill the folder while it is removed.
afterEach(async () => {
  for (const each of children) signalChild(each, "SIGKILL")
  await Promise.all(Array.from(children, (each) => each.exited))
  children.clear()
  await rm(directory, { recursive: true, force: true })
}, CLEANUP_TIMEOUT_MS)

/** Sends `name` to the child by its pid, unless it has exited, because then its pid may be reused. */
const signalChild = (running: Child, name: NodeJS.Signals): void => {
  if (running.process.exitCode !== null || running.process.signalCode !== null) return
  process.kill(running.process.pid as number, name)
}

/**
 * Resolves once every thread of process `pid` is stopped. A thread in the
 * middle of a system call, such as an unlink, finishes it before it stops.
 */
const waitUntilStopped = async (pid: number, signal: AbortSignal): Promise<void> => {
  while (!signal.aborted) {
    const tasks = await readdir(`/proc/${pid}/task`)
    const states = await Promise.all(
      tasks.map((task) =>
        readFile(`/proc/${pid}/task/${task}/stat`, "utf8").then(
          // The state follows the command name, which is in parentheses and may contain spaces and parentheses.
          (line) => line.charAt(line.lastIndexOf(")") + 2),
          () => "gone",
        ),
      ),
    )
    if (states.every((state) => state === "T" || state === "t" || state === "gone")) return
    await nextTurn()
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Names of files created or changed in a folder, in the order of their first event. */
interface FolderEvents {
  readonly names: Set<string>
  /** How many events have come for the name so far. */
  count(name: string): number
  /** Resolves once more than `after` events have come for `name`. */
  next(name: string, after: number): Promise<void>
  readonly watcher: FSWatcher
}

const watchFolder = (folder: string): FolderEvents => {
  const names = new Set<string>()
  const counts = new Map<string, number>()
  const waiting: Array<{ name: string; after: number; resolve: () => void }> = []
  const watcher = watch(folder, (_event, name) => {
    if (name === null) return
    names.add(name)
    const count = (counts.get(name) ?? 0) + 1
    counts.set(name, count)
    for (const waiter of waiting.filter((each) => each.name === name && count > each.after)) {
      waiting.splice(waiting.indexOf(waiter), 1)
      waiter.resolve()
    }
  })
  return {
    names,
    count: (name) => counts.get(name) ?? 0,
    next: (name, after) =>
      (counts.get(name) ?? 0) > after
        ? Promise.resolve()
        : new Promise((resolve) => waiting.push({ name, after, resolve })),
    watcher,
  }
}

const SEED = 50
const PADDING = 3000
/** Records per batch when a test does not say: about 30 MB of JSON, so a write takes long enough to be cut. */
const BATCH = 10_000
const BATCHES = 3

const exists = async (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  )

const ids = (prefix: string, from: number, to: number): Array<string> =>
  Array.from({ length: to - from }, (_, index) => `${prefix}-${from + index}`)

/** Parses a file as the child's JSON or CSV, returning its ids or `undefined` when it does not parse. */
const parseIds = (text: string, format: "json" | "csv"): Array<string> | undefined => {
  if (format === "json") {
    try {
      return (JSON.parse(text) as { metrics: ReadonlyArray<{ id: string }> }).metrics.map(
        (metric) => metric.id,
      )
    } catch {
      return undefined
    }
  }
  const [header, ...rows] = text.split("\r\n")
  if (header !== "id,operation,padding" || rows.at(-1) !== "") return undefined
  const parsed = rows.slice(0, -1).map((row) => row.split(","))
  if (parsed.some((fields) => fields.length !== 3 || fields[2]?.length !== PADDING))
    return undefined
  return parsed.map((fields) => fields[0] as string)
}

/** Returns how many whole batches `found` holds after the seed, or `undefined` when it is anything else. */
const wholeBatches = (
  found: ReadonlyArray<string> | undefined,
  batch: number,
): number | undefined => {
  if (found === undefined) return undefined
  const batched = found.length - SEED
  if (batched < 0 || batched % batch !== 0) return undefined
  const expected = [...ids("seed", 0, SEED), ...ids("big", 0, batched)]
  return found.every((id, index) => id === expected[index]) ? batched / batch : undefined
}

const record = (id: string): OperationMetrics => ({
  id,
  operation: "load",
  duration: 0.25,
  timestamp: 1_700_000_000,
  memoryUsage: 1024,
  memoryDelta: undefined,
  cpuUsage: 3.5,
  status: "ok",
  error: undefined,
  customMetrics: { padding: "x".repeat(PADDING) },
  parentId: undefined,
  systemInfo: undefined,
})

const nextPayload = (format: "json" | "csv"): Exporter.Payload => {
  const records = ids("next", 0, 5).map(record)
  if (format === "json") {
    return JsonExporter.make().encode(records, {
      timestamp: 1_700_000_000,
      processMetrics: undefined,
      includeCustomMetrics: true,
      source: "crash-test",
    })
  }
  return {
    contentType: "text/csv",
    fileExtension: "csv",
    fileMode: "append",
    header: "id,operation,padding\r\n",
    body: records.map((each) => `${each.id},load,${"x".repeat(PADDING)}\r\n`).join(""),
    footer: "",
    separator: "",
    recordCount: records.length,
  }
}

/**
 * Sends the export and kills the child with SIGKILL once `grown` returns
 * true, checking after every step of the event loop. Polling catches the
 * file while a write is still growing it, which a watcher reports only once
 * the write is done. Returns whether the kill came before the export finished.
 */
const killDuring = async (
  running: Child,
  grown: () => Promise<boolean>,
  signal: AbortSignal,
): Promise<boolean> => {
  let finished = false
  // The kill rejects the reply of an unfinished export, which is expected here.
  const reply = running.send({ op: "export" }).then(
    () => {
      finished = true
    },
    () => undefined,
  )
  while (!finished && !signal.aborted && running.process.exitCode === null) {
    if (await grown().catch(() => false)) break
    await nextTurn()
  }
  const killedMidExport = !finished
  signalChild(running, "SIGKILL")
  await running.exited
  await reply
  return killedMidExport
}

/**
 * Kill points: the format, the records per batch, and the bytes that the
 * file has grown by. Large batches put the kill in the middle of a write;
 * small ones (about 6 MB) often between two batches.
 */
const KILL_POINTS = [
  ["json", BATCH, 1],
  ["json", BATCH, 40 * 1024 ** 2],
  ["json", 2000, 7 * 1024 ** 2],
  ["csv", BATCH, 1],
  ["csv", BATCH, 40 * 1024 ** 2],
  ["csv", 2000, 7 * 1024 ** 2],
] as const

/** Runs of the append tests that left the file with part of a batch, which must then be repaired. */
let cutMidBatch = 0
/** Runs of the replace tests whose kill left a temporary file, which the next export must remove. */
let leftTemporary = 0

describe("FileSink SIGKILL mid-export", () => {
  describe.for(KILL_POINTS)(
    "append %s, batch %i, killed after %i bytes",
    ([format, batch, killAfter]) => {
      it("next append restores whole batches", { timeout: TEST_TIMEOUT_MS }, async ({ signal }) => {
        const file = path.join(directory, `telemetry.${format}`)
        const child = await start({ path: file, fileMode: "append", format, batchSize: batch })
        await child.send({ op: "collect", prefix: "seed", count: SEED, padding: PADDING })
        await child.send({ op: "export" })
        const seedSize = (await stat(file)).size
        await child.send({ op: "collect", prefix: "big", count: BATCH * BATCHES, padding: PADDING })

        await killDuring(child, async () => (await stat(file)).size >= seedSize + killAfter, signal)

        const left = await readFile(file, "utf8")
        const leftBatches = wholeBatches(parseIds(left, format), batch)
        if (leftBatches === undefined) cutMidBatch++
        const repairs: Array<RepairedAppend> = []
        const sink = FileSink.make({
          path: file,
          fileMode: "append",
          onRepaired: (each) => repairs.push(each),
        })
        await Effect.runPromise(sink.deliver(nextPayload(format)))

        const found = parseIds(await readFile(file, "utf8"), format) ?? []
        const batches = wholeBatches(found.slice(0, -5), batch)
        expect(batches, `${found.length} records are not whole batches`).toBeTypeOf("number")
        expect(found.slice(-5)).toStrictEqual(ids("next", 0, 5))
        // A file that the kill left as anything but whole batches was repaired, and only then.
        expect(repairs).toHaveLength(leftBatches === undefined ? 1 : 0)
        for (const repair of repairs) {
          expect(repair.path).toBe(file)
          expect(repair.removedBytes).toBeGreaterThan(0)
        }
        if (leftBatches !== undefined) expect(batches).toBe(leftBatches)
        expect(await readdir(directory)).toStrictEqual([`telemetry.${format}`])
      })
    },
  )

  it("plugin logs the repair", { timeout: TEST_TIMEOUT_MS }, async ({ signal }) => {
    const file = path.join(directory, "telemetry.json")
    const child = await start({ path: file, fileMode: "append", batchSize: BATCH })
    await child.send({ op: "collect", prefix: "seed", count: SEED, padding: PADDING })
    await child.send({ op: "export" })
    const seedSize = (await stat(file)).size
    await child.send({ op: "collect", prefix: "big", count: BATCH, padding: PADDING })
    await killDuring(child, async () => (await stat(file)).size > seedSize, signal)
    const cut = wholeBatches(parseIds(await readFile(file, "utf8"), "json"), BATCH) === undefined
    const warnings: Array<string> = []
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (line: string) => warnings.push(line),
      error: () => {},
    }

    const sink = plugin.make({
      config: { ...TelemetryConfig.defaultTelemetryConfig, outputFile: file },
      options: {},
      logger,
      exporter: JsonExporter.make(),
    })
    await Effect.runPromise(sink.deliver(nextPayload("json")))

    expect(warnings).toHaveLength(cut ? 1 : 0)
    if (cut) expect(warnings[0]).toContain(`an earlier append to ${file} stopped in the middle`)
    expect((parseIds(await readFile(file, "utf8"), "json") ?? []).slice(-5)).toStrictEqual(
      ids("next", 0, 5),
    )
  })

  it("append waits while another process appends", { timeout: TEST_TIMEOUT_MS }, async ({
    signal,
  }) => {
    const file = path.join(directory, "telemetry.json")
    const journalName = ".telemetry.json.append-journal"
    const journal = path.join(directory, journalName)
    const child = await start({ path: file, fileMode: "append", batchSize: BATCH })
    const pid = child.process.pid as number
    await child.send({ op: "collect", prefix: "seed", count: SEED, padding: PADDING })
    await child.send({ op: "export" })
    await child.send({ op: "collect", prefix: "big", count: BATCH * BATCHES, padding: PADDING })
    const sink = FileSink.make({ path: file, fileMode: "append" })

    // Stops the child with SIGSTOP when its journal appears, that is, in the middle of one of
    // its appends, and checks again once all its threads have stopped. A stop that comes
    // just after the journal went is undone, and the next of the three appends gets a try.
    const events = watchFolder(directory)
    let exported = false
    const reply = child.send({ op: "export" }).then(
      (answer) => {
        exported = true
        return answer
      },
      // Reported by the check on the reply below, or moot once the test has failed.
      (error: unknown) => {
        exported = true
        return { failed: String(error) }
      },
    )
    let stopped = false
    let handled = 0
    while (!stopped && !exported && !signal.aborted) {
      await Promise.race([events.next(journalName, handled), reply])
      handled = events.count(journalName)
      if (exported || !(await exists(journal))) continue
      signalChild(child, "SIGSTOP")
      await waitUntilStopped(pid, signal)
      stopped = await exists(journal)
      if (!stopped) signalChild(child, "SIGCONT")
    }
    events.watcher.close()
    expect(stopped, "the export ended before a stop caught its journal").toBe(true)

    // A journal is whole from the moment it appears, so another process can tell whose it is.
    const text = await readFile(journal, "utf8")
    expect(text, "the journal exists but is not written yet").not.toBe("")
    const published = JSON.parse(text) as Record<string, unknown>
    expect(published.pid).toBe(pid)
    expect(published.finalSize).toBeGreaterThan(published.size as number)
    const sizeWhileStopped = (await stat(file)).size

    const error = await Effect.runPromise(Effect.flip(sink.deliver(nextPayload("json"))))

    expect(error.reason).toBe("WriteFailed")
    expect(error.message).toContain(`process ${pid} is appending to ${file}`)
    expect((await stat(file)).size).toBe(sizeWhileStopped)

    signalChild(child, "SIGCONT")
    expect(await reply).toMatchObject({ delivered: true, buffered: 0 })
    await Effect.runPromise(sink.deliver(nextPayload("json")))

    expect(parseIds(await readFile(file, "utf8"), "json")).toStrictEqual([
      ...ids("seed", 0, SEED),
      ...ids("big", 0, BATCH * BATCHES),
      ...ids("next", 0, 5),
    ])
  })

  it("appends from two processes interleave whole", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const file = path.join(directory, "telemetry.json")
    const names = ["a", "b"] as const
    const writers = await Promise.all(
      names.map(() => start({ path: file, fileMode: "append", batchSize: 500 })),
    )

    // Both processes export small batches as fast as they can, so their appends meet. An
    // append that finds the other one's journal fails and keeps its batch for the next export.
    const ROUNDS = 40
    const RECORDS = 20
    const failures: Array<string> = []
    await Promise.all(
      writers.map(async (writer, index) => {
        for (let round = 0; round < ROUNDS; round++) {
          const prefix = `${names[index]}${round}`
          await writer.send({ op: "collect", prefix, count: RECORDS, padding: 100 })
          const reply = await writer.send({ op: "export" })
          const error = reply.error as { message: string } | undefined
          if (reply.delivered !== true && error !== undefined) failures.push(error.message)
        }
      }),
    )
    for (const writer of writers) {
      expect(await writer.send({ op: "export" })).toMatchObject({ delivered: true, buffered: 0 })
    }

    // Every record is in the file once, in batches that no other append cut into.
    const found = parseIds(await readFile(file, "utf8"), "json")
    expect(found, "the file is not one JSON document").toBeDefined()
    const expected = names.flatMap((name) =>
      Array.from({ length: ROUNDS }, (_, round) => ids(`${name}${round}`, 0, RECORDS)).flat(),
    )
    // Half of the exports or so fail here on a 2-core machine, which shows the appends met.
    expect(failures.length, "the two processes never appended at the same moment").toBeGreaterThan(
      0,
    )
    expect([...(found ?? [])].sort()).toStrictEqual(expected.sort())
    for (const message of failures) {
      expect(message).toMatch(/is appending to|appended to|started or changed/)
    }
    expect(await readdir(directory)).toStrictEqual(["telemetry.json"])
  })

  it("some kills cut a batch", () => {
    // Runs in order after the append tests. A kill once the file grows lands inside a 30 MB
    // write nearly always, so with none cut the tests above never reached the repair.
    expect(cutMidBatch).toBeGreaterThan(0)
  })

  it.for([1, 2, 3])(
    "replace killed writing temporary file %i",
    { timeout: TEST_TIMEOUT_MS },
    async (killAtTemporary, { signal }) => {
      const file = path.join(directory, "telemetry.json")
      const child = await start({ path: file, fileMode: "replace", batchSize: BATCH })
      await child.send({ op: "collect", prefix: "seed", count: SEED, padding: PADDING })
      await child.send({ op: "export" })
      await child.send({ op: "collect", prefix: "big", count: BATCH * BATCHES, padding: PADDING })

      // Reads the document over and over while the child runs. Parsing 30 MB takes a while,
      // so the reads run beside the kill trigger instead of inside it.
      const documents: Array<Array<string> | undefined> = []
      let reading = true
      const reader = (async () => {
        while (reading) {
          documents.push(parseIds(await readFile(file, "utf8"), "json"))
          await nextTurn()
        }
      })()

      // Kills once the n-th temporary file has data in it, while the document is being
      // written. The watcher records every temporary file, even one that lives only between
      // two polls.
      const events = watchFolder(directory)
      await killDuring(
        child,
        async () => {
          const temporaries = Array.from(events.names).filter((name) => name.endsWith(".tmp"))
          const current = temporaries.at(-1)
          if (temporaries.length < killAtTemporary || current === undefined) return false
          return (await stat(path.join(directory, current))).size > 0
        },
        signal,
      )
      events.watcher.close()
      reading = false
      await reader
      if ((await readdir(directory)).some((name) => name.endsWith(".tmp"))) leftTemporary++

      // Every read while the child ran, and the file it left, is one complete document.
      documents.push(parseIds(await readFile(file, "utf8"), "json"))
      for (const document of documents) {
        const first = document?.[0]
        expect(document, "a read found an incomplete document").toBeDefined()
        const batch = first?.startsWith("big-") ? Number(first.slice(4)) / BATCH : undefined
        const expected =
          batch === undefined
            ? ids("seed", 0, SEED)
            : ids("big", (batch as number) * BATCH, ((batch as number) + 1) * BATCH)
        expect(document).toStrictEqual(expected)
      }

      const sink = FileSink.make({ path: file, fileMode: "replace" })
      await Effect.runPromise(sink.deliver(nextPayload("json")))

      expect(parseIds(await readFile(file, "utf8"), "json")).toStrictEqual(ids("next", 0, 5))
      expect(await readdir(directory)).toStrictEqual(["telemetry.json"])
    },
  )

  it("some replace kills leave a temporary file", () => {
    // Runs after the replace tests. Without a temporary file left, the sweep by the next
    // export was never needed.
    expect(leftTemporary).toBeGreaterThan(0)
  })
})
