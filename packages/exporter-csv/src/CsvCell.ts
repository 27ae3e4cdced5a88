/**
 * The rules that turn one value into one RFC 4180 field: text made safe
 * for spreadsheets, numbers in plain decimal, and quoting.
 *
 * | step | rule |
 * |---|---|
 * | well-formed text | a lone UTF-16 surrogate becomes U+FFFD, so the field is valid UTF-8 |
 * | formula neutralization | text whose first character is in `FORMULA_TRIGGERS` gets a leading `'` |
 * | numbers | plain decimal without an exponent; `-0` is `0`; `NaN`, `±Infinity` and a missing reading are an empty field |
 * | quoting | a field with a comma, double quote, CR or LF, or a trailing space or tab, is enclosed in double quotes, and each double quote inside is doubled |
 *
 * Every other character, control characters such as NUL included, is
 * written as it is, and a CSV parser reads it back unchanged.
 *
 * @since 0.1.0
 * @module
 */

/**
 * The character put in front of text that a spreadsheet could read as a
 * formula. CWE-1236 gives this prefix as the mitigation that stops Excel
 * from running the formula.
 *
 * @since 0.1.0
 */
export const FORMULA_PREFIX = "'"

/**
 * The first characters that make `neutralizeFormula` put `'` in front of a
 * text field.
 *
 * - `=`, `+`, `-`, `@`: they start a formula (CWE-1236).
 * - TAB and NUL: OWASP ASVS 5.0 requirement 1.2.10 lists them with the four
 *   above.
 * - CR, LF and space: a spreadsheet that trims them on import would find a
 *   formula after them.
 * - Full-width `＝` `＋` `－` `＠` (U+FF1D, U+FF0B, U+FF0D, U+FF20):
 *   neutralized as a precaution, because input methods for East Asian
 *   languages type them in place of the ASCII characters.
 * - `'` itself, so that the prefix can be removed without ambiguity (see
 *   `restoreFormula`).
 *
 * @since 0.1.0
 */
export const FORMULA_TRIGGERS: ReadonlySet<string> = new Set([
  "=",
  "+",
  "-",
  "@",
  "\t",
  "\0",
  "\r",
  "\n",
  " ",
  "\uFF1D",
  "\uFF0B",
  "\uFF0D",
  "\uFF20",
  FORMULA_PREFIX,
])

/**
 * Encodes text as a field: well-formed, neutralized against formulas, and quoted
 * when it needs to be.
 *
 * @example
 * ```ts
 * import { CsvCell } from "@dinoair/exporter-csv"
 *
 * CsvCell.textField('=HYPERLINK("x")') // `"'=HYPERLINK(""x"")"`
 * ```
 *
 * @since 0.1.0
 */
export const textField = (text: string): string => quoteField(neutralizeFormula(toWellFormed(text)))

/**
 * Encodes a number as a field: plain decimal, or empty when the reading is
 * missing or not finite.
 *
 * @since 0.1.0
 */
export const numberField = (value: number | undefined): string =>
  typeof value === "number" && Number.isFinite(value) ? plainDecimal(value) : ""

/**
 * Puts `'` in front of text whose first character is in `FORMULA_TRIGGERS`,
 * and returns any other text unchanged.
 *
 * @since 0.1.0
 */
export const neutralizeFormula = (text: string): string =>
  FORMULA_TRIGGERS.has(text.charAt(0)) ? FORMULA_PREFIX + text : text

/**
 * Undoes `neutralizeFormula`: removes the first character when it is `'` and the
 * second is in `FORMULA_TRIGGERS`. For every string `s`,
 * `restoreFormula(neutralizeFormula(s)) === s`.
 *
 * @example
 * ```ts
 * import { CsvCell } from "@dinoair/exporter-csv"
 *
 * CsvCell.restoreFormula("'=1+1") // "=1+1"
 * CsvCell.restoreFormula("'tis") // "'tis", which neutralizeFormula never writes
 * ```
 *
 * @since 0.1.0
 */
export const restoreFormula = (field: string): string =>
  field.startsWith(FORMULA_PREFIX) && FORMULA_TRIGGERS.has(field.charAt(1)) ? field.slice(1) : field

/**
 * Encloses a field in double quotes, doubling the quotes inside, when it
 * contains a comma, double quote, CR or LF (RFC 4180 section 2.6), or ends
 * with a space or tab, which some parsers trim from unquoted fields.
 *
 * @since 0.1.0
 */
export const quoteField = (field: string): string =>
  NEEDS_QUOTES.test(field) ? `"${field.replaceAll('"', '""')}"` : field

/**
 * Replaces each lone UTF-16 surrogate with U+FFFD, as `String.prototype.toWellFormed`
 * does, so that the text encodes to valid UTF-8.
 *
 * @since 0.1.0
 */
export const toWellFormed = (text: string): string => text.replace(LONE_SURROGATE, "\uFFFD")

/**
 * Writes a finite number in plain decimal, with the digits of its shortest
 * round-trip form (`String(value)`) and no exponent, so that
 * `Number(plainDecimal(x)) === x`. `-0` is `0`.
 *
 * Details: `String` uses an exponent below 1e-6 and from 1e21 up, which this
 * expands. The longest result is -5e-324 written out, 327 characters.
 *
 * @since 0.1.0
 */
export const plainDecimal = (value: number): string => {
  // The usual case, and no search for an exponent: `String` writes none in this range.
  const magnitude = Math.abs(value)
  if (magnitude >= 1e-6 && magnitude < 1e21) return String(value)

  const shortest = String(value === 0 ? 0 : value)
  const exponentAt = shortest.indexOf("e")
  if (exponentAt === -1) return shortest

  const mantissa = shortest.slice(0, exponentAt)
  const exponent = Number(shortest.slice(exponentAt + 1))
  const sign = mantissa.startsWith("-") ? "-" : ""
  const unsigned = sign === "" ? mantissa : mantissa.slice(1)

  // `String` writes one digit before the point, so the point moves `exponent` places from there.
  const digits = unsigned.replace(".", "")
  const point = 1 + exponent

  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`
}

const NEEDS_QUOTES = /[",\r\n]|[ \t]$/

// Without the `u` flag a regular expression matches UTF-16 code units, so a surrogate can match alone.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
