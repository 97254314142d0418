/**
 * The worker threads' side of the pool: one module whose default export
 * tinypool calls with every task, whatever its kind, so that one pool of
 * threads serves the cells of a matrix, their segments and their finishing,
 * and the segments of `explore --jobs`. Every task carries plain data and
 * two shared buffers (the stop word, its `Slot`); `compute` runs it, writes
 * its progress and steps into the slot, and returns its outcome as plain data
 * (a failure too: an `InputError` is the user's, anything else a defect).
 * What a task computes depends only on its data, never on the thread or the
 * order: that is what makes the pooled results the single-thread ones.
 *
 * - `Cell`: a matrix cell from the start: the DPOR pre-pass where the model
 *   allows it, then, when the cell is a DFS search that splits into more than
 *   one subtree (`Split.plan`), the plan (`Split`) for the parent to share
 *   out; else the whole cell (`Matrix.runCell`'s steps, in this thread).
 * - `Segment`: one segment of an exploration (`Split.run`), with the matrix
 *   analyses' observer state (`CellAnalysis.state`) when asked.
 * - `Finish`: a split cell once its segments are merged: shrinking, the
 *   analyses over the loaded states, the files, the cell.
 *
 * @since 0.2.0
 */
import type { Counterexample, Explorer, Report } from "@drvmodel/core"
// The subpath: the package index loads every platform module (~0.4 s more per worker thread).
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Effect, Exit, type FileSystem, type Path } from "effect"
import * as Exploration from "./Exploration.ts"
import { InputError } from "./InputError.ts"
import * as LockOrderCell from "./LockOrderCell.ts"
import * as Matrix from "./Matrix.ts"
import * as Models from "./Models.ts"
import * as Slot from "./Slot.ts"
import * as Split from "./Split.ts"

/**
 * What every task names: the cell it works on, the stop word (Int32 word 0
 * set to 1: stop between runs, Ctrl-C) and its slot.
 *
 * @category models
 * @since 0.2.0
 */
export interface Common {
  readonly model: string
  readonly scenario: string
  readonly variant: string
  readonly control: SharedArrayBuffer
  readonly slot: SharedArrayBuffer
}

/**
 * What the matrix asks of a cell's tasks.
 *
 * @category models
 * @since 0.2.0
 */
export interface CellOptions {
  readonly out?: string
  readonly shrinkBudget?: number
  readonly dporBudget?: number
  /** DFS subtrees wanted when the cell's exploration is split (`Split.plan`); 1: never split. */
  readonly subtrees: number
  /** A run budget for every cell instead of its scenario's (`Matrix.MatrixOptions.schedules`). */
  readonly schedules?: number
}

/**
 * A task (plain data and shared buffers: it crosses a thread boundary).
 *
 * @category models
 * @since 0.2.0
 */
export type Task =
  | (Common & { readonly _tag: "Cell"; readonly cell: CellOptions })
  | (Common & {
      readonly _tag: "Segment"
      readonly options: Explorer.ExploreOptions
      readonly segment: Split.Segment
      /** Return the matrix analyses' observer state. */
      readonly analysed: boolean
    })
  | (Common & {
      readonly _tag: "Finish"
      readonly cell: CellOptions
      readonly report: Report
      readonly dpor?: Report
      /** Per analysis (in `analyses()` order), the states of the cell's pieces in run order. */
      readonly states: ReadonlyArray<ReadonlyArray<unknown>>
    })

/**
 * A finished cell.
 *
 * @category models
 * @since 0.2.0
 */
export interface CellDone {
  readonly _tag: "Cell"
  readonly cell: Matrix.Cell
  readonly counterexamples: ReadonlyArray<Counterexample>
}

/**
 * A cell to be shared out: its options, its segments, and the DPOR
 * pre-pass's report and analysis states when it ran.
 *
 * @category models
 * @since 0.2.0
 */
export interface CellSplit {
  readonly _tag: "Split"
  readonly options: Explorer.ExploreOptions
  readonly segments: ReadonlyArray<Split.Segment>
  readonly dpor?: Report
  readonly dporStates?: ReadonlyArray<unknown>
}

/**
 * A segment's result, and the analyses' states after it (when asked).
 *
 * @category models
 * @since 0.2.0
 */
export interface SegmentDone {
  readonly _tag: "Segment"
  readonly result: Split.SegmentResult
  readonly states?: ReadonlyArray<unknown>
}

/**
 * A task that failed: bad input (one line for the user) or a defect.
 *
 * @category models
 * @since 0.2.0
 */
export interface Failed {
  readonly _tag: "Failed"
  readonly message: string
  readonly input: boolean
}

/**
 * The result of a task.
 *
 * @category models
 * @since 0.2.0
 */
export type Outcome = CellDone | CellSplit | SegmentDone | Failed

/**
 * The matrix's analyses: lock-order analysis over every execution of the
 * cell, with targeted confirmation.
 *
 * @category constructors
 * @since 0.2.0
 */
export const analyses = (): ReadonlyArray<Matrix.CellAnalysis> => [LockOrderCell.analysis()]

