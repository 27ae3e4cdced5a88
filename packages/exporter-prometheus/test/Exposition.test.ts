import { describe, expect, it } from "vitest"
import { Exposition } from "../src/index.js"
import { expectPromtoolAccepts, parseExposition } from "./helpers.js"

const families: ReadonlyArray<Exposition.Family> = [
  {
    name: "dinoair_jobs",
    type: "counter",
    help: 'Jobs \\ done\nby "kind"',
    samples: [
      {
        name: "dinoair_jobs_total",
        labels: [["kind", 'a"b\\c\nd']],
        value: 3,
        timestampMs: 1699123456789,
      },
    ],
  },
  {
    name: "dinoair_wait_seconds",
    type: "histogram",
    help: "Waits",
    samples: [
      { name: "dinoair_wait_seconds_bucket", labels: [], le: 1, value: 1 },
      { name: "dinoair_wait_seconds_bucket", labels: [], le: 2.5, value: 2 },
      { name: "dinoair_wait_seconds_bucket", labels: [], le: Number.POSITIVE_INFINITY, value: 2 },
      { name: "dinoair_wait_seconds_sum", labels: [], value: 3 },
      { name: "dinoair_wait_seconds_count", labels: [], value: 2 },
    ],
  },
  { name: "dinoair_empty", type: "gauge", help: "No samples", samples: [] },
]

describe("Exposition.render", () => {
  it("golden text 0.0.4", async () => {
    const text = Exposition.render(families, "text")

    expect(text).toBe(`# HELP dinoair_jobs_total Jobs \\\\ done\\nby "kind"
# TYPE dinoair_jobs_total counter
dinoair_jobs_total{kind="a\\"b\\\\c\\nd"} 3 1699123456789

# HELP dinoair_wait_seconds Waits
# TYPE dinoair_wait_seconds histogram
dinoair_wait_seconds_bucket{le="1"} 1
dinoair_wait_seconds_bucket{le="2.5"} 2
dinoair_wait_seconds_bucket{le="+Inf"} 2
dinoair_wait_seconds_sum 3
dinoair_wait_seconds_count 2
`)
    await expectPromtoolAccepts(text)
  })

  it("golden OpenMetrics 1.0.0", () => {
    expect(
      Exposition.render(families, "openmetrics"),
    ).toBe(`# HELP dinoair_jobs Jobs \\\\ done\\nby \\"kind\\"
# TYPE dinoair_jobs counter
dinoair_jobs_total{kind="a\\"b\\\\c\\nd"} 3 1699123456.789
# HELP dinoair_wait_seconds Waits
# TYPE dinoair_wait_seconds histogram
dinoair_wait_seconds_bucket{le="1.0"} 1
dinoair_wait_seconds_bucket{le="2.5"} 2
dinoair_wait_seconds_bucket{le="+Inf"} 2
dinoair_wait_seconds_sum 3
dinoair_wait_seconds_count 2
# EOF
`)
  })

  it("parsers read the escapes back", () => {
    for (const format of ["text", "openmetrics"] as const) {
      const [jobs] = parseExposition(Exposition.render(families, format), format)

      expect(jobs?.help).toBe('Jobs \\ done\nby "kind"')
      expect(jobs?.samples[0]?.labels.kind).toBe('a"b\\c\nd')
    }
  })

  it("no families give an empty text and a bare # EOF", async () => {
    expect(Exposition.render([], "text")).toBe("")
    expect(Exposition.render([], "openmetrics")).toBe("# EOF\n")
    await expectPromtoolAccepts("")
  })
})

describe("Exposition values", () => {
  it.each([
    [0, "0"],
    [-0, "0"],
    [1.5, "1.5"],
    [-2, "-2"],
    [1e21, "1e+21"],
    [5e-324, "5e-324"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NEGATIVE_INFINITY, "-Inf"],
  ])("formatValue(%s) is %j", (value, expected) => {
    expect(Exposition.formatValue(value)).toBe(expected)
  })

  it.each([
    [1, "1", "1.0"],
    [0, "0", "0.0"],
    [0.005, "0.005", "0.005"],
    [1e21, "1e+21", "1e+21"],
    [Number.POSITIVE_INFINITY, "+Inf", "+Inf"],
  ])("formatBound(%s) is %j in text and %j in OpenMetrics", (bound, text, openMetrics) => {
    expect(Exposition.formatBound(bound, "text")).toBe(text)
    expect(Exposition.formatBound(bound, "openmetrics")).toBe(openMetrics)
  })

  it.each([
    [1699123456.789, 1699123456789],
    [0, 0],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    [1e300, undefined],
  ])("timestampMsOf(%s) is %s", (seconds, expected) => {
    expect(Exposition.timestampMsOf(seconds)).toBe(expected)
  })
})

describe("Exposition.negotiate", () => {
  const PROMETHEUS_2 =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
  const PROMETHEUS_3 =
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

  it.each([
    [undefined, "text"],
    ["", "text"],
    ["*/*", "text"],
    ["text/plain", "text"],
    ["text/plain;version=0.0.4", "text"],
    ["application/openmetrics-text", "openmetrics"],
    ["application/openmetrics-text;version=1.0.0", "openmetrics"],
    ["Application/OpenMetrics-Text; Version=1.0.0", "openmetrics"],
    ['application/openmetrics-text;version="1.0.0"', "openmetrics"],
    ["application/openmetrics-text;version=0.0.1", "text"],
    ["application/openmetrics-text;version=2.0.0", "text"],
    ["application/openmetrics-text;version=1.0.0;q=0", "text"],
    ["text/plain;q=0.9,application/openmetrics-text;version=1.0.0;q=0.8", "text"],
    ["text/plain;q=0.5,application/openmetrics-text;q=0.5", "text"],
    ["application/openmetrics-text;q=0.5,text/plain;q=0.5", "openmetrics"],
    ["application/json", "text"],
    [
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3",
      "text",
    ],
    [PROMETHEUS_2, "openmetrics"],
    [PROMETHEUS_3, "openmetrics"],
  ])("%j gives %s", (accept, expected) => {
    expect(Exposition.negotiate(accept)).toBe(expected)
  })

  it("accepts repeated headers", () => {
    expect(Exposition.negotiate(["text/plain;q=0.1", "application/openmetrics-text"])).toBe(
      "openmetrics",
    )
  })

  it("content types", () => {
    expect(Exposition.contentTypeOf("text")).toBe("text/plain; version=0.0.4; charset=utf-8")
    expect(Exposition.contentTypeOf("openmetrics")).toBe(
      "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )
  })
})
