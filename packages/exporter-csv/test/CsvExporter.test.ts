import type { DinoLogger, OperationMetrics } from "@dinoair/monitor"
import { Exporter, Plugin, TelemetryConfig } from "@dinoair/telemetry"
import { parse } from "csv-parse/sync"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { CsvCell, CsvExporter, plugin } from "../src/index.js"

const record = (overrides: Partial<OperationMetrics> = {}): OperationMetrics => ({
  id: "data_processing_1",
  operation: "data_processing",
  duration: 0.153,
  timestamp: 1699123456.789,
  memoryUsage: 1048576,
  memoryDelta: undefined,
  cpuUsage: 15.3,
  status: "ok",
  error: undefined,
  customMetrics: { records_processed: 1000 },
  parentId: undefined,
  systemInfo: undefined,
  ...overrides,
})

const context = (overrides: Partial<Exporter.ExportContext> = {}): Exporter.ExportContext => ({
  timestamp: 1699123460,
  processMetrics: undefined,
  includeCustomMetrics: true,
  source: "checkout",
  ...overrides,
})

const encode = (
  records: ReadonlyArray<OperationMetrics>,
  exportContext: Exporter.ExportContext = context(),
  options?: CsvExporter.CsvExporterOptions,
): Exporter.Payload => CsvExporter.make(options).encode(records, exportContext)

/** Reads a document with csv-parse's default options, which reject rows of unequal length. */
const parseRows = (text: string): Array<Array<string>> => parse(text)

/** Encodes records and reads them back, returning the rows after the header. */
const roundTrip = (
  records: ReadonlyArray<OperationMetrics>,
  exportContext: Exporter.ExportContext = context(),
  options?: CsvExporter.CsvExporterOptions,
): Array<Array<string>> =>
  parseRows(Exporter.documentOf(encode(records, exportContext, options))).slice(1)

