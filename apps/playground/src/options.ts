/**
 * The playground's command-line flags: parsing, validation, defaults and
 * help text.
 *
 * Every invalid flag becomes a `UsageError` whose message names the flag,
 * the value given and what to pass instead. The entry point exits with
 * code 2 on it.
 */
import { stat } from "node:fs/promises"
import { homedir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

/**
 * Settings of one playground run.
 */
export interface PlaygroundOptions {
  /** Absolute path of the tree to walk. */
  readonly dir: string
  /** Absolute path of the JSON file that telemetry is written to. Deleted at the start of a run. */
  readonly outputFile: string
  /** Files processed at most. Default: no limit. */
  readonly limit?: number | undefined
  /** Files processed at the same time. Default `DEFAULT_CONCURRENCY`. */
  readonly concurrency?: number | undefined
  /** Fraction of operations recorded, from 0 to 1. Default 1. */
  readonly sampleRate?: number | undefined
  /** Whether the progress bar and warning lines are left out. Errors still print. Default `false`. */
  readonly quiet?: boolean | undefined
  /** Telemetry settings that replace fields of `RUN_TELEMETRY`; no flag sets them. Default: none. */
  readonly telemetry?: Partial<TelemetryBounds> | undefined
}

/**
 * The telemetry settings of a run that bound its buffer and pace its exports.
 */
export interface TelemetryBounds {
  /** Seconds between scheduled exports. */
  readonly exportIntervalSeconds: number
  /** Records buffered per operation name; past it the oldest is dropped. */
  readonly maxMetricsPerOperation: number
  /** Records buffered in all; past it the oldest is dropped. */
  readonly maxTotalMetrics: number
  /** Records per exported batch. */
  readonly batchSize: number
}

/** @internal */
export const DEFAULT_CONCURRENCY = 8

/** @internal */
export const DEFAULT_SAMPLE_RATE = 1

/** Files processed at the same time, at most. Each file in progress is kept in memory whole. */
export const MAX_CONCURRENCY = 256

/**
 * The workspace root: three levels above this module, which is
 * `apps/playground/dist/options.js` when built and
 * `apps/playground/src/options.ts` under Vitest.
 */
export const workspaceRoot: string = fileURLToPath(new URL("../../../", import.meta.url))

/** The tree walked when `--dir` is absent: the workspace's own dependencies. */
export const defaultDir: string = join(workspaceRoot, "node_modules")

/** The file written when `--out` is absent. */
export const defaultOutputFile: string = join(workspaceRoot, "out", "playground", "telemetry.json")

/**
 * A flag that is unknown, malformed or out of range.
 */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/**
 * The command that the arguments select: a run, or the help text.
 */
export type ParsedCommand =
  | { readonly _tag: "Run"; readonly options: PlaygroundOptions }
  | { readonly _tag: "Help" }

/**
 * The help text printed by `--help`.
 */
export const usage = (): string =>
  [
    "Usage: node apps/playground/dist/main.js [flags]",
    "       pnpm start -- [flags]   (from the workspace root)",
    "",
    "Walks a directory tree and, for every regular file, runs the monitored",
    "operations read, gzip and sha256 through @dinoair/api, with telemetry",
    "exported as JSON to a file. Prints a summary table per operation.",
    "",
    "Flags:",
    `  --dir PATH            tree to walk; symbolic links are skipped (default: ${defaultDir})`,
    `  --out FILE            JSON file to write, replaced on every run (default: ${defaultOutputFile})`,
    "  --limit N             process at most N files (default: no limit)",
    `  --concurrency N       files processed at the same time, 1 to ${MAX_CONCURRENCY} (default: ${DEFAULT_CONCURRENCY})`,
    `  --sample-rate R       fraction of operations recorded, 0 to 1 (default: ${DEFAULT_SAMPLE_RATE})`,
    "  --quiet               no progress bar and no warning lines; the summary still counts warnings",
    "  -h, --help            print this text",
    "",
  ].join("\n")

/**
 * Parses command-line arguments (without `node` and the script path).
 * Throws `UsageError` for an unknown flag, a missing value or a value out
 * of range. Paths are made absolute against the working directory, and a
 * leading `~/` is the home directory.
 *
 * @example
 * ```ts
 * parseCommand(["--dir", "/tmp/tree", "--limit", "100"])
 * // { _tag: "Run", options: { dir: "/tmp/tree", limit: 100, ... } }
 * ```
 */
export const parseCommand = (args: ReadonlyArray<string>): ParsedCommand => {
  // A leading `--` is dropped in case a script runner passes it through (pnpm 10 strips it itself).
  const rest = joinNegativeValues(args[0] === "--" ? args.slice(1) : [...args])

  let values: ReturnType<typeof parseFlags>["values"]
  let positionals: Array<string>
  try {
    const parsed = parseFlags(rest)
    values = parsed.values
    positionals = parsed.positionals
  } catch (error) {
    throw new UsageError(`${describeParseError(error)}\n${HELP_HINT}`)
  }

  if (values.help === true) return { _tag: "Help" }
  if (positionals.length > 0) {
    throw new UsageError(
      `unexpected argument "${positionals[0]}": the playground takes flags only. To walk a tree, pass --dir ${positionals[0]}.\n${HELP_HINT}`,
    )
  }

  return {
    _tag: "Run",
    options: {
      dir: values.dir === undefined ? defaultDir : absolutePath("--dir", values.dir),
      outputFile: values.out === undefined ? defaultOutputFile : absolutePath("--out", values.out),
      limit: values.limit === undefined ? undefined : integerFlag("--limit", values.limit, 1000, 1),
      concurrency:
        values.concurrency === undefined
          ? DEFAULT_CONCURRENCY
          : integerFlag(
              "--concurrency",
              values.concurrency,
              DEFAULT_CONCURRENCY,
              1,
              MAX_CONCURRENCY,
            ),
      sampleRate:
        values["sample-rate"] === undefined
          ? DEFAULT_SAMPLE_RATE
          : fractionFlag("--sample-rate", values["sample-rate"]),
      quiet: values.quiet === true,
    },
  }
}

/**
 * Checks what `parseCommand` cannot check without the file system: that
 * `--dir` is a directory, and that `--out` is neither a directory nor the
 * walked tree itself. Throws `UsageError`.
 */
export const checkPaths = async (options: PlaygroundOptions): Promise<void> => {
  const dirStats = await stat(options.dir).catch((error: unknown) => {
    throw new UsageError(
      `--dir ${options.dir} cannot be read (${errorCode(error)}). Pass an existing directory.`,
    )
  })
  if (!dirStats.isDirectory()) {
    throw new UsageError(`--dir ${options.dir} is not a directory. Pass a directory to walk.`)
  }

  const outStats = await stat(options.outputFile).catch(() => undefined)
  if (outStats?.isDirectory() === true) {
    throw new UsageError(
      `--out ${options.outputFile} is a directory. Pass a file path, such as ${join(options.outputFile, "telemetry.json")}.`,
    )
  }

  // A parent that exists and is a file makes the later mkdir fail with a less clear message.
  const parentStats = await stat(dirname(options.outputFile)).catch(() => undefined)
  if (parentStats !== undefined && !parentStats.isDirectory()) {
    throw new UsageError(
      `--out ${options.outputFile} is inside ${dirname(options.outputFile)}, which is a file. Pass a path in a directory.`,
    )
  }
}

const HELP_HINT = "Run with --help for the list of flags."

const parseFlags = (args: Array<string>) =>
  parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      out: { type: "string" },
      limit: { type: "string" },
      concurrency: { type: "string" },
      "sample-rate": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  })

