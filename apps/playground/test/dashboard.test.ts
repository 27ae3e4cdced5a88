/**
 * The dashboard of `--serve`.
 *
 * The server runs in-process on a monitor of the test's own: it must serve
 * the page and its files itself, return the JSON summary and the export
 * previews, and reject requests for anything else. The page runs in Debian's
 * Chromium, driven by playwright-core, over a real playground run that
 * repeats its passes with about 100 operation names. It must load without
 * console errors, add points while the run goes on, keep at most its bound,
 * handle a click promptly, and show the same table as the JSON endpoint.
 * The browser tests save a screenshot to `test-artifacts/dashboard.png`.
 * With `DINOAIR_UPDATE_SCREENSHOT=1` they also copy it to
 * `docs/dashboard.png`, which the README shows, so that a plain test run
 * leaves the tracked files as they were.
 *
 * Without Chromium the browser tests are skipped with a message, unless
 * `DINOAIR_REQUIRE_PEERS=1`. Every test stops the processes and servers it
 * started.
 */
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PerformanceMonitor } from "@dinoair/api"
import { peerTool, startProcess, waitFor } from "@dinoair/test-support"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import {
  capText,
  type DashboardSummary,
  PREVIEW_MAX_CHARS,
  PREVIEW_RECORDS,
} from "../src/dashboard.js"
import { ASSET_FILES } from "../src/dashboardAssets.js"
import { DASHBOARD_CSP, type MetricsServer, startMetricsServer } from "../src/metricsServer.js"
import type { TelemetryCounts } from "../src/report.js"
import { buildPlayground, mainJs, makeWideTree, packageDir, type TestTree } from "./helpers.js"

const cleanups: Array<() => Promise<void>> = []

// A playground stopped during its run still writes its report, which reads the telemetry file back.
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
}, 60_000)

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

const TELEMETRY: TelemetryCounts = {
  produced: 12,
  delivered: 7,
  buffered: 3,
  inFlight: 1,
  dropped: { perOperation: 1, total: 0, retention: 0, cleared: 0, rejected: 0 },
}

/** Starts the server in-process, fed by `monitor`, and registers its stop. */
const startServer = async (monitor: PerformanceMonitor): Promise<MetricsServer> => {
  const server = await startMetricsServer({
    logger: SILENT,
    source: { summaries: () => monitor.getMetricsSummary(), telemetry: () => TELEMETRY },
  })
  const unsubscribe = monitor.instance.subscribe(server.observe)
  cleanups.push(async () => {
    unsubscribe()
    await server.close()
  })
  return server
}

const record = (monitor: PerformanceMonitor, operation: string, times: number): void => {
  for (let i = 0; i < times; i++) monitor.monitorOperation(operation, () => i, { index: i })
}

const summaryOf = async (server: MetricsServer): Promise<DashboardSummary> =>
  (await (await fetch(`${server.dashboardUrl}api/summary`)).json()) as DashboardSummary

/** Sends a request with a chosen `Host` header, which fetch does not allow, and returns the status. */
const statusOf = (
  server: MetricsServer,
  options: { readonly path: string; readonly method?: string; readonly host?: string },
): Promise<number> =>
  new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: "127.0.0.1",
        port: server.port,
        path: options.path,
        method: options.method ?? "GET",
        headers: { Host: options.host ?? `127.0.0.1:${server.port}` },
      },
      (response) => {
        response.resume()
        resolve(response.statusCode ?? 0)
      },
    )
    outgoing.on("error", reject)
    outgoing.end()
  })

