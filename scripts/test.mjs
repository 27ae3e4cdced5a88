// Runs the whole check. First the build, typecheck, lint and tests of every
// package through turbo. Then the soak, shortened to a few seconds, and the
// benchmark in quick mode. Then Biome and knip over the whole tree. Last, one
// line with the test counts that the packages' Vitest JSON reports add up to.
// It runs as a package script, so turbo and biome are on the PATH from
// node_modules/.bin, and pnpm itself need not be.
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"

const root = new URL("..", import.meta.url).pathname
const groups = ["packages", "apps", "tools"]
const reportPath = (dir) => join(dir, ".test-results", "vitest.json")

const packageDirs = groups.flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, group, entry.name)),
)
for (const dir of packageDirs) rmSync(reportPath(dir), { force: true })

const step = (command, args) => {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env: process.env })
  return result.status ?? 1
}

const failures = []
if (step("turbo", ["run", "build", "--output-logs=errors-only"]) !== 0) failures.push("build")
if (failures.length === 0) {
  // Two tasks at a time: the machines this runs on have two cores, and
  // several suites start child processes and browsers.
  const tasks = ["run", "typecheck", "lint", "test", "--concurrency=2", "--continue"]
  if (step("turbo", tasks) !== 0) failures.push("typecheck, lint or test")
}
// The soak, shortened to fit CI and without rewriting its committed results page.
if (!failures.includes("build")) {
  const soak = [
    "soak/run.mjs",
    "--seconds=8",
    "--baseline-seconds=2",
    "--prometheus-seconds=3",
    "--dead-seconds=3",
    "--no-write",
  ]
  if (step("node", soak) !== 0) failures.push("soak")
}
// The benchmark in quick mode, only to prove that every case still runs: its
// numbers are not checked, and quick mode writes no results.
if (!failures.includes("build")) {
  if (step("node", ["--expose-gc", "bench/run.mjs", "--quick"]) !== 0) failures.push("bench")
}
if (step("biome", ["check", "."]) !== 0) failures.push("lint")
// Unused files, dependencies and exports across the workspace (knip.jsonc).
if (step("knip", []) !== 0) failures.push("knip")

let passed = 0
let failed = 0
let skipped = 0
for (const dir of packageDirs) {
  const path = reportPath(dir)
  if (!existsSync(path)) continue
  const report = JSON.parse(readFileSync(path, "utf8"))
  passed += report.numPassedTests
  failed += report.numFailedTests
  skipped += report.numPendingTests + report.numTodoTests
}

if (failures.length > 0) console.error(`Failed steps: ${failures.join(", ")}`)
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failures.length > 0 || failed > 0 || passed === 0 ? 1 : 0)
