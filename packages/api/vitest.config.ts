/**
 * Vitest configuration for @dinoair/api.
 *
 * Vite 8 transforms TypeScript with Oxc, which strips types but does not
 * lower standard (TC39 stage 3) decorators, and Node.js 20 cannot run them.
 * The tests use `@performanceDecorator()` on class methods, so test files
 * that contain a decorator are compiled by TypeScript first, with the same
 * target as the build (ES2022), which lowers decorators and `using`.
 */
import ts from "typescript"
import { defineConfig, type Plugin } from "vitest/config"

/** A line that starts with `@name`, which in a test file can only be a decorator. */
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
