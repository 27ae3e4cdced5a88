/**
 * Type-checks code blocks with the TypeScript compiler API, against the
 * built packages, under the repository's strict settings
 * (`tsconfig.base.json`), and compiles the runnable ones to JavaScript.
 *
 * Each block becomes its own module at a virtual path inside `apps/docs`,
 * which depends on every package, so a README block may import any of
 * them, as a user who installed them would. An import that `apps/docs`
 * cannot resolve, such as `csv-parse` in the CSV exporter's README, is
 * resolved again from the folder of the package whose README it is.
 * Nothing is written to disk.
 */
import { existsSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import ts from "typescript"
import type { CodeBlock } from "./codeBlocks.js"

/** The type-check of a set of blocks, and the JavaScript of the runnable ones. */
export interface CompiledBlocks {
  /** Compiler messages of one block, each starting with `file:line:column`. */
  diagnosticsOf(block: CodeBlock): Array<string>
  /** The JavaScript of a runnable block. */
  javascriptOf(block: CodeBlock): string
  /** Messages that belong to no block, such as an invalid compiler option. */
  readonly globalDiagnostics: Array<string>
}

const VIRTUAL_DIR = "__code_blocks__"

/** Type-checks every block that is not a fragment, in one program. */
export const compileBlocks = (
  blocks: ReadonlyArray<CodeBlock>,
  repoDir: string,
  docsDir: string,
): CompiledBlocks => {
  const options = compilerOptions(repoDir)
  const sources = new Map<string, VirtualSource>()
  const pathOf = new Map<CodeBlock, string>()
  for (const block of blocks) {
    if (block.fragment) continue
    const path = virtualPath(block, docsDir)
    pathOf.set(block, path)
    sources.set(path, { text: block.code, fallbackDir: packageDirOf(block, repoDir) })
  }

  const host = virtualHost(options, sources)
  const program = ts.createProgram({ rootNames: [...sources.keys()], options, host })
  const globalDiagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
  ].map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))

  return {
    globalDiagnostics,
    diagnosticsOf: (block) => {
      const source = program.getSourceFile(requirePath(pathOf, block))
      if (source === undefined) return [`${block.displayPath}:${block.fenceLine}: not compiled`]
      return ts
        .getPreEmitDiagnostics(program, source)
        .map((diagnostic) => format(diagnostic, block))
    },
    javascriptOf: (block) => {
      const path = requirePath(pathOf, block)
      let javascript: string | undefined
      program.emit(program.getSourceFile(path), (fileName, text) => {
        if (fileName.endsWith(".js")) javascript = text
      })
      if (javascript === undefined)
        throw new Error(`${block.displayPath}:${block.fenceLine}: no JavaScript emitted`)
      return javascript
    },
  }
}

const requirePath = (paths: ReadonlyMap<CodeBlock, string>, block: CodeBlock): string => {
  const path = paths.get(block)
  if (path === undefined)
    throw new Error(`${block.displayPath}:${block.fenceLine}: a fragment is not compiled`)
  return path
}

/**
 * Returns the repository's strict settings, set up for checking and emitting
 * standalone modules: every block is a module even without an import, and
 * nothing is composite or declared.
 */
const compilerOptions = (repoDir: string): ts.CompilerOptions => {
  const configPath = join(repoDir, "tsconfig.base.json")
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
  if (read.error !== undefined) {
    throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"))
  }
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, repoDir, undefined, configPath)
  return {
    ...parsed.options,
    composite: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    incremental: false,
    noEmit: false,
    moduleDetection: ts.ModuleDetectionKind.Force,
  }
}

/** A block's code, and the folder that resolves the imports `apps/docs` cannot. */
interface VirtualSource {
  readonly text: string
  readonly fallbackDir: string | undefined
}

/** Returns where a block's module sits: a virtual folder of `apps/docs`, one per markdown file. */
const virtualPath = (block: CodeBlock, docsDir: string): string => {
  const folder = block.displayPath.replaceAll("/", "_").replace(/\.md$/, "")
  return join(docsDir, VIRTUAL_DIR, folder, `L${block.fenceLine}.ts`)
}

/** Returns the package folder of a README, unless the markdown file sits at the root. */
const packageDirOf = (block: CodeBlock, repoDir: string): string | undefined => {
  const dir = dirname(block.file)
  if (resolve(dir) === resolve(repoDir)) return undefined
  return existsSync(join(dir, "package.json")) ? dir : undefined
}

/**
 * A compiler host that serves the blocks from memory and everything else
 * from disk, with the fallback resolution described in the module comment.
 */
const virtualHost = (
  options: ts.CompilerOptions,
  sources: ReadonlyMap<string, VirtualSource>,
): ts.CompilerHost => {
  const host = ts.createCompilerHost(options, true)
  const virtualDirs = new Set<string>()
  for (const path of sources.keys()) {
    for (let dir = dirname(path); dir.includes(VIRTUAL_DIR); dir = dirname(dir))
      virtualDirs.add(dir)
  }

  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const source = sources.get(fileName)
    if (source === undefined) return getSourceFile(fileName, languageVersion, onError, shouldCreate)
    return ts.createSourceFile(fileName, source.text, languageVersion, true)
  }
  host.fileExists = (fileName) => sources.has(fileName) || ts.sys.fileExists(fileName)
  host.readFile = (fileName) => sources.get(fileName)?.text ?? ts.sys.readFile(fileName)
  host.directoryExists = (dir) => virtualDirs.has(dir) || ts.sys.directoryExists(dir)
  host.writeFile = () => {}

  const cache = ts.createModuleResolutionCache(
    host.getCurrentDirectory(),
    (fileName) => host.getCanonicalFileName(fileName),
    options,
  )
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, compilerOptions, file) =>
    literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(file, literal, compilerOptions)
      const resolveFrom = (from: string) =>
        ts.resolveModuleName(literal.text, from, compilerOptions, host, cache, redirected, mode)
      const resolved = resolveFrom(containingFile)
      const fallbackDir = sources.get(containingFile)?.fallbackDir
      if (resolved.resolvedModule !== undefined || fallbackDir === undefined) return resolved
      const fallback = resolveFrom(join(fallbackDir, basename(containingFile)))
      return fallback.resolvedModule === undefined ? resolved : fallback
    })
  return host
}

/** Formats a message with the markdown file and line of the code it points at. */
const format = (diagnostic: ts.Diagnostic, block: CodeBlock): string => {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
  if (diagnostic.file === undefined || diagnostic.start === undefined) {
    return `${block.displayPath}:${block.fenceLine}: TS${diagnostic.code}: ${message}`
  }
  const position = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
  if (!diagnostic.file.fileName.includes(VIRTUAL_DIR)) {
    return `${block.displayPath}:${block.fenceLine}: TS${diagnostic.code} in ${diagnostic.file.fileName}:${position.line + 1}: ${message}`
  }
  // The block's first line is the one after the opening fence.
  const line = block.fenceLine + 1 + position.line
  return `${block.displayPath}:${line}:${position.character + 1}: TS${diagnostic.code}: ${message}`
}
