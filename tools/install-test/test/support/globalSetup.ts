/**
 * Packs every published DinoAir package with `pnpm pack` into one temporary
 * folder before the suites run, and hands the tarball paths to them.
 *
 * `pnpm pack` replaces `workspace:` ranges with the packages' versions, so
 * the tarballs are what npm would download from the registry.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import type { TestProject } from "vitest/node"
import { packAll, type Tarballs } from "./packing.js"

declare module "vitest" {
  export interface ProvidedContext {
    tarballs: Tarballs
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const destination = await mkdtemp(path.join(tmpdir(), "dinoair-packs-"))
  project.provide("tarballs", await packAll(destination))
  return () => rm(destination, { recursive: true, force: true })
}
