/**
 * The extraction of code blocks from markdown: which fences count, their
 * flags and the lines that failures point at.
 */
import { describe, expect, it } from "vitest"
import { extractBlocks } from "./support/codeBlocks.js"

const extract = (markdown: string) => extractBlocks(markdown, "/repo/guide.md", "guide.md")

describe("extractBlocks", () => {
  it("keeps ts and typescript blocks only", () => {
    const blocks = extract(
      [
        "```sh",
        "npm test",
        "```",
        "```ts",
        "const a = 1",
        "```",
        "```typescript",
        "const b = 2",
        "```",
      ].join("\n"),
    )

    expect(blocks.map((block) => block.code)).toEqual(["const a = 1", "const b = 2"])
  })

  it("records the line of the opening fence", () => {
    const [block] = extract(["# Title", "", "```ts", "const a = 1", "```"].join("\n"))

    expect(block?.fenceLine).toBe(3)
  })

  it("reads the runnable and fragment flags", () => {
    const blocks = extract(["```ts runnable", "1", "```", "```ts fragment", "2", "```"].join("\n"))

    expect(blocks.map((block) => [block.runnable, block.fragment])).toEqual([
      [true, false],
      [false, true],
    ])
  })

  it("keeps a shorter fence inside a longer one", () => {
    const [block] = extract(["````ts", "```", "inner", "```", "````"].join("\n"))

    expect(block?.code).toBe("```\ninner\n```")
  })

  it("accepts tilde fences and CRLF", () => {
    const [block] = extract("~~~ts\r\nconst a = 1\r\n~~~\r\n")

    expect(block?.code).toBe("const a = 1")
  })

  it("rejects an unknown flag with its line", () => {
    expect(() => extract(["", "```ts runable", "1", "```"].join("\n"))).toThrow(
      'guide.md:2: unknown code block flag "runable"',
    )
  })

  it("rejects an unclosed fence with its line", () => {
    expect(() => extract(["```ts", "const a = 1"].join("\n"))).toThrow(
      "guide.md:1: this code fence is never closed",
    )
  })
})
