/**
 * Properties of the credential redaction over generated secrets: whatever
 * the user name, password, query token and bearer token are, no log form of
 * the URL and no scrubbed message contains any of them.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { REDACTED, redactUrl, Scrubber, secretsOf } from "../src/Redaction.js"

/**
 * A secret of 8 to 24 characters from the URL-safe alphabet and a few
 * punctuation marks, prefixed so that it can never be part of the
 * surrounding text (the host, the path, the word REDACTED).
 */
const secretArbitrary = (prefix: string): fc.Arbitrary<string> =>
  fc
    .string({
      unit: fc.constantFrom(
        ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$*+=:@/?#%& ",
      ),
      minLength: 8,
      maxLength: 24,
    })
    .map((tail) => `${prefix}${tail}`)

const credentials = fc.record({
  user: secretArbitrary("U"),
  password: secretArbitrary("P"),
  token: secretArbitrary("T"),
  bearer: secretArbitrary("B"),
})

/**
 * Every form of a secret that a log line could show: as given, URL-encoded
 * as a path or userinfo part, form-encoded as a query value (a space as
 * `+`), and with every reserved character percent-encoded.
 */
const formsOf = (secret: string): Array<string> => [
  secret,
  encodeURIComponent(secret),
  new URLSearchParams({ value: secret }).toString().slice("value=".length),
  encodeURIComponent(secret).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  ),
]

describe("Redaction properties", () => {
  it("token typed percent-encoded is scrubbed", () => {
    // The URL as a user may type it, which a server may echo back as it arrived.
    const typed = "https://collector.example/ingest?token=Tq%21x%27y%20z&team=web"
    const url = new URL(typed)
    const scrubber = new Scrubber(secretsOf(url, {}))

    const scrubbed = scrubber.scrub(`GET ${typed} failed`)

    expect(scrubbed).toBe(`GET https://collector.example/ingest?token=${REDACTED}&team=web failed`)
  })

  it("redactUrl hides userinfo and token", () => {
    fc.assert(
      fc.property(credentials, ({ user, password, token }) => {
        const url = new URL("https://collector.example:8443/ingest")
        url.username = encodeURIComponent(user)
        url.password = encodeURIComponent(password)
        url.searchParams.set("token", token)
        url.searchParams.set("team", "web")

        const shown = redactUrl(url.href)

        for (const secret of [user, password, token].flatMap(formsOf)) {
          expect(shown).not.toContain(secret)
        }
        expect(shown).toContain("team=web")
        expect(new URL(shown).searchParams.get("token")).toBe(REDACTED)
      }),
      { numRuns: 300 },
    )
  })

  it("scrubber removes every collected secret", () => {
    fc.assert(
      fc.property(credentials, fc.string({ maxLength: 30 }), (found, filler) => {
        const url = new URL("https://collector.example/ingest")
        url.username = encodeURIComponent(found.user)
        url.password = encodeURIComponent(found.password)
        url.searchParams.set("token", found.token)
        const headers = { authorization: `Bearer ${found.bearer}` }
        const scrubber = new Scrubber(secretsOf(url, headers))
        const secrets = [found.user, found.password, found.token, found.bearer]
        // A server echoing the request, as a debugging endpoint may do.
        const echoed = [filler, ...secrets.flatMap(formsOf), url.href, headers.authorization].join(
          ` ${filler} `,
        )

        const scrubbed = scrubber.scrub(echoed)

        for (const secret of secrets.flatMap(formsOf)) {
          expect(scrubbed).not.toContain(secret)
        }
      }),
      { numRuns: 300 },
    )
  })
})