/**
 * Rewrites `--limit -1` as `--limit=-1`. parseArgs rejects a value that
 * starts with a dash as ambiguous, and the range check gives the clearer
 * message for it.
 */
const joinNegativeValues = (args: Array<string>): Array<string> => {
  const joined: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const next = args[i + 1]
    if (VALUE_FLAGS.has(arg) && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${arg}=${next}`)
      i++
    } else {
      joined.push(arg)
    }
  }
  return joined
}

const VALUE_FLAGS = new Set(["--dir", "--out", "--limit", "--concurrency", "--sample-rate"])

const describeParseError = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  // Node's own text for this case suggests passing the flag as a positional argument, which the playground rejects.
  const unknown = /^Unknown option '([^']+)'/.exec(message)
  return unknown === null ? message : `unknown flag "${unknown[1]}".`
}

const absolutePath = (flag: string, value: string): string => {
  if (value.trim() === "") throw new UsageError(`${flag} is empty. Pass a path.`)
  if (value === "~") return homedir()
  if (value.startsWith("~/")) return join(homedir(), value.slice(2))
  return resolve(value)
}

const integerFlag = (
  flag: string,
  value: string,
  example: number,
  min: number,
  max?: number,
): number => {
  const range =
    max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`
  const parsed = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(parsed) || parsed < min || (max !== undefined && parsed > max)) {
    throw new UsageError(
      `invalid ${flag} "${value}": expected ${range}, such as ${flag} ${example}.`,
    )
  }
  return parsed
}

const fractionFlag = (flag: string, value: string): number => {
  const parsed = value.trim() === "" ? Number.NaN : Number(value)
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) {
    throw new UsageError(
      `invalid ${flag} "${value}": expected a number from 0 to 1, such as ${flag} 0.5 to record half of the operations.`,
    )
  }
  return parsed
}

const errorCode = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === "string") return code
  if (error instanceof Error) return error.message
  return String(error)
}
