import { Writable } from "node:stream"
import { describe, expect, it } from "vitest"
import { RunConsole } from "../src/console.js"

const collector = () => {
  const lines: Array<string> = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(
        ...String(chunk)
          .split("\n")
          .filter((line) => line !== ""),
      )
      callback()
    },
  })
  return { lines, stream }
}

describe("RunConsole", () => {
  it("counts warnings past the print cap", () => {
    const { lines, stream } = collector()
    const output = new RunConsole({ logStream: stream, maxPrintedWarnings: 2 })

    for (let i = 0; i < 5; i++) output.logger.warn(`slow ${i}`)

    expect(output.warnings).toBe(5)
    expect(output.unprintedWarnings).toBe(3)
    expect(lines).toEqual([
      "[dinoair] slow 0",
      "[dinoair] slow 1",
      "[playground] printed 2 warnings; further ones are counted in the summary only.",
    ])
  })

  it("prints errors when warnings are off", () => {
    const { lines, stream } = collector()
    const output = new RunConsole({ logStream: stream, printWarnings: false })

    output.logger.warn("slow")
    output.logger.info("started")
    output.logger.error("export failed", new Error("disk full"))

    expect(lines).toEqual(["[dinoair] export failed disk full"])
    expect(output.errors).toBe(1)
    expect(output.unprintedWarnings).toBe(1)
  })

  it("drops debug lines", () => {
    const { lines, stream } = collector()
    const output = new RunConsole({ logStream: stream })

    output.logger.debug("detail")

    expect(lines).toEqual([])
  })

  it("draws no bar without progress", () => {
    const { lines, stream } = collector()
    const output = new RunConsole({ logStream: stream })

    output.startProgress(10)
    output.tick()
    output.warn("[playground] skipped file x")
    output.stopProgress()

    expect(lines).toEqual(["[playground] skipped file x"])
  })
})