describe("dashboard server", () => {
  it("serves the page files itself", async () => {
    const server = await startServer(new PerformanceMonitor())

    const answers = await Promise.all(
      ASSET_FILES.map(async (asset) => {
        const response = await fetch(new URL(asset.path, server.dashboardUrl))
        return [asset.path, response.status, response.headers.get("content-type")]
      }),
    )

    expect(answers).toEqual(ASSET_FILES.map((asset) => [asset.path, 200, asset.contentType]))
  })

  it("sends a Content-Security-Policy", async () => {
    const server = await startServer(new PerformanceMonitor())

    const response = await fetch(server.dashboardUrl)

    expect(response.headers.get("content-security-policy")).toBe(DASHBOARD_CSP)
  })

  it("loads nothing from another host", async () => {
    const server = await startServer(new PerformanceMonitor())

    const html = await (await fetch(server.dashboardUrl)).text()

    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//)
  })

  it("returns counts and telemetry counters", async () => {
    const monitor = new PerformanceMonitor()
    const server = await startServer(monitor)
    record(monitor, "beta", 1)
    record(monitor, "alpha", 3)

    const summary = await summaryOf(server)

    expect(summary.state).toBe("running")
    expect(summary.operations.map((entry) => [entry.operation, entry.count])).toEqual([
      ["alpha", 3],
      ["beta", 1],
    ])
    expect(summary.telemetry).toEqual({ ...TELEMETRY, droppedTotal: 1 })
  })

  it("reports the state that is set", async () => {
    const server = await startServer(new PerformanceMonitor())
    await summaryOf(server)

    server.setState("finished")

    expect((await summaryOf(server)).state).toBe("finished")
  })

  it("previews recent records in each format", async () => {
    const monitor = new PerformanceMonitor()
    const server = await startServer(monitor)
    record(monitor, "alpha", PREVIEW_RECORDS + 2)

    const exports = (await summaryOf(server)).exports
    const byFormat = new Map(exports.map((preview) => [preview.format, preview]))
    const json = JSON.parse(byFormat.get("json")?.text ?? "") as {
      readonly metrics: ReadonlyArray<{ readonly custom_metrics: { readonly index: number } }>
    }
    const csvLines = byFormat.get("csv")?.text.trimEnd().split("\r\n") ?? []

    expect(exports.map((preview) => [preview.format, preview.records])).toEqual([
      ["json", PREVIEW_RECORDS],
      ["prometheus", PREVIEW_RECORDS],
      ["csv", PREVIEW_RECORDS],
    ])
    expect(json.metrics.map((each) => each.custom_metrics.index)).toEqual([2, 3, 4, 5, 6])
    expect(csvLines).toHaveLength(PREVIEW_RECORDS + 1)
    // The counter comes from the /metrics registry, which counted every record, not only the previewed ones.
    expect(byFormat.get("prometheus")?.text).toContain(
      `dinoair_operations_total{operation="alpha",status="ok"} ${PREVIEW_RECORDS + 2}\n`,
    )
  })

  it("caps each preview", async () => {
    const monitor = new PerformanceMonitor()
    const server = await startServer(monitor)
    monitor.monitorOperation("wide", () => 0, { text: "x".repeat(PREVIEW_MAX_CHARS * 2) })

    const json = (await summaryOf(server)).exports.find((preview) => preview.format === "json")

    expect(json?.text.length).toBeLessThanOrEqual(PREVIEW_MAX_CHARS)
    expect(json?.omittedChars).toBeGreaterThan(PREVIEW_MAX_CHARS)
  })

  it("rejects other hosts, methods and paths", async () => {
    const server = await startServer(new PerformanceMonitor())

    const statuses = [
      await statusOf(server, { path: "/api/summary", host: "dashboard.example:80" }),
      await statusOf(server, { path: "/", host: `dashboard.example:${server.port}` }),
      await statusOf(server, { path: "/api/summary", method: "POST" }),
      await statusOf(server, { path: "/favicon.ico" }),
      await statusOf(server, { path: "/api/summary", host: `localhost:${server.port}` }),
    ]

    expect(statuses).toEqual([403, 403, 405, 404, 200])
  })
})

describe("capText", () => {
  it("keeps a text within the cap whole", () => {
    expect(capText("ab\ncd\n", 6)).toEqual({ text: "ab\ncd\n", omittedChars: 0 })
  })

  it("cuts a longer text at the last line end within the cap", () => {
    expect(capText("ab\ncd\nef\n", 7)).toEqual({ text: "ab\ncd\n", omittedChars: 3 })
  })

  it("cuts a line longer than the cap at the cap", () => {
    expect(capText("abcdefgh", 5)).toEqual({ text: "abcde", omittedChars: 3 })
  })
})

