/**
 * Vitest configuration for the install test.
 *
 * The global setup packs every published package once. The suites then run
 * npm in scratch projects, so their timeouts allow for a first download of
 * the third-party dependencies into an empty npm cache.
 */
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
})
