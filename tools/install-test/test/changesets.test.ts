/**
 * `changeset version` bumps only the packages a changeset names, and their
 * dependents only where the new version leaves a dependent's range. Each
 * case copies the workspace's manifests, changelogs and changeset
 * configuration into a temporary folder, adds one changeset there and runs
 * the installed changesets CLI on the copy, never on the repository.
 */
import { spawn } from "node:child_process"
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { publishedPackages, repositoryRoot } from "./support/packing.js"

const changesetCli = path.join(repositoryRoot, "node_modules", "@changesets", "cli", "bin.js")

const copies: Array<string> = []

afterEach(async () => {
  for (const copy of copies.splice(0)) await rm(copy, { recursive: true, force: true })
})

/** Lists the workspace folders that pnpm-workspace.yaml names, relative to the root. */
const workspaceFolders = async (): Promise<ReadonlyArray<string>> => {
  const text = await readFile(path.join(repositoryRoot, "pnpm-workspace.yaml"), "utf8")
  const patterns = [...text.matchAll(/^\s+-\s+"?([^"\n]+?)"?\s*$/gm)].map((match) => match[1] ?? "")
  const folders: Array<string> = []
  for (const pattern of patterns) {
    if (!pattern.endsWith("/*")) {
      folders.push(pattern)
      continue
    }
    const parent = pattern.slice(0, -2)
    const entries = await readdir(path.join(repositoryRoot, parent), { withFileTypes: true })
    for (const entry of entries) if (entry.isDirectory()) folders.push(`${parent}/${entry.name}`)
  }
  return folders
}

/**
 * Copies what `changeset version` reads and writes into a temporary folder:
 * the root manifest, the workspace file, the changesets configuration, and each
 * workspace package's manifest and changelog. node_modules links to the
 * repository's, where the changelog generator is installed.
 */
const copyRepository = async (): Promise<string> => {
  const copy = await mkdtemp(path.join(tmpdir(), "dinoair-changesets-"))
  copies.push(copy)
  for (const file of ["package.json", "pnpm-workspace.yaml"]) {
    await cp(path.join(repositoryRoot, file), path.join(copy, file))
  }
  // Only the configuration: changesets already pending in the repository
  // would add their own bumps to each case.
  await mkdir(path.join(copy, ".changeset"))
  await cp(
    path.join(repositoryRoot, ".changeset", "config.json"),
    path.join(copy, ".changeset", "config.json"),
  )
  for (const folder of await workspaceFolders()) {
    await mkdir(path.join(copy, folder), { recursive: true })
    for (const file of ["package.json", "CHANGELOG.md"]) {
      await cp(path.join(repositoryRoot, folder, file), path.join(copy, folder, file)).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error
        },
      )
    }
  }
  await symlink(path.join(repositoryRoot, "node_modules"), path.join(copy, "node_modules"), "dir")
  return copy
}

/** Reads every package's version in a folder by name, private packages included. */
const versionsIn = async (root: string): Promise<Record<string, string>> => {
  const versions: Record<string, string> = {}
  for (const folder of await workspaceFolders()) {
    const text = await readFile(path.join(root, folder, "package.json"), "utf8").catch(() => null)
    if (text === null) continue
    const manifest = JSON.parse(text) as { readonly name: string; readonly version: string }
    versions[manifest.name] = manifest.version
  }
  return versions
}

/** Adds a changeset to the copy and runs `changeset version` there. */
const versionWith = async (
  copy: string,
  releases: Readonly<Record<string, "patch" | "minor">>,
): Promise<void> => {
  const frontMatter = Object.entries(releases)
    .map(([name, bump]) => `"${name}": ${bump}`)
    .join("\n")
  await writeFile(
    path.join(copy, ".changeset", "install-test-change.md"),
    `---\n${frontMatter}\n---\n\nA change made by the changesets test.\n`,
  )

  const finished = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [changesetCli, "version"], {
      cwd: copy,
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? 1, output }))
  })
  if (finished.code !== 0) {
    throw new Error(`changeset version failed with code ${finished.code}:\n${finished.output}`)
  }
}

