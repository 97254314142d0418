/**
 * Type-checks the documentation examples: every ```ts block of a JSDoc
 * `@example` in the packages and examples, and every ```ts block of the
 * README, is written out as its own module and compiled with the project's
 * own `tsc` and settings (unused locals allowed: an example may just show a
 * value). An error is reported at the example's line in its source file.
 *
 * Why not @effect/docgen: it drives the TypeScript 5 API through ts-morph (a
 * second compiler next to the project's TypeScript 7, which has no JS API),
 * pulls prettier, glob and a markdown toolchain, and insists on its own doc
 * conventions; checking the examples only needs extraction plus `tsc`.
 *
 * Run: node scripts/check-examples.ts (part of `pnpm check`).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
// Inside the workspace, so that `@drvmodel/*` and `effect` resolve from its node_modules; the
// CLI's examples beside the CLI package, whose dependencies (@effect/platform-node) they use.
const out = path.join(root, ".examples")
const cliOut = path.join(root, "packages/cli/.examples")
const dirFor = (source: string) => (source.startsWith(path.join(root, "packages/cli/")) ? cliOut : out)

interface Example {
  readonly source: string
  /** 1-based line of the example's first code line in `source`. */
  readonly line: number
  readonly code: string
}

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "dist" ? [] : sourceFiles(p)
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [p] : []
  })

/** ```ts blocks; in a .ts file only those inside comments (lines starting with `*`). */
export const extract = (source: string, text: string): Array<Example> => {
  const inComment = source.endsWith(".ts")
  const prefix = inComment ? /^\s*\* ?/ : /^/
  const examples: Array<Example> = []
  let block: { line: number; lines: Array<string> } | undefined
  text.split("\n").forEach((raw, i) => {
    if (inComment && !/^\s*\*/.test(raw)) {
      block = undefined
      return
    }
    const line = raw.replace(prefix, "")
    if (block === undefined) {
      if (/^```ts\s*$/.test(line)) block = { line: i + 2, lines: [] }
    } else if (/^```\s*$/.test(line)) {
      examples.push({ source, line: block.line, code: block.lines.join("\n") })
      block = undefined
    } else block.lines.push(line)
  })
  return examples
}

/** Relative imports are relative to the documented file. */
const rebase = (ex: Example, file: string): string =>
  ex.code.replace(/(from\s+|import\s*\(\s*)"(\.{1,2}\/[^"]+)"/g, (_m, lead: string, spec: string) => {
    const target = path.relative(path.dirname(file), path.resolve(path.dirname(ex.source), spec)).replaceAll(path.sep, "/")
    return `${lead}"${target.startsWith(".") ? target : `./${target}`}"`
  })

const main = (): number => {
  const files = [
    ...["packages/core/src", "packages/mlx5/src", "packages/cli/src", "examples"].flatMap((d) => sourceFiles(path.join(root, d))),
    path.join(root, "README.md")
  ]
  const examples = files.flatMap((f) => extract(f, fs.readFileSync(f, "utf8")))
  if (examples.length === 0) {
    console.error("check-examples: no examples found")
    return 1
  }
  for (const dir of [out, cliOut]) {
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(dir, { recursive: true })
  }
  const where = new Map<string, Example>()
  examples.forEach((ex, i) => {
    const name = `ex${String(i).padStart(4, "0")}.ts`
    const file = path.join(dirFor(ex.source), name)
    // `export {}` makes each example a module, so top-level names do not collide.
    fs.writeFileSync(file, `${rebase(ex, file)}\nexport {}\n`)
    where.set(name, ex)
  })
  fs.writeFileSync(
    path.join(out, "tsconfig.json"),
    JSON.stringify({
      extends: "../tsconfig.json",
      compilerOptions: { noUnusedLocals: false, noUnusedParameters: false },
      include: ["*.ts", "../packages/cli/.examples/*.ts"]
    })
  )
  const tsc = path.join(root, "node_modules/typescript/bin/tsc")
  const r = spawnSync(process.execPath, [tsc, "-p", path.join(out, "tsconfig.json"), "--pretty", "false"], { encoding: "utf8" })
  const errors = `${r.stdout}${r.stderr}`
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const m = /(ex\d{4}\.ts)\((\d+),(\d+)\): (.*)$/.exec(l)
      const ex = m ? where.get(m[1]!) : undefined
      return ex ? `${path.relative(root, ex.source)}:${ex.line + Number(m![2]) - 1}: example: ${m![4]}` : l
    })
  if (r.status !== 0) {
    for (const e of errors) console.error(e)
    console.error(`check-examples: ${errors.length} error(s) in ${examples.length} documentation examples`)
    return 1
  }
  for (const dir of [out, cliOut]) fs.rmSync(dir, { recursive: true, force: true })
  console.log(`check-examples: ${examples.length} documentation examples type-check`)
  return 0
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main()
