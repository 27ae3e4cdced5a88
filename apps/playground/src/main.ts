/**
 * The playground's command-line entry point: parses flags, runs the
 * playground and prints its report.
 *
 * Exit codes: 0 when every record is accounted for, 1 on a reconciliation
 * mismatch or a failed run, 2 on an invalid flag.
 */
import { checkPaths, parseCommand, UsageError, usage } from "./options.js"
import { runPlayground } from "./playground.js"
import { formatReport } from "./report.js"

const main = async (): Promise<number> => {
  try {
    const command = parseCommand(process.argv.slice(2))
    if (command._tag === "Help") {
      process.stdout.write(usage())
      return 0
    }

    await checkPaths(command.options)
    const summary = await runPlayground(command.options)
    process.stdout.write(formatReport(summary))
    return summary.records.ok ? 0 : 1
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`playground: ${error.message}\n`)
      return 2
    }
    process.stderr.write(
      `playground: the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    return 1
  }
}

// Setting exitCode instead of calling process.exit lets stdout drain when it is a pipe.
process.exitCode = await main()
