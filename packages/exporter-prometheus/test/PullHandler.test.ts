import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { PullHandler, Registry } from "../src/index.js"
import {
  expectPromtoolAccepts,
  familyNamed,
  HOSTILE_CUSTOM_NAMES,
  HOSTILE_OPERATIONS,
  makeLogger,
  parseExposition,
  processMetrics,
  record,
} from "./helpers.js"

const OPENMETRICS = "application/openmetrics-text;version=1.0.0"
const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

const servers: Array<Server> = []
const handlers: Array<PullHandler.PullHandler> = []

afterEach(async () => {
  for (const handler of handlers.splice(0)) handler.close()
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    ),
  )
})

/** Serves a handler on 127.0.0.1 at a port the kernel picks, and returns its URL. */
const serve = async (handler: PullHandler.PullHandler): Promise<string> => {
  handlers.push(handler)
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
}

const makeHandler = (
  source: PullHandler.ScrapeSource,
  options: PullHandler.PullHandlerOptions = {},
): PullHandler.PullHandler =>
  PullHandler.make(source, { processMetrics: () => processMetrics, ...options })

const observed = (...records: Array<ReturnType<typeof record>>): Registry.Registry => {
  const registry = Registry.make()
  registry.observeAll(records)
  return registry
}

describe("PullHandler negotiation", () => {
  it("no Accept header gives text 0.0.4", async () => {
    const url = await serve(makeHandler({ registry: observed(record()) }))

    const response = await fetch(url)
    const body = await response.text()

    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    expect(response.headers.get("vary")).toBe("Accept")
    expect(body).not.toContain("# EOF")
    expect(familyNamed(parseExposition(body, "text"), "dinoair_operations_total").type).toBe(
      "counter",
    )
    await expectPromtoolAccepts(body)
  })

  it("OpenMetrics Accept gives OpenMetrics with # EOF", async () => {
    const url = await serve(makeHandler({ registry: observed(record()) }))

    const response = await fetch(url, { headers: { accept: OPENMETRICS } })
    const body = await response.text()
    const families = parseExposition(body, "openmetrics")

    expect(response.headers.get("content-type")).toBe(
      "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )
    expect(body.endsWith("\n# EOF\n")).toBe(true)
    expect(familyNamed(families, "dinoair_operations").type).toBe("counter")
    expect(familyNamed(families, "process_cpu_seconds").samples[0]?.name).toBe(
      "process_cpu_seconds_total",
    )
  })

  it("Prometheus's own Accept header gives OpenMetrics", async () => {
    const url = await serve(makeHandler({ registry: observed(record()) }))

    const response = await fetch(url, { headers: { accept: PROMETHEUS_ACCEPT } })
    await response.text()

    expect(response.headers.get("content-type")).toMatch(/^application\/openmetrics-text/)
  })

  it("text preferred by q gives text", async () => {
    const url = await serve(makeHandler({ registry: observed(record()) }))

    const response = await fetch(url, {
      headers: { accept: `${OPENMETRICS};q=0.2,text/plain;version=0.0.4;q=0.9` },
    })
    const body = await response.text()

    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0.0.4/)
    await expectPromtoolAccepts(body)
  })

  it("both formats carry the same series", async () => {
    const handler = makeHandler({
      registry: observed(record(), record({ operation: "other", status: "error" })),
    })

    const text = parseExposition(handler.render("text"), "text")
    const openMetrics = parseExposition(handler.render("openmetrics"), "openmetrics")
    const seriesOf = (families: typeof text) =>
      families.flatMap((family) =>
        family.samples.map(
          (sample) =>
            `${sample.name}${JSON.stringify({ ...sample.labels, le: sample.labels.le?.replace(/\.0$/, "") })}=${sample.value}`,
        ),
      )

    expect(seriesOf(openMetrics)).toStrictEqual(seriesOf(text))
  })
})

