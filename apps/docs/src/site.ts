/**
 * Builds the docs site with TypeDoc in packages mode, from `typedoc.json`,
 * and returns every warning and error that TypeDoc reported, conversion and
 * validation alike.
 *
 * TypeDoc's own CLI stops at the first conversion warning when
 * `treatWarningsAsErrors` is on, before validation runs, so one broken link
 * hides every undocumented export. This builder always runs both steps and
 * reports the full list, then writes the site only when the list is empty,
 * unless the caller asks for the site anyway (the tests do, so that the
 * browser test still runs).
 */
import {
  Application,
  ConsoleLogger,
  LogLevel,
  PackageJsonReader,
  TSConfigReader,
  TypeDocReader,
} from "typedoc"
import { docsDir, siteDir, typedocConfig } from "./paths.js"

/**
 * Options of `buildSite`.
 */
export interface BuildSiteOptions {
  /** The folder to write the site to. Default `apps/docs/out/site`. */
  readonly out?: string | undefined
  /** Whether the site is written even when TypeDoc reported warnings (never with errors). Default `false`. */
  readonly writeOnWarnings?: boolean | undefined
  /** Whether TypeDoc's messages are printed as they come. Default `true`. */
  readonly print?: boolean | undefined
}

/**
 * The outcome of one build.
 */
export interface SiteBuild {
  /** The folder the site was written to, or would have been. */
  readonly out: string
  /** TypeDoc's warnings, conversion and validation, in the order reported. */
  readonly warnings: ReadonlyArray<string>
  /** TypeDoc's errors, such as an invalid option or a compile error. */
  readonly errors: ReadonlyArray<string>
  /** Whether the site was written. */
  readonly written: boolean
}

/** A console logger that also keeps every warning and error it gets. */
class CollectingLogger extends ConsoleLogger {
  readonly warnings: Array<string> = []
  readonly errors: Array<string> = []
  readonly #print: boolean

  constructor(print: boolean) {
    super()
    this.#print = print
  }

  override log(message: string, level: Exclude<LogLevel, LogLevel.None>): void {
    if (level === LogLevel.Warn) this.warnings.push(stripAnsi(message))
    if (level === LogLevel.Error) this.errors.push(stripAnsi(message))
    if (this.#print) super.log(message, level)
  }
}

/**
 * Converts every package, validates the result and writes the site when
 * TypeDoc reported nothing. With `writeOnWarnings`, warnings do not stop
 * the writing; errors always do.
 */
export const buildSite = async (options: BuildSiteOptions = {}): Promise<SiteBuild> => {
  const out = options.out ?? siteDir
  const logger = new CollectingLogger(options.print ?? true)

  // The option readers resolve relative paths against the config file, and
  // `tsconfig` is pinned so that the caller's working directory never matters.
  const app = await Application.bootstrapWithPlugins(
    { options: typedocConfig, tsconfig: `${docsDir}tsconfig.json`, out },
    [new TypeDocReader(), new PackageJsonReader(), new TSConfigReader()],
  )
  // Option problems are logged while the options are read, before the
  // collecting logger can be installed, so they are counted here instead.
  const optionErrors = app.logger.errorCount
  const optionWarnings = app.logger.warningCount
  app.logger = logger
  if (optionErrors > 0 || optionWarnings > 0) {
    return {
      out,
      warnings:
        optionWarnings > 0 ? [`${optionWarnings} TypeDoc option warnings, printed above`] : [],
      errors: optionErrors > 0 ? [`${optionErrors} TypeDoc option errors, printed above`] : [],
      written: false,
    }
  }

  const project = await app.convert()
  if (project === undefined || logger.errors.length > 0) {
    return { out, warnings: logger.warnings, errors: logger.errors, written: false }
  }
  app.validate(project)

  if (logger.warnings.length > 0 && options.writeOnWarnings !== true) {
    return { out, warnings: logger.warnings, errors: logger.errors, written: false }
  }
  await app.generateOutputs(project)
  return {
    out,
    warnings: logger.warnings,
    errors: logger.errors,
    written: logger.errors.length === 0,
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes start with ESC.
const ANSI = /\u001b\[[0-9;]*m/g

const stripAnsi = (text: string): string => text.replace(ANSI, "")
