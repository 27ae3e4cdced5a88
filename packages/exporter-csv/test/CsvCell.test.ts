import { describe, expect, it } from "vitest"
import { CsvCell } from "../src/index.js"

/** A seeded xorshift32 generator, so that the generated cases are the same on every run. */
const generator = (seed: number): (() => number) => {
  let state = seed
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return state >>> 0
  }
}

/** Characters that the rules treat specially, mixed into generated strings. */
const alphabet = [
  ..."=+-@'\t\r\n\0 ,\"ab1.",
  "\uFF1D",
  "\uFF0B",
  "\uFF0D",
  "\uFF20",
  "\uD800",
  "\uDC00",
  "\uFEFF",
  "é",
  "🦕",
]

const randomStrings = (count: number): Array<string> => {
  const next = generator(0x5eed)
  return Array.from({ length: count }, () => {
    const length = next() % 8
    let text = ""
    for (let index = 0; index < length; index++) text += alphabet[next() % alphabet.length]
    return text
  })
}

/** Random doubles from random bit patterns, skipping NaN and the infinities. */
const randomDoubles = (count: number): Array<number> => {
  const next = generator(0xd0b1e)
  const view = new DataView(new ArrayBuffer(8))
  const doubles: Array<number> = []
  while (doubles.length < count) {
    view.setUint32(0, next())
    view.setUint32(4, next())
    const value = view.getFloat64(0)
    if (Number.isFinite(value)) doubles.push(value)
  }
  return doubles
}

describe("CsvCell formula neutralization", () => {
  it.each([
    ["=", "=1+1"],
    ["+", "+1"],
    ["-", "-1"],
    ["@", "@SUM(A1)"],
    ["tab", "\t=1"],
    ["NUL", "\0=1"],
    ["CR", "\r=1"],
    ["LF", "\n=1"],
    ["space", " =1"],
    ["full-width =", "\uFF1D1"],
    ["full-width +", "\uFF0B1"],
    ["full-width -", "\uFF0D1"],
    ["full-width @", "\uFF20x"],
    ["apostrophe", "'x"],
  ])("%s first gets the prefix", (_name, text) => {
    expect(CsvCell.neutralizeFormula(text)).toBe(`'${text}`)
  })

  it.each([
    ["letters", "checkout"],
    ["digit", "1+1"],
    ["trigger later", "a=1"],
    ["brace", "{}"],
    ["empty", ""],
    ["pipe", "|x"],
  ])("%s is unchanged", (_name, text) => {
    expect(CsvCell.neutralizeFormula(text)).toBe(text)
  })

  it("restore undoes neutralize", () => {
    for (const text of randomStrings(5000)) {
      expect(CsvCell.restoreFormula(CsvCell.neutralizeFormula(text))).toBe(text)
    }
  })

  it("neutralized text never starts a formula", () => {
    for (const text of randomStrings(5000)) {
      const first = CsvCell.neutralizeFormula(text).charAt(0)
      const startsFormula = CsvCell.FORMULA_TRIGGERS.has(first) && first !== "'"

      expect(startsFormula).toBe(false)
    }
  })

  it("restore keeps text the rules never write", () => {
    expect(CsvCell.restoreFormula("'tis")).toBe("'tis")
    expect(CsvCell.restoreFormula("'")).toBe("'")
  })
})

describe("CsvCell quoting", () => {
  it.each([
    ["comma", "a,b", '"a,b"'],
    ["double quote", 'a"b', '"a""b"'],
    ["only quotes", '""', '""""""'],
    ["CR", "a\rb", '"a\rb"'],
    ["LF", "a\nb", '"a\nb"'],
    ["trailing space", "a ", '"a "'],
    ["trailing tab", "a\t", '"a\t"'],
  ])("%s is quoted", (_name, field, quoted) => {
    expect(CsvCell.quoteField(field)).toBe(quoted)
  })

  it.each([
    ["plain", "abc"],
    ["inner space", "a b"],
    ["NUL", "a\0b"],
    ["apostrophe", "'=1"],
    ["empty", ""],
  ])("%s is not quoted", (_name, field) => {
    expect(CsvCell.quoteField(field)).toBe(field)
  })
})

describe("CsvCell well-formed text", () => {
  it.each([
    ["lone high surrogate", "a\uD800b", "a\uFFFDb"],
    ["lone low surrogate", "a\uDC00b", "a\uFFFDb"],
    ["high at the end", "a\uD800", "a\uFFFD"],
    ["two highs then a low", "\uD800\uD800\uDC00", "\uFFFD\uD800\uDC00"],
    ["valid pair", "🦕", "🦕"],
    ["ASCII", "abc", "abc"],
  ])("%s", (_name, text, expected) => {
    expect(CsvCell.toWellFormed(text)).toBe(expected)
  })

  it("result survives UTF-8", () => {
    for (const text of randomStrings(2000)) {
      const wellFormed = CsvCell.toWellFormed(text)

      expect(Buffer.from(wellFormed, "utf8").toString("utf8")).toBe(wellFormed)
    }
  })
})

describe("CsvCell numbers", () => {
  it.each([
    [0.153, "0.153"],
    [-0, "0"],
    [1e-7, "0.0000001"],
    [-1.5e-10, "-0.00000000015"],
    [1e21, "1000000000000000000000"],
    [1.2345e25, "12345000000000000000000000"],
    [-2.5e22, "-25000000000000000000000"],
    [123456789, "123456789"],
    [1e-6, "0.000001"],
    [-1e-6, "-0.000001"],
    [9.99e-7, "0.000000999"],
    [9.999999999999999e20, "999999999999999900000"],
  ])("%s is %s", (value, text) => {
    expect(CsvCell.plainDecimal(value)).toBe(text)
  })

  it("random doubles read back exactly", () => {
    for (const value of randomDoubles(5000)) {
      const text = CsvCell.plainDecimal(value)

      expect(text).not.toMatch(/e/i)
      expect(text.length).toBeLessThanOrEqual(327)
      expect(Number(text)).toBe(value)
    }
  })

  it("extremes read back exactly", () => {
    for (const value of [
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
    ]) {
      expect(Number(CsvCell.plainDecimal(value))).toBe(value)
    }
  })

  it("longest result is 327 characters", () => {
    expect(CsvCell.plainDecimal(-Number.MIN_VALUE)).toHaveLength(327)
  })

  it.each([
    ["missing", undefined],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
  ])("%s is an empty field", (_name, value) => {
    expect(CsvCell.numberField(value)).toBe("")
  })
})