describe("PullHandler methods", () => {
  it("HEAD gives the headers without a body", async () => {
    const url = await serve(makeHandler({ registry: observed(record()) }))

    const get = await fetch(url)
    const getBody = await get.text()
    const head = await fetch(url, { method: "HEAD" })
    const headBody = await head.text()

    expect(head.status).toBe(200)
    expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"))
    expect(head.headers.get("content-length")).toBe(String(Buffer.byteLength(getBody)))
    expect(headBody).toBe("")
  })

  it.each(["POST", "PUT", "DELETE", "PATCH"])("%s gives 405", async (method) => {
    const url = await serve(makeHandler({ registry: observed(record()) }))

    const response = await fetch(url, method === "DELETE" ? { method } : { method, body: "x" })
    await response.text()

    expect(response.status).toBe(405)
    expect(response.headers.get("allow")).toBe("GET, HEAD")
  })
})

describe("PullHandler failures", () => {
  it("a failing source gives 500 and one log line", async () => {
    const logger = makeLogger()
    let failing = true
    const url = await serve(
      makeHandler(
        {
          records: () => {
            if (failing) throw new Error("store is gone")
            return [record()]
          },
        },
        { logger },
      ),
    )

    const first = await fetch(url)
    const firstBody = await first.text()
    const second = await fetch(url)
    await second.text()
    failing = false
    const third = await fetch(url)
    await third.text()

    expect(first.status).toBe(500)
    expect(firstBody).toBe("Rendering the metrics failed; the error is in the server log.\n")
    expect(second.status).toBe(500)
    expect(third.status).toBe(200)
    expect(logger.at("error")).toHaveLength(1)
    expect(logger.at("error")[0]).toContain("store is gone")
    expect(logger.at("info")).toStrictEqual([
      "prometheus pull handler: rendering works again after 2 failed scrapes.",
    ])
  })

  it("a throwing logger does not break the answer", async () => {
    const throwing = () => {
      throw new Error("logger down")
    }
    const url = await serve(
      makeHandler(
        {
          records: () => {
            throw new Error("store is gone")
          },
        },
        { logger: { debug: throwing, info: throwing, warn: throwing, error: throwing } },
      ),
    )

    const response = await fetch(url)
    await response.text()

    expect(response.status).toBe(500)
  })

  it("invalid options throw a TypeError", () => {
    expect(() => PullHandler.make({}, { timestamps: 1 as unknown as boolean })).toThrow(TypeError)
    expect(() => PullHandler.make({}, { processMetrics: "yes" as unknown as boolean })).toThrow(
      /processMetrics must be true, false or a function/,
    )
    expect(() =>
      PullHandler.make({}, { includeCustomMetrics: "no" as unknown as boolean }),
    ).toThrow(/includeCustomMetrics must be true or false/)
  })
})

