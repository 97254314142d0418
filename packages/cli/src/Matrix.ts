/**
 * The findings matrix: every scenario of a model on every variant, each with
 * the scenario's default budget; each cell a verdict with its evidence (the
 * shrunk counterexamples) or, when clean, what was covered.
 *
 * A cell of a model whose footprints are complete (`Model.footprints`) first
 * tries DPOR to exhaustion within `dporBudget` executions (default
 * `defaultDporBudget`; never more than the cell's own schedule budget): a cell that
 * exhausts is verified (every class of interleavings explored); one that does
 * not records how far it got and falls back to the scenario's own budget.
 *
 * Cells are built by `runCell`; extra analyses (e.g. lock-order analysis) plug
 * in as `CellAnalysis` functions that may add fields and finding kinds to a
 * cell without touching this module.
 *
 * @since 0.1.0
 */
import * as path from "node:path"
import {
  type Counterexample,
  type Explorer,
  Finding,
  type Model,
  type OpObserver,
  type Report,
  type Scenario,
  type ScenarioInfo,
  Shrink
} from "@drvmodel/core"
import { Effect, type FileSystem, type Path } from "effect"
import * as Coverage from "./Coverage.ts"
import * as Exploration from "./Exploration.ts"
import * as Files from "./Files.ts"
import type { InputError } from "./InputError.ts"
import * as Models from "./Models.ts"

/**
 * One counterexample of a cell, as listed in matrix.json.
 *
 * @category models
 * @since 0.1.0
 */
export interface CellCounterexample {
  readonly kind: string
  readonly summary: string
  /** Path of the counterexample JSON (as written, relative to the working directory unless --out was absolute). */
  readonly path?: string
  readonly steps: number
  readonly preemptions: number
  /** The bug's depth: preemptions of the shrunk schedule. */
  readonly depth: number
  readonly original?: { readonly steps: number; readonly preemptions: number }
  /** Replays spent shrinking. */
  readonly shrinkReplays?: number
}

/**
 * A cell of the matrix. Analyses may add fields.
 *
 * @category models
 * @since 0.1.0
 */
export interface Cell {
  readonly scenario: string
  readonly variant: string
  readonly verdict: "clean" | "finding"
  readonly kinds: ReadonlyArray<string>
  /** Schedules (executions) explored. */
  readonly schedules: number
  /** Every class of interleavings was explored (DPOR exhausted its space): the verdict holds for all schedules. */
  readonly exhaustive: boolean
  /** Classes of interleavings DPOR explored (when the model's footprints are complete and DPOR ran). */
  readonly classes?: number
  readonly strategy: string
  /** Path of the first finding's counterexample JSON. */
  readonly counterexample?: string
  readonly counterexamples: ReadonlyArray<CellCounterexample>
  readonly coverage: Coverage.CoverageInfo
  readonly stopped: Report["stopped"]
  readonly elapsedMs: number
  readonly [extra: string]: unknown
}

/**
 * What an analysis sees of a cell.
 *
 * @category models
 * @since 0.1.0
 */
export interface CellContext {
  readonly model: Model
  readonly info: ScenarioInfo
  readonly variant: string
  readonly scenario: Scenario
  readonly options: Explorer.ExploreOptions
  readonly report: Report
  /** Shrunk counterexamples. */
  readonly counterexamples: ReadonlyArray<Counterexample>
  /** The report directory, when files are written. */
  readonly out?: string
}

/**
 * An extra analysis of a cell (lock-order analysis, coverage goals...). It
 * may observe every operation of the exploration (`observers`) and then add
 * fields and finding kinds to the cell; a kind makes the cell a finding.
 *
 * @example
 * ```ts
 * import type { Matrix } from "@drvmodel/cli"
 * const stepCount: Matrix.CellAnalysis = {
 *   name: "steps",
 *   analyze: (ctx) => ({ fields: { totalSteps: ctx.report.steps } })
 * }
 * ```
 * @category models
 * @since 0.1.0
 */