/** Points each chart keeps in the browser tests, so that the bound is reached within seconds. */
const POINTS = 24

/** Milliseconds between polls in the browser tests. */
const INTERVAL_MS = 250

/** Names that `--extra-operations` adds in the run; with read, gzip and sha256, 103 in all. */
const EXTRA_OPERATIONS = 100

/** A bound on a click's handling that only a page frozen for a second would miss. */
const CLICK_SANITY_BOUND_MS = 1000

const CHARTS = ["chart-latency", "chart-rate", "chart-resources", "chart-telemetry"] as const

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]

const DASHBOARD_LINE = /^Serving the dashboard at (http:\/\/127\.0\.0\.1:\d+\/)$/m

const artifactPath = join(packageDir, "test-artifacts", "dashboard.png")
const docsPath = join(packageDir, "docs", "dashboard.png")

describe("dashboard in Chromium", () => {
  let executablePath: string | undefined
  let tree: TestTree | undefined

  beforeAll(async () => {
    executablePath = peerTool("chromium", "chromium")
    if (executablePath === undefined) return
    buildPlayground()
    tree = await makeWideTree(120)
  }, 180_000)

  afterAll(async () => {
    if (tree !== undefined) await rm(tree.root, { recursive: true, force: true })
  })

  const temporaryDirectory = async (): Promise<string> => {
    const directory = await mkdtemp(join(tmpdir(), "dinoair-playground-dashboard-"))
    cleanups.push(() => rm(directory, { recursive: true, force: true }))
    return directory
  }

  /** Opens `url` in a fresh Chromium profile and collects console errors and page errors. */
  const openPage = async (
    url: string,
  ): Promise<{ readonly page: Page; readonly errors: Array<string> }> => {
    const context: BrowserContext = await chromium.launchPersistentContext(
      await temporaryDirectory(),
      {
        executablePath: executablePath!,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1280, height: 900 },
      },
    )
    cleanups.push(() => context.close())
    const page = context.pages()[0] ?? (await context.newPage())
    const errors: Array<string> = []
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text())
    })
    page.on("pageerror", (error) => errors.push(error.message))
    await page.goto(url)
    return { page, errors }
  }

  it("draws a live run of 103 operations", {
    timeout: 90_000,
  }, async (test) => {
    if (executablePath === undefined || tree === undefined) return test.skip()

    const directory = await temporaryDirectory()
    const playground = startProcess(process.execPath, [
      mainJs,
      "--dir",
      tree.root,
      "--out",
      join(directory, "telemetry.json"),
      "--quiet",
      "--serve",
      "--repeat-seconds",
      "15",
      "--extra-operations",
      String(EXTRA_OPERATIONS),
      "--linger-seconds",
      "60",
    ])
    cleanups.push(() => playground.stop())
    await waitFor(async () => DASHBOARD_LINE.test(playground.output()), {
      what: `the playground to print the dashboard's URL; its output: ${playground.output()}`,
    })
    const url = DASHBOARD_LINE.exec(playground.output())![1]!
    const { page, errors } = await openPage(`${url}?interval=${INTERVAL_MS}&points=${POINTS}`)

    // Points grow while the workload runs.
    await waitFor(async () => (await bodyNumber(page, "points")) >= 2, {
      what: "the page's first points",
    })
    const pointsBefore = await chartPoints(page)
    const recordedBefore = await bodyNumber(page, "recorded")
    await waitFor(
      async () =>
        (await bodyNumber(page, "recorded")) > recordedBefore &&
        (await chartPoints(page)).every((points, index) => points > pointsBefore[index]!),
      { what: "every chart to get new points as the workload runs" },
    )

    // Points stop growing at the bound, while polls go on.
    await waitFor(async () => (await bodyNumber(page, "points")) === POINTS, {
      what: `the page to hold ${POINTS} points`,
    })
    await mkdir(join(packageDir, "test-artifacts"), { recursive: true })
    await page.screenshot({ path: artifactPath })
    const pollsAtBound = await bodyNumber(page, "polls")
    await waitFor(async () => (await bodyNumber(page, "polls")) >= pollsAtBound + 4, {
      what: "four more polls",
    })

    expect(await chartPoints(page)).toEqual(CHARTS.map(() => POINTS))
    expect(await bodyNumber(page, "points")).toBe(POINTS)

    // A click on one of about 100 rows selects it promptly.
    const click = await page.evaluate(measureClick, "scan-42")

    expect(await page.locator("#operations tbody tr").count()).toBe(3 + EXTRA_OPERATIONS)
    expect(click.selected).toBe("scan-42")
    expect(click.ms).toBeLessThan(CLICK_SANITY_BOUND_MS)

    // Once the run has finished, its counts stay put, so the table must equal the endpoint.
    await waitFor(async () => playground.output().includes("Still serving"), {
      timeoutMs: 60_000,
      what: `the playground to print its report; its output: ${playground.output()}`,
    })
    await waitFor(
      async () => (await page.locator("body").getAttribute("data-state")) === "finished",
      {
        what: "the page to show the finished run",
      },
    )
    const names = await page.locator("#operations tbody th").allTextContents()
    const counts = await page.locator("#operations tbody td:nth-child(2)").allTextContents()
    const summary = (await (await fetch(`${url}api/summary`)).json()) as DashboardSummary

    expect(names.map((name, index) => [name, Number(counts[index]?.replaceAll(",", ""))])).toEqual(
      summary.operations.map((entry) => [entry.operation, entry.count]),
    )
    expect(summary.operations).toHaveLength(3 + EXTRA_OPERATIONS)

    await mkdir(join(packageDir, "docs"), { recursive: true })
    if (process.env.DINOAIR_UPDATE_SCREENSHOT === "1") await copyFile(artifactPath, docsPath)
    // Polls that fail once the playground has exited log errors of their own, so copy the list first.
    const consoleErrors = [...errors]
    await playground.stop()

    expect(consoleErrors).toEqual([])
    expect(playground.child.exitCode, playground.output()).toBe(0)
  })

  it("shows operation names as text", { timeout: 60_000 }, async (test) => {
    if (executablePath === undefined) return test.skip()

    const monitor = new PerformanceMonitor()
    const server = await startServer(monitor)
    const names = [`<img src=x onerror="document.body.dataset.injected='yes'">`, `a & b "c"`]
    for (const name of names) record(monitor, name, 2)

    const { page, errors } = await openPage(server.dashboardUrl)
    await waitFor(async () => (await bodyNumber(page, "polls")) >= 1, { what: "the first poll" })

    expect(await page.locator("#operations tbody th").allTextContents()).toEqual(names)
    expect(await page.locator("#operation option").allTextContents()).toEqual(names)
    expect(await page.locator("#previews pre").first().textContent()).toContain("<img src=x")
    expect(await page.locator("img").count()).toBe(0)
    expect(await page.locator("body").getAttribute("data-injected")).toBeNull()
    expect(errors).toEqual([])
  })
})

