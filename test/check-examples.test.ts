/**
 * The documentation-example extractor (scripts/check-examples.ts): finds the
 * ```ts blocks of JSDoc comments and README files, with their source lines.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { extract } from "../scripts/check-examples.ts"

describe("check-examples", () => {
  it.effect("extracts @example blocks from JSDoc with the line of their first code line", () =>
    Effect.sync(() => {
      const text = [
        "/**",
        " * Doc.",
        " *",
        " * @example",
        " * ```ts",
        ' * import { Prng } from "@drvmodel/core"',
        " * Prng.make(1)",
        " * ```",
        " */",
        "export const x = 1"
      ]
      const [ex, ...rest] = extract("/x/Foo.ts", text.join("\n"))
      assert.deepStrictEqual(rest, [])
      assert.strictEqual(ex?.line, 6)
      assert.strictEqual(ex?.code, 'import { Prng } from "@drvmodel/core"\nPrng.make(1)')
    })
  )

  it.effect("ignores ```ts outside comments in source files, takes fenced blocks in Markdown", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(extract("/x/Foo.ts", 'const s = "\n```ts\nbad\n```\n"'), [])
      const md = extract("/x/README.md", "text\n```ts\nconst a = 1\n```\n```sh\nls\n```")
      assert.deepStrictEqual(
        md.map((e) => [e.line, e.code]),
        [[3, "const a = 1"]]
      )
    })
  )
})