export interface CellAnalysis {
  readonly name: string
  /** Fresh observers for one cell's exploration (optional). */
  readonly observers?: () => ReadonlyArray<OpObserver>
  /**
   * For a cell explored in pieces on several threads (DPOR pre-pass, then
   * segments): `save` gives the observers' state after one piece as plain
   * data; `load`, called after `observers()` in the thread that analyses the
   * cell, takes in the pieces' states in run order, leaving the state one
   * observer of every run would have. An analysis without it sees nothing of
   * a split cell's runs.
   */
  readonly state?: {
    readonly save: () => unknown
    readonly load: (parts: ReadonlyArray<unknown>) => void
  }
  readonly analyze: (ctx: CellContext) =>
    | {
        readonly fields?: Readonly<Record<string, unknown>>
        readonly kinds?: ReadonlyArray<string>
        /** Files to write beside the cell's counterexamples (paths under `ctx.out`). */
        readonly files?: ReadonlyArray<{ readonly path: string; readonly text: string }>
      }
    | undefined
}

/**
 * Options of a matrix run.
 *
 * @category models
 * @since 0.1.0
 */
export interface MatrixOptions {
  /** Output directory for counterexamples (none: nothing is written). */
  readonly out?: string
  readonly analyses?: ReadonlyArray<CellAnalysis>
  /** Replays allowed per shrink. */
  readonly shrinkBudget?: number
  /** Observers of the shrink replays (a worker's heartbeat: shrinking a long livelock takes many). */
  readonly shrinkObservers?: () => ReadonlyArray<OpObserver>
  /** Executions DPOR may take in a cell before the matrix falls back to the scenario's budget (0: no DPOR). */
  readonly dporBudget?: number
  /** A run budget for every cell instead of its scenario's default (library use and tests). */
  readonly schedules?: number
  readonly shouldStop?: () => boolean
  readonly onCellStart?: (scenario: string, variant: string, options: Explorer.ExploreOptions) => void
  readonly onProgress?: (p: { readonly runs: number; readonly findings: number }) => void
  readonly onCellDone?: (cell: Cell) => void
  /** Only these variants (listed or composed), in this order (default: the model's). */
  readonly variants?: ReadonlyArray<string>
  /** Only these scenarios, in this order (default: the model's). */
  readonly scenarios?: ReadonlyArray<string>
}

/**
 * The matrix as written to matrix.json.
 *
 * @category models
 * @since 0.1.0
 */
export interface MatrixResult {
  readonly model: string
  readonly variants: ReadonlyArray<string>
  readonly scenarios: ReadonlyArray<string>
  readonly cells: ReadonlyArray<Cell>
  readonly elapsedMs: number
  readonly interrupted: boolean
}

/**
 * The matrix as written to matrix.json, from its cells in model order.
 *
 * @example
 * ```ts
 * import { Matrix, Models } from "@drvmodel/cli"
 * Matrix.result(Models.get("classic"), [], 0, false).cells // => []
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const result = (
  model: {
    readonly name: string
    readonly variants: ReadonlyArray<{ readonly name: string }>
    readonly scenarios: ReadonlyArray<{ readonly name: string }>
  },
  cells: ReadonlyArray<Cell>,
  elapsedMs: number,
  interrupted: boolean
): MatrixResult => ({
  model: model.name,
  variants: model.variants.map((v) => v.name),
  scenarios: model.scenarios.map((s) => s.name),
  cells,
  elapsedMs: Math.round(elapsedMs),
  interrupted
})

/**
 * Shrinks each counterexample of a report (same finding, fewer preemptions, fewer steps).
 *
 * @category execution
 * @since 0.1.0
 */
export const shrinkAll = (
  scenario: Scenario,
  o: Explorer.ExploreOptions,
  cxs: ReadonlyArray<Counterexample>,
  budget?: number,
  observers?: ReadonlyArray<OpObserver>
): Array<{ readonly counterexample: Counterexample; readonly replays: number }> =>
  cxs.map((cx) => {
    try {
      const { counterexample, result } = Effect.runSync(
        Shrink.counterexample(scenario, cx, {
          maxSteps: o.maxSteps,
          livelockBound: o.livelockBound,
          ...(budget !== undefined ? { maxReplays: budget } : {}),
          ...(observers !== undefined ? { observers } : {})
        })
      )
      return { counterexample, replays: result.replays }
    } catch (e) {
      // A finding that does not replay is a determinism bug in the model: keep the original evidence.
      if (e instanceof Shrink.NotReproduced) return { counterexample: cx, replays: 0 }
      throw e
    }
  })

/**
 * Executions DPOR may take in a cell before the matrix falls back to the
 * scenario's own budget (or fewer: never more than that budget).
 *
 * @category constants
 * @since 0.2.0
 */
export const defaultDporBudget = 2000

