import { rm } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { listFiles } from "../src/walk.js"
import { makeTree, type TestTree } from "./helpers.js"

describe("listFiles", () => {
  let tree: TestTree

  beforeAll(async () => {
    tree = await makeTree()
  })

  afterAll(async () => {
    await rm(tree.root, { recursive: true, force: true })
  })

  it("lists every regular file once", async () => {
    const { files } = await listFiles(tree.root)

    expect(files.map((file) => file.relativePath).sort()).toEqual(tree.files)
  })

  it("gives absolute paths", async () => {
    const { files } = await listFiles(tree.root)

    expect(files.every((file) => file.path === join(tree.root, file.relativePath))).toBe(true)
  })

  it("counts symbolic links without following them", async () => {
    const { counts } = await listFiles(tree.root)

    expect(counts.symlinks).toBe(tree.symlinks)
    expect(counts.directories).toBe(5)
    expect(counts.files).toBe(tree.files.length)
    expect(counts.truncated).toBe(false)
  })

  it("stops at the limit in name order", async () => {
    const { files, counts } = await listFiles(tree.root, { limit: 3 })

    expect(files.map((file) => file.relativePath)).toEqual(["big.bin", "empty.txt", "small-00.txt"])
    expect(counts.truncated).toBe(true)
  })

  it("is not truncated at an exact limit", async () => {
    const { counts } = await listFiles(tree.root, { limit: tree.files.length })

    expect(counts.truncated).toBe(false)
  })

  it("leaves out excluded paths", async () => {
    const { files } = await listFiles(tree.root, { exclude: [join(tree.root, "big.bin")] })

    expect(files.map((file) => file.relativePath)).not.toContain("big.bin")
    expect(files.length).toBe(tree.files.length - 1)
  })

  it("reports a missing root as unreadable", async () => {
    const unreadable: Array<string> = []
    const missing = join(tree.root, "missing")
    const { files, counts } = await listFiles(missing, {
      onUnreadable: (path) => unreadable.push(path),
    })

    expect(files).toEqual([])
    expect(counts.unreadableDirectories).toBe(1)
    expect(unreadable).toEqual([missing])
  })
})
