/**
 * Partial results of a sharded matrix, and their merge. `matrix --shard i/n
 * --out dir` writes the cells of shard i (their counterexample files, as a
 * single run would) and `dir/partial.json`: those cells, their shrunk
 * counterexamples (the README is rendered from them) and what must agree
 * across shards — the model, the options, the source digest (a model edited
 * between two shards is another model version) and the shard count. `merge`
 * checks that and that every shard 1..n is there exactly once, then writes
 * the report directory a single run would have written: the cells in the
 * model's order, the counterexample files copied, paths in the cells moved
 * from the shard's directory to the merged one.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Counterexample, Explorer } from "@drvmodel/core"
import { Effect, Schema } from "effect"
import * as Files from "./Files.ts"
import { InputError } from "./InputError.ts"
import type * as Matrix from "./Matrix.ts"
import * as Models from "./Models.ts"
import * as Shard from "./Shard.ts"

/** File name of a shard's partial result inside its --out directory. */
export const fileName = "partial.json"

const format = "drvmodel-shard/1"

/**
 * A shard's partial result, as written to partial.json.
 *
 * @category models
 * @since 0.1.0
 */
export const PartialResult = Schema.Struct({
  format: Schema.Literal(format),
  model: Schema.String,
  /** sha256 of the sources of the framework, the CLI and the models. */
  sources: Schema.String,
  options: Schema.Struct({ shrinkBudget: Schema.Int }),
  shard: Schema.Struct({ index: Schema.Int, count: Schema.Int }),
  /** The --out directory the shard wrote to (paths in the cells start with it). */
  out: Schema.String,
  /** Model positions of the cells this shard had to compute. */
  positions: Schema.Array(Schema.Int),
  cells: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)),
  counterexamples: Schema.Array(Explorer.Counterexample),
  interrupted: Schema.Boolean,
  elapsedMs: Schema.Number
})
/** @category models @since 0.1.0 */
export type PartialResult = typeof PartialResult.Type

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/**
 * sha256 over the TypeScript sources of packages/ and examples/ (paths and
 * contents, sorted): two shards agree on it only if they ran the same code.
 *
 * @example
 * ```ts
 * import { Partial } from "@drvmodel/cli"
 * Partial.sourceDigest().length // => 64
 * ```
 * @category getters
 * @since 0.1.0
 */
export const sourceDigest = (): string => {
  const files: Array<string> = []
  const walk = (dir: string) => {
    let entries: Array<fs.Dirent>
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      if (e.name === "node_modules" || e.name.startsWith(".")) continue
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) files.push(p)
    }
  }
  walk(path.join(root, "packages"))
  walk(path.join(root, "examples"))
  const hash = createHash("sha256")
  for (const f of files.map((f) => path.relative(root, f).split(path.sep).join("/")).sort()) {
    hash.update(`${f}\0`)
    hash.update(fs.readFileSync(path.join(root, f)))
    hash.update("\0")
  }
  // Not cached: computed once per shard written or merged (no module state).
  return hash.digest("hex")
}

/**
 * Encodes a shard's result.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (p: PartialResult): string => `${JSON.stringify(Schema.encodeSync(PartialResult)(p), null, 2)}\n`

const decode = (file: string): Effect.Effect<PartialResult, InputError> =>
  Effect.suspend(() => {
    let json: unknown
    try {
      json = JSON.parse(fs.readFileSync(file, "utf8"))
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      return Effect.fail(
        new InputError({
          message:
            code === "ENOENT"
              ? `${path.dirname(file)} holds no ${fileName}: not the --out directory of a matrix --shard run`
              : `cannot read ${file}: ${code ?? "not JSON"}`
        })
      )
    }
    if (typeof json !== "object" || json === null || (json as { format?: unknown }).format !== format) {
      return Effect.fail(new InputError({ message: `${file} is not a shard result (format ${format})` }))
    }
    return Schema.decodeUnknownEffect(PartialResult)(json).pipe(
      Effect.mapError((e) => new InputError({ message: `${file}: ${Files.describeSchemaError(e)}` }))
    )
  })

/** Replaces a leading `from` directory by `to` in every string of a JSON value. */
const moveDir = (value: unknown, from: string, to: string): unknown => {
  if (typeof value === "string") return value.startsWith(from + path.sep) ? path.join(to, value.slice(from.length + 1)) : value
  if (Array.isArray(value)) return value.map((v) => moveDir(v, from, to))
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, moveDir(v, from, to)]))
  return value
}

/**
 * Merges shard directories into one matrix result; copies their files into
 * `out` (`files` lists what to copy: source and target).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Partial } from "@drvmodel/cli"
 * const merged = Effect.runPromise(Partial.merge(["shard-1", "shard-2"], "report"))
 * ```
 * @category execution
 * @since 0.1.0
 */
