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
import type { Counterexample, Explorer, Report } from "@drvmodel/core"
import { Effect } from "effect"
import { Tinypool } from "tinypool"
import type { CellOutcome, CellTask } from "./CellWorker.ts"
import { InputError, tryInput } from "./InputError.ts"
import type * as Matrix from "./Matrix.ts"
import * as Models from "./Models.ts"
import type { SegmentOutcome, SegmentTask } from "./SegmentWorker.ts"
import * as Shard from "./Shard.ts"
import * as Slot from "./Slot.ts"
import * as Split from "./Split.ts"

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
  /** Only these variants (listed or composed, `merged+v1-guard`), in this order (default: the model's). */
  readonly variants?: ReadonlyArray<string>
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
    const listed = yield* tryInput(() => Models.get(modelName))
    const model = options.variants === undefined ? listed : yield* tryInput(() => Models.withVariants(listed, options.variants!))
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

/** The cells on the pool. */
const runUnits = (
  modelName: string,
  units: ReadonlyArray<Shard.Unit>,
  jobs: number,
  options: PoolOptions
): Promise<Array<Outcome | undefined>> =>
  runTasks<CellTask, CellOutcome>({
    worker: options.worker ?? cellWorker,
    count: units.length,
    jobs,
    task: (index, control, slot) => ({
      model: modelName,
      scenario: units[index]!.scenario,
      variant: units[index]!.variant,
      ...(options.out !== undefined ? { out: options.out } : {}),
      ...(options.shrinkBudget !== undefined ? { shrinkBudget: options.shrinkBudget } : {}),
      control,
      slot
    }),
    where: (index) => units[index]!,
    ...(options.watchdogMs !== undefined ? { watchdogMs: options.watchdogMs } : {}),
    ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
    ...(options.onTick ? { onTick: options.onTick } : {}),
    progressOf: (o) => (o._tag === "Done" ? { runs: o.cell.schedules, findings: o.cell.counterexamples.length } : { runs: 0, findings: 0 }),
    failure: (message) => ({ _tag: "Failed", message, input: false }),
    onDone: (_, o) => {
      if (o._tag === "Done") options.onCellDone?.(o.cell)
      return o._tag !== "Failed"
    }
  })

/**
 * What `runTasks` needs: how to build task `index` (given the shared control
 * word and its slot), which scenario and variant it explores (for the
 * watchdog's report), and what its result says for the progress display.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskSpec<T, R> {
  /** The worker module (its default export runs one task). */
  readonly worker: string
  readonly count: number
  readonly jobs: number
  readonly task: (index: number, control: SharedArrayBuffer, slot: SharedArrayBuffer) => T
  readonly where: (index: number) => { readonly scenario: string; readonly variant: string }
  readonly watchdogMs?: number
  readonly shouldStop?: () => boolean
  readonly onTick?: (p: Tick) => void
  readonly progressOf: (result: R) => { readonly runs: number; readonly findings: number }
  /** A result for a task whose worker failed. */
  readonly failure: (message: string) => R
  /** Told of each result as it comes; false stops launching tasks. */
  readonly onDone?: (index: number, result: R) => boolean
  /** Asked before launching task `index`: false skips it (its result stays undefined). */
  readonly wanted?: (index: number) => boolean
}

/**
 * Runs `count` tasks on at most `jobs` worker threads, results by index
 * (undefined: not run, after a stop request). Polls each running task's slot
 * ten times a second for the progress display, Ctrl-C and the watchdog.
 *
 * @category execution
 * @since 0.1.0
 */
export const runTasks = async <T, R>(
  spec: TaskSpec<T, R>
): Promise<Array<R | { readonly _tag: "Stuck"; readonly stuck: Stuck } | undefined>> => {
  type Out = R | { readonly _tag: "Stuck"; readonly stuck: Stuck }
  const outcomes: Array<Out | undefined> = new Array(spec.count).fill(undefined)
  if (spec.count === 0) return outcomes
  const threads = Math.min(spec.jobs, spec.count)
  const pool = new Tinypool({ filename: spec.worker, minThreads: threads, maxThreads: threads, idleTimeout: 1000 })
  const control = new SharedArrayBuffer(4)
  const stopWord = new Int32Array(control)
  const watchdogMs = spec.watchdogMs ?? 60_000
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
  let halted = false
  return await new Promise((resolve) => {
    let finished = false
    const finish = () => {
      if (finished) return
      finished = true
      clearInterval(timer)
      // Terminating also stops workers still stuck after a stop request.
      void pool.destroy().finally(() => resolve(outcomes))
    }
    const launch = () => {
      while (!stopping && !halted && running.size < threads && next < spec.count) {
        const index = next++
        if (spec.wanted !== undefined && !spec.wanted(index)) continue
        const slot = Slot.make()
        const abort = new AbortController()
        const r: Running = { index, slot, abort, beat: 0, beatAt: performance.now() }
        running.add(r)
        ;(pool.run(spec.task(index, control, slot), { signal: abort.signal }) as Promise<R>)
          .then(
            (o): Out => o,
            (e: unknown): Out =>
              r.stuck !== undefined
                ? { _tag: "Stuck", stuck: r.stuck }
                : spec.failure(`worker: ${e instanceof Error ? e.message : String(e)}`)
          )
          .then((o) => {
            running.delete(r)
            outcomes[index] = o
            done++
            if (r.stuck === undefined) {
              const p = spec.progressOf(o as R)
              doneRuns += p.runs
              doneFindings += p.findings
              if (spec.onDone !== undefined && !spec.onDone(index, o as R)) halted = true
            }
            launch()
          })
      }
      if (running.size === 0) finish()
    }
    const timer = setInterval(() => {
      if (!stopping && spec.shouldStop?.()) {
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
          r.stuck = describeStuck(spec.where(r.index), r.slot, (now - r.beatAt) / 1000)
          r.abort.abort()
        }
      }
      spec.onTick?.({ cells: done, total: spec.count, running: running.size, runs, findings })
    }, 100)
    launch()
  })
}

