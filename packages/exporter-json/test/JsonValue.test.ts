import { describe, expect, it } from "vitest"
import { JsonValue } from "../src/index.js"

/** Maps `value` as a property and reads it back through a real JSON parser. */
const roundTrip = (value: unknown, options?: JsonValue.ToJsonValueOptions): unknown => {
  const text = JSON.stringify(JsonValue.toJsonValue({ value }, options))
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

describe("toJsonValue numbers", () => {
  it.each([
    ["NaN", Number.NaN, "NaN"],
    ["Infinity", Number.POSITIVE_INFINITY, "Infinity"],
    ["-Infinity", Number.NEGATIVE_INFINITY, "-Infinity"],
    ["finite float", 0.153, 0.153],
    ["safe BigInt", 42n, 42],
    ["largest safe BigInt", BigInt(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
    ["BigInt past the safe range", 2n ** 53n, "9007199254740992"],
    ["negative BigInt past the safe range", -(2n ** 64n), "-18446744073709551616"],
    ["boxed number", Object(7), 7],
    ["boxed BigInt", Object(2n ** 64n), "18446744073709551616"],
  ])("%s", (_name, input, expected) => {
    expect(roundTrip(input)).toStrictEqual(expected)
  })

  it("negative zero becomes zero", () => {
    const text = JSON.stringify(JsonValue.toJsonValue(-0))

    expect(text).toBe("0")
    expect(Object.is(JsonValue.toJsonValue(-0), 0)).toBe(true)
  })

  it("typed arrays become arrays", () => {
    expect(roundTrip(new Float64Array([1.5, Number.NaN]))).toStrictEqual([1.5, "NaN"])
    expect(roundTrip(new BigInt64Array([1n, -(2n ** 63n)]))).toStrictEqual([
      1,
      "-9223372036854775808",
    ])
  })
})

describe("toJsonValue objects", () => {
  it("Date becomes ISO 8601", () => {
    expect(roundTrip(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)))).toBe("2024-01-02T03:04:05.678Z")
  })

  it("invalid Date becomes null", () => {
    expect(roundTrip(new Date(Number.NaN))).toBeNull()
  })

  it("Map becomes an object", () => {
    const map = new Map<unknown, unknown>([
      ["rows", 3],
      [7, "seven"],
      [{ shard: 1 }, true],
    ])

    expect(roundTrip(map)).toStrictEqual({ rows: 3, "7": "seven", '{"shard":1}': true })
  })

  it("Set becomes an array", () => {
    expect(roundTrip(new Set(["a", Number.NaN]))).toStrictEqual(["a", "NaN"])
  })

  it("class instance keeps own properties", () => {
    expect(roundTrip(new Point())).toStrictEqual({ x: 1, y: 2 })
  })

  it("Error keeps name, message and own fields", () => {
    const error = Object.assign(new RangeError("too far"), { code: "E_FAR" })

    expect(roundTrip(error)).toStrictEqual({
      name: "RangeError",
      message: "too far",
      code: "E_FAR",
    })
  })

  it("toJSON result is used and mapped", () => {
    const keys: Array<string> = []
    const value = {
      toJSON: (key: string) => {
        keys.push(key)
        return { ratio: Number.POSITIVE_INFINITY }
      },
    }

    expect(roundTrip(value)).toStrictEqual({ ratio: "Infinity" })
    expect(keys).toStrictEqual(["value"])
  })

  it("toJSON returning itself falls back to properties", () => {
    const value = {
      size: 3,
      toJSON(): unknown {
        return this
      },
    }

    expect(roundTrip(value)).toStrictEqual({ size: 3 })
  })

  it("symbol keys are skipped", () => {
    expect(roundTrip({ [Symbol("hidden")]: 1, shown: 2 })).toStrictEqual({ shown: 2 })
  })

  it("functions, symbols and undefined follow JSON.stringify", () => {
    const value = { run: () => 1, tag: Symbol("t"), missing: undefined, kept: 1 }
    const list = [() => 1, Symbol("t"), undefined, 1]

    expect(roundTrip(value)).toStrictEqual({ kept: 1 })
    expect(roundTrip(list)).toStrictEqual([null, null, null, 1])
    expect(JsonValue.toJsonValue(() => 1)).toBeUndefined()
  })

  it("array holes become null", () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case under test
    expect(roundTrip([1, , 3])).toStrictEqual([1, null, 3])
  })
})

describe("toJsonValue keys and strings", () => {
  it("__proto__ stays a plain key", () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"name":"x"}}')

    const parsed = roundTrip(value) as Record<string, unknown>

    expect(Object.keys(parsed)).toStrictEqual(["__proto__", "constructor"])
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value).toStrictEqual({
      polluted: true,
    })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("lone surrogates stay valid JSON", () => {
    const text = JSON.stringify(JsonValue.toJsonValue({ label: "a\ud800b\udfff" }))

    expect(text).toBe('{"label":"a\\ud800b\\udfff"}')
    expect(Buffer.from(text, "utf8").toString("utf8")).toBe(text)
    expect((JSON.parse(text) as { label: string }).label).toBe("a\ud800b\udfff")
  })
})

describe("toJsonValue hazards", () => {
  it("cycle becomes [Circular]", () => {
    const value: Record<string, unknown> = { name: "loop" }
    value.self = value
    value.list = [value]

    expect(roundTrip(value)).toStrictEqual({
      name: "loop",
      self: "[Circular]",
      list: ["[Circular]"],
    })
  })

  it("cycle through a Map becomes [Circular]", () => {
    const map = new Map<string, unknown>()
    map.set("me", map)

    expect(roundTrip(map)).toStrictEqual({ me: "[Circular]" })
  })

  it("shared object is written twice", () => {
    const shared = { n: 1 }

    expect(roundTrip([shared, shared])).toStrictEqual([{ n: 1 }, { n: 1 }])
  })

  it("nesting past 32 levels is truncated", () => {
    const { levels, end } = walk(JsonValue.toJsonValue(nested(40)))

    expect(levels).toBe(32)
    expect(end).toBe(JsonValue.TRUNCATED)
  })

  it("maxDepth sets the nesting kept", () => {
    expect(roundTrip({ inner: { leaf: 1 } }, { maxDepth: 2 })).toStrictEqual({
      inner: "[Truncated]",
    })
  })

  it("throwing getter becomes [Unreadable]", () => {
    const value = {
      get broken(): number {
        throw new Error("sensor offline")
      },
      fine: 1,
    }

    expect(roundTrip(value)).toStrictEqual({ broken: "[Unreadable]", fine: 1 })
  })

  it("throwing toJSON becomes [Unreadable]", () => {
    const value = {
      toJSON: () => {
        throw new Error("no")
      },
    }

    expect(roundTrip(value)).toBe("[Unreadable]")
  })

  it("throwing proxy becomes [Unreadable]", () => {
    const value = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("revoked")
        },
      },
    )

    expect(roundTrip(value)).toBe("[Unreadable]")
  })

  it("revoked proxy becomes [Unreadable]", () => {
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {})
    revoke()

    expect(roundTrip(proxy)).toBe("[Unreadable]")
  })
})
