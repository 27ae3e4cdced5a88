/**
 * `pnpm docs:serve`: serves the built site (`apps/docs/out/site`) on
 * 127.0.0.1 until interrupted, and prints its address.
 *
 * The port comes from `--port <n>`, else the `PORT` environment variable,
 * else 4173. `--port 0` picks a free port. `--dir <folder>` serves another
 * built site. Exit codes: 1 when the site is not built or the port cannot
 * be used, 2 for an invalid port.
 */
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { siteDir } from "../paths.js"
import { serveSite } from "../serve.js"

const DEFAULT_PORT = 4173

/** Returns the value of `--name value` or `--name=value`, if given. */
const flag = (argv: ReadonlyArray<string>, name: string): string | undefined => {
  const index = argv.indexOf(`--${name}`)
  if (index !== -1) return argv[index + 1]
  return argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
}

const parsePort = (argv: ReadonlyArray<string>): number | string => {
  const text = flag(argv, "port") ?? process.env.PORT
  if (text === undefined || text === "") return DEFAULT_PORT
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    return `invalid port ${JSON.stringify(text)}: give a whole number from 0 to 65535 with --port or PORT`
  }
  return port
}

const argv = process.argv.slice(2)
const port = parsePort(argv)
if (typeof port === "string") {
  process.stderr.write(`docs:serve: ${port}\n`)
  process.exit(2)
}
const root = resolve(flag(argv, "dir") ?? siteDir)
if (!existsSync(join(root, "index.html"))) {
  process.stderr.write(`docs:serve: no site in ${root}. Build it first with pnpm run docs.\n`)
  process.exit(1)
}

try {
  const server = await serveSite({ root, port })
  process.stdout.write(`docs:serve: serving ${root} at ${server.url} (Ctrl+C to stop)\n`)
  const stop = (): void => {
    void server.close().finally(() => process.exit(0))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
} catch (error) {
  const code = (error as { code?: unknown } | null)?.code
  process.stderr.write(
    `docs:serve: cannot listen on 127.0.0.1:${port} (${typeof code === "string" ? code : String(error)}). Pass another port with --port, or --port 0 for a free one.\n`,
  )
  process.exit(1)
}