/** Counterexamples of `a`, then those of `b` with a finding signature `a` lacks. */
const mergeFindings = (a: ReadonlyArray<Counterexample>, b: ReadonlyArray<Counterexample>): Array<Counterexample> => {
  const seen = new Set(a.map((c) => Finding.signatureOf(c.finding.problem)))
  return [...a, ...b.filter((c) => !seen.has(Finding.signatureOf(c.finding.problem)))]
}

/** A cell and its shrunk counterexamples, computed with the platform's files. */
type CellEffect = Effect.Effect<
  { readonly cell: Cell; readonly counterexamples: ReadonlyArray<Counterexample> },
  InputError,
  FileSystem.FileSystem | Path.Path
>

/** The observers and batch hooks of one cell's exploration under `options`. */
export const cellHooks = (variant: string, analyses: ReadonlyArray<CellAnalysis>, options: MatrixOptions): Exploration.BatchHooks => {
  const observers = analyses.flatMap((a) => a.observers?.() ?? [])
  return {
    variant,
    ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(observers.length > 0 ? { observers } : {})
  }
}

/**
 * The DPOR pre-pass of a cell, where the model's footprints allow it (else
 * undefined), within `budget` executions and never more than the cell's own
 * schedule budget, and whether it decides the cell: exhausted (verified), or
 * interrupted. Otherwise the scenario's own exploration follows, and DPOR's
 * findings are kept beside its own.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Matrix, Models } from "@drvmodel/cli"
 * const resolved = Effect.runSync(Models.resolve("classic", "abba", "buggy"))
 * const o = Effect.runSync(Models.optionsFor(resolved.info))
 * const pass = Effect.runPromise(Matrix.dporPass(resolved, o, { variant: "buggy" }, Matrix.defaultDporBudget))
 * ```
 * @category execution
 * @since 0.2.0
 */
export const dporPass = (
  resolved: Models.Resolved,
  o: Explorer.ExploreOptions,
  hooks: Exploration.BatchHooks,
  budget: number
): Effect.Effect<{ readonly dpor?: Report; readonly decided: boolean }> =>
  Effect.gen(function* () {
    if (resolved.model.footprints !== "complete" || budget <= 0) return { decided: false }
    // Never more than the cell's own exploration may take: a cell DPOR cannot exhaust costs at
    // most twice its sampling, whatever the model.
    const schedules = Math.min(budget, o.schedules)
    const dpor = yield* Exploration.explore(resolved.scenario, { ...o, strategy: "dpor", bounded: false, schedules }, hooks)
    const verified = dpor.coverage._tag === "Dpor" && dpor.coverage.exhausted
    return { dpor, decided: verified || dpor.stopped === "interrupted" }
  })

/**
 * Explores one cell, shrinks its findings, writes them (when `out` is set)
 * and applies the analyses.
 *
 * @category execution
 * @since 0.1.0
 */
export const runCell = (
  resolved: Models.Resolved,
  modelName: string,
  o: Explorer.ExploreOptions,
  options: MatrixOptions = {}
): CellEffect =>
  Effect.gen(function* () {
    const analyses = options.analyses ?? []
    const hooks = cellHooks(resolved.variant, analyses, options)
    const { dpor, decided } = yield* dporPass(resolved, o, hooks, options.dporBudget ?? defaultDporBudget)
    const report = dpor !== undefined && decided ? dpor : yield* Exploration.explore(resolved.scenario, o, hooks)
    return yield* finishCell(resolved, modelName, o, { report, ...(dpor !== undefined ? { dpor } : {}) }, options)
  })

/**
 * The rest of a cell once explored: its report (and DPOR's, when the
 * pre-pass ran and did not decide the cell, or decided it: then both are the
 * same), shrunk and written findings, the analyses (whose observers have
 * seen, or loaded, every run), the cell.
 *
 * @example
 * ```ts
 * import type { Effect } from "effect"
 * import { Matrix, type Models } from "@drvmodel/cli"
 * import type { Report } from "@drvmodel/core"
 * declare const resolved: Models.Resolved
 * declare const report: Report
 * const cell = Matrix.finishCell(resolved, "classic", report.options, { report }, {})
 * ```
 * @category execution
 * @since 0.2.0
 */
