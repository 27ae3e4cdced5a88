import { describe, expect, it } from "vitest"
import { Redaction } from "../src/index.js"

describe("Redaction.redactUrl", () => {
  it.each<[string, string]>([
    ["https://collector.example/ingest", "https://collector.example/ingest"],
    ["https://user:pass@collector.example/ingest", "https://collector.example/ingest"],
    ["http://user@127.0.0.1:9091/x", "http://127.0.0.1:9091/x"],
    ["http://:pass@127.0.0.1/x", "http://127.0.0.1/x"],
    ["https://collector.example/x#secret-fragment", "https://collector.example/x"],
    [
      "https://collector.example/x?api_key=abc&team=web",
      "https://collector.example/x?api_key=%5BREDACTED%5D&team=web",
    ],
    [
      "https://collector.example/x?token=a&Token=b&sig=c&auth=d",
      "https://collector.example/x?token=%5BREDACTED%5D&Token=%5BREDACTED%5D&sig=%5BREDACTED%5D&auth=%5BREDACTED%5D",
    ],
    [
      "https://collector.example/x?password=a&password=b",
      "https://collector.example/x?password=%5BREDACTED%5D",
    ],
    ["not a url", "<invalid URL>"],
  ])("%s → %s", (input, expected) => {
    expect(Redaction.redactUrl(input)).toBe(expected)
  })

  it("accepts a URL object and leaves it unchanged", () => {
    const url = new URL("https://user:pass@collector.example/x?key=1")

    expect(Redaction.redactUrl(url)).toBe("https://collector.example/x?key=%5BREDACTED%5D")
    expect(url.href).toBe("https://user:pass@collector.example/x?key=1")
  })
})

describe("Redaction.isSecretHeader", () => {
  it.each(["authorization", "Proxy-Authorization", "cookie", "x-api-key", "x-auth-token"])(
    "%s is secret",
    (name) => {
      expect(Redaction.isSecretHeader(name)).toBe(true)
    },
  )

  it.each(["x-tenant", "accept", "user-agent"])("%s is not secret", (name) => {
    expect(Redaction.isSecretHeader(name)).toBe(false)
  })
})

describe("Redaction.Scrubber", () => {
  it("replaces every occurrence of each secret", () => {
    const scrubber = new Redaction.Scrubber(["hunter22", "tok-abc"])

    expect(scrubber.scrub("pw hunter22, token tok-abc, again hunter22")).toBe(
      "pw [REDACTED], token [REDACTED], again [REDACTED]",
    )
  })

  it("replaces the URL-encoded form too", () => {
    const scrubber = new Redaction.Scrubber(["p@ss word"])

    expect(scrubber.scrub("user:p%40ss%20word@host")).toBe("user:[REDACTED]@host")
  })

  it("replaces a longer secret whole before a shorter one inside it", () => {
    const scrubber = new Redaction.Scrubber(["abcd", "Bearer abcd-efgh"])

    expect(scrubber.scrub("got Bearer abcd-efgh")).toBe("got [REDACTED]")
  })

  it("leaves secrets shorter than 4 characters", () => {
    const scrubber = new Redaction.Scrubber(["abc"])

    expect(scrubber.scrub("abc")).toBe("abc")
  })
})

describe("Redaction.secretsOf", () => {
  it("collects userinfo, secret query values and secret headers", () => {
    const url = new URL("https://ci%40corp:p%40ss@collector.example/x?api_key=k123&team=web")

    const secrets = Redaction.secretsOf(url, {
      authorization: "Bearer tok-999",
      "x-tenant": "web-team",
    })

    expect(secrets).toContain("ci@corp")
    expect(secrets).toContain("ci%40corp")
    expect(secrets).toContain("p@ss")
    expect(secrets).toContain("k123")
    expect(secrets).toContain("Bearer tok-999")
    expect(secrets).toContain("tok-999")
    expect(secrets).not.toContain("web")
    expect(secrets).not.toContain("web-team")
  })
})
