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
 * The export formats that the playground offers.
 */
const FORMATS = ["json", "prometheus", "csv"] as const

/** An export format: `json`, `prometheus` or `csv`. */
export type ExportFormat = (typeof FORMATS)[number]

/**
 * The destinations that the playground offers.
 */
const DESTINATIONS = ["file", "http", "console"] as const

/** A destination: `file`, `http` or `console`. */
export type Destination = (typeof DESTINATIONS)[number]

/**
 * Settings of one playground run.
 */
export interface PlaygroundOptions {
  /** Absolute path of the tree to walk. */
  readonly dir: string
  /**
   * Absolute path of the file that telemetry is written to when the
   * destination is `file`. Deleted at the start of such a run.
   */
  readonly outputFile: string
  /** The export format. Default `json`. */
  readonly format?: ExportFormat | undefined
  /** The destination of telemetry. Default `file`. */
  readonly destination?: Destination | undefined
  /** The `http:` or `https:` URL that telemetry is sent to; required with destination `http`. */
  readonly endpoint?: string | undefined
  /**
   * Whether an HTTP server on 127.0.0.1 serves the live dashboard, its
   * JSON summary and `/metrics` for Prometheus. Default `false`.
   */
  readonly serve?: boolean | undefined
  /** The port of that server; 0 picks a free one. Default 0. */
  readonly port?: number | undefined
  /** Seconds that the server keeps serving after the report is printed. Default 0. */
  readonly lingerSeconds?: number | undefined
  /**
   * Seconds the workload keeps going: the tree is processed again, pass
   * after pass, until this much time has passed since the first pass
   * started. The pass in progress then stops taking new files. 0 makes one
   * pass. Default 0.
   */
  readonly repeatSeconds?: number | undefined
  /**
   * Names of the extra `scan` operation, from 0 to `MAX_EXTRA_OPERATIONS`.
   * With N above 0, every file also runs one `scan` operation named
   * `scan-00` to `scan-<N-1>`, taken in turn by the file's position in the
   * walk, so that a tree of at least N files gives N more operation names.
   * Default 0.
   */
  readonly extraOperations?: number | undefined
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
const MAX_CONCURRENCY = 256

/** The maximum of `--extra-operations`: names of the extra `scan` operation. */
const MAX_EXTRA_OPERATIONS = 500

/**
 * The workspace root: three levels above this module, which is
 * `apps/playground/dist/options.js` when built and
 * `apps/playground/src/options.ts` under Vitest.
 */
export const workspaceRoot: string = fileURLToPath(new URL("../../../", import.meta.url))

/** The tree walked when `--dir` is absent: the workspace's own dependencies. */
export const defaultDir: string = join(workspaceRoot, "node_modules")

/** The file extension of each format, without the dot. */
const FILE_EXTENSIONS: Readonly<Record<ExportFormat, string>> = {
  json: "json",
  prometheus: "prom",
  csv: "csv",
}

/** The file written when `--out` is absent: `out/playground/telemetry.<extension>`. */
const defaultOutputFileFor = (format: ExportFormat): string =>
  join(workspaceRoot, "out", "playground", `telemetry.${FILE_EXTENSIONS[format]}`)

/** The file written when `--out` and `--format` are absent. */
export const defaultOutputFile: string = defaultOutputFileFor("json")

/** An endpoint that `--endpoint` help and messages show: a Pushgateway on this machine. */
const EXAMPLE_ENDPOINT = "http://127.0.0.1:9091/metrics/job/dinoair_playground"

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
    "exported to a file, an HTTP endpoint or standard output. Prints a summary",
    "table per operation.",
    "",
    "Flags:",
    `  --dir PATH            tree to walk; symbolic links are skipped (default: ${defaultDir})`,
    `  --format F            export format: ${FORMATS.join(", ")} (default: json)`,
    `  --destination D       where telemetry goes: ${DESTINATIONS.join(", ")} (default: file)`,
    "  --out FILE            file to write with --destination file, replaced on every run",
    `                        (default: ${defaultOutputFileFor("json").replace(/json$/, "<json|prom|csv>")})`,
    "  --endpoint URL        http:// or https:// URL for --destination http; with --format",
    `                        prometheus, a Pushgateway group such as ${EXAMPLE_ENDPOINT}`,
    "  --serve               serve the dashboard and /metrics on 127.0.0.1 while the run lasts",
    "  --port N              port of --serve, 0 to 65535; 0 picks a free port (default: 0)",
    "  --linger-seconds N    seconds --serve keeps serving after the report; Ctrl-C ends it (default: 0)",
    "  --repeat-seconds N    process the tree pass after pass for N seconds; Ctrl-C stops sooner (default: 0)",
    `  --extra-operations N  also run a scan operation per file under N names, 0 to ${MAX_EXTRA_OPERATIONS} (default: 0)`,
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

