/**
 * Sums self time per function in a V8 `.cpuprofile` (from `node --cpu-prof`)
 * and prints the top entries.
 *
 * Usage: `node bench/profile-top.mjs FILE.cpuprofile [COUNT]`. COUNT defaults to 10.
 */
import { readFileSync } from "node:fs"

const [file, countText] = process.argv.slice(2)
if (file === undefined) {
  console.error("usage: node bench/profile-top.mjs FILE.cpuprofile [COUNT]")
  process.exit(2)
}
const count = Number(countText ?? 10)
const profile = JSON.parse(readFileSync(file, "utf8"))

// Each sample names the node that was on top of the stack; the time deltas give its duration.
const selfMicros = new Map()
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
}

const byFunction = new Map()
let total = 0
for (const node of profile.nodes) {
  const micros = selfMicros.get(node.id) ?? 0
  total += micros
  const frame = node.callFrame
  const where = frame.url === "" ? "" : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}`
  const key = `${frame.functionName === "" ? "(anonymous)" : frame.functionName}${where}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros)
}

const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, count)
for (const [key, micros] of top) {
  const share = ((micros / total) * 100).toFixed(1).padStart(5)
  console.log(`${share} %  ${(micros / 1000).toFixed(1).padStart(8)} ms  ${key}`)
}

function shortUrl(url) {
  const marker = url.lastIndexOf("/packages/")
  if (marker >= 0) return url.slice(marker + 1)
  const modules = url.lastIndexOf("/node_modules/")
  return modules >= 0 ? url.slice(modules + "/node_modules/".length) : url.replace("file://", "")
}