const matrixOptions = (cell: CellOptions, stop: Int32Array, slot: ReturnType<typeof Slot.writer>): Matrix.MatrixOptions => ({
  ...(cell.out !== undefined ? { out: cell.out } : {}),
  ...(cell.shrinkBudget !== undefined ? { shrinkBudget: cell.shrinkBudget } : {}),
  ...(cell.dporBudget !== undefined ? { dporBudget: cell.dporBudget } : {}),
  shouldStop: () => Atomics.load(stop, 0) !== 0,
  onProgress: slot.progress,
  // Shrinking replays tick the heartbeat too: a long livelock's shrink is work, not a stuck model.
  shrinkObservers: () => [slot.observer]
})

/** The slot's step recorder, as an analysis (it adds nothing to the cell). */
const recorder = (slot: ReturnType<typeof Slot.writer>): Matrix.CellAnalysis => ({
  name: "watchdog",
  observers: () => [slot.observer],
  analyze: () => undefined
})

const saveStates = (list: ReadonlyArray<Matrix.CellAnalysis>): ReadonlyArray<unknown> => list.map((a) => a.state?.save())

const run = (
  task: Task,
  stop: Int32Array,
  slot: ReturnType<typeof Slot.writer>
): Effect.Effect<Outcome, InputError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const resolved = yield* Models.resolve(task.model, task.scenario, task.variant)
    switch (task._tag) {
      case "Cell": {
        const o = yield* Models.optionsFor(resolved.info, task.cell.schedules !== undefined ? { schedules: task.cell.schedules } : {})
        const list = analyses()
        const options = { ...matrixOptions(task.cell, stop, slot), analyses: [...list, recorder(slot)] }
        const hooks = Matrix.cellHooks(resolved.variant, options.analyses, options)
        const { dpor, decided } = yield* Matrix.dporPass(resolved, o, hooks, options.dporBudget ?? Matrix.defaultDporBudget)
        // Only a DFS search is split: its subtrees in order are exactly the unsplit search (a
        // random or PCT cell split into seed ranges would be another exploration than the matrix's).
        const segments =
          decided || o.strategy !== "dfs" || task.cell.subtrees < 2 || Atomics.load(stop, 0) !== 0
            ? []
            : Split.plan(resolved.scenario, o, task.cell.subtrees)
        if (segments.length > 1) {
          return {
            _tag: "Split",
            options: o,
            segments,
            ...(dpor !== undefined ? { dpor, dporStates: saveStates(list) } : {})
          } satisfies CellSplit
        }
        // One segment is the whole exploration: finish the cell here, with the same observers.
        const report = dpor !== undefined && decided ? dpor : yield* Exploration.explore(resolved.scenario, o, hooks)
        const done = yield* Matrix.finishCell(resolved, task.model, o, { report, ...(dpor !== undefined ? { dpor } : {}) }, options)
        return { _tag: "Cell", ...done } satisfies CellDone
      }
      case "Segment": {
        const list = task.analysed ? analyses() : []
        const observers = [...list.flatMap((a) => a.observers?.() ?? []), slot.observer]
        const result = yield* Split.run(resolved.scenario, task.options, task.segment, {
          variant: resolved.variant,
          shouldStop: () => Atomics.load(stop, 0) !== 0,
          observers,
          onProgress: slot.progress
        })
        return { _tag: "Segment", result, ...(task.analysed ? { states: saveStates(list) } : {}) } satisfies SegmentDone
      }
      case "Finish": {
        const list = analyses()
        list.forEach((a, i) => {
          a.observers?.()
          a.state?.load(task.states[i] ?? [])
        })
        const options = { ...matrixOptions(task.cell, stop, slot), analyses: list }
        const explored = { report: task.report, ...(task.dpor !== undefined ? { dpor: task.dpor } : {}) }
        const done = yield* Matrix.finishCell(resolved, task.model, task.report.options, explored, options)
        return { _tag: "Cell", ...done } satisfies CellDone
      }
    }
  })

/**
 * Runs one task, reporting progress and steps into its slot and stopping
 * between runs once the stop word is set; never fails (a failure is an
 * outcome).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Slot, Worker } from "@drvmodel/cli"
 * const outcome = Effect.runPromise(
 *   Worker.compute({
 *     _tag: "Cell", model: "classic", scenario: "abba", variant: "buggy", cell: { subtrees: 8 },
 *     control: new SharedArrayBuffer(4), slot: Slot.make()
 *   })
 * )
 * ```
 * @category execution
 * @since 0.2.0
 */
export const compute = (task: Task): Effect.Effect<Outcome> =>
  Effect.suspend(() => {
    const stop = new Int32Array(task.control)
    const slot = Slot.writer(task.slot)
    slot.setState(Slot.State.running)
    return Effect.tap(run(task, stop, slot), () => Effect.sync(() => slot.setState(Slot.State.done)))
  }).pipe(
    // The worker thread's own platform services (files are written from here).
    Effect.provide(NodeServices.layer),
    Effect.exit,
    Effect.map((exit): Outcome => {
      if (Exit.isSuccess(exit)) return exit.value
      const error = Cause.squash(exit.cause)
      if (error instanceof InputError) return { _tag: "Failed", message: error.message, input: true }
      return { _tag: "Failed", message: error instanceof Error ? `${error.name}: ${error.message}` : String(error), input: false }
    })
  )

/**
 * The worker entry point (tinypool calls the default export with each task).
 *
 * @category execution
 * @since 0.2.0
 */
export default (task: Task): Promise<Outcome> => Effect.runPromise(compute(task))