  const format = choiceFlag("--format", values.format, FORMATS) ?? "json"
  const destination = choiceFlag("--destination", values.destination, DESTINATIONS) ?? "file"
  if (values.out !== undefined && destination !== "file") {
    throw new UsageError(
      `--out applies to --destination file only, and the destination is ${destination}. Leave --out out, or pass --destination file.`,
    )
  }
  if (values.endpoint === undefined && destination === "http") {
    throw new UsageError(
      `--destination http needs --endpoint, the URL to send telemetry to, such as --endpoint ${EXAMPLE_ENDPOINT}.`,
    )
  }
  if (values.endpoint !== undefined && destination !== "http") {
    throw new UsageError(
      `--endpoint applies to --destination http only, and the destination is ${destination}. Pass --destination http too.`,
    )
  }
  const serve = values.serve === true
  for (const flag of ["port", "linger-seconds"] as const) {
    if (values[flag] !== undefined && !serve) {
      throw new UsageError(`--${flag} applies to --serve only. Pass --serve too.`)
    }
  }

  return {
    _tag: "Run",
    options: {
      dir: values.dir === undefined ? defaultDir : absolutePath("--dir", values.dir),
      outputFile:
        values.out === undefined ? defaultOutputFileFor(format) : absolutePath("--out", values.out),
      format,
      destination,
      endpoint: values.endpoint === undefined ? undefined : endpointFlag(values.endpoint),
      serve,
      port: values.port === undefined ? 0 : integerFlag("--port", values.port, 9464, 0, 65535),
      lingerSeconds:
        values["linger-seconds"] === undefined
          ? 0
          : integerFlag("--linger-seconds", values["linger-seconds"], 60, 0),
      repeatSeconds:
        values["repeat-seconds"] === undefined
          ? 0
          : integerFlag("--repeat-seconds", values["repeat-seconds"], 60, 0),
      extraOperations:
        values["extra-operations"] === undefined
          ? 0
          : integerFlag(
              "--extra-operations",
              values["extra-operations"],
              100,
              0,
              MAX_EXTRA_OPERATIONS,
            ),
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
  if ((options.destination ?? "file") !== "file") return

  const outStats = await stat(options.outputFile).catch(() => undefined)
  if (outStats?.isDirectory() === true) {
    throw new UsageError(
      `--out ${options.outputFile} is a directory. Pass a file path, such as ${join(options.outputFile, `telemetry.${FILE_EXTENSIONS[options.format ?? "json"]}`)}.`,
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
      format: { type: "string" },
      destination: { type: "string" },
      endpoint: { type: "string" },
      serve: { type: "boolean" },
      port: { type: "string" },
      "linger-seconds": { type: "string" },
      "repeat-seconds": { type: "string" },
      "extra-operations": { type: "string" },
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

const VALUE_FLAGS = new Set([
  "--dir",
  "--out",
  "--limit",
  "--concurrency",
  "--sample-rate",
  "--port",
  "--linger-seconds",
  "--repeat-seconds",
  "--extra-operations",
])

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

const choiceFlag = <A extends string>(
  flag: string,
  value: string | undefined,
  choices: ReadonlyArray<A>,
): A | undefined => {
  if (value === undefined) return undefined
  const choice = choices.find((each) => each === value)
  if (choice === undefined) {
    throw new UsageError(
      `invalid ${flag} "${value}": expected one of ${choices.join(", ")}, such as ${flag} ${choices[1] ?? choices[0]}.`,
    )
  }
  return choice
}

/**
 * Checks an endpoint URL. The messages never repeat the value, because a
 * URL can carry a password or a token.
 */
const endpointFlag = (value: string): string => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(
      `invalid --endpoint: the value is not a URL. Pass an http:// or https:// URL, such as --endpoint ${EXAMPLE_ENDPOINT}.`,
    )
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      `invalid --endpoint: the scheme is ${url.protocol.slice(0, -1)}, but only http and https are supported, such as --endpoint ${EXAMPLE_ENDPOINT}.`,
    )
  }
  return value
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