/** Lists the packages whose version changed, with the new version. */
const bumped = (
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): Record<string, string> =>
  Object.fromEntries(Object.entries(after).filter(([name, version]) => before[name] !== version))

const run = async (releases: Readonly<Record<string, "patch" | "minor">>) => {
  const copy = await copyRepository()
  const before = await versionsIn(copy)
  await versionWith(copy, releases)
  return { copy, before, changed: bumped(before, await versionsIn(copy)) }
}

type Bump = "patch" | "minor" | "major"

/** Applies a bump to a plain `major.minor.patch` version. */
const increment = (version: string, bump: Bump): string => {
  const [major = 0, minor = 0, patch = 0] = version.split(".").map(Number)
  if (bump === "major") return `${major + 1}.0.0`
  if (bump === "minor") return `${major}.${minor + 1}.0`
  return `${major}.${minor}.${patch + 1}`
}

/** Tests whether `candidate` is inside `^base`: the same major, or the same minor in 0.x. */
const insideCaret = (base: string, candidate: string): boolean => {
  const [baseMajor, baseMinor] = base.split(".").map(Number)
  const [major, minor] = candidate.split(".").map(Number)
  if (baseMajor !== major) return false
  return baseMajor !== 0 || baseMinor === minor
}

describe("changeset version", () => {
  it("finds a changelog for every published version", async () => {
    for (const { directory, name, version } of await publishedPackages()) {
      const changelog = await readFile(path.join(directory, "CHANGELOG.md"), "utf8")

      expect(changelog.startsWith(`# ${name}\n`), name).toBe(true)
      expect(changelog, name).toContain(`\n## ${version}\n`)
    }
  })

  it("bumps only exporter-csv for its patch", async () => {
    const { copy, before, changed } = await run({ "@dinoair/exporter-csv": "patch" })
    const next = increment(before["@dinoair/exporter-csv"] ?? "", "patch")
    const changelog = await readFile(
      path.join(copy, "packages", "exporter-csv", "CHANGELOG.md"),
      "utf8",
    )

    expect(changed).toEqual({ "@dinoair/exporter-csv": next })
    expect(changelog.indexOf(`## ${next}`)).toBeGreaterThan(0)
    expect(changelog).toContain("A change made by the changesets test.")
  })

  it("releases api only when exporter-csv leaves its peer range", async () => {
    const { copy, before, changed } = await run({ "@dinoair/exporter-csv": "minor" })
    const csv = before["@dinoair/exporter-csv"] ?? ""
    const next = increment(csv, "minor")
    const api = JSON.parse(
      await readFile(path.join(copy, "packages", "api", "package.json"), "utf8"),
    ) as { readonly peerDependencies: Record<string, string> }

    // changesets releases a package whose peer range a new version leaves
    // as a major, because it counts any peer range change as breaking.
    const expected: Record<string, string> = { "@dinoair/exporter-csv": next }
    if (!insideCaret(csv, next)) {
      expected["@dinoair/api"] = increment(before["@dinoair/api"] ?? "", "major")
    }
    expect(changed).toEqual(expected)
    expect(api.peerDependencies["@dinoair/exporter-csv"]).toBe("workspace:^")
  })

  it("keeps a telemetry patch inside every range", async () => {
    const { before, changed } = await run({ "@dinoair/telemetry": "patch" })

    expect(changed).toEqual({
      "@dinoair/telemetry": increment(before["@dinoair/telemetry"] ?? "", "patch"),
    })
  })

  it("patches the dependents that a monitor minor leaves", async () => {
    const { before, changed } = await run({ "@dinoair/monitor": "minor" })
    const monitor = before["@dinoair/monitor"] ?? ""
    const next = increment(monitor, "minor")

    // telemetry and api list monitor in dependencies, the plugins only in
    // devDependencies, which never cause a release.
    const expected: Record<string, string> = { "@dinoair/monitor": next }
    if (!insideCaret(monitor, next)) {
      expected["@dinoair/telemetry"] = increment(before["@dinoair/telemetry"] ?? "", "patch")
      expected["@dinoair/api"] = increment(before["@dinoair/api"] ?? "", "patch")
    }
    expect(changed).toEqual(expected)
  })
})
