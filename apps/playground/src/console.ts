/**
 * The live output of a run: a progress bar on a terminal, and log lines
 * printed above the bar so that they do not garble it.
 *
 * DinoAir's warnings (slow operations, failed exports) and the playground's
 * own (unreadable directories, failed files) go through one `RunConsole`,
 * which counts them by level for the summary.
 */
import type { DinoLogger } from "@dinoair/api"
import { MultiBar, type SingleBar } from "cli-progress"

/**
 * Options of `RunConsole`.
 */
export interface RunConsoleOptions {
  /** Whether a progress bar is drawn. Default `false`. */
  readonly progress?: boolean | undefined
  /** Whether warning and info lines print. Errors print either way. Default `true`. */
  readonly printWarnings?: boolean | undefined
  /** Warning lines printed at most; later ones are only counted. Default `MAX_PRINTED_WARNINGS`. */
  readonly maxPrintedWarnings?: number | undefined
  /** The stream for log lines when no bar is drawn. Default `process.stderr`. */
  readonly logStream?: NodeJS.WritableStream | undefined
  /** The stream the bar is drawn on. Default `process.stdout`. */
  readonly barStream?: NodeJS.WriteStream | undefined
}

/** Warning lines printed per run, at most. The monitor already limits slow-operation warnings to 10 a second. */
const MAX_PRINTED_WARNINGS = 20

/**
 * The progress bar and the logger of one run.
 */
export class RunConsole {
  readonly #progress: boolean
  readonly #printWarnings: boolean
  readonly #maxPrintedWarnings: number
  readonly #logStream: NodeJS.WritableStream
  readonly #barStream: NodeJS.WriteStream
  #multiBar: MultiBar | undefined
  #bar: SingleBar | undefined
  #warnings = 0
  #errors = 0
  #printedWarnings = 0

  constructor(options: RunConsoleOptions = {}) {
    this.#progress = options.progress ?? false
    this.#printWarnings = options.printWarnings ?? true
    this.#maxPrintedWarnings = options.maxPrintedWarnings ?? MAX_PRINTED_WARNINGS
    this.#logStream = options.logStream ?? process.stderr
    this.#barStream = options.barStream ?? process.stdout
  }

  /** Warnings logged so far, printed or not. */
  get warnings(): number {
    return this.#warnings
  }

  /** Errors logged so far. */
  get errors(): number {
    return this.#errors
  }

  /** Warnings counted but not printed, because of `printWarnings` or the cap. */
  get unprintedWarnings(): number {
    return this.#warnings - this.#printedWarnings
  }

  /**
   * A DinoAir logger that writes through this console, for `setLogger`.
   * Lines carry the `[dinoair]` prefix; debug lines are dropped.
   */
  readonly logger: DinoLogger = {
    debug: () => {},
    info: (message, ...details) => this.info(`[dinoair] ${withDetails(message, details)}`),
    warn: (message, ...details) => this.warn(`[dinoair] ${withDetails(message, details)}`),
    error: (message, ...details) => this.error(`[dinoair] ${withDetails(message, details)}`),
  }

  /** Prints an info line unless warnings are off. Not counted. */
  info(line: string): void {
    if (this.#printWarnings) this.#write(line)
  }

  /** Counts a warning and prints it while under the cap. */
  warn(line: string): void {
    this.#warnings++
    if (!this.#printWarnings || this.#printedWarnings >= this.#maxPrintedWarnings) return

    this.#printedWarnings++
    this.#write(line)
    if (this.#printedWarnings === this.#maxPrintedWarnings) {
      this.#write(
        `[playground] printed ${this.#maxPrintedWarnings} warnings; further ones are counted in the summary only.`,
      )
    }
  }

  /** Counts an error and prints it. */
  error(line: string): void {
    this.#errors++
    this.#write(line)
  }

  /** Starts the progress bar at 0 of `total`, when the console draws one. */
  startProgress(total: number): void {
    if (!this.#progress) return

    this.#multiBar = new MultiBar({
      stream: this.#barStream,
      format:
        "{bar} {percentage}% | {value}/{total} files | {duration_formatted} | ETA {eta_formatted}",
      // A hidden cursor would stay hidden after Ctrl-C, and cli-progress's gracefulExit
      // handler keeps the process alive on SIGINT, so the cursor stays visible.
      hideCursor: false,
      clearOnComplete: false,
    })
    this.#bar = this.#multiBar.create(total, 0)
  }

  /** Advances the bar by one file. */
  tick(): void {
    this.#bar?.increment()
  }

  /** Draws the bar one last time with any lines still buffered, and stops it. */
  stopProgress(): void {
    const multiBar = this.#multiBar
    if (multiBar === undefined) return

    // MultiBar.stop does not write lines logged since the last redraw, but update does.
    multiBar.update()
    multiBar.stop()
    this.#multiBar = undefined
    this.#bar = undefined
  }

  #write(line: string): void {
    if (this.#multiBar !== undefined) {
      this.#multiBar.log(`${line}\n`)
      return
    }
    this.#logStream.write(`${line}\n`)
  }
}

const withDetails = (message: string, details: ReadonlyArray<unknown>): string =>
  details.length === 0 ? message : `${message} ${details.map(describe).join(" ")}`

const describe = (value: unknown): string => {
  if (value instanceof Error) return value.message
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
