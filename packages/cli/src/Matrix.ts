/**
 * The findings matrix: every scenario of a model on every variant, each with
 * the scenario's default budget; each cell a verdict with its evidence (the
 * shrunk counterexamples) or, when clean, what was covered.
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
  type Model,
  type OpObserver,
  type Report,
  type Scenario,
  type ScenarioInfo,
  Shrink
} from "@drvmodel/core"
import { Effect } from "effect"
import * as Coverage from "./Coverage.ts"
import * as Exploration from "./Exploration.ts"
import * as Files from "./Files.ts"
import { type InputError, tryInput } from "./InputError.ts"
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
  readonly shouldStop?: () => boolean
  readonly onCellStart?: (scenario: string, variant: string, options: Explorer.ExploreOptions) => void
  readonly onProgress?: (p: { readonly runs: number; readonly findings: number }) => void
  readonly onCellDone?: (cell: Cell) => void
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
 * Shrinks each counterexample of a report (same finding, fewer preemptions, fewer steps).
 *
 * @category execution
 * @since 0.1.0
 */
export const shrinkAll = (
  scenario: Scenario,
  o: Explorer.ExploreOptions,
  cxs: ReadonlyArray<Counterexample>,
  budget?: number
): Array<{ readonly counterexample: Counterexample; readonly replays: number }> =>
  cxs.map((cx) => {
    try {
      const { counterexample, result } = Effect.runSync(
        Shrink.counterexample(scenario, cx, {
          maxSteps: o.maxSteps,
          livelockBound: o.livelockBound,
          ...(budget !== undefined ? { maxReplays: budget } : {})
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
): Effect.Effect<{ readonly cell: Cell; readonly counterexamples: ReadonlyArray<Counterexample> }, InputError> =>
  Effect.gen(function* () {
    const { model, info, variant, scenario } = resolved
    const analyses = options.analyses ?? []
    const observers = analyses.flatMap((a) => a.observers?.() ?? [])
    const report = yield* Exploration.explore(scenario, o, {
      variant,
      ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(observers.length > 0 ? { observers } : {})
    })
    const shrunk = shrinkAll(scenario, o, report.counterexamples, options.shrinkBudget)
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
      strategy: report.strategy,
      ...(listed[0]?.path !== undefined ? { counterexample: listed[0].path } : {}),
      counterexamples: listed,
      coverage: Coverage.describe(report),
      stopped: report.stopped,
      elapsedMs: Math.round(report.elapsedMs)
    }
    return { cell, counterexamples: shrunk.map((s) => s.counterexample) }
  })

/**
 * Runs the whole matrix of a model.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Matrix } from "@drvmodel/cli"
 * const result = Effect.runPromise(Matrix.run("classic", { out: "report" }))
 * ```
 * @category execution
 * @since 0.1.0
 */
export const run = (
  modelName: string,
  options: MatrixOptions = {}
): Effect.Effect<{ readonly result: MatrixResult; readonly counterexamples: ReadonlyArray<Counterexample> }, InputError> =>
  Effect.gen(function* () {
    const started = performance.now()
    const model = yield* tryInput(() => Models.get(modelName))
    yield* Models.requireScenarios(model)
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
        const o = yield* Models.optionsFor(info)
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
    return {
      result: {
        model: model.name,
        variants: model.variants.map((v) => v.name),
        scenarios: model.scenarios.map((s) => s.name),
        cells,
        elapsedMs: Math.round(performance.now() - started),
        interrupted
      },
      counterexamples: all
    }
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
 * The evidence line of a cell: schedules and strategy, and whether DFS exhausted its space.
 *
 * @category rendering
 * @since 0.1.0
 */
export const detailText = (cell: Cell): string => {
  const exhausted = cell.coverage.kind === "bounded" ? (cell.coverage.exhausted ? ", exhausted" : ", not exhausted") : ""
  const depth = cell.counterexamples.length > 0 ? `, depth ${Math.min(...cell.counterexamples.map((c) => c.depth))}` : ""
  const stopped = cell.stopped === "interrupted" ? ", interrupted" : ""
  return `${cell.schedules} ${cell.strategy}${exhausted}${depth}${stopped}`
}

/**
 * The matrix as a terminal table: scenarios down, variants across, two lines
 * per row. Invariant kinds are abbreviated as I1, I2... with a legend below,
 * so that nine variants fit a wide terminal.
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
    c.verdict === "clean" ? "clean" : c.kinds.map((k) => (k === "lock-order" ? lockOrderText(c) : short(k))).join(", ")
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
  return lines.join("\n")
}
