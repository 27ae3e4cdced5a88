import { describe, expect, it } from "vitest"
import { Names } from "../src/index.js"

describe("Names.sanitizeName", () => {
  it.each([
    ["records_processed", "records_processed"],
    ["recordsProcessed", "records_processed"],
    ["HTTPServerErrors", "http_server_errors"],
    ["cpu2Load", "cpu2_load"],
    ["rows.read", "rows_read"],
    ["cache hit %", "cache_hit"],
    ["__proto__", "proto"],
    ["a::b", "a_b"],
    ["größe", "gr_e"],
    ["😀", ""],
    ["", ""],
    ["9lives", "9lives"],
    ["multiple___underscores", "multiple_underscores"],
  ])("%j becomes %j", (input, expected) => {
    expect(Names.sanitizeName(input)).toBe(expected)
  })

  it("output matches the metric name rules", () => {
    for (const input of ["a b", "ÄÖÜ", "x\ny", 'q"uote', "__name__", "-1", "a".repeat(300)]) {
      expect(Names.sanitizeName(input)).toMatch(/^([a-z0-9]+(_[a-z0-9]+)*)?$/)
    }
  })
})

describe("Names.customMetricName", () => {
  it.each([
    ["rows", "dinoair_custom_rows"],
    ["errorCount", "dinoair_custom_error_count_value"],
    ["requests_total", "dinoair_custom_requests_total_value"],
    ["latency.sum", "dinoair_custom_latency_sum_value"],
    ["le_bucket", "dinoair_custom_le_bucket_value"],
    ["build_info", "dinoair_custom_build_info_value"],
    ["start_created", "dinoair_custom_start_created_value"],
    ["total", "dinoair_custom_total_value"],
    ["???", "dinoair_custom_unnamed"],
    ["7days", "dinoair_custom_7days"],
  ])("%j becomes %j", (input, expected) => {
    expect(Names.customMetricName("dinoair_", input)).toBe(expected)
  })

  it.each([
    ["A B", "dinoair_custom_ab"],
    ["Symbol(m)", "dinoair_custom_symbolm"],
    ["latency_ms", "dinoair_custom_latencyms"],
    ["ms_latency", "dinoair_custom_mslatency"],
    ["ms", "dinoair_custom_msvalue"],
    ["m_s", "dinoair_custom_msvalue"],
    ["durationMilliseconds", "dinoair_custom_durationmilliseconds"],
    ["milli_seconds", "dinoair_custom_milli_seconds"],
    ["kilo_bytes", "dinoair_custom_kilo_bytes"],
    ["request_counter_total", "dinoair_custom_requestcounter_total_value"],
    ["queue gauge depth", "dinoair_custom_queuegauge_depth"],
    ["size_bytes", "dinoair_custom_size_bytes"],
  ])("flagged word in %j is joined: %j", (input, expected) => {
    expect(Names.customMetricName("dinoair_", input)).toBe(expected)
  })

  it.each([
    ["My App", "my_app_"],
    ["0abc", "_0abc_"],
    ["9 ms", "_9ms_"],
    ["", ""],
  ])("prefix %j becomes %j", (input, expected) => {
    expect(Names.sanitizePrefix(input)).toBe(expected)
  })

  it("an empty prefix still gives a valid name", () => {
    expect(Names.customMetricName("", "7days")).toBe("custom_7days")
  })
})

describe("Names.sanitizeLabelName", () => {
  it.each([
    ["service", "service"],
    ["Deploy-Region", "deploy_region"],
    ["__name__", "name"],
    ["2xx", "_2xx"],
    ["!!!", "label"],
  ])("%j becomes %j", (input, expected) => {
    expect(Names.sanitizeLabelName(input)).toBe(expected)
  })
})

describe("Names.sanitizePrefix", () => {
  it.each([
    ["dinoair_", "dinoair_"],
    ["dinoair", "dinoair_"],
    ["My App", "my_app_"],
    ["", ""],
    ["___", ""],
    ["ms", "ms_"],
    ["shop ms", "shopms_"],
    ["minutes", "minutesvalue_"],
    ["Kilo Bytes", "kilo_bytes_"],
  ])("%j becomes %j", (input, expected) => {
    expect(Names.sanitizePrefix(input)).toBe(expected)
  })
})

describe("Names.toWellFormed", () => {
  it.each([
    ["plain", "plain"],
    ["😀", "😀"],
    ["a\uD800b", "a\uFFFDb"],
    ["a\uDC00", "a\uFFFD"],
    ["\uDC00\uD800", "\uFFFD\uFFFD"],
  ])("%j becomes %j", (input, expected) => {
    expect(Names.toWellFormed(input)).toBe(expected)
  })
})
