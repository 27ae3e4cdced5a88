/**
 * Vitest configuration for @dinoair/exporter-csv.
 *
 * Test files run one after another, because `test/event-loop.test.ts`
 * measures the event-loop delay, and a test file running in a parallel
 * worker would take the CPU that it measures on a 2-core machine. Workers
 * get `--expose-gc` so that the test can move the records it just made to
 * the old generation first, where buffered records are after an export
 * interval.
 */
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: { fileParallelism: false, execArgv: ["--expose-gc"] },
})