const bodyNumber = async (page: Page, name: string): Promise<number> =>
  Number((await page.locator("body").getAttribute(`data-${name}`)) ?? Number.NaN)

const chartPoints = (page: Page): Promise<Array<number>> =>
  Promise.all(
    CHARTS.map(async (id) =>
      Number((await page.locator(`#${id}`).getAttribute("data-points")) ?? 0),
    ),
  )

/** The parts of the page's globals that `measureClick` uses, typed without the DOM library. */
interface PageGlobals {
  readonly document: {
    querySelector(selector: string): { click(): void } | null
    readonly body: { readonly dataset: Readonly<Record<string, string | undefined>> }
  }
  requestAnimationFrame(callback: () => void): number
}

/**
 * Runs in the page: clicks the row of `operation` and measures the time
 * until the next frame, by which the click handler and the charts' redraw
 * have run on the main thread.
 */
const measureClick = async (
  operation: string,
): Promise<{ readonly ms: number; readonly selected: string | undefined }> => {
  const page = globalThis as unknown as PageGlobals
  const row = page.document.querySelector(`#operations tbody tr[data-operation="${operation}"]`)
  const started = performance.now()
  row?.click()
  await new Promise<void>((resolve) => page.requestAnimationFrame(() => resolve()))
  return { ms: performance.now() - started, selected: page.document.body.dataset.selected }
}
