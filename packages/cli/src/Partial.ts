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
import { type Counterexample, Explorer, type Report } from "@drvmodel/core"
import { Effect, Schema } from "effect"
import * as Files from "./Files.ts"
import { InputError } from "./InputError.ts"
import * as Matrix from "./Matrix.ts"
import * as Models from "./Models.ts"
import * as Shard from "./Shard.ts"
import * as Split from "./Split.ts"

/** File name of a shard's partial result inside its --out directory. */
export const fileName = "partial.json"

const format = "drvmodel-shard/1"
const exploreFormat = "drvmodel-explore-shard/1"

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

const Coverage = Schema.Union([
  Schema.TaggedStruct("Sampled", {}),
  Schema.TaggedStruct("Bounded", { exhausted: Schema.Boolean, preemptionBound: Schema.Int, truncatedRuns: Schema.Int }),
  Schema.TaggedStruct("Pct", { depth: Schema.Int, maxTasks: Schema.Int, maxSteps: Schema.Int }),
  Schema.TaggedStruct("Dpor", {
    exhausted: Schema.Boolean,
    classes: Schema.Int,
    sleepBlocked: Schema.Int,
    truncatedRuns: Schema.Int,
    preemptionBound: Schema.optionalKey(Schema.Int)
  })
])

const SegmentResult = Schema.Struct({
  index: Schema.Int,
  runs: Schema.Int,
  runSteps: Schema.optionalKey(Schema.Array(Schema.Int)),
  runCut: Schema.optionalKey(Schema.Array(Schema.Boolean)),
  steps: Schema.Int,
  stepLimitHits: Schema.Int,
  maxTasks: Schema.Int,
  maxStepsPerRun: Schema.Int,
  stopped: Schema.Literals(["budget", "exhausted", "found", "time", "interrupted"]),
  coverage: Coverage,
  counterexamples: Schema.Array(Explorer.Counterexample)
})

const Stuck = Schema.Struct({
  scenario: Schema.String,
  variant: Schema.String,
  task: Schema.String,
  op: Schema.optionalKey(Schema.String),
  func: Schema.optionalKey(Schema.String),
  run: Schema.Int,
  steps: Schema.Int,
  prefix: Schema.Array(Schema.String),
  seconds: Schema.Number
})

/**
 * A shard of one exploration, as written to partial.json by `explore
 * --shard i/n`: the results of its segments (`Split.plan`, segment j in
 * shard j modulo n), and what must agree across shards: model, scenario,
 * variant, the explorer options, whether findings are shrunk, the sources,
 * the shard count and the number of segments planned.
 *
 * @category models
 * @since 0.2.0
 */
export const ExplorePartial = Schema.Struct({
  format: Schema.Literal(exploreFormat),
  model: Schema.String,
  scenario: Schema.String,
  variant: Schema.String,
  sources: Schema.String,
  options: Explorer.ExploreOptions,
  shrink: Schema.Boolean,
  shard: Schema.Struct({ index: Schema.Int, count: Schema.Int }),
  /** Segments of the whole exploration. */
  segments: Schema.Int,
  /** The segments this shard had to compute (their indices). */
  indices: Schema.Array(Schema.Int),
  results: Schema.Array(SegmentResult),
  stuck: Schema.Array(Stuck),
  interrupted: Schema.Boolean,
  elapsedMs: Schema.Number
})
/** @category models @since 0.2.0 */
export type ExplorePartial = typeof ExplorePartial.Type

/**
 * The segments of shard `i/n` of an exploration: those whose index is `i-1` modulo `n`.
 *
 * @example
 * ```ts
 * import { Partial } from "@drvmodel/cli"
 * Partial.segmentsOf([{ index: 0, seed: 1, schedules: 1 }, { index: 1, seed: 2, schedules: 1 }], { index: 2, count: 2 }).length // => 1
 * ```
 * @category getters
 * @since 0.2.0
 */
export const segmentsOf = <S extends { readonly index: number }>(segments: ReadonlyArray<S>, shard: Shard.Shard): Array<S> =>
  segments.filter((s) => s.index % shard.count === shard.index - 1)

/**
 * Encodes an exploration shard's result.
 *
 * @category encoding
 * @since 0.2.0
 */
export const encodeExplore = (p: ExplorePartial): string => `${JSON.stringify(Schema.encodeSync(ExplorePartial)(p), null, 2)}\n`

const what = (kind: "matrix" | "explore") => (kind === "matrix" ? "a matrix shard" : "an exploration's shard")

type AnyPartial = { readonly kind: "matrix"; readonly p: PartialResult } | { readonly kind: "explore"; readonly p: ExplorePartial }

const decode = (file: string): Effect.Effect<AnyPartial, InputError> =>
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
    const tag = typeof json === "object" && json !== null ? (json as { format?: unknown }).format : undefined
    const described = (e: Schema.SchemaError) => new InputError({ message: `${file}: ${Files.describeSchemaError(e)}` })
    if (tag === format) {
      return Schema.decodeUnknownEffect(PartialResult)(json).pipe(
        Effect.map((p): AnyPartial => ({ kind: "matrix", p })),
        Effect.mapError(described)
      )
    }
    if (tag === exploreFormat) {
      return Schema.decodeUnknownEffect(ExplorePartial)(json).pipe(
        Effect.map((p): AnyPartial => ({ kind: "explore", p })),
        Effect.mapError(described)
      )
    }
    return Effect.fail(new InputError({ message: `${file} is not a shard result (format ${format} or ${exploreFormat})` }))
  })

