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

const revokedProxy = (): object => {
  const { proxy, revoke } = Proxy.revocable({ a: 1 }, {})
  revoke()
  return proxy
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

  it("typed arrays become arrays", () => {
    expect(roundTrip(new Float64Array([1.5, Number.NaN]))).toStrictEqual([1.5, "NaN"])
    expect(roundTrip(new BigInt64Array([1n, -(2n ** 63n)]))).toStrictEqual([
      1,
      "-9223372036854775808",
    ])
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
    [
      "Date with milliseconds",
      new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
      "2024-01-02T03:04:05.678Z",
    ],
    ["invalid Date", new Date(Number.NaN), null],
    ["Set", new Set([1, "a"]), [1, "a"]],
    ["Set with NaN", new Set(["a", Number.NaN]), ["a", "NaN"]],
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
    ["array of left-out values", [undefined, () => 0, Symbol("s")], [null, null, null]],
  ])("%s", (_name, input, expected) => {
    expect(roundTrip(input)).toStrictEqual(expected)
  })

  it("functions, symbols and undefined are left out of objects", () => {
    expect(JsonText.stringify({ a: undefined, b: () => 0, c: Symbol("s"), d: 1 })).toBe('{"d":1}')
  })

  it("functions, symbols and undefined follow JSON.stringify", () => {
    const value = { run: () => 1, tag: Symbol("t"), missing: undefined, kept: 1 }
    const list = [() => 1, Symbol("t"), undefined, 1]

    expect(roundTrip(value)).toStrictEqual({ kept: 1 })
    expect(roundTrip(list)).toStrictEqual([null, null, null, 1])
  })

  it("left-out root is undefined", () => {
    expect(JsonText.stringify(undefined)).toBeUndefined()
    expect(JsonText.stringify(() => 0)).toBeUndefined()
  })

  it("array holes become null", () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case under test
    expect(roundTrip([1, , 3])).toStrictEqual([1, null, 3])
  })

  it("symbol keys are skipped", () => {
    expect(roundTrip({ [Symbol("hidden")]: 1, shown: 2 })).toStrictEqual({ shown: 2 })
  })

  it("Map with mixed keys becomes an object", () => {
    const map = new Map<unknown, unknown>([
      ["rows", 3],
      [7, "seven"],
      [{ shard: 1 }, true],
    ])

    expect(roundTrip(map)).toStrictEqual({ rows: 3, "7": "seven", '{"shard":1}': true })
  })

  it("Map object key is its JSON text", () => {
    expect(roundTrip(new Map([[{ shard: 1 }, "x"]]))).toStrictEqual({ '{"shard":1}': "x" })
  })

  it("Map keeps its order", () => {
    const map = new Map<unknown, unknown>([
      ["b", 1],
      [2, "two"],
    ])

    expect(JsonText.stringify(map)).toBe('{"b":1,"2":"two"}')
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
    const error = Object.assign(new RangeError("too far"), { code: "E_FAR" })

    expect(roundTrip(error)).toStrictEqual({
      name: "RangeError",
      message: "too far",
      code: "E_FAR",
    })
  })

  it("Error own message is written once", () => {
    const error = Object.assign(new TypeError("bad input"), { code: "E_BAD", message: "bad input" })

    expect(roundTrip(error)).toStrictEqual({
      name: "TypeError",
      message: "bad input",
      code: "E_BAD",
    })
  })

  it("Error own name and message are strings", () => {
    const error = Object.assign(new Error("boom"), { name: 42, message: { text: "inner" } })

    expect(JsonText.stringify(error)).toBe('{"name":"42","message":"[object Object]"}')
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

  it("toJSON gets its key", () => {
    const money = { cents: 150, toJSON: (key: string) => ({ amount: 1.5, key }) }

    expect(roundTrip(money)).toStrictEqual({ amount: 1.5, key: "value" })
  })

  it("toJSON returning its own object is written once", () => {
    const selfish: Record<string, unknown> = { a: 1 }
    selfish.toJSON = () => selfish
    const method = {
      size: 3,
      toJSON(): unknown {
        return this
      },
    }

    expect(roundTrip(selfish)).toStrictEqual({ a: 1 })
    expect(roundTrip(method)).toStrictEqual({ size: 3 })
  })
})