export const finishCell = (
  resolved: Models.Resolved,
  modelName: string,
  o: Explorer.ExploreOptions,
  explored: { readonly report: Report; readonly dpor?: Report },
  options: MatrixOptions
): CellEffect =>
  Effect.gen(function* () {
    const { model, info, variant, scenario } = resolved
    const analyses = options.analyses ?? []
    const { report, dpor } = explored
    const verified = dpor?.coverage._tag === "Dpor" && dpor.coverage.exhausted
    const found =
      dpor !== undefined && report !== dpor ? mergeFindings(report.counterexamples, dpor.counterexamples) : report.counterexamples
    // Interrupted: keep the evidence as found, and stop promptly instead of shrinking.
    const shrunk =
      report.stopped === "interrupted"
        ? found.map((counterexample) => ({ counterexample, replays: 0 }))
        : shrinkAll(scenario, o, found, options.shrinkBudget, options.shrinkObservers?.())
    const listed: Array<CellCounterexample> = []
    const used = new Set<string>()
    for (const { counterexample: cx, replays } of shrunk) {
      let file: string | undefined
      if (options.out !== undefined) {
        // Several findings of one kind (e.g. two different livelocks) get numbered names.
        let name = Files.nameFor(cx)
        for (let n = 2; used.has(name); n++) name = Files.nameFor(cx, `--${n}.json`)
        used.add(name)
        file = path.join(options.out, name)
        yield* Files.write(file, Files.encodeCounterexample(modelName, cx))
      }
      listed.push({
        kind: cx.kind,
        summary: cx.finding.summary,
        ...(file !== undefined ? { path: file } : {}),
        steps: cx.steps,
        preemptions: cx.preemptions,
        depth: cx.preemptions,
        ...(cx.original !== undefined ? { original: cx.original } : {}),
        shrinkReplays: replays
      })
    }
    let kinds = [...new Set(shrunk.map((s) => s.counterexample.kind))]
    let extra: Record<string, unknown> = {}
    const ctx: CellContext = {
      model,
      info,
      variant,
      scenario,
      options: o,
      report,
      counterexamples: shrunk.map((s) => s.counterexample),
      ...(options.out !== undefined ? { out: options.out } : {})
    }
    for (const a of analyses) {
      const r = a.analyze(ctx)
      if (r === undefined) continue
      if (r.fields !== undefined) extra = { ...extra, ...r.fields }
      if (r.kinds !== undefined) kinds = [...new Set([...kinds, ...r.kinds])]
      for (const f of r.files ?? []) yield* Files.write(f.path, f.text)
    }
    const cell: Cell = {
      ...extra,
      scenario: info.name,
      variant,
      verdict: kinds.length > 0 ? "finding" : "clean",
      kinds,
      schedules: report.runs,
      exhaustive: verified,
      ...(dpor?.coverage._tag === "Dpor" ? { classes: dpor.coverage.classes } : {}),
      strategy: report.strategy,
      ...(listed[0]?.path !== undefined ? { counterexample: listed[0].path } : {}),
      counterexamples: listed,
      coverage: Coverage.describe(report),
      stopped: report.stopped,
      elapsedMs: Math.round(report.elapsedMs + (dpor !== undefined && dpor !== report ? dpor.elapsedMs : 0))
    }
    return { cell, counterexamples: shrunk.map((s) => s.counterexample) }
  })

/**
 * Runs the whole matrix of a model.
 *
 * @example
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Matrix } from "@drvmodel/cli"
 * const result = Effect.runPromise(Matrix.run("classic", { out: "report" }).pipe(Effect.provide(NodeServices.layer)))
 * ```
 * @category execution
 * @since 0.1.0
 */
export const run = (
  modelName: string,
  options: MatrixOptions = {}
): Effect.Effect<
  { readonly result: MatrixResult; readonly counterexamples: ReadonlyArray<Counterexample> },
  InputError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function* () {
    const started = performance.now()
    const model = yield* Models.chosen(modelName, options.variants, options.scenarios)
    const cells: Array<Cell> = []
    const all: Array<Counterexample> = []
    let interrupted = false
    outer: for (const info of model.scenarios) {
      for (const v of model.variants) {
        if (options.shouldStop?.()) {
          interrupted = true
          break outer
        }
        const resolved = yield* Models.resolve(modelName, info.name, v.name)
        const o = yield* Models.optionsFor(info, options.schedules !== undefined ? { schedules: options.schedules } : {})
        options.onCellStart?.(info.name, v.name, o)
        const { cell, counterexamples } = yield* runCell(resolved, modelName, o, options)
        cells.push(cell)
        all.push(...counterexamples)
        options.onCellDone?.(cell)
        if (cell.stopped === "interrupted") {
          interrupted = true
          break outer
        }
      }
    }
    return { result: result(model, cells, performance.now() - started, interrupted), counterexamples: all }
  })

