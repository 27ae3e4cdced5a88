/**
 * The docs site: TypeDoc builds it from every package without a warning,
 * the serve command serves it on 127.0.0.1, and Chromium, driven by
 * playwright-core, opens its pages and finds a symbol with its search.
 *
 * The site is built once, into a fresh temporary folder, even when TypeDoc
 * reports warnings, so that a missing doc comment fails one test and not
 * the browser tests too.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, peerTool } from "@dinoair/test-support"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { docsDir, guidesDir, typedocConfig } from "../src/paths.js"
import { type SiteServer, serveSite } from "../src/serve.js"
import { buildSite, type SiteBuild } from "../src/site.js"

/** The benchmark page that `pnpm bench` writes, included in the site as it is. */
const BENCHMARK_RESULTS = "../../bench/RESULTS.md"

/** The soak page that `pnpm soak` writes, included in the site as it is. */
const SOAK_RESULTS = "../../soak/RESULTS.md"

const TIMEOUT_MS = 60_000
const BUILD_TIMEOUT_MS = 180_000

let workDir: string
let build: SiteBuild

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "dinoair-docs-site-"))
  build = await buildSite({ out: join(workDir, "site"), writeOnWarnings: true, print: false })
}, BUILD_TIMEOUT_MS)

afterAll(async () => {
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true })
})

describe("TypeDoc build", () => {
  it("reports no errors", () => {
    expect(build.errors).toEqual([])
  })

  it("reports no warnings", () => {
    expect(build.warnings, `TypeDoc warnings:\n${build.warnings.join("\n")}`).toEqual([])
  })

  it("writes the site", () => {
    expect(build.written).toBe(true)
  })

  it("lists every guide in projectDocuments", async () => {
    const config = JSON.parse(await readFile(typedocConfig, "utf8")) as {
      projectDocuments: Array<string>
    }
    const guides = (await readdir(guidesDir)).filter((name) => name.endsWith(".md"))

    expect([...config.projectDocuments].sort()).toEqual(
      [...guides.map((name) => `guides/${name}`), BENCHMARK_RESULTS, SOAK_RESULTS].sort(),
    )
  })
})

describe("docs:serve command", () => {
  let child: ChildProcess | undefined

  afterAll(async () => {
    await stopChild(child)
  })

  it(
    "serves the site on 127.0.0.1",
    async () => {
      const port = await freePort()
      child = spawn(
        process.execPath,
        [join(docsDir, "dist/cli/serve.js"), "--port", String(port), "--dir", build.out],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      )
      const url = await announcedUrl(child)

      const response = await fetch(url)
      const html = await response.text()

      expect(url).toBe(`http://127.0.0.1:${port}/`)
      expect(response.status).toBe(200)
      expect(html).toContain("<title>DinoAir for TypeScript</title>")
    },
    TIMEOUT_MS,
  )

  it(
    "rejects an invalid port",
    async () => {
      const invalid = spawn(
        process.execPath,
        [join(docsDir, "dist/cli/serve.js"), "--port", "http"],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      )
      let stderr = ""
      invalid.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const code = await new Promise<number | null>((resolve) => invalid.once("exit", resolve))

      expect(code).toBe(2)
      expect(stderr).toMatch(/invalid port "http"/)
    },
    TIMEOUT_MS,
  )
})

const chromiumPath = peerTool("chromium", "chromium")

describe.skipIf(chromiumPath === undefined)("site in Chromium", () => {
  let server: SiteServer
  let context: BrowserContext
  let profileDir: string

  beforeAll(async () => {
    server = await serveSite({ root: build.out })
    profileDir = await mkdtemp(join(tmpdir(), "dinoair-docs-chromium-"))
    context = await chromium.launchPersistentContext(profileDir, {
      // describe.skipIf has ruled out a missing Chromium.
      executablePath: chromiumPath ?? "",
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    })
  }, TIMEOUT_MS)

  afterAll(async () => {
    await context?.close()
    await server?.close()
    if (profileDir !== undefined) await rm(profileDir, { recursive: true, force: true })
  })

  /** Opens a page of the site and collects its console errors and uncaught exceptions. */
  const open = async (path: string): Promise<{ page: Page; errors: Array<string> }> => {
    const page = await context.newPage()
    const errors: Array<string> = []
    page.on("console", (message) => {
      if (message.type() === "error") {
        errors.push(`console: ${message.text()} (${message.location().url})`)
      }
    })
    page.on("response", (response) => {
      if (response.status() >= 400) errors.push(`HTTP ${response.status()} for ${response.url()}`)
    })
    page.on("pageerror", (error) => errors.push(`page error: ${error.message}`))
    await page.goto(new URL(path, server.url).href, { waitUntil: "load" })
    return { page, errors }
  }

  it(
    "index shows the home page",
    async () => {
      const { page, errors } = await open("index.html")

      await expect(page.title()).resolves.toBe("DinoAir for TypeScript")
      await expect(page.locator("h1").first().textContent()).resolves.toBe("DinoAir for TypeScript")
      await expect(
        page.locator('a[href="documents/Getting_started.html"]').first().textContent(),
      ).resolves.toBe("Getting started")
      expect(errors).toEqual([])
      await page.close()
    },
    TIMEOUT_MS,
  )

  it(
    "package page shows the README and exports",
    async () => {
      const { page, errors } = await open("modules/_dinoair_api.html")

      await expect(page.title()).resolves.toMatch(/@dinoair\/api/)
      await expect(page.locator(".col-content").textContent()).resolves.toMatch(
        /Monitoring and export calls never throw/,
      )
      await expect(
        page.locator('a[href="../functions/_dinoair_api.enableTelemetry.html"]').count(),
      ).resolves.toBeGreaterThan(0)
      expect(errors).toEqual([])
      await page.close()
    },
    TIMEOUT_MS,
  )

  it(
    "guide renders its code",
    async () => {
      const { page, errors } = await open("documents/Composing_layers.html")

      await expect(page.locator("h1").first().textContent()).resolves.toBe("Composing layers")
      await expect(page.locator("pre code").first().textContent()).resolves.toContain("npm install")
      await expect(
        page.locator("pre code", { hasText: "Monitor.track" }).count(),
      ).resolves.toBeGreaterThan(0)
      expect(errors).toEqual([])
      await page.close()
    },
    TIMEOUT_MS,
  )

  it(
    "search finds enableTelemetry",
    async () => {
      const { page, errors } = await open("index.html")

      await page.locator("#tsd-search-trigger").click()
      await page.locator("#tsd-search-input").fill("enableTelemetry")
      const result = page
        .locator("#tsd-search-results li a", { hasText: "enableTelemetry" })
        .first()
      await result.waitFor({ timeout: TIMEOUT_MS / 2 })
      const href = await result.getAttribute("href")
      await result.click()
      await page.waitForURL(/enableTelemetry/)

      expect(href).toMatch(/functions\/_dinoair_api\.enableTelemetry\.html$/)
      await expect(page.locator("h1").first().textContent()).resolves.toMatch(/enableTelemetry/)
      expect(errors).toEqual([])
      await page.close()
    },
    TIMEOUT_MS,
  )
})

/** Waits for the serve command's line with the address, and returns the address. */
const announcedUrl = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let output = ""
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = /at (http:\/\/\S+) /.exec(output)
      if (match?.[1] !== undefined) resolve(match[1])
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.once("exit", (code) => reject(new Error(`docs:serve exited with ${code}:\n${output}`)))
  })

/** Ends a child process that the test started, by its own handle, and waits for it. */
const stopChild = async (child: ChildProcess | undefined): Promise<void> => {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  child.kill("SIGTERM")
  await exited
}
