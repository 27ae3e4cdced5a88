/**
 * Folders of the docs app and of the repository around it. The same
 * relative paths hold from `src/` (under Vitest) and from `dist/` (built).
 */
import { fileURLToPath } from "node:url"

/** The docs app folder, `apps/docs`. */
export const docsDir = fileURLToPath(new URL("..", import.meta.url))

/** The repository root. */
export const repoDir = fileURLToPath(new URL("../../..", import.meta.url))

/** The TypeDoc configuration of the site. */
export const typedocConfig = `${docsDir}typedoc.json`

/** The folder `pnpm run docs` writes the site to. */
export const siteDir = `${docsDir}out/site`

/** The folder of the guides. */
export const guidesDir = `${docsDir}guides`