describe("JsonText keys and strings", () => {
  it("__proto__ is an ordinary key", () => {
    const input = JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>

    const text = JsonText.stringify(input)

    expect(text).toBe('{"__proto__":{"polluted":true}}')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("__proto__ reads back as an own key", () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"name":"x"}}')

    const parsed = roundTrip(value) as Record<string, unknown>

    expect(Object.keys(parsed)).toStrictEqual(["__proto__", "constructor"])
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value).toStrictEqual({
      polluted: true,
    })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("constructor and prototype are ordinary keys", () => {
    expect(roundTrip({ constructor: 1, prototype: 2 })).toStrictEqual({
      constructor: 1,
      prototype: 2,
    })
  })

  it("lone surrogates in values are escaped", () => {
    const text = JsonText.stringify({ label: "a\ud800b\udfff" }) ?? ""

    expect(text).toBe('{"label":"a\\ud800b\\udfff"}')
    expect(Buffer.from(text, "utf8").toString("utf8")).toBe(text)
    expect((JSON.parse(text) as { label: string }).label).toBe("a\ud800b\udfff")
  })

  it("lone surrogates in keys are escaped", () => {
    const text = JsonText.stringify({ "\uD800": "\uDC00" }) ?? ""

    expect(text).toBe('{"\\ud800":"\\udc00"}')
    expect(JSON.parse(text)).toStrictEqual({ "\uD800": "\uDC00" })
  })

  it("text has no raw line break", () => {
    expect(JsonText.stringify({ "a\r\n": "b\r\n" })).not.toMatch(/[\r\n]/)
  })
})

describe("JsonText cycles and depth", () => {
  it("object inside itself is [Circular]", () => {
    const cyclic: Record<string, unknown> = { name: "root" }
    cyclic.self = cyclic
    cyclic.list = [cyclic]

    expect(roundTrip(cyclic)).toStrictEqual({
      name: "root",
      self: "[Circular]",
      list: ["[Circular]"],
    })
  })

  it("array inside itself is [Circular]", () => {
    const cyclic: Array<unknown> = [1]
    cyclic.push(cyclic)

    expect(roundTrip(cyclic)).toStrictEqual([1, "[Circular]"])
  })

  it("Map value inside its Map is [Circular]", () => {
    const map = new Map<string, unknown>()
    map.set("me", map)

    expect(roundTrip(map)).toStrictEqual({ me: "[Circular]" })
  })

  it("Map key inside its Map is [Circular]", () => {
    const map = new Map<unknown, unknown>()
    map.set(map, 1)

    expect(roundTrip(map)).toStrictEqual({ '"[Circular]"': 1 })
  })

  it("shared object is written twice", () => {
    const shared = { n: 1 }

    expect(roundTrip({ a: shared, b: shared })).toStrictEqual({ a: { n: 1 }, b: { n: 1 } })
    expect(roundTrip([shared, shared])).toStrictEqual([{ n: 1 }, { n: 1 }])
  })

  it("default depth keeps 32 levels", () => {
    const result = walk(JSON.parse(JsonText.stringify(nested(40)) ?? ""))

    expect(result.levels).toBe(32)
    expect(result.end).toBe(JsonText.TRUNCATED)
  })

  it("maxDepth keeps that many levels", () => {
    const result = walk(JSON.parse(JsonText.stringify(nested(10), { maxDepth: 3 }) ?? ""))

    expect(result.levels).toBe(3)
    expect(result.end).toBe("[Truncated]")
  })

  it("maxDepth counts the outermost object", () => {
    expect(roundTrip({ inner: { leaf: 1 } }, { maxDepth: 2 })).toStrictEqual({
      inner: "[Truncated]",
    })
  })

  it("maxDepth 0 truncates the root", () => {
    expect(JsonText.stringify({ a: 1 }, { maxDepth: 0 })).toBe('"[Truncated]"')
  })

  it("toJSON result counts one level deeper", () => {
    const value = { toJSON: () => ({ leaf: 1 }) }

    expect(JsonText.stringify({ value }, { maxDepth: 2 })).toBe('{"value":"[Truncated]"}')
    expect(JsonText.stringify({ value }, { maxDepth: 3 })).toBe('{"value":{"leaf":1}}')
  })

  it.each([
    ["negative", -5, 32],
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

    expect(roundTrip(proxy)).toBe("[Unreadable]")
    expect(roundTrip({ proxy, next: 1 })).toStrictEqual({ proxy: "[Unreadable]", next: 1 })
  })

  it("Map iterator that throws drops the partial Map", () => {
    const map = new Map([["a", 1]])
    map[Symbol.iterator] = () => {
      throw new Error("iterator failed")
    }

    expect(roundTrip([map, 2])).toStrictEqual(["[Unreadable]", 2])
  })

  it("revoked proxy is [Unreadable]", () => {
    const proxy = revokedProxy()

    expect(roundTrip(proxy)).toBe("[Unreadable]")
    expect(roundTrip([1, proxy, 3])).toStrictEqual([1, "[Unreadable]", 3])
  })

  it("failure keeps the indentation", () => {
    const broken = new Proxy(
      { a: 1 },
      {
        ownKeys: () => {
          throw new Error("revoked")
        },
      },
    )
    const input = { first: { broken }, after: { b: 2 } }

    expect(JsonText.stringify(input, { indent: 2 })).toBe(
      JSON.stringify({ first: { broken: "[Unreadable]" }, after: { b: 2 } }, null, 2),
    )
  })
})