/**
 * The partial results in shard directories, all of one kind: the matrix's
 * (`matrix --shard`) or one exploration's (`explore --shard`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Partial } from "@drvmodel/cli"
 * const kind = Effect.runPromise(Effect.map(Partial.read(["shard-1", "shard-2"]), (r) => r.kind))
 * ```
 * @category execution
 * @since 0.2.0
 */
export const read = (
  dirs: ReadonlyArray<string>
): Effect.Effect<
  | { readonly kind: "matrix"; readonly parts: ReadonlyArray<{ readonly dir: string; readonly p: PartialResult }> }
  | { readonly kind: "explore"; readonly parts: ReadonlyArray<{ readonly dir: string; readonly p: ExplorePartial }> },
  InputError
> =>
  Effect.gen(function* () {
    if (dirs.length === 0) return yield* new InputError({ message: "merge: name the --out directories of the shards" })
    const parts: Array<{ readonly dir: string; readonly part: AnyPartial }> = []
    for (const dir of dirs) parts.push({ dir, part: yield* decode(path.join(dir, fileName)) })
    const kind = parts[0]!.part.kind
    const other = parts.find((x) => x.part.kind !== kind)
    if (other !== undefined) {
      return yield* new InputError({
        message: `merge: ${other.dir} holds ${what(other.part.kind)} but ${parts[0]!.dir} ${what(kind)}: shards of different runs`
      })
    }
    return kind === "matrix"
      ? { kind, parts: parts.map(({ dir, part }) => ({ dir, p: part.p as PartialResult })) }
      : { kind, parts: parts.map(({ dir, part }) => ({ dir, p: part.p as ExplorePartial })) }
  })

/** Checks that shards agree on `what` (one line naming the first that differs), each shard 1..n exactly once. */
const checkShards = <P extends { readonly shard: { readonly index: number; readonly count: number }; readonly sources: string }>(
  parts: ReadonlyArray<{ readonly dir: string; readonly p: P }>,
  what: ReadonlyArray<readonly [string, (p: P) => string]>
): Effect.Effect<Map<number, { readonly dir: string; readonly p: P }>, InputError> =>
  Effect.gen(function* () {
    const first = parts[0]!
    for (const [name, f] of [
      ...what,
      ["shard count", (p: P) => String(p.shard.count)] as const,
      ["source digest", (p: P) => p.sources.slice(0, 12)] as const
    ]) {
      for (const { dir, p } of parts) {
        if (f(p) !== f(first.p)) {
          return yield* new InputError({
            message: `merge: ${dir} has ${name} ${f(p)} but ${first.dir} has ${f(first.p)}: shards of different runs`
          })
        }
      }
    }
    if (first.p.sources !== sourceDigest()) {
      return yield* new InputError({
        message: `merge: the shards ran other sources (digest ${first.p.sources.slice(0, 12)}) than this checkout (${sourceDigest().slice(0, 12)}): merge with the code that computed them`
      })
    }
    const count = first.p.shard.count
    const byIndex = new Map<number, { readonly dir: string; readonly p: P }>()
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
    return byIndex
  })

/**
 * Merges the shards of one exploration: every shard there once, all of the
 * same exploration (model, scenario, variant, options, shrinking, sources,
 * segments), each holding its own segments; the segment results are merged
 * as `explore --jobs` merges them (`Split.mergeTaking`), so the report is
 * the one a single `explore` makes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Partial } from "@drvmodel/cli"
 * declare const parts: ReadonlyArray<{ readonly dir: string; readonly p: Partial.ExplorePartial }>
 * const merged = Effect.runPromise(Partial.mergeExplore(parts))
 * ```
 * @category execution
 * @since 0.2.0
 */
export const mergeExplore = (
  parts: ReadonlyArray<{ readonly dir: string; readonly p: ExplorePartial }>
): Effect.Effect<
  {
    readonly first: ExplorePartial
    readonly report: Report
    readonly stuck: ReadonlyArray<ExplorePartial["stuck"][number]>
  },
  InputError
> =>
  Effect.gen(function* () {
    const byIndex = yield* checkShards(parts, [
      ["model", (p) => p.model],
      ["scenario", (p) => `${p.scenario} / ${p.variant}`],
      ["options", (p) => JSON.stringify({ ...p.options, shrink: p.shrink })],
      ["segment count", (p) => String(p.segments)]
    ])
    const first = parts[0]!.p
    const results: Array<ExplorePartial["results"][number]> = []
    let elapsedMs = 0
    for (const { dir, p } of byIndex.values()) {
      const expected = Array.from({ length: p.segments }, (_, i) => i).filter((i) => i % p.shard.count === p.shard.index - 1)
      const held = p.results.map((r) => r.index)
      if (JSON.stringify(expected) !== JSON.stringify(p.indices) || held.some((i) => !expected.includes(i))) {
        return yield* new InputError({
          message: `merge: ${dir} does not hold the segments of shard ${Shard.format(p.shard)} of ${p.scenario} / ${p.variant}`
        })
      }
      results.push(...p.results)
      elapsedMs = Math.max(elapsedMs, p.elapsedMs)
    }
    const report = Split.merge(first.scenario, first.options, results, first.segments, elapsedMs)
    return { first, report, stuck: [...byIndex.values()].flatMap(({ p }) => p.stuck) }
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
    const all = yield* read(dirs)
    if (all.kind !== "matrix")
      return yield* new InputError({ message: `merge: ${all.parts[0]!.dir} holds a shard of one exploration, not of a matrix` })
    const parts = all.parts
    const first = parts[0]!
    const byIndex = yield* checkShards(parts, [
      ["model", (p) => p.model],
      ["options", (p) => JSON.stringify(p.options)]
    ])
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
      result: Matrix.result(model, present, elapsedMs, interrupted || present.length < units.length),
      counterexamples: cxsAt.flat(),
      files
    }
  })