describe("PullHandler live state", () => {
  it("counter never decreases across scrapes", async () => {
    const registry = observed(record(), record())
    const url = await serve(makeHandler({ registry }))
    const countOf = async (): Promise<number> => {
      const body = await (await fetch(url, { headers: { accept: OPENMETRICS } })).text()
      const counter = familyNamed(parseExposition(body, "openmetrics"), "dinoair_operations")
      return Number(counter.samples[0]?.value)
    }

    const first = await countOf()
    registry.observe(record())
    const second = await countOf()
    const third = await countOf()

    expect(first).toBe(2)
    expect(second).toBe(3)
    expect(third).toBe(3)
  })

  it("histogram buckets are cumulative and match the count", async () => {
    const registry = Registry.make({ buckets: [0.01, 0.1, 1] })
    registry.observeAll([0.005, 0.05, 0.05, 0.5, 5].map((duration) => record({ duration })))
    const url = await serve(makeHandler({ registry }))

    const body = await (await fetch(url)).text()
    const histogram = familyNamed(
      parseExposition(body, "text"),
      "dinoair_operation_latency_seconds",
    )
    const buckets = histogram.samples.filter((sample) => sample.name.endsWith("_bucket"))
    const count = histogram.samples.find((sample) => sample.name.endsWith("_count"))

    expect(buckets.map((sample) => [sample.labels.le, Number(sample.value)])).toStrictEqual([
      ["0.01", 1],
      ["0.1", 3],
      ["1", 4],
      ["+Inf", 5],
    ])
    expect(count?.value).toBe("5")
    await expectPromtoolAccepts(body)
  })

  it("records from the source join the registry's latest", () => {
    const handler = makeHandler({
      registry: observed(record({ duration: 1, timestamp: 10 })),
      records: () => [record({ duration: 2, timestamp: 20 }), record({ operation: "only_here" })],
    })

    const gauge = familyNamed(
      parseExposition(handler.render("text"), "text"),
      "dinoair_operation_duration_seconds",
    )

    expect(gauge.samples.map((sample) => [sample.labels.operation, sample.value])).toStrictEqual([
      ["data_processing", "2"],
      ["only_here", "0.153"],
    ])
  })

  it("timestamps are off by default and can be turned on", () => {
    const source = { registry: observed(record()) }
    const off = parseExposition(makeHandler(source).render("openmetrics"), "openmetrics")
    const on = parseExposition(
      makeHandler(source, { timestamps: true, nowSeconds: () => 1699123460.5 }).render(
        "openmetrics",
      ),
      "openmetrics",
    )

    for (const sample of off.flatMap((family) => family.samples)) {
      expect(sample.timestamp).toBeUndefined()
    }
    expect(familyNamed(on, "dinoair_operation_duration_seconds").samples[0]?.timestamp).toBe(
      "1699123456.789",
    )
    expect(familyNamed(on, "dinoair_operations").samples[0]?.timestamp).toBe("1699123460.5")
  })

  it("hostile names stay one series each in both formats", async () => {
    const registry = Registry.make()
    registry.observeAll(HOSTILE_OPERATIONS.map((operation) => record({ operation })))
    const handler = makeHandler({ registry })

    for (const format of ["text", "openmetrics"] as const) {
      const body = handler.render(format)
      const families = parseExposition(body, format)
      const counter = families.find(
        (family) =>
          family.name === (format === "text" ? "dinoair_operations_total" : "dinoair_operations"),
      )

      expect(counter?.samples).toHaveLength(HOSTILE_OPERATIONS.length)
      expect(
        [...(counter?.samples ?? [])].map((sample) => sample.labels.operation).sort(),
      ).toStrictEqual([...HOSTILE_OPERATIONS].sort())
      if (format === "text") await expectPromtoolAccepts(body)
    }
  })

  it("promtool accepts hostile custom names", async () => {
    const customMetrics = Object.fromEntries(
      HOSTILE_CUSTOM_NAMES.map((name, index) => [name, index]),
    )
    const registry = Registry.make()
    registry.observe(record({ customMetrics }))
    const handler = makeHandler({ registry }, { maxCustomMetricNames: 1000 })

    await expectPromtoolAccepts(handler.render("text"))
  })

  it("reads fresh process metrics by default", async () => {
    const handler = PullHandler.make({})
    const url = await serve(handler)

    const body = await (await fetch(url)).text()
    const names = parseExposition(body, "text").map((family) => family.name)

    expect(names).toContain("process_cpu_seconds_total")
    expect(names).toContain("nodejs_eventloop_lag_p99_seconds")
    expect(
      Number(
        familyNamed(parseExposition(body, "text"), "process_resident_memory_bytes").samples[0]
          ?.value,
      ),
    ).toBeGreaterThan(0)
    await expectPromtoolAccepts(body)
  })

  it("process metrics can be turned off", () => {
    const handler = PullHandler.make({}, { processMetrics: false })
    handlers.push(handler)

    expect(handler.render("text")).toBe("")
    expect(handler.render("openmetrics")).toBe("# EOF\n")
  })

  it("close is safe to call twice", () => {
    const handler = PullHandler.make({})

    handler.close()
    handler.close()

    expect(handler.render("text")).toContain("process_cpu_seconds_total")
  })
})