describe("JsonText indent", () => {
  const plain = {
    rows: 3,
    tags: ["a", ["b"], []],
    empty: {},
    nested: { ratio: 0.5, list: [{ n: 1 }, null] },
  }

  it.each([1, 2, 4, 10])("indent %i matches JSON.stringify", (indent) => {
    expect(JsonText.stringify(plain, { indent })).toBe(JSON.stringify(plain, null, indent))
  })

  it("indent 0 is one line", () => {
    expect(JsonText.stringify(plain, { indent: 0 })).toBe(JSON.stringify(plain))
  })

  it("mapped values are indented like objects", () => {
    const input = { byShard: new Map([["s1", new Set([1])]]), at: new Error("e") }

    expect(JsonText.stringify(input, { indent: 2 })).toBe(`{
  "byShard": {
    "s1": [
      1
    ]
  },
  "at": {
    "name": "Error",
    "message": "e"
  }
}`)
  })

  it("toJSON result keeps the indentation of its key", () => {
    const input = { money: { toJSON: () => ({ amount: 1.5 }) } }

    expect(JsonText.stringify(input, { indent: 2 })).toBe(
      '{\n  "money": {\n    "amount": 1.5\n  }\n}',
    )
  })

  it("Map object key stays on one line", () => {
    const text = JsonText.stringify(new Map([[{ shard: 1, zone: "a" }, 1]]), { indent: 2 })

    expect(text).toBe('{\n  "{\\"shard\\":1,\\"zone\\":\\"a\\"}": 1\n}')
  })

  it.each([
    ["above 10", 25, 10],
    ["negative", -3, 0],
    ["fractional", 2.9, 2],
    ["Infinity", Number.POSITIVE_INFINITY, 10],
    ["NaN", Number.NaN, 0],
    ["a string", "4", 0],
  ])("indent %s resolves", (_name, input, expected) => {
    expect(JsonText.resolveIndent(input)).toBe(expected)
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
    ["unreadable object", revokedProxy(), "{}"],
  ])("%s", (_name, input, expected) => {
    expect(JsonText.stringifyObject(input)).toBe(expected)
  })
})

describe("JsonText canUseJsonStringify", () => {
  const plainCases: ReadonlyArray<readonly [string, object]> = [
    ["empty object", {}],
    ["numbers and strings", { rows: 3, ratio: 0.25, label: "a\ud800\n", ok: true, none: null }],
    ["negative zero", { delta: -0 }],
    ["left-out values", { skip: undefined, run: () => 0, tag: Symbol("t"), list: [undefined] }],
    ["nested arrays and objects", { list: [1, [2, { three: 3 }]], inner: { deep: {} } }],
    ["null prototype", Object.assign(Object.create(null), { rows: 3 })],
    ["shared object", { a: { n: 1 }, b: [{ n: 1 }] }],
    ["__proto__ key", JSON.parse('{"__proto__":{"polluted":true}}')],
    ["non-function toJSON", { toJSON: 5 }],
  ]

  it.each(plainCases)("%s is accepted", (_name, input) => {
    expect(JsonText.canUseJsonStringify(input)).toBe(true)
  })

  it.each(plainCases)("%s gives the same text", (_name, input) => {
    expect(JSON.stringify(input)).toBe(JsonText.stringifyObject(input))
  })

  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const throwing = {
    get broken(): number {
      throw new Error("getter failed")
    },
  }

  it.each([
    ["NaN", { rate: Number.NaN }],
    ["Infinity", { rate: Number.POSITIVE_INFINITY }],
    ["BigInt", { big: 1n }],
    ["Date", { at: new Date(0) }],
    ["Map", { byShard: new Map() }],
    ["Set", { tags: new Set() }],
    ["typed array", { samples: new Float64Array(1) }],
    ["Error", { failure: new Error("e") }],
    ["boxed number", { count: Object(1) }],
    ["class instance", { point: new Point() }],
    ["toJSON method", { money: { toJSON: () => 1 } }],
    ["array with toJSON", { list: Object.assign([1], { toJSON: () => [] }) }],
    ["cycle", cyclic],
    ["throwing getter", throwing],
    ["nesting past maxDepth", nested(33)],
    ["array root", [1]],
    ["string root", "text"],
    ["null root", null],
  ])("%s is rejected", (_name, input) => {
    expect(JsonText.canUseJsonStringify(input)).toBe(false)
  })

  it("maxDepth counts the outermost object", () => {
    expect(JsonText.canUseJsonStringify(nested(3), { maxDepth: 3 })).toBe(true)
    expect(JsonText.canUseJsonStringify(nested(3), { maxDepth: 2 })).toBe(false)
  })

  it("nesting past 64 levels is rejected at any maxDepth", () => {
    expect(JsonText.canUseJsonStringify(nested(64), { maxDepth: 100 })).toBe(true)
    expect(JsonText.canUseJsonStringify(nested(65), { maxDepth: 100 })).toBe(false)
  })
})