export const merge = (
  dirs: ReadonlyArray<string>,
  out: string
): Effect.Effect<
  {
    readonly result: Matrix.MatrixResult
    readonly counterexamples: ReadonlyArray<Counterexample>
    readonly files: ReadonlyArray<{ readonly from: string; readonly to: string }>
  },
  InputError
> =>
  Effect.gen(function* () {
    if (dirs.length === 0) return yield* new InputError({ message: "merge: name the --out directories of the shards" })
    const parts: Array<{ readonly dir: string; readonly p: PartialResult }> = []
    for (const dir of dirs) parts.push({ dir, p: yield* decode(path.join(dir, fileName)) })
    const first = parts[0]!
    const same = (what: string, f: (p: PartialResult) => string) =>
      Effect.forEach(parts, ({ dir, p }) =>
        f(p) === f(first.p)
          ? Effect.void
          : Effect.fail(
              new InputError({ message: `merge: ${dir} has ${what} ${f(p)} but ${first.dir} has ${f(first.p)}: shards of different runs` })
            )
      )
    yield* same("model", (p) => p.model)
    yield* same("options", (p) => JSON.stringify(p.options))
    yield* same("shard count", (p) => String(p.shard.count))
    yield* same("source digest", (p) => p.sources.slice(0, 12))
    if (first.p.sources !== sourceDigest()) {
      return yield* new InputError({
        message: `merge: the shards ran other sources (digest ${first.p.sources.slice(0, 12)}) than this checkout (${sourceDigest().slice(0, 12)}): merge with the code that computed them`
      })
    }
    const count = first.p.shard.count
    const byIndex = new Map<number, { readonly dir: string; readonly p: PartialResult }>()
    for (const part of parts) {
      const other = byIndex.get(part.p.shard.index)
      if (other !== undefined)
        return yield* new InputError({
          message: `merge: shard ${Shard.format(part.p.shard)} appears twice (${other.dir} and ${part.dir})`
        })
      byIndex.set(part.p.shard.index, part)
    }
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i))
    if (missing.length > 0) {
      return yield* new InputError({
        message: `merge: missing shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${count}`).join(", ")}`
      })
    }
    const model = yield* Effect.suspend(() => {
      try {
        return Effect.succeed(Models.get(first.p.model))
      } catch (e) {
        return Effect.fail(new InputError({ message: `merge: ${e instanceof Error ? e.message : String(e)}` }))
      }
    })
    const units = Shard.units(model)
    const cells: Array<Matrix.Cell | undefined> = new Array(units.length).fill(undefined)
    const cxsAt: Array<ReadonlyArray<Counterexample>> = new Array(units.length).fill([])
    const files: Array<{ from: string; to: string }> = []
    let interrupted = false
    let elapsedMs = 0
    for (const { dir, p } of byIndex.values()) {
      const expected = Shard.select(units, p.shard).map((u) => u.position)
      if (JSON.stringify(expected) !== JSON.stringify(p.positions)) {
        return yield* new InputError({
          message: `merge: ${dir} does not hold the cells of shard ${Shard.format(p.shard)} of model ${p.model}`
        })
      }
      interrupted ||= p.interrupted
      elapsedMs = Math.max(elapsedMs, p.elapsedMs)
      for (const raw of p.cells) {
        const cell = moveDir(raw, p.out, out) as Matrix.Cell
        const position = units.findIndex((u) => u.scenario === cell.scenario && u.variant === cell.variant)
        if (!expected.includes(position)) {
          return yield* new InputError({
            message: `merge: ${dir} holds cell ${cell.scenario} / ${cell.variant}, not of shard ${Shard.format(p.shard)}`
          })
        }
        cells[position] = cell
        cxsAt[position] = p.counterexamples.filter((c) => c.scenario === cell.scenario && c.variant === cell.variant)
      }
      for (const name of fs.readdirSync(dir).sort()) {
        if (name === fileName || name === "matrix.json" || name === "README.md") continue
        const from = path.join(dir, name)
        if (fs.statSync(from).isFile()) files.push({ from, to: path.join(out, name) })
      }
    }
    const present = cells.filter((c): c is Matrix.Cell => c !== undefined)
    return {
      result: {
        model: model.name,
        variants: model.variants.map((v) => v.name),
        scenarios: model.scenarios.map((s) => s.name),
        cells: present,
        elapsedMs,
        interrupted: interrupted || present.length < units.length
      },
      counterexamples: cxsAt.flat(),
      files
    }
  })
