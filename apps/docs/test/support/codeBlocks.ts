/**
 * Finds the TypeScript code blocks of the guides and READMEs, so that a
 * test can type-check them against the built packages and run the ones
 * marked runnable.
 *
 * A block is a fenced block whose info string starts with `ts` or
 * `typescript`. The words after the language are flags:
 *
 * - `runnable`: the block is also compiled to JavaScript and run with
 *   Node.js, which must exit with code 0.
 * - `fragment`: the block is not type-checked, for a snippet that cannot
 *   stand alone. Use it sparingly; the test reports how many there are.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"

/** A TypeScript code block and where it sits. */
export interface CodeBlock {
  /** The markdown file, absolute. */
  readonly file: string
  /** The file relative to the repository root, for messages. */
  readonly displayPath: string
  /** The 1-based line of the opening fence. */
  readonly fenceLine: number
  /** The code between the fences. */
  readonly code: string
  /** Whether the block is marked `runnable`. */
  readonly runnable: boolean
  /** Whether the block is marked `fragment`. */
  readonly fragment: boolean
}

const LANGUAGES = new Set(["ts", "typescript"])
const FLAGS = new Set(["runnable", "fragment"])

/** An opening or closing fence: three or more backticks or tildes, and the info string. */
const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/

/**
 * Extracts the TypeScript blocks of one markdown text.
 *
 * @throws Error for an unknown flag or an unclosed fence, naming the line.
 */
export const extractBlocks = (
  markdown: string,
  file: string,
  displayPath: string,
): Array<CodeBlock> => {
  const lines = markdown.split(/\r?\n/)
  const blocks: Array<CodeBlock> = []

  for (let index = 0; index < lines.length; index++) {
    const opening = FENCE.exec(lines[index] ?? "")
    if (opening === null) continue
    const fence = opening[2] ?? "```"
    const words = (opening[3] ?? "")
      .trim()
      .split(/\s+/)
      .filter((word) => word !== "")

    const body: Array<string> = []
    let closed = false
    let next = index + 1
    for (; next < lines.length; next++) {
      const line = lines[next] ?? ""
      const closing = FENCE.exec(line)
      if (closing !== null && isClosingFence(closing, fence)) {
        closed = true
        break
      }
      body.push(line)
    }
    if (!closed) throw new Error(`${displayPath}:${index + 1}: this code fence is never closed`)

    const language = words[0]?.toLowerCase()
    if (language !== undefined && LANGUAGES.has(language)) {
      const flags = words.slice(1)
      for (const flag of flags) {
        if (!FLAGS.has(flag)) {
          throw new Error(
            `${displayPath}:${index + 1}: unknown code block flag "${flag}"; use "runnable" or "fragment"`,
          )
        }
      }
      blocks.push({
        file,
        displayPath,
        fenceLine: index + 1,
        code: body.join("\n"),
        runnable: flags.includes("runnable"),
        fragment: flags.includes("fragment"),
      })
    }
    index = next
  }
  return blocks
}

const isClosingFence = (closing: RegExpExecArray, opening: string): boolean => {
  const fence = closing[2] ?? ""
  return (
    fence[0] === opening[0] && fence.length >= opening.length && (closing[3] ?? "").trim() === ""
  )
}

/**
 * Lists the markdown files whose blocks are checked: the guides and home page of
 * the docs site, and every README of the repository (the root one and those
 * of `packages/*`, `apps/*` and `tools/*`).
 */
export const documentedFiles = (repoDir: string, docsDir: string): Array<string> => {
  const guides = join(docsDir, "guides")
  const files = [
    join(docsDir, "home.md"),
    ...readdirSync(guides)
      .filter((name) => name.endsWith(".md"))
      .sort()
      .map((name) => join(guides, name)),
    join(repoDir, "README.md"),
  ]
  for (const group of ["packages", "apps", "tools"]) {
    const groupDir = join(repoDir, group)
    for (const entry of readdirSync(groupDir, { withFileTypes: true }).sort(byName)) {
      const readme = join(groupDir, entry.name, "README.md")
      if (entry.isDirectory() && existsSync(readme)) files.push(readme)
    }
  }
  return files
}

const byName = (a: { readonly name: string }, b: { readonly name: string }): number =>
  a.name < b.name ? -1 : 1

/** Extracts the blocks of every documented file. */
export const collectBlocks = (repoDir: string, docsDir: string): Array<CodeBlock> =>
  documentedFiles(repoDir, docsDir).flatMap((file) =>
    extractBlocks(readFileSync(file, "utf8"), file, relative(repoDir, file)),
  )
