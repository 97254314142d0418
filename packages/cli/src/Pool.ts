/**
 * The matrix and one exploration on every core, through one pool of Node
 * worker threads (tinypool: a small, dependency-free pool — piscina, its
 * parent, pulls a native binary as an optional dependency) running at most
 * `jobs` tasks at a time (`Worker.Task`).
 *
 * The matrix is a small task graph per cell: the cell's first task runs the
 * DPOR pre-pass (where the model allows it) and plans the exploration; a
 * cell whose exploration splits (DFS subtrees, `Split.plan`) comes back as a
 * plan, its segments go to the pool, and a last task merges what they found
 * (`Split.mergeTaking`, the analyses' states appended in run order) and
 * finishes the cell: shrinking, lock-order analysis, files. Ready tasks are
 * taken in a fixed order of preference: finishing first, then segments, then
 * new cells, cells in the model's order (a run budget says little of a
 * cell's cost — the mlx5 DFS cells' budget of 100,000 runs ends after 1,805
 * to 9,335 — and on 2 workers model order is within 0.4 s of a perfect
 * split of the 72 measured cells, 0.6 s of the 132 of 2026-12-05, by thread
 * CPU: docs/parallel.md). Which thread
 * computes a task, and when, never changes what it computes, and results are
 * put back in the model's order: matrix.json is the same for every `jobs`.
 *
 * The parent polls each running task's `Slot` ten times a second: the sum of
 * their counters drives one progress display; Ctrl-C sets a shared word that
 * every worker checks between runs (running tasks end as interrupted, cells
 * not started are not started, a cell under way is still finished with what
 * it found); and a task whose heartbeat (one tick per scheduling point) has
 * not moved for `watchdogMs` — a model stuck in a plain JavaScript loop,
 * which no in-thread budget can stop — has its worker terminated and is
 * reported with the steps of the run it was stuck in.
 *
 * @since 0.1.0
 */
import { availableParallelism } from "node:os"
import type { Counterexample, Explorer, Report } from "@drvmodel/core"
import { Effect } from "effect"
import { Tinypool } from "tinypool"
import { InputError } from "./InputError.ts"
import * as Matrix from "./Matrix.ts"
import * as Models from "./Models.ts"
import * as Shard from "./Shard.ts"
import * as Slot from "./Slot.ts"
import * as Split from "./Split.ts"
import type * as Worker from "./Worker.ts"

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
  /** Executions of the DPOR pre-pass (`Matrix.MatrixOptions.dporBudget`). */
  readonly dporBudget?: number
  /**
   * DFS subtrees a cell's search is split into (1: never split). Default: `matrixSubtrees` when
   * there are more than an eighth as many workers as cells, else 1 — with many cells per worker
   * the cells alone keep every worker busy, and planning a split costs runs (`defaultSubtrees`).
   */
  readonly subtrees?: number
  /** A run budget for every cell instead of its scenario's (`Matrix.MatrixOptions.schedules`). */
  readonly schedules?: number
  /** Compute only this shard's cells. */
  readonly shard?: Shard.Shard
  /** Only these variants (listed or composed, `merged+v1-guard`), in this order (default: the model's). */
  readonly variants?: ReadonlyArray<string>
  /** Only these scenarios, in this order (default: the model's). */
  readonly scenarios?: ReadonlyArray<string>
  /** Terminate a task that reaches no scheduling point for this long (0: never). Default 60 s. */
  readonly watchdogMs?: number
  readonly shouldStop?: () => boolean
  /** About ten times a second. */
  readonly onTick?: (p: Tick) => void
  readonly onCellDone?: (cell: Matrix.Cell) => void
  /** The module whose default export computes a `Worker.Task` (tests substitute their own). */
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

/**
 * DFS subtrees per split matrix cell (`Split.plan`). The cells already share
 * the cores; a few subtrees per large cell are enough to even out the end,
 * and planning more costs runs (a frontier run per subtree and depth tried).
 *
 * @category constants
 * @since 0.2.0
 */
export const matrixSubtrees = 8

/**
 * Whether the matrix splits its DFS cells, by default: only when there are
 * more than an eighth as many workers as cells. With fewer workers the cells
 * alone keep them busy to within a fraction of a cell (the mlx5 matrix's
 * per-cell CPU times, list-scheduled in model order: 38.2 s on 2 workers,
 * 10.0 s on 8, against 37.8 s and 9.4 s for a perfect split), and a plan
 * costs runs that nothing wins back (0.3–1.7 s per teardown cell, measured);
 * with more, the largest cell (6.9 s) outlasts the rest shared among the
 * others (4.7 s each on 16). Splitting or not never changes a result: a DFS
 * search in subtrees is the unsplit search.
 *
 * @example
 * ```ts
 * import { Pool } from "@drvmodel/cli"
 * Pool.defaultSubtrees(2, 72) // => 1
 * Pool.defaultSubtrees(16, 72) // => 8
 * ```
 * @category getters
 * @since 0.2.0
 */