const describeStuck = (unit: { readonly scenario: string; readonly variant: string }, slot: SharedArrayBuffer, seconds: number): Stuck => {
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

const segmentWorker = new URL(`./SegmentWorker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href

/**
 * Explores one cell split into segments (`Split.plan`) on `jobs` worker
 * threads and merges them (`Split.merge`): the same report for every `jobs`.
 * Segments no longer needed (past the first finding with `stopOnFirst`, past
 * a DFS budget reached by the segments before) are not started.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer } from "@drvmodel/core"
 * import { Pool, Split } from "@drvmodel/cli"
 * import { classic } from "@drvmodel/examples"
 * const o = Explorer.options({ strategy: "random", schedules: 4000 })
 * const segments = Split.plan(classic.scenario("abba", "buggy"), o)
 * const { report } = await Effect.runPromise(Pool.explore("classic", "abba", "buggy", o, segments, { jobs: 2 }))
 * ```
 * @category execution
 * @since 0.1.0
 */
export const explore = (
  modelName: string,
  scenario: string,
  variant: string,
  o: Explorer.ExploreOptions,
  segments: ReadonlyArray<Split.Segment>,
  options: {
    readonly jobs?: number
    readonly watchdogMs?: number
    readonly shouldStop?: () => boolean
    readonly onTick?: (p: Tick) => void
    /**
     * Segments run in this thread, in order, until this much time has passed (default 1000 ms);
     * the rest go to the workers. A small exploration never pays for starting workers, and the
     * result is the same either way: a segment computes the same wherever it runs.
     */
    readonly inProcessMs?: number
  } = {}
): Effect.Effect<{ readonly report: Report; readonly stuck: ReadonlyArray<Stuck> }, InputError> =>
  Effect.gen(function* () {
    const started = performance.now()
    const results: Array<Split.SegmentResult | undefined> = new Array(segments.length).fill(undefined)
    // Whether the segments 0..i-1, all done, already decide the result.
    const decided = (i: number): boolean => {
      let runs = 0
      for (let j = 0; j < i; j++) {
        const r = results[j]
        if (r === undefined) return false
        runs += r.runs
        if (o.stopOnFirst && r.stopped === "found") return true
      }
      return o.strategy === "dfs" && runs >= o.schedules
    }
    const inProcessMs = options.inProcessMs ?? 1000
    if (inProcessMs > 0) {
      const resolved = yield* Models.resolve(modelName, scenario, variant)
      for (const [i, segment] of segments.entries()) {
        if (performance.now() - started >= inProcessMs || decided(i)) break
        results[i] = yield* Split.run(resolved.scenario, o, segment, {
          variant,
          ...(options.shouldStop ? { shouldStop: options.shouldStop } : {})
        })
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      }
    }
    const left = segments.some((_, i) => results[i] === undefined && !decided(i)) && !options.shouldStop?.()
    const outcomes = yield* Effect.promise(() =>
      !left
        ? Promise.resolve([])
        : runTasks<SegmentTask, SegmentOutcome>({
            worker: segmentWorker,
            count: segments.length,
            jobs: options.jobs ?? defaultJobs(),
            task: (index, control, slot) => ({ model: modelName, scenario, variant, options: o, segment: segments[index]!, control, slot }),
            where: () => ({ scenario, variant }),
            ...(options.watchdogMs !== undefined ? { watchdogMs: options.watchdogMs } : {}),
            ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
            ...(options.onTick ? { onTick: options.onTick } : {}),
            progressOf: (r) =>
              r._tag === "Done" ? { runs: r.result.runs, findings: r.result.counterexamples.length } : { runs: 0, findings: 0 },
            failure: (message) => ({ _tag: "Failed", message, input: false }),
            onDone: (index, r) => {
              if (r._tag === "Done") results[index] = r.result
              return r._tag === "Done"
            },
            wanted: (index) => results[index] === undefined && !decided(index)
          })
    )
    const stuck: Array<Stuck> = []
    for (const out of outcomes) {
      if (out === undefined) continue
      if (out._tag === "Stuck") stuck.push(out.stuck)
      else if (out._tag === "Failed") {
        if (out.input) return yield* new InputError({ message: out.message })
        return yield* Effect.die(new Error(out.message))
      }
    }
    const done = results.filter((r): r is Split.SegmentResult => r !== undefined)
    return { report: Split.merge(scenario, o, done, segments.length, performance.now() - started), stuck }
  })