/**
 * The short verdict of a cell: `clean` or its kinds.
 *
 * @category rendering
 * @since 0.1.0
 */
export const verdictText = (cell: Cell): string =>
  cell.verdict === "clean" ? "clean" : cell.kinds.map((k) => (k === "lock-order" ? lockOrderText(cell) : k)).join(", ")

/** `lock-order (confirmed)` or `lock-order (potential)`, from the cell's lock-order field. */
const lockOrderText = (cell: Cell): string => {
  const lo = cell.lockOrder as { readonly verdict?: string } | undefined
  return lo?.verdict !== undefined && lo.verdict !== "clean" ? `lock-order (${lo.verdict})` : "lock-order"
}

/**
 * The evidence line of a cell: schedules and strategy, whether DFS exhausted its space, and
 * how far DPOR got (`verified`: every class explored, no finding).
 *
 * @category rendering
 * @since 0.1.0
 */
export const detailText = (cell: Cell): string => {
  const depth = cell.counterexamples.length > 0 ? `, depth ${Math.min(...cell.counterexamples.map((c) => c.depth))}` : ""
  const stopped = cell.stopped === "interrupted" ? ", interrupted" : ""
  if (cell.exhaustive === true) {
    return `${cell.classes ?? cell.schedules} dpor classes, ${cell.verdict === "clean" ? "verified" : "exhaustive"}${depth}${stopped}`
  }
  const exhausted = cell.coverage.kind === "bounded" ? (cell.coverage.exhausted ? ", exhausted" : ", not exhausted") : ""
  const tried = cell.classes !== undefined ? ` (dpor: ${cell.classes} classes, not exhaustive)` : ""
  return `${cell.schedules} ${cell.strategy}${exhausted}${depth}${stopped}${tried}`
}

/**
 * The matrix as a terminal table: scenarios down, variants across, two lines
 * per row. Invariant kinds are abbreviated as I1, I2... with a legend below,
 * so that eleven variants fit a wide terminal.
 *
 * @category rendering
 * @since 0.1.0
 */
export const table = (
  result: MatrixResult,
  paint: { readonly red: (s: string) => string; readonly green: (s: string) => string; readonly dim: (s: string) => string } = {
    red: (s) => s,
    green: (s) => s,
    dim: (s) => s
  }
): string => {
  const cellOf = (s: string, v: string) => result.cells.find((c) => c.scenario === s && c.variant === v)
  const invariants = [...new Set(result.cells.flatMap((c) => c.kinds).filter((k) => k.startsWith("invariant:")))]
  const short = (k: string) => (k.startsWith("invariant:") ? `I${invariants.indexOf(k) + 1}` : k)
  const verdictOf = (c: Cell) =>
    c.verdict === "clean"
      ? c.exhaustive === true
        ? "clean ✓"
        : "clean"
      : c.kinds.map((k) => (k === "lock-order" ? lockOrderText(c) : short(k))).join(", ")
  const first = Math.max("scenario".length, ...result.scenarios.map((s) => s.length)) + 2
  const widths = result.variants.map(
    (v) =>
      Math.max(
        v.length,
        ...result.scenarios.map((s) => {
          const c = cellOf(s, v)
          return c === undefined ? 1 : Math.max(verdictOf(c).length, detailText(c).length)
        })
      ) + 2
  )
  const row = (head: string, cells: ReadonlyArray<string>, raw: ReadonlyArray<string>) =>
    `${head.padEnd(first)}${cells.map((c, i) => c + " ".repeat(Math.max(0, widths[i]! - raw[i]!.length))).join("")}`.trimEnd()
  const lines = [row("scenario", result.variants, result.variants)]
  for (const s of result.scenarios) {
    const cells = result.variants.map((v) => cellOf(s, v))
    const verdicts = cells.map((c) => (c === undefined ? "-" : verdictOf(c)))
    const details = cells.map((c) => (c === undefined ? "" : detailText(c)))
    lines.push(
      row(
        s,
        verdicts.map((t, i) => (cells[i] === undefined ? t : cells[i]!.verdict === "clean" ? paint.green(t) : paint.red(t))),
        verdicts
      )
    )
    lines.push(row("", details.map(paint.dim), details))
  }
  if (invariants.length > 0) lines.push("", ...invariants.map((k, i) => `I${i + 1} = ${k}`))
  if (result.cells.some((c) => c.exhaustive === true && c.verdict === "clean")) {
    lines.push("", "clean ✓ = verified: DPOR explored every class of interleavings, none fails")
  }
  return lines.join("\n")
}
