/**
 * Properties of the file sink over generated input: any sequence of JSON
 * batches, with any text in their fields, appended one by one, gives one
 * document with every record in order, and leaves no journal or temporary
 * file behind.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { JsonExporter } from "@dinoair/exporter-json"
import type { OperationMetrics } from "@dinoair/monitor"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { FileSink } from "../src/index.js"

const record = (id: string, note: string): OperationMetrics => ({
  id,
  operation: "load",
  duration: 0.25,
  timestamp: 1_700_000_000,
  memoryUsage: 1024,
  memoryDelta: undefined,
  cpuUsage: 3.5,
  status: "ok",
  error: undefined,
  customMetrics: { note },
  parentId: undefined,
  systemInfo: undefined,
})

/** Batches of notes, some empty; every record gets a unique id from its position. */
const batchesArbitrary = fc.array(
  fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 6 }),
  {
    minLength: 1,
    maxLength: 8,
  },
)

describe("FileSink properties", () => {
  it("appended batches form one document", async () => {
    await fc.assert(
      fc.asyncProperty(batchesArbitrary, fc.constantFrom(0, 2), async (batches, indent) => {
        const directory = await mkdtemp(path.join(os.tmpdir(), "dinoair-sink-file-prop-"))
        try {
          const file = path.join(directory, "telemetry.json")
          const sink = FileSink.make({ path: file })
          const exporter = JsonExporter.make({ indent })
          const expected: Array<[string, string]> = []

          for (const [batchIndex, notes] of batches.entries()) {
            const records = notes.map((note, index) => record(`b${batchIndex}-${index}`, note))
            for (const each of records) expected.push([each.id, each.customMetrics.note as string])
            const payload = exporter.encode(records, {
              timestamp: 1_700_000_000,
              processMetrics: undefined,
              includeCustomMetrics: true,
              source: "property",
            })
            await Effect.runPromise(sink.deliver(payload))
          }

          const names = await readdir(directory)
          if (expected.length === 0) {
            // An append of an empty batch writes nothing, so no file was started.
            expect(names).toStrictEqual([])
            return
          }
          const document = JSON.parse(await readFile(file, "utf8")) as {
            metrics: ReadonlyArray<{ id: string; custom_metrics: { note: string } }>
          }
          expect(names).toStrictEqual(["telemetry.json"])
          expect(
            document.metrics.map((metric) => [metric.id, metric.custom_metrics.note]),
          ).toStrictEqual(expected)
        } finally {
          await rm(directory, { recursive: true, force: true })
        }
      }),
      { numRuns: 60 },
    )
  })
})