export const defaultSubtrees = (jobs: number, cells: number): number => (jobs * 8 > cells ? matrixSubtrees : 1)

/**
 * The young generation of each worker thread's heap, in MB (V8's default for
 * a worker: 48, i.e. 16 MB semi-spaces). A run allocates fast and most of it
 * dies within a few runs; with the default, about 30 % of each scavenge
 * survives and is copied, promoted and marked again, and the collector takes
 * about 29 % of a worker's time (CPU profile of the cell below). 192 MB
 * (64 MB semi-spaces) cut the process CPU of a large mlx5 matrix cell
 * (teardown-with-pending-work × v1@4: DPOR pre-pass, then 12,195 DFS runs)
 * by about 6 % (26.5 s to 24.8 s, mean of three alternating pairs on one
 * worker, 2026-12-05, load 4–5); a random-sampling cell (ib-load-vs-reconfig
 * × v1@6) showed no difference beyond the noise. About 100 MB more memory
 * per worker. It changes no result: only when the collector runs.
 *
 * @example
 * ```ts
 * import { Pool } from "@drvmodel/cli"
 * Pool.workerYoungGenerationMb // => 192
 * ```
 * @category constants
 * @since 0.2.0
 */
export const workerYoungGenerationMb = 192

// Beside this module: Worker.ts in the workspace (Node strips types), Worker.js when built to dist/.
const defaultWorker = new URL(`./Worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href

/**
 * What a task ends with: its outcome, or the watchdog's word that it was stuck.
 *
 * @category models
 * @since 0.2.0
 */
export type TaskOutcome = Worker.Outcome | { readonly _tag: "Stuck"; readonly stuck: Stuck }

/**
 * A task for the pool.
 *
 * @category models
 * @since 0.2.0
 */
export interface Job {
  readonly task: (control: SharedArrayBuffer, slot: SharedArrayBuffer) => Worker.Task
  /** What it explores (for the watchdog's report). */
  readonly where: { readonly scenario: string; readonly variant: string }
  /** Order of preference among ready tasks: lowest first, compared element by element. */
  readonly rank: ReadonlyArray<number>
  /** Launched even after a stop request (a cell under way is finished with what it found). */
  readonly always?: boolean
  /** Asked when its turn comes: false skips it (its promise gives undefined). */
  readonly wanted?: () => boolean
  /** What its outcome adds to the progress display. */
  readonly progressOf?: (o: Worker.Outcome) => { readonly runs: number; readonly findings: number }
}

/**
 * A pool of worker threads taking `Job`s.
 *
 * @category models
 * @since 0.2.0
 */
export interface Scheduler {
  /** The job's outcome; undefined when it was not started (skipped, or stopped before its turn). */
  readonly run: (job: Job) => Promise<TaskOutcome | undefined>
  /** Counts a unit of the progress display (a cell) as done. */
  readonly unitDone: () => void
  readonly close: () => Promise<void>
}

const before = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]!
  return a.length < b.length
}

/**
 * Starts a pool of at most `jobs` worker threads. Ten times a second it reads
 * the running tasks' slots: progress (`onTick`, over `total` units), the stop
 * request (`shouldStop`: the stop word is set, jobs not yet started are
 * dropped unless `always`) and the watchdog.
 *
 * @example
 * ```ts
 * import { Pool } from "@drvmodel/cli"
 * const pool = Pool.scheduler({ jobs: 2, total: 1 })
 * await pool.close()
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const scheduler = (options: {
  readonly jobs: number
  /** Threads started at once (default: jobs); more start when needed, up to jobs. */
  readonly threads?: number
  readonly total: number
  readonly worker?: string
  readonly watchdogMs?: number
  readonly shouldStop?: () => boolean
  readonly onTick?: (p: Tick) => void
}): Scheduler => {
  const pool = new Tinypool({
    filename: options.worker ?? defaultWorker,
    minThreads: Math.min(options.threads ?? options.jobs, options.jobs),
    maxThreads: options.jobs,
    idleTimeout: 1000,
    resourceLimits: { maxYoungGenerationSizeMb: workerYoungGenerationMb }
  })
  const control = new SharedArrayBuffer(4)
  const stopWord = new Int32Array(control)
  const watchdogMs = options.watchdogMs ?? 60_000
  interface Queued {
    readonly job: Job
    readonly resolve: (o: TaskOutcome | undefined) => void
  }
  interface Running {
    readonly where: Job["where"]
    readonly slot: SharedArrayBuffer
    readonly abort: AbortController
    beat: number
    beatAt: number
    stuck?: Stuck
  }
  const queue: Array<Queued> = []
  const running = new Set<Running>()
  let units = 0
  let doneRuns = 0
  let doneFindings = 0
  let stopping = false
  const pump = () => {
    if (stopping) {
      for (const q of queue.filter((q) => q.job.always !== true)) q.resolve(undefined)
      queue.splice(0, queue.length, ...queue.filter((q) => q.job.always === true))
    }
    while (running.size < options.jobs && queue.length > 0) {
      let best = 0
      for (let i = 1; i < queue.length; i++) if (before(queue[i]!.job.rank, queue[best]!.job.rank)) best = i
      const { job, resolve } = queue.splice(best, 1)[0]!
      if (job.wanted !== undefined && !job.wanted()) {
        resolve(undefined)
        continue
      }
      const slot = Slot.make()
      const abort = new AbortController()
      const r: Running = { where: job.where, slot, abort, beat: 0, beatAt: performance.now() }
      running.add(r)
      ;(pool.run(job.task(control, slot), { signal: abort.signal }) as Promise<Worker.Outcome>)
        .then(
          (o): TaskOutcome => o,
          (e: unknown): TaskOutcome =>
            r.stuck !== undefined
              ? { _tag: "Stuck", stuck: r.stuck }
              : { _tag: "Failed", message: `worker: ${e instanceof Error ? e.message : String(e)}`, input: false }
        )
        .then((o) => {
          running.delete(r)
          if (o._tag !== "Stuck" && job.progressOf !== undefined) {
            const p = job.progressOf(o)
            doneRuns += p.runs
            doneFindings += p.findings
          }
          resolve(o)
          pump()
        })
    }
  }
  const timer = setInterval(() => {
    if (!stopping && options.shouldStop?.()) {
      stopping = true
      Atomics.store(stopWord, 0, 1)
      pump()
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
        r.stuck = describeStuck(r.where, r.slot, (now - r.beatAt) / 1000)
        r.abort.abort()
      }
    }
    options.onTick?.({ cells: units, total: options.total, running: running.size, runs, findings })
  }, 100)
  return {
    run: (job) =>
      new Promise((resolve) => {
        queue.push({ job, resolve })
        // Jobs submitted together are ranked together: launch on the next turn.
        queueMicrotask(pump)
      }),
    unitDone: () => {
      units++
    },
    close: async () => {
      clearInterval(timer)
      // Terminating also stops workers still stuck after a stop request.
      await pool.destroy()
    }
  }
}

