/**
 * Regenerates the JSON, Prometheus and CSV samples of the formats guide
 * from the exporters. With `--check`, it changes nothing and exits 1 when
 * the guide's samples are stale.
 */
import { formatsGuide, writeSamples } from "../samples.js"

const check = process.argv.includes("--check")
const changed = await writeSamples({ check })
if (check && changed) {
  process.stderr.write(
    `samples: ${formatsGuide} is stale. Run pnpm --filter @dinoair/docs samples to update it.\n`,
  )
  process.exitCode = 1
} else {
  process.stdout.write(`samples: ${formatsGuide} ${changed ? "updated" : "is up to date"}\n`)
}
