// Measures what `import("@dinoair/api")` costs a fresh Node.js process: the
// wall time of the import and the heap it leaves in use after a full
// garbage collection. Each run is a new process, so nothing is cached in
// memory, and the first run is discarded because it warms the file cache.
//
// Usage: node scripts/import-cost.mjs [package] [runs]
// (defaults: @dinoair/api, 21 runs), after building the packages.
import { spawnSync } from "node:child_process"
import { cpus, totalmem } from "node:os"

const [target = "@dinoair/api", runsArgument = "21"] = process.argv.slice(2)
const runs = Number(runsArgument)

// The measured program, run with --expose-gc so that both heap readings
// follow a full collection.
const probe = `
globalThis.gc()
const heapBefore = process.memoryUsage().heapUsed
const start = performance.now()
await import(${JSON.stringify(target)})
const milliseconds = performance.now() - start
globalThis.gc()
const heapBytes = process.memoryUsage().heapUsed - heapBefore
console.log(JSON.stringify({ milliseconds, heapBytes }))
`

const measure = () => {
  const result = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", probe], {
    cwd: new URL("..", import.meta.url),
    encoding: "utf8",
  })
  if (result.status !== 0) throw new Error(`the import of ${target} failed:\n${result.stderr}`)
  return JSON.parse(result.stdout)
}

const median = (values) => {
  const sorted = [...values].sort((left, right) => left - right)
  return sorted[Math.floor(sorted.length / 2)]
}

measure()
const samples = Array.from({ length: runs }, measure)
const times = samples.map((sample) => sample.milliseconds)
const heaps = samples.map((sample) => sample.heapBytes / 1024 / 1024)

const cpu = cpus()
console.log(`import("${target}"), ${runs} fresh processes after one warm-up`)
console.log(
  `time: median ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)})`,
)
console.log(
  `heap: median ${median(heaps).toFixed(2)} MiB (min ${Math.min(...heaps).toFixed(2)}, max ${Math.max(...heaps).toFixed(2)})`,
)
console.log(
  `Node.js ${process.version}, ${cpu[0]?.model ?? "unknown CPU"} (${cpu.length} cores), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${process.platform} ${process.arch}`,
)