/** What a finished cell or segment adds to the progress display. */
const progressOf = (o: Worker.Outcome): { readonly runs: number; readonly findings: number } =>
  o._tag === "Cell"
    ? { runs: o.cell.schedules, findings: o.cell.counterexamples.length }
    : o._tag === "Segment"
      ? { runs: o.result.runs, findings: o.result.counterexamples.length }
      : { runs: 0, findings: 0 }

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
  {
    readonly result: Matrix.MatrixResult
    readonly counterexamples: ReadonlyArray<Counterexample>
    readonly stuck: ReadonlyArray<Stuck>
    /** The cells whose exploration was split, with their segment counts. */
    readonly split: ReadonlyArray<{ readonly scenario: string; readonly variant: string; readonly segments: number }>
  },
  InputError
> =>
  Effect.gen(function* () {
    const started = performance.now()
    const model = yield* Models.chosen(modelName, options.variants, options.scenarios)
    const jobs = options.jobs ?? defaultJobs()
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024) {
      return yield* new InputError({ message: `--jobs must be an integer from 1 to 1024, got ${jobs}` })
    }
    const units = Shard.select(Shard.units(model), options.shard)
    // Options of every cell up front: a scenario with bad defaults fails before any worker starts.
    const optionsOf = new Map<string, Explorer.ExploreOptions>()
    const budget = options.schedules !== undefined ? { schedules: options.schedules } : {}
    for (const info of model.scenarios) optionsOf.set(info.name, yield* Models.optionsFor(info, budget))
    const split: Array<{ readonly scenario: string; readonly variant: string; readonly segments: number }> = []
    const outcomes = yield* Effect.promise(() => runCells(modelName, units, jobs, options, split))
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
      result: Matrix.result(model, cells, performance.now() - started, interrupted),
      counterexamples,
      stuck,
      split: split.sort((a, b) => a.scenario.localeCompare(b.scenario) || a.variant.localeCompare(b.variant))
    }
  })

