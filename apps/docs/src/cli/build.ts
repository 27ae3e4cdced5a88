/**
 * `pnpm run docs`: builds the site into `apps/docs/out/site`, with every
 * TypeDoc warning treated as an error. It exits 1, without writing the
 * site, when TypeDoc reported a warning or an error (all are listed), or
 * when the samples of the formats guide differ from what the exporters
 * produce. Run it after the packages are built; the root `pnpm run docs` does
 * both.
 */
import { formatsGuide, writeSamples } from "../samples.js"
import { buildSite } from "../site.js"

if (await writeSamples({ check: true })) {
  process.stderr.write(
    `docs: the samples in ${formatsGuide} are stale. Run pnpm --filter @dinoair/docs samples, then build again.\n`,
  )
  process.exit(1)
}

const build = await buildSite({ print: true })
if (build.errors.length > 0 || build.warnings.length > 0 || !build.written) {
  process.stderr.write(
    `docs: the site was not written: TypeDoc reported ${build.errors.length} errors and ${build.warnings.length} warnings, listed above.\n`,
  )
  process.exitCode = 1
} else {
  process.stdout.write(`docs: wrote the site to ${build.out}\n`)
}
