import { PrometheusError } from "@dinoair/exporter-prometheus"
import { MonitorError } from "@dinoair/monitor"
import { SinkError } from "@dinoair/telemetry"
import { describe, expect, it } from "vitest"
import {
  ConfigError,
  DinoAirError,
  ExportError,
  type TaggedDinoAirError,
  toError,
} from "../src/index.js"

const sinkReasons: ReadonlyArray<SinkError.SinkErrorReason> = [
  "WriteFailed",
  "Timeout",
  "Status",
  "Network",
  "Rejected",
  "PluginMissing",
  "InvalidConfig",
  "Encode",
]

/** One tagged error of every reason of every DinoAir package, with the subclass it maps to. */
const cases: ReadonlyArray<readonly [TaggedDinoAirError, new (...args: never) => DinoAirError]> = [
  ...sinkReasons.map(
    (reason) =>
      [new SinkError.SinkError({ reason, message: `sink ${reason}` }), ExportError] as const,
  ),
  [new MonitorError.MonitorError({ reason: "InvalidConfig", message: "bad rate" }), ConfigError],
  [
    new PrometheusError.PrometheusError({ reason: "InvalidOption", message: "bad buckets" }),
    ConfigError,
  ],
]

describe("toError", () => {
  it.each(cases)("maps %s to its subclass", (tagged, subclass) => {
    const error = toError(tagged)

    expect(error).toBeInstanceOf(subclass)
    expect(error).toBeInstanceOf(DinoAirError)
    expect(error).toBeInstanceOf(Error)
  })

  it.each(cases)("keeps the code of %s", (tagged) => {
    const error = toError(tagged)

    expect(error.code).toBe(tagged.code)
    expect(error.code).toMatch(/^DINOAIR_[A-Z_]+$/)
    expect(error.reason).toBe(tagged.reason)
    expect(error.message).toBe(tagged.message)
    expect(error.cause).toBe(tagged)
  })

  it("codes are distinct across packages", () => {
    const codes = cases.map(([tagged]) => tagged.code)

    expect(new Set(codes).size).toBe(codes.length)
  })

  it("ExportError keeps destination and status", () => {
    const error = toError(
      new SinkError.SinkError({
        reason: "Status",
        message: "503",
        destination: "http://127.0.0.1/ingest",
        status: 503,
      }),
    )

    expect((error as ExportError).destination).toBe("http://127.0.0.1/ingest")
    expect((error as ExportError).status).toBe(503)
    expect(error.name).toBe("ExportError")
  })

  it("ConfigError is named ConfigError", () => {
    const error = toError(
      new PrometheusError.PrometheusError({ reason: "InvalidOption", message: "x" }),
    )

    expect(error.name).toBe("ConfigError")
  })

  it("unknown tag maps to DinoAirError", () => {
    const thirdParty = {
      _tag: "KafkaSinkError",
      reason: "Broker",
      code: "ACME_KAFKA_BROKER",
      message: "no broker",
    }

    const error = toError(thirdParty)

    expect(error.constructor).toBe(DinoAirError)
    expect(error.code).toBe("ACME_KAFKA_BROKER")
  })
})
