/**
 * Keeping credentials out of log lines and error messages.
 *
 * The HTTP sink never writes a header value, and it writes URLs only
 * through `redactUrl`. Text that it does not control (an undici error
 * message, the start of a response body, which a server may use to echo
 * the request's headers) goes through a `Scrubber`, which replaces the
 * sink's secrets.
 *
 * @since 0.1.0
 * @module
 */

/** The text that replaces a secret. */
export const REDACTED = "[REDACTED]"

/**
 * Query parameter and header names whose values count as secrets: any name
 * containing token, key, secret, password, passwd, pwd, auth, signature,
 * sig, credential, session or cookie, in any case.
 */
const SECRET_NAME = /token|key|secret|passw|pwd|auth|sig|credential|session|cookie/i

/**
 * Secrets shorter than this are not scrubbed from free text, because
 * replacing every "a" or "42" would garble messages. Credentials that the
 * sink itself handles are never written out, whatever their length.
 */
const MIN_SCRUBBED_LENGTH = 4

/**
 * Writes a URL without its credentials, for logs and error messages.
 *
 * It removes the userinfo (`user:password@`) and the fragment, and
 * replaces the value of every query parameter whose name looks secret
 * (containing token, key, secret, password, auth, sig, credential, session
 * or cookie) with `[REDACTED]`. Other parameters, the host, port and path
 * stay. Text that does not parse as a URL gives `<invalid URL>`, because
 * it could hold anything.
 *
 * @example
 * ```ts
 * import { Redaction } from "@dinoair/sink-http"
 *
 * Redaction.redactUrl("https://ci:s3cret@collector.example/ingest?api_key=abc&team=web")
 * // "https://collector.example/ingest?api_key=%5BREDACTED%5D&team=web"
 * ```
 *
 * @since 0.1.0
 */
export const redactUrl = (url: string | URL): string => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return "<invalid URL>"
  }

  parsed.username = ""
  parsed.password = ""
  parsed.hash = ""
  for (const name of [...new Set(parsed.searchParams.keys())]) {
    if (SECRET_NAME.test(name)) parsed.searchParams.set(name, REDACTED)
  }
  return parsed.href
}

/**
 * Checks whether a header's value is a secret: `authorization`,
 * `proxy-authorization`, `cookie`, and any name that contains token, key,
 * secret, password, auth, sig, credential or session.
 *
 * @since 0.1.0
 */
export const isSecretHeader = (name: string): boolean => SECRET_NAME.test(name)

/**
 * Replaces known secrets in free text with `[REDACTED]`.
 *
 * @since 0.1.0
 */
export class Scrubber {
  readonly #secrets: ReadonlyArray<string>

  /** @param secrets the values to hide; each one and its URL-encoded forms are replaced. */
  constructor(secrets: Iterable<string>) {
    const unique = new Set<string>()
    for (const secret of secrets) {
      for (const form of encodedForms(secret)) {
        if (form.length >= MIN_SCRUBBED_LENGTH) unique.add(form)
      }
    }
    // Longer secrets first, so that a secret containing another is replaced whole.
    this.#secrets = [...unique].sort((a, b) => b.length - a.length)
  }

  /** Returns `text` with every known secret replaced by `[REDACTED]`. */
  scrub(text: string): string {
    let result = text
    for (const secret of this.#secrets) {
      result = result.replaceAll(secret, REDACTED)
    }
    return result
  }
}

/**
 * Collects the secrets of a URL and a set of headers: the decoded user name
 * and password, the values of secret-looking query parameters and headers,
 * and for a header such as `Bearer abc`, the credential after the scheme
 * too.
 *
 * @since 0.1.0
 */
export const secretsOf = (url: URL, headers: Readonly<Record<string, string>>): Array<string> => {
  const secrets: Array<string> = []
  if (url.username !== "") secrets.push(decodeComponent(url.username), url.username)
  if (url.password !== "") secrets.push(decodeComponent(url.password), url.password)

  for (const [name, value] of url.searchParams) {
    if (SECRET_NAME.test(name)) secrets.push(value)
  }

  for (const [name, value] of Object.entries(headers)) {
    if (!isSecretHeader(name)) continue
    secrets.push(value)
    const space = value.indexOf(" ")
    if (space > 0) secrets.push(value.slice(space + 1).trim())
  }
  return secrets
}

/**
 * Lists a secret as given and in the forms a URL or an echoed request may
 * carry it: `encodeURIComponent`, form-encoded as `URLSearchParams` writes a
 * query value (a space as `+`, `!'()~` as `%XX`), and with `!'()*` encoded too.
 */
const encodedForms = (secret: string): Array<string> => {
  const component = encodeURIComponent(secret)
  return [
    secret,
    component,
    new URLSearchParams([["", secret]]).toString().slice(1),
    component.replace(
      /[!'()*]/g,
      (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
    ),
  ]
}

/** Decodes a URL component, keeping it as it is when it is not valid percent-encoding. */
export const decodeComponent = (component: string): string => {
  try {
    return decodeURIComponent(component)
  } catch {
    return component
  }
}