type CellResult = Worker.CellDone | Worker.Failed | { readonly _tag: "Stuck"; readonly stuck: Stuck }

/** The cells on the pool, each as its task graph; outcomes in the units' order (undefined: not started). */
const runCells = async (
  modelName: string,
  units: ReadonlyArray<Shard.Unit>,
  jobs: number,
  options: PoolOptions,
  split: Array<{ readonly scenario: string; readonly variant: string; readonly segments: number }>
): Promise<Array<CellResult | undefined>> => {
  if (units.length === 0) return []
  const pool = scheduler({
    jobs,
    threads: Math.min(jobs, units.length),
    total: units.length,
    ...(options.worker !== undefined ? { worker: options.worker } : {}),
    ...(options.watchdogMs !== undefined ? { watchdogMs: options.watchdogMs } : {}),
    ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
    ...(options.onTick ? { onTick: options.onTick } : {})
  })
  const cell: Worker.CellOptions = {
    ...(options.out !== undefined ? { out: options.out } : {}),
    ...(options.shrinkBudget !== undefined ? { shrinkBudget: options.shrinkBudget } : {}),
    ...(options.dporBudget !== undefined ? { dporBudget: options.dporBudget } : {}),
    subtrees: options.subtrees ?? defaultSubtrees(jobs, units.length),
    ...(options.schedules !== undefined ? { schedules: options.schedules } : {})
  }
  const outcomes = await Promise.all(
    units.map(async (unit, i) => {
      const o = await cellGraph(pool, modelName, unit, cell, i, split)
      if (o !== undefined) {
        pool.unitDone()
        if (o._tag === "Cell") options.onCellDone?.(o.cell)
      }
      return o
    })
  )
  await pool.close()
  return outcomes
}

/** One cell: its first task, and when it comes back as a plan, its segments, then the task that finishes it. */
const cellGraph = async (
  pool: Scheduler,
  modelName: string,
  unit: Shard.Unit,
  cell: Worker.CellOptions,
  rank: number,
  split: Array<{ readonly scenario: string; readonly variant: string; readonly segments: number }>
): Promise<CellResult | undefined> => {
  const where = { scenario: unit.scenario, variant: unit.variant }
  const common = { model: modelName, ...where }
  const head = await pool.run({
    task: (control, slot) => ({ _tag: "Cell", ...common, cell, control, slot }),
    where,
    rank: [2, rank],
    progressOf
  })
  if (head === undefined || head._tag !== "Split") return head as CellResult | undefined
  split.push({ ...where, segments: head.segments.length })
  const started = performance.now()
  const o = head.options
  const results: Array<Worker.SegmentDone | undefined> = new Array(head.segments.length).fill(undefined)
  let broken: Worker.Failed | { readonly _tag: "Stuck"; readonly stuck: Stuck } | undefined
  const segment = (s: Split.Segment, rankTail: ReadonlyArray<number>, always = false) =>
    pool.run({
      task: (control, slot) => ({ _tag: "Segment", ...common, options: o, segment: s, analysed: true, control, slot }),
      where,
      rank: rankTail,
      always,
      progressOf,
      wanted: () =>
        broken === undefined &&
        !Split.decided(
          o,
          results.map((r) => r?.result),
          s.index
        )
    })
  await Promise.all(
    head.segments.map(async (s, i) => {
      const out = await segment(s, [1, rank, i])
      if (out?._tag === "Segment") results[i] = out
      else if (out !== undefined && out._tag !== "Cell" && out._tag !== "Split") broken ??= out
    })
  )
  if (broken !== undefined) return broken
  const done = results.filter((r): r is Worker.SegmentDone => r !== undefined)
  const { report, taken } = Split.mergeTaking(
    unit.scenario,
    o,
    done.map((r) => r.result),
    head.segments.length,
    performance.now() - started
  )
  // The analyses' states, piece by piece in run order: DPOR's, then each segment the report is made of.
  const pieces: Array<ReadonlyArray<unknown>> = head.dporStates !== undefined ? [head.dporStates] : []
  for (const t of taken) {
    let states = results[t.index]!.states ?? []
    if (!t.whole) {
      // A DFS budget reached inside this segment: its observers saw runs past the budget. Its first
      // `t.runs` runs again (the same runs: DFS is deterministic) give the states of exactly those.
      const again = await segment({ ...head.segments[t.index]!, schedules: t.runs }, [0, rank])
      if (again?._tag === "Segment") states = again.states ?? []
      else if (again !== undefined && again._tag !== "Cell" && again._tag !== "Split") return again
    }
    pieces.push(states)
  }
  const analyses = Math.max(0, ...pieces.map((p) => p.length))
  const states = Array.from({ length: analyses }, (_, a) => pieces.map((p) => p[a]))
  const finish = await pool.run({
    task: (control, slot) => ({
      _tag: "Finish",
      ...common,
      cell,
      report,
      ...(head.dpor !== undefined ? { dpor: head.dpor } : {}),
      states,
      control,
      slot
    }),
    where,
    rank: [0, rank],
    always: true
  })
  return finish as CellResult | undefined
}