const onlyRow = (records: ReadonlyArray<OperationMetrics>): Array<string> => {
  const rows = roundTrip(records)
  if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`)
  return rows[0] ?? []
}

const column = (name: (typeof CsvExporter.COLUMNS)[number]): number =>
  CsvExporter.COLUMNS.indexOf(name)

const customMetricsOf = (row: ReadonlyArray<string>): unknown =>
  JSON.parse(row[column("custom_metrics")] ?? "")

const logger: DinoLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
}

describe("CsvExporter document", () => {
  it("golden text for two records", () => {
    const payload = encode([
      record(),
      record({
        operation: "=cmd",
        duration: 0.002,
        memoryUsage: undefined,
        cpuUsage: undefined,
        timestamp: 1699123457,
        status: "error",
        customMetrics: {},
      }),
    ])

    expect(Exporter.documentOf(payload)).toBe(
      "operation,duration,memory_usage,cpu_usage,timestamp,status,custom_metrics\r\n" +
        'data_processing,0.153,1048576,15.3,1699123456.789,ok,"{""records_processed"":1000}"\r\n' +
        "'=cmd,0.002,,,1699123457,error,{}\r\n",
    )
  })

  it("header line names the seven columns", () => {
    expect(encode([]).header).toBe(
      "operation,duration,memory_usage,cpu_usage,timestamp,status,custom_metrics",
    )
  })

  it("parser reads the values back", () => {
    const rows = parseRows(Exporter.documentOf(encode([record()])))

    expect(rows).toStrictEqual([
      [...CsvExporter.COLUMNS],
      [
        "data_processing",
        "0.153",
        "1048576",
        "15.3",
        "1699123456.789",
        "ok",
        '{"records_processed":1000}',
      ],
    ])
  })

  it("every line ends with CRLF", () => {
    const text = Exporter.documentOf(encode([record(), record()]))

    expect(text.split("\r\n")).toHaveLength(4)
    expect(text.replaceAll("\r\n", "")).not.toMatch(/[\r\n]/)
  })

  it("empty batch is the header line alone", () => {
    const payload = encode([])

    expect(payload.body).toBe("")
    expect(payload.recordCount).toBe(0)
    expect(parseRows(Exporter.documentOf(payload))).toStrictEqual([[...CsvExporter.COLUMNS]])
  })
})

describe("CsvExporter payload", () => {
  it("declares an appendable CSV file", () => {
    const payload = encode([record(), record()])

    expect(payload.contentType).toBe("text/csv; charset=utf-8; header=present")
    expect(payload.fileExtension).toBe("csv")
    expect(payload.fileMode).toBe("append")
    expect(payload.separator).toBe("")
    expect(payload.footer).toBe("\r\n")
    expect(payload.recordCount).toBe(2)
  })

  it("shape matches its payloads", () => {
    const exporter = CsvExporter.make()

    expect(exporter.format).toBe("csv")
    expect(exporter.contentType).toBe("text/csv; charset=utf-8; header=present")
    expect(exporter.fileExtension).toBe("csv")
  })

  it("body starts every row with CRLF", () => {
    const payload = encode([record({ operation: "a" }), record({ operation: "b" })])

    expect(payload.body.startsWith("\r\na,")).toBe(true)
    expect(payload.body).toContain("\r\nb,")
    expect(payload.body.endsWith("\r\n")).toBe(false)
  })

  it("appended payloads parse as one file", () => {
    const exporter = CsvExporter.make()
    const first = exporter.encode([record({ operation: "a" })], context())
    const second = exporter.encode(
      [record({ operation: "b" }), record({ operation: "c" })],
      context(),
    )

    const text = first.header + first.body + second.separator + second.body + second.footer
    const operations = parseRows(text).map((row) => row[0])

    expect(operations).toStrictEqual(["operation", "a", "b", "c"])
  })

  it("encoding leaves the records unchanged", () => {
    const customMetrics = Object.freeze({ rate: Number.NaN, nested: Object.freeze({ n: -0 }) })
    const frozen = Object.freeze(record({ operation: "=x", customMetrics }))

    encode([frozen])

    expect(frozen.operation).toBe("=x")
    expect(Number.isNaN(frozen.customMetrics.rate)).toBe(true)
    expect(Object.is((frozen.customMetrics.nested as { n: number }).n, -0)).toBe(true)
  })
})

describe("CsvExporter numbers", () => {
  it("missing readings are empty fields", () => {
    const row = onlyRow([record({ memoryUsage: undefined, cpuUsage: undefined })])

    expect(row[column("memory_usage")]).toBe("")
    expect(row[column("cpu_usage")]).toBe("")
  })

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
  ])("%s reading is an empty field", (_name, value) => {
    const row = onlyRow([record({ duration: value, cpuUsage: value, timestamp: value })])

    expect(row[column("duration")]).toBe("")
    expect(row[column("cpu_usage")]).toBe("")
    expect(row[column("timestamp")]).toBe("")
  })

  it("negative zero is zero", () => {
    const row = onlyRow([record({ duration: -0 })])

    expect(row[column("duration")]).toBe("0")
  })

  it("negative numbers keep their sign", () => {
    const row = onlyRow([record({ duration: -1.5, memoryUsage: -2048, cpuUsage: -0.25 })])

    expect(row[column("duration")]).toBe("-1.5")
    expect(row[column("memory_usage")]).toBe("-2048")
    expect(row[column("cpu_usage")]).toBe("-0.25")
  })

  it("tiny and huge numbers have no exponent", () => {
    const row = onlyRow([record({ duration: 1.5e-7, memoryUsage: 2e21 })])

    expect(row[column("duration")]).toBe("0.00000015")
    expect(row[column("memory_usage")]).toBe("2000000000000000000000")
  })

  it.each([
    0.153,
    1699123456.789,
    1e-7,
    5e-324,
    Number.MAX_VALUE,
    Number.MAX_SAFE_INTEGER,
    0.1 + 0.2,
  ])("%s reads back exactly", (value) => {
    const row = onlyRow([record({ duration: value })])

    expect(Number(row[column("duration")])).toBe(value)
  })
})

/** Operation names that try to break the file or a spreadsheet, and the field read back. */
const hostileNames: ReadonlyArray<readonly [name: string, input: string, field: string]> = [
  ["comma", "a,b", "a,b"],
  ["double quote", 'say "hi"', 'say "hi"'],
  ["lone quote", '"', '"'],
  ["CR", "line\rbreak", "line\rbreak"],
  ["LF", "line\nbreak", "line\nbreak"],
  ["CRLF", "line\r\nbreak", "line\r\nbreak"],
  ["CRLF and a fake row", 'x\r\n=1,2,3,4,5,6,"{}"', 'x\r\n=1,2,3,4,5,6,"{}"'],
  ["NUL", "nul\0byte", "nul\0byte"],
  ["other control characters", "bell\u0007esc\u001bdel\u007f", "bell\u0007esc\u001bdel\u007f"],
  ["Unicode", "日本語 données 🦕 e\u0301", "日本語 données 🦕 e\u0301"],
  ["byte order mark inside", "\uFEFFname", "\uFEFFname"],
  ["empty", "", ""],
  ["equals", "=SUM(A1:A2)", "'=SUM(A1:A2)"],
  ["plus", "+1", "'+1"],
  ["minus", "-1", "'-1"],
  ["at", "@cmd", "'@cmd"],
  ["tab", "\tTab", "'\tTab"],
  ["leading CR", "\r=1", "'\r=1"],
  ["leading LF", "\n=1", "'\n=1"],
  ["leading NUL", "\0=1", "'\0=1"],
  ["leading space", " =1", "' =1"],
  ["full-width equals", "\uFF1D1+1", "'\uFF1D1+1"],
  ["apostrophe", "'=1", "''=1"],
  ["DDE payload", "=cmd|'/c calc'!A1", "'=cmd|'/c calc'!A1"],
  ["trailing space", "name ", "name "],
  ["lone high surrogate", "a\uD800b", "a\uFFFDb"],
  ["lone low surrogate", "\uDC00", "\uFFFD"],
  ["reversed pair", "\uDC00\uD800", "\uFFFD\uFFFD"],
  ["10,000 characters", `${'ab,"\r\n'.repeat(1666)}abcd`, `${'ab,"\r\n'.repeat(1666)}abcd`],
]

describe("CsvExporter text fields", () => {
  it.each(hostileNames)("%s operation reads back", (_name, input, field) => {
    const row = onlyRow([record({ operation: input })])

    expect(row[column("operation")]).toBe(field)
  })

  it.each(hostileNames)("%s operation is restorable", (_name, input, field) => {
    const row = onlyRow([record({ operation: input })])

    expect(CsvCell.restoreFormula(row[column("operation")] ?? "")).toBe(CsvCell.toWellFormed(input))
    expect(CsvCell.restoreFormula(field)).toBe(CsvCell.toWellFormed(input))
  })

  it("10,000-character name is 10,000 characters", () => {
    const name = "x".repeat(10_000)

    expect(onlyRow([record({ operation: name })])[column("operation")]).toHaveLength(10_000)
  })

  it("no input adds a row or a column", () => {
    const records = hostileNames.map(([, input]) => record({ operation: input, status: "error" }))

    const rows = roundTrip(records)

    expect(rows).toHaveLength(records.length)
    for (const row of rows) expect(row).toHaveLength(7)
    expect(rows.map((row) => row[column("status")])).toStrictEqual(records.map(() => "error"))
  })

  it("status from an untyped source is neutralized", () => {
    const status = "=1+1" as OperationMetrics["status"]

    expect(onlyRow([record({ status })])[column("status")]).toBe("'=1+1")
  })

  it("field with a comma is quoted", () => {
    expect(encode([record({ operation: "a,b" })]).body).toBe(
      '\r\n"a,b",0.153,1048576,15.3,1699123456.789,ok,"{""records_processed"":1000}"',
    )
  })

  it("plain field is not quoted", () => {
    expect(encode([record({ operation: "plain name" })]).body.startsWith("\r\nplain name,")).toBe(
      true,
    )
  })

  it("written text is well-formed UTF-16", () => {
    const text = Exporter.documentOf(encode([record({ operation: "\uD83D" })]))

    expect(Buffer.from(text, "utf8").toString("utf8")).toBe(text)
  })
})

describe("CsvExporter custom metrics", () => {
  it("hard values read back as JSON", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const customMetrics = {
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      negativeInf: Number.NEGATIVE_INFINITY,
      negativeZero: -0,
      big: 2n ** 70n,
      small: 12n,
      at: new Date(0),
      tags: new Set(["a"]),
      byShard: new Map([["s1", 1]]),
      cyclic,
      callback: () => 0,
      symbol: Symbol("s"),
      missing: undefined,
    }

    const row = onlyRow([record({ customMetrics })])

    expect(customMetricsOf(row)).toStrictEqual({
      nan: "NaN",
      inf: "Infinity",
      negativeInf: "-Infinity",
      negativeZero: 0,
      big: "1180591620717411303424",
      small: 12,
      at: "1970-01-01T00:00:00.000Z",
      tags: ["a"],
      byShard: { s1: 1 },
      cyclic: { self: "[Circular]" },
    })
  })

  it("hostile strings read back", () => {
    const text = '=1,"\r\n\0\t日本🦕\uD800'
    const row = onlyRow([record({ customMetrics: { [text]: text } })])

    expect(customMetricsOf(row)).toStrictEqual({ [text]: text })
  })

  it("__proto__ and constructor stay keys", () => {
    const customMetrics = JSON.parse(
      '{"__proto__":{"polluted":true},"constructor":{"prototype":1}}',
    ) as Record<string, unknown>

    const parsed = customMetricsOf(onlyRow([record({ customMetrics })])) as Record<string, unknown>

    expect(Object.keys(parsed)).toStrictEqual(["__proto__", "constructor"])
    expect(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value).toStrictEqual({
      polluted: true,
    })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("JSON field never starts a formula", () => {
    const row = onlyRow([record({ customMetrics: { "=cmd": "=cmd" } })])

    expect(row[column("custom_metrics")]?.startsWith("{")).toBe(true)
  })

  it("includeCustomMetrics false writes {}", () => {
    const payload = encode([record()], context({ includeCustomMetrics: false }))

    expect(parseRows(Exporter.documentOf(payload))[1]?.[column("custom_metrics")]).toBe("{}")
    expect(payload.body).not.toContain("records_processed")
  })

  it("unreadable custom metrics become {}", () => {
    const customMetrics = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("revoked")
        },
      },
    )

    expect(customMetricsOf(onlyRow([record({ customMetrics })]))).toStrictEqual({})
  })

  it("throwing getter is [Unreadable]", () => {
    const customMetrics = {
      get broken(): number {
        throw new Error("getter failed")
      },
      kept: 1,
    }

    expect(customMetricsOf(onlyRow([record({ customMetrics })]))).toStrictEqual({
      broken: "[Unreadable]",
      kept: 1,
    })
  })

  it("maxDepth counts custom_metrics itself", () => {
    const rows = roundTrip([record({ customMetrics: { a: { b: 1 } } })], context(), {
      maxDepth: 2,
    })

    expect(customMetricsOf(rows[0] ?? [])).toStrictEqual({ a: { b: 1 } })
  })

  it("nesting past maxDepth is truncated", () => {
    const rows = roundTrip([record({ customMetrics: { a: { b: 1 } } })], context(), {
      maxDepth: 1,
    })

    expect(customMetricsOf(rows[0] ?? [])).toStrictEqual({ a: "[Truncated]" })
  })
})

describe("CsvExporter byte order mark", () => {
  it("off by default", () => {
    expect(encode([]).header.startsWith("operation")).toBe(true)
  })

  it("starts the header when on", () => {
    const payload = encode([record()], context(), { byteOrderMark: true })

    expect(payload.header.startsWith("\uFEFFoperation,")).toBe(true)
    expect(payload.body).not.toContain("\uFEFF")
  })

  it("parser with bom reads the header", () => {
    const text = Exporter.documentOf(encode([record()], context(), { byteOrderMark: true }))

    expect(parse(text, { bom: true })[0]).toStrictEqual([...CsvExporter.COLUMNS])
  })

  it("only true turns it on", () => {
    const options = { byteOrderMark: "yes" } as unknown as CsvExporter.CsvExporterOptions

    expect(encode([], context(), options).header.startsWith("operation")).toBe(true)
  })
})

describe("CsvExporter services", () => {
  it("layer provides the Exporter service", async () => {
    const format = await Effect.runPromise(
      Effect.map(Effect.service(Exporter.Exporter), (exporter) => exporter.format).pipe(
        Effect.provide(CsvExporter.layer()),
      ),
    )

    expect(format).toBe("csv")
  })

  it("plugin has the shape the facade loads", () => {
    expect(Plugin.isPlugin(plugin)).toBe(true)
    expect(plugin.kind).toBe("exporter")
    expect(plugin.format).toBe("csv")
  })

  it("plugin builds an exporter from options", () => {
    const exporter = plugin.make({
      config: TelemetryConfig.defaultTelemetryConfig,
      options: { byteOrderMark: true },
      logger,
    })

    expect(exporter.format).toBe("csv")
    expect(exporter.encode([], context()).header.startsWith("\uFEFF")).toBe(true)
  })

  it("plugin ignores options of the wrong type", () => {
    const exporter = plugin.make({
      config: TelemetryConfig.defaultTelemetryConfig,
      options: { maxDepth: "deep", byteOrderMark: 1 },
      logger,
    })
    const payload = exporter.encode([record({ customMetrics: { a: { b: { c: 1 } } } })], context())

    expect(payload.header).toBe(CsvExporter.HEADER_LINE)
    expect(customMetricsOf(parseRows(Exporter.documentOf(payload))[1] ?? [])).toStrictEqual({
      a: { b: { c: 1 } },
    })
  })
})
