/**
 * The matrix on every core: cells run as tasks in Node worker threads
 * (tinypool: a small, dependency-free pool — piscina, its parent, pulls a
 * native binary as an optional dependency), at most `jobs` at a time, and
 * their results are put back in the model's order, so matrix.json does not
 * depend on how many workers computed it or in which order they finished.
 *
 * The parent polls each running task's `Slot` ten times a second: the sum of
 * their counters drives one progress display; Ctrl-C sets a shared word that
 * every worker checks between runs (running cells end as interrupted, queued
 * ones are not started); and a task whose heartbeat (one tick per scheduling
 * point) has not moved for `watchdogMs` — a model stuck in a plain JavaScript
 * loop, which no in-thread budget can stop — has its worker terminated and is
 * reported with the steps of the run it was stuck in.
 *
 * @since 0.1.0
 */
import { availableParallelism } from "node:os"
import type { Counterexample, Explorer } from "@drvmodel/core"
import { Effect } from "effect"
import { Tinypool } from "tinypool"
import type { CellOutcome, CellTask } from "./CellWorker.ts"
import { InputError, tryInput } from "./InputError.ts"
import type * as Matrix from "./Matrix.ts"
import * as Models from "./Models.ts"
import * as Shard from "./Shard.ts"
import * as Slot from "./Slot.ts"

/**
 * Options of a pooled matrix run.
 *
 * @category models
 * @since 0.1.0
 */
export interface PoolOptions {
  /** Worker threads (default: the number of cores). */
  readonly jobs?: number
  readonly out?: string
  readonly shrinkBudget?: number
  /** Compute only this shard's cells. */
  readonly shard?: Shard.Shard
  /** Terminate a task that reaches no scheduling point for this long (0: never). Default 60 s. */
  readonly watchdogMs?: number
  readonly shouldStop?: () => boolean
  /** About ten times a second. */
  readonly onTick?: (p: Tick) => void
  readonly onCellDone?: (cell: Matrix.Cell) => void
  /** The module whose default export computes a `CellTask` (tests substitute their own). */
  readonly worker?: string
}

/**
 * Progress over all workers.
 *
 * @category models
 * @since 0.1.0
 */
export interface Tick {
  readonly cells: number
  readonly total: number
  readonly running: number
  readonly runs: number
  readonly findings: number
}

/**
 * What the watchdog found a terminated task doing.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stuck {
  readonly scenario: string
  readonly variant: string
  /** The task that was running: the one that took the last recorded step. */
  readonly task: string
  readonly op?: string
  readonly func?: string
  /** Run of the cell's exploration (0-based), and steps it had taken. */
  readonly run: number
  readonly steps: number
  /** The run's recorded steps, `task: operation`, oldest first (at most 8192). */
  readonly prefix: ReadonlyArray<string>
  readonly seconds: number
}

/**
 * The default number of workers: the cores Node may use.
 *
 * @category getters
 * @since 0.1.0
 */
export const defaultJobs = (): number => Math.max(1, availableParallelism())

// Beside this module: CellWorker.ts in the workspace (Node strips types), CellWorker.js when built to dist/.
const cellWorker = new URL(`./CellWorker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href

/**
 * Runs the matrix (or one shard of it) on `jobs` worker threads.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pool } from "@drvmodel/cli"
 * const { result } = await Effect.runPromise(Pool.matrix("classic", { jobs: 2, out: "report" }))
 * ```
 * @category execution
 * @since 0.1.0
 */
export const matrix = (
  modelName: string,
  options: PoolOptions = {}
): Effect.Effect<
  { readonly result: Matrix.MatrixResult; readonly counterexamples: ReadonlyArray<Counterexample>; readonly stuck: ReadonlyArray<Stuck> },
  InputError
> =>
  Effect.gen(function* () {
    const started = performance.now()
    const model = yield* tryInput(() => Models.get(modelName))
    yield* Models.requireScenarios(model)
    const jobs = options.jobs ?? defaultJobs()
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024) {
      return yield* new InputError({ message: `--jobs must be an integer from 1 to 1024, got ${jobs}` })
    }
    const units = Shard.select(Shard.units(model), options.shard)
    // Options of every cell up front: a scenario with bad defaults fails before any worker starts.
    const optionsOf = new Map<string, Explorer.ExploreOptions>()
    for (const info of model.scenarios) optionsOf.set(info.name, yield* Models.optionsFor(info))
    const outcomes = yield* Effect.promise(() => runUnits(modelName, units, jobs, options))
    const cells: Array<Matrix.Cell> = []
    const counterexamples: Array<Counterexample> = []
    const stuck: Array<Stuck> = []
    for (const o of outcomes) {
      if (o === undefined) continue
      if (o._tag === "Stuck") {
        stuck.push(o.stuck)
        cells.push(stuckCell(o.stuck, optionsOf.get(o.stuck.scenario)?.strategy ?? "?"))
        continue
      }
      if (o._tag === "Failed") {
        if (o.input) return yield* new InputError({ message: o.message })
        return yield* Effect.die(new Error(o.message))
      }
      cells.push(o.cell)
      counterexamples.push(...o.counterexamples)
    }
    const interrupted = cells.length < units.length || cells.some((c) => c.stopped === "interrupted")
    return {
      result: {
        model: model.name,
        variants: model.variants.map((v) => v.name),
        scenarios: model.scenarios.map((s) => s.name),
        cells,
        elapsedMs: Math.round(performance.now() - started),
        interrupted
      },
      counterexamples,
      stuck
    }
  })

