import { describe, expect, it } from "vitest"
import { JsonText } from "../src/index.js"

/** Writes `value` as a property and reads it back through a real JSON parser. */
const roundTrip = (value: unknown, options?: JsonText.StringifyOptions): unknown => {
  const text = JsonText.stringify({ value }, options)
  if (text === undefined) throw new Error("the wrapping object was left out")
  return (JSON.parse(text) as { value?: unknown }).value
}

const nested = (levels: number): Record<string, unknown> => {
  const root: Record<string, unknown> = {}
  let current = root
  for (let level = 1; level < levels; level++) {
    const child: Record<string, unknown> = {}
    current.next = child
    current = child
  }
  return root
}

/** Counts the objects on the `next` chain, and returns the value found past the last one. */
const walk = (value: unknown): { readonly levels: number; readonly end: unknown } => {
  let levels = 0
  let current = value
  while (typeof current === "object" && current !== null) {
    levels++
    current = (current as { next?: unknown }).next
  }
  return { levels, end: current }
}

class Point {
  readonly x = 1
  readonly y = 2
  get length(): number {
    return Math.hypot(this.x, this.y)
  }
}

describe("JsonText numbers", () => {
  it.each([
    ["NaN", Number.NaN, "NaN"],
    ["Infinity", Number.POSITIVE_INFINITY, "Infinity"],
    ["-Infinity", Number.NEGATIVE_INFINITY, "-Infinity"],
    ["finite float", 0.153, 0.153],
    ["negative zero", -0, 0],
    ["safe BigInt", 42n, 42],
    ["largest safe BigInt", BigInt(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
    ["smallest safe BigInt", BigInt(Number.MIN_SAFE_INTEGER), Number.MIN_SAFE_INTEGER],
    ["BigInt past the safe range", 2n ** 53n, "9007199254740992"],
    ["negative BigInt past the safe range", -(2n ** 64n), "-18446744073709551616"],
    ["boxed number", Object(7), 7],
    ["boxed BigInt", Object(2n ** 64n), "18446744073709551616"],
  ])("%s", (_name, input, expected) => {
    expect(roundTrip(input)).toStrictEqual(expected)
  })

  it("negative zero is written as 0", () => {
    expect(JsonText.stringify(-0)).toBe("0")
  })
})

describe("JsonText values", () => {
  it.each([
    ["string", 'a"b\\c\r\n\0', 'a"b\\c\r\n\0'],
    ["boolean", true, true],
    ["null", null, null],
    ["boxed string", Object("s"), "s"],
    ["boxed boolean", Object(false), false],
    ["Date", new Date(Date.UTC(2023, 10, 4, 18, 30)), "2023-11-04T18:30:00.000Z"],
    ["invalid Date", new Date(Number.NaN), null],
    ["Set", new Set([1, "a"]), [1, "a"]],
    ["typed array", new Float64Array([0.5, Number.NaN]), [0.5, "NaN"]],
    ["BigInt typed array", new BigInt64Array([2n ** 60n]), ["1152921504606846976"]],
    [
      "Map",
      new Map<unknown, unknown>([
        ["a", 1],
        [2, "b"],
      ]),
      { a: 1, "2": "b" },
    ],
    ["class instance", new Point(), { x: 1, y: 2 }],
    ["array with holes", [undefined, () => 0, Symbol("s")], [null, null, null]],
  ])("%s", (_name, input, expected) => {
    expect(roundTrip(input)).toStrictEqual(expected)
  })

  it("functions, symbols and undefined are left out of objects", () => {
    expect(JsonText.stringify({ a: undefined, b: () => 0, c: Symbol("s"), d: 1 })).toBe('{"d":1}')
  })

  it("left-out root is undefined", () => {
    expect(JsonText.stringify(undefined)).toBeUndefined()
    expect(JsonText.stringify(() => 0)).toBeUndefined()
  })

  it("Map object key is its JSON text", () => {
    expect(roundTrip(new Map([[{ shard: 1 }, "x"]]))).toStrictEqual({ '{"shard":1}': "x" })
  })

  it("Map keys that collide keep the later value", () => {
    const text = JsonText.stringify(
      new Map<unknown, unknown>([
        [1, "number"],
        ["b", "other"],
        ["1", "string"],
      ]),
    )

    expect(text).toBe('{"1":"string","b":"other"}')
  })

  it("Error keeps name, message and own fields", () => {
    const error = Object.assign(new TypeError("bad input"), { code: "E_BAD", message: "bad input" })

    expect(roundTrip(error)).toStrictEqual({
      name: "TypeError",
      message: "bad input",
      code: "E_BAD",
    })
  })

  it("toJSON result is used", () => {
    const money = { cents: 150, toJSON: (key: string) => ({ amount: 1.5, key }) }

    expect(roundTrip(money)).toStrictEqual({ amount: 1.5, key: "value" })
  })

  it("toJSON returning its own object is written once", () => {
    const selfish: Record<string, unknown> = { a: 1 }
    selfish.toJSON = () => selfish

    expect(roundTrip(selfish)).toStrictEqual({ a: 1 })
  })

  it("text is valid JSON for lone surrogates", () => {
    const text = JsonText.stringify({ "\uD800": "\uDC00" }) ?? ""

    expect(text).toBe('{"\\ud800":"\\udc00"}')
    expect(JSON.parse(text)).toStrictEqual({ "\uD800": "\uDC00" })
  })

  it("text has no raw line break", () => {
    expect(JsonText.stringify({ "a\r\n": "b\r\n" })).not.toMatch(/[\r\n]/)
  })
})

describe("JsonText keys", () => {
  it("__proto__ is an ordinary key", () => {
    const input = JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>

    const text = JsonText.stringify(input)

    expect(text).toBe('{"__proto__":{"polluted":true}}')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("constructor and prototype are ordinary keys", () => {
    expect(roundTrip({ constructor: 1, prototype: 2 })).toStrictEqual({
      constructor: 1,
      prototype: 2,
    })
  })
})

describe("JsonText cycles and depth", () => {
  it("object inside itself is [Circular]", () => {
    const cyclic: Record<string, unknown> = { name: "root" }
    cyclic.self = cyclic

    expect(roundTrip(cyclic)).toStrictEqual({ name: "root", self: "[Circular]" })
  })

  it("array inside itself is [Circular]", () => {
    const cyclic: Array<unknown> = [1]
    cyclic.push(cyclic)

    expect(roundTrip(cyclic)).toStrictEqual([1, "[Circular]"])
  })

  it("Map key inside its Map is [Circular]", () => {
    const map = new Map<unknown, unknown>()
    map.set(map, 1)

    expect(roundTrip(map)).toStrictEqual({ '"[Circular]"': 1 })
  })

  it("shared object is written twice", () => {
    const shared = { n: 1 }

    expect(roundTrip({ a: shared, b: shared })).toStrictEqual({ a: { n: 1 }, b: { n: 1 } })
  })

  it("default depth keeps 32 levels", () => {
    const result = walk(JSON.parse(JsonText.stringify(nested(40)) ?? ""))

    expect(result.levels).toBe(32)
    expect(result.end).toBe("[Truncated]")
  })

  it("maxDepth keeps that many levels", () => {
    const result = walk(JSON.parse(JsonText.stringify(nested(10), { maxDepth: 3 }) ?? ""))

    expect(result.levels).toBe(3)
    expect(result.end).toBe("[Truncated]")
  })

  it("maxDepth 0 truncates the root", () => {
    expect(JsonText.stringify({ a: 1 }, { maxDepth: 0 })).toBe('"[Truncated]"')
  })

  it.each([
    ["negative", -5, 0],
    ["fractional", 2.7, 2],
    ["NaN", Number.NaN, 32],
    ["Infinity", Number.POSITIVE_INFINITY, 32],
    ["a string", "3", 32],
  ])("maxDepth %s resolves", (_name, input, expected) => {
    expect(JsonText.resolveMaxDepth(input)).toBe(expected)
  })

  it("stack overflow is [Unreadable]", () => {
    const text = JsonText.stringify(nested(200_000), { maxDepth: 1e9 }) ?? ""

    expect(text).toContain('"[Unreadable]"')
    expect(walk(JSON.parse(text)).end).toBe("[Unreadable]")
  })

  it("100,000 levels do not overflow the stack", () => {
    expect(walk(JSON.parse(JsonText.stringify(nested(100_000)) ?? "")).levels).toBe(32)
  })
})

describe("JsonText failures", () => {
  it("throwing getter is [Unreadable]", () => {
    const input = {
      before: 1,
      get broken(): number {
        throw new Error("getter failed")
      },
      after: 2,
    }

    expect(roundTrip(input)).toStrictEqual({ before: 1, broken: "[Unreadable]", after: 2 })
  })

  it("throwing toJSON is [Unreadable]", () => {
    const input = {
      toJSON: () => {
        throw new Error("toJSON failed")
      },
    }

    expect(roundTrip(input)).toStrictEqual("[Unreadable]")
  })

  it("proxy get trap that throws is [Unreadable]", () => {
    const proxy = new Proxy(
      { a: 1, b: 2, c: 3 },
      {
        get: (target, key) => {
          if (key === "c") throw new Error("trap failed")
          return Reflect.get(target, key)
        },
      },
    )

    expect(roundTrip({ proxy, next: 1 })).toStrictEqual({
      proxy: { a: 1, b: 2, c: "[Unreadable]" },
      next: 1,
    })
  })

  it("array that throws halfway leaves no partial text", () => {
    let lengthReads = 0
    const proxy = new Proxy([1, 2, 3], {
      get: (target, key) => {
        if (key === "length" && ++lengthReads > 2) throw new Error("trap failed")
        return Reflect.get(target, key)
      },
    })

    const text = JsonText.stringify({ proxy, next: 1 })

    expect(text).toBe('{"proxy":"[Unreadable]","next":1}')
  })

  it("ownKeys trap that throws is [Unreadable]", () => {
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("revoked")
        },
      },
    )

    expect(roundTrip({ proxy, next: 1 })).toStrictEqual({ proxy: "[Unreadable]", next: 1 })
  })

  it("Map iterator that throws drops the partial Map", () => {
    const map = new Map([["a", 1]])
    map[Symbol.iterator] = () => {
      throw new Error("iterator failed")
    }

    expect(roundTrip([map, 2])).toStrictEqual(["[Unreadable]", 2])
  })

  it("revoked proxy inside an array is [Unreadable]", () => {
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {})
    revoke()

    expect(roundTrip([1, proxy, 3])).toStrictEqual([1, "[Unreadable]", 3])
  })
})

describe("JsonText stringifyObject", () => {
  it.each([
    ["object", { a: 1 }, '{"a":1}'],
    ["Map", new Map([["a", 1]]), '{"a":1}'],
    ["array", [1, 2], "{}"],
    ["string", "x", "{}"],
    ["undefined", undefined, "{}"],
    ["null", null, "{}"],
    ["toJSON returning text", { toJSON: () => "[text]" }, "{}"],
  ])("%s", (_name, input, expected) => {
    expect(JsonText.stringifyObject(input)).toBe(expected)
  })
})
