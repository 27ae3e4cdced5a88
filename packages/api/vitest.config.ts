/**
 * Vitest configuration for @dinoair/api.
 *
 * Vite 8.4 (under Vitest 4.1) transforms TypeScript with Oxc, which leaves
 * standard (TC39) decorators in place, and Node.js 20 fails on them with a
 * SyntaxError. The tests use `@performanceDecorator()` on class methods, so
 * TypeScript files with a decorator line are compiled by TypeScript first,
 * with the build's target (ES2022), which lowers decorators and `using`.
 */
import ts from "typescript"
import { defineConfig, type Plugin } from "vitest/config"

/** A line that starts with `@name`, which in this package's sources is a decorator. */
const DECORATOR_LINE = /^\s*@[A-Za-z_$][\w$.]*(?:\(|\s*$)/m

const lowerDecorators = (): Plugin => ({
  name: "dinoair-lower-decorators",
  enforce: "pre",
  transform(code, id) {
    const file = id.split("?")[0] ?? id
    if (!file.endsWith(".ts") || file.includes("/node_modules/")) return null
    if (!DECORATOR_LINE.test(code)) return null

    const output = ts.transpileModule(code, {
      fileName: file,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        sourceMap: true,
        inlineSources: true,
      },
    })
    return { code: output.outputText, map: output.sourceMapText ?? null }
  },
})

export default defineConfig({
  plugins: [lowerDecorators()],
})