type Outcome = CellOutcome | { readonly _tag: "Stuck"; readonly stuck: Stuck }

/** The dispatch loop: at most `jobs` tasks in flight, results by position. */
const runUnits = async (
  modelName: string,
  units: ReadonlyArray<Shard.Unit>,
  jobs: number,
  options: PoolOptions
): Promise<Array<Outcome | undefined>> => {
  const outcomes: Array<Outcome | undefined> = new Array(units.length).fill(undefined)
  if (units.length === 0) return outcomes
  const threads = Math.min(jobs, units.length)
  const pool = new Tinypool({ filename: options.worker ?? cellWorker, minThreads: threads, maxThreads: threads, idleTimeout: 1000 })
  const control = new SharedArrayBuffer(4)
  const stopWord = new Int32Array(control)
  const watchdogMs = options.watchdogMs ?? 60_000
  interface Running {
    readonly index: number
    readonly slot: SharedArrayBuffer
    readonly abort: AbortController
    beat: number
    beatAt: number
    stuck?: Stuck
  }
  const running = new Set<Running>()
  let next = 0
  let done = 0
  let doneRuns = 0
  let doneFindings = 0
  let stopping = false
  let failed = false
  return await new Promise((resolve) => {
    const finish = () => {
      clearInterval(timer)
      // Terminating also stops workers still stuck after a stop request.
      void pool.destroy().finally(() => resolve(outcomes))
    }
    const launch = () => {
      while (!stopping && !failed && running.size < threads && next < units.length) {
        const index = next++
        const unit = units[index]!
        const slot = Slot.make()
        const abort = new AbortController()
        const r: Running = { index, slot, abort, beat: 0, beatAt: performance.now() }
        running.add(r)
        const task: CellTask = {
          model: modelName,
          scenario: unit.scenario,
          variant: unit.variant,
          ...(options.out !== undefined ? { out: options.out } : {}),
          ...(options.shrinkBudget !== undefined ? { shrinkBudget: options.shrinkBudget } : {}),
          control,
          slot
        }
        ;(pool.run(task, { signal: abort.signal }) as Promise<CellOutcome>)
          .then(
            (o) => o,
            (e: unknown): Outcome =>
              r.stuck !== undefined
                ? { _tag: "Stuck", stuck: r.stuck }
                : { _tag: "Failed", message: `worker: ${e instanceof Error ? e.message : String(e)}`, input: false }
          )
          .then((o) => {
            running.delete(r)
            outcomes[index] = o
            done++
            if (o._tag === "Done") {
              doneRuns += o.cell.schedules
              doneFindings += o.cell.counterexamples.length
              options.onCellDone?.(o.cell)
            } else if (o._tag === "Failed") failed = true
            launch()
            if (running.size === 0 && (next >= units.length || stopping || failed)) finish()
          })
      }
    }
    const timer = setInterval(() => {
      if (!stopping && options.shouldStop?.()) {
        stopping = true
        Atomics.store(stopWord, 0, 1)
      }
      const now = performance.now()
      let runs = doneRuns
      let findings = doneFindings
      for (const r of running) {
        const s = Slot.read(r.slot)
        runs += s.runs
        findings += s.findings
        if (s.state !== Slot.State.running || s.heartbeat !== r.beat) {
          r.beat = s.heartbeat
          r.beatAt = now
        } else if (watchdogMs > 0 && now - r.beatAt > watchdogMs && r.stuck === undefined) {
          r.stuck = describeStuck(units[r.index]!, r.slot, (now - r.beatAt) / 1000)
          r.abort.abort()
        }
      }
      options.onTick?.({ cells: done, total: units.length, running: running.size, runs, findings })
    }, 100)
    launch()
  })
}

const describeStuck = (unit: Shard.Unit, slot: SharedArrayBuffer, seconds: number): Stuck => {
  const last = Slot.lastRun(slot)
  const step = last.prefix[last.prefix.length - 1]
  return {
    scenario: unit.scenario,
    variant: unit.variant,
    // No step recorded yet: the program was still in setup, before its first scheduling point.
    task: step?.task ?? "setup",
    ...(step !== undefined ? { op: step.op } : {}),
    ...(step?.func !== undefined ? { func: step.func } : {}),
    run: Math.max(0, last.run),
    steps: last.steps,
    prefix: last.prefix.map((s) => `${s.task}: ${s.op}`),
    seconds: Math.round(seconds)
  }
}

/**
 * The one-line summary of a stuck task.
 *
 * @example
 * ```ts
 * import { Pool } from "@drvmodel/cli"
 * declare const stuck: Pool.Stuck
 * Pool.stuckText(stuck)
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const stuckText = (s: Stuck): string =>
  `task ${s.task} reached no scheduling point for ${s.seconds}s${s.op !== undefined ? ` after ${s.op}` : " (before its first)"}${s.func !== undefined ? ` in ${s.func}` : ""}: run ${s.run}, step ${s.steps}; worker terminated (a loop outside Effect?)`

const stuckCell = (s: Stuck, strategy: string): Matrix.Cell => ({
  scenario: s.scenario,
  variant: s.variant,
  verdict: "finding",
  kinds: ["stuck"],
  exhaustive: false,
  schedules: s.run,
  strategy,
  counterexamples: [],
  coverage: { kind: "sampled", text: `stopped by the watchdog: ${stuckText(s)}` },
  stopped: "time",
  elapsedMs: s.seconds * 1000,
  stuck: s
})