/**
 * Explores one cell split into segments (`Split.plan`) on `jobs` worker
 * threads and merges them (`Split.merge`): the same report for every `jobs`.
 * Segments no longer needed (past the first finding with `stopOnFirst`, past
 * a DFS budget reached by the segments before) are not started. Given some
 * of the `planned` segments (a shard), it runs those and returns their
 * results for `merge` to combine with the other shards'.
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
    /** Segments of the whole exploration, when `segments` are some of them (a shard). Default: all are given. */
    readonly planned?: number
  } = {}
): Effect.Effect<
  { readonly report: Report; readonly results: ReadonlyArray<Split.SegmentResult>; readonly stuck: ReadonlyArray<Stuck> },
  InputError
> =>
  Effect.gen(function* () {
    const started = performance.now()
    const planned = options.planned ?? segments.length
    // By segment index (a shard runs some of the planned segments: the others stay undefined).
    const byIndex: Array<Split.SegmentResult | undefined> = new Array(planned).fill(undefined)
    const results = segments.map(() => undefined as Split.SegmentResult | undefined)
    const record = (i: number, r: Split.SegmentResult) => {
      results[i] = r
      byIndex[r.index] = r
    }
    const decided = (s: Split.Segment) => Split.decided(o, byIndex, s.index)
    const inProcessMs = options.inProcessMs ?? 1000
    if (inProcessMs > 0) {
      const resolved = yield* Models.resolve(modelName, scenario, variant)
      for (const [i, segment] of segments.entries()) {
        if (performance.now() - started >= inProcessMs || decided(segment)) break
        record(
          i,
          yield* Split.run(resolved.scenario, o, segment, {
            variant,
            ...(options.shouldStop ? { shouldStop: options.shouldStop } : {})
          })
        )
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      }
    }
    const left = segments.filter((s, i) => results[i] === undefined && !decided(s))
    const stuck: Array<Stuck> = []
    if (left.length > 0 && !options.shouldStop?.()) {
      const pool = scheduler({
        jobs: options.jobs ?? defaultJobs(),
        threads: Math.min(options.jobs ?? defaultJobs(), left.length),
        total: segments.length,
        ...(options.watchdogMs !== undefined ? { watchdogMs: options.watchdogMs } : {}),
        ...(options.shouldStop ? { shouldStop: options.shouldStop } : {}),
        ...(options.onTick ? { onTick: options.onTick } : {})
      })
      const outs = yield* Effect.promise(() =>
        Promise.all(
          segments.map(async (segment, i) => {
            if (results[i] !== undefined) return undefined
            const out = await pool.run({
              task: (control, slot) => ({
                _tag: "Segment",
                model: modelName,
                scenario,
                variant,
                options: o,
                segment,
                analysed: false,
                control,
                slot
              }),
              where: { scenario, variant },
              rank: [i],
              progressOf,
              wanted: () => !decided(segment)
            })
            if (out?._tag === "Segment") {
              record(i, out.result)
              pool.unitDone()
            }
            return out
          })
        ).finally(() => pool.close())
      )
      for (const out of outs) {
        if (out?._tag === "Stuck") stuck.push(out.stuck)
        else if (out?._tag === "Failed") {
          if (out.input) return yield* new InputError({ message: out.message })
          return yield* Effect.die(new Error(out.message))
        }
      }
    }
    const done = results.filter((r): r is Split.SegmentResult => r !== undefined)
    return { report: Split.merge(scenario, o, done, planned, performance.now() - started), results: done, stuck }
  })

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
