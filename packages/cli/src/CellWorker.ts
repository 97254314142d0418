/**
 * One matrix cell as a task: what a worker thread runs (the default export is
 * the entry point the pool loads), and what the parent runs in-process with
 * `--jobs 1`... it is the same function, `compute`: it resolves the cell,
 * runs `Matrix.runCell` with the matrix's analyses and returns the cell and
 * its shrunk counterexamples as plain data. Counterexample files are written
 * by the task itself (their names are unique per cell).
 *
 * @since 0.1.0
 */

import type { Counterexample } from "@drvmodel/core"
import { NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { InputError } from "./InputError.ts"
import * as LockOrderCell from "./LockOrderCell.ts"
import * as Matrix from "./Matrix.ts"
import * as Models from "./Models.ts"
import * as Slot from "./Slot.ts"

/**
 * What a cell task needs: plain data and shared buffers (it crosses a thread boundary).
 *
 * @category models
 * @since 0.1.0
 */
export interface CellTask {
  readonly model: string
  readonly scenario: string
  readonly variant: string
  readonly out?: string
  readonly shrinkBudget?: number
  /** Int32 word 0 set to 1: stop between runs (Ctrl-C). */
  readonly control: SharedArrayBuffer
  readonly slot: SharedArrayBuffer
}

/**
 * The result of a cell task.
 *
 * @category models
 * @since 0.1.0
 */
export type CellOutcome =
  | { readonly _tag: "Done"; readonly cell: Matrix.Cell; readonly counterexamples: ReadonlyArray<Counterexample> }
  | { readonly _tag: "Failed"; readonly message: string; readonly input: boolean }

/**
 * Computes one cell, reporting progress and steps into its slot and stopping
 * between runs once the control word is set.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CellWorker, Slot } from "@drvmodel/cli"
 * const control = new SharedArrayBuffer(4)
 * const outcome = Effect.runPromise(
 *   CellWorker.compute({ model: "classic", scenario: "abba", variant: "buggy", control, slot: Slot.make() })
 * )
 * ```
 * @category execution
 * @since 0.1.0
 */
export const compute = (task: CellTask): Effect.Effect<CellOutcome> =>
  Effect.gen(function* () {
    const stop = new Int32Array(task.control)
    const slot = Slot.writer(task.slot)
    slot.setState(Slot.State.running)
    const resolved = yield* Models.resolve(task.model, task.scenario, task.variant)
    const o = yield* Models.optionsFor(resolved.info)
    const recorder: Matrix.CellAnalysis = { name: "watchdog", observers: () => [slot.observer], analyze: () => undefined }
    const { cell, counterexamples } = yield* Matrix.runCell(resolved, task.model, o, {
      ...(task.out !== undefined ? { out: task.out } : {}),
      ...(task.shrinkBudget !== undefined ? { shrinkBudget: task.shrinkBudget } : {}),
      // Lock-order analysis over every execution of the cell, with targeted confirmation.
      analyses: [LockOrderCell.analysis(), recorder],
      shouldStop: () => Atomics.load(stop, 0) !== 0,
      onProgress: slot.progress
    })
    slot.setState(Slot.State.done)
    return { _tag: "Done", cell, counterexamples } as CellOutcome
  }).pipe(
    // The worker thread's own platform services (files are written from here).
    Effect.provide(NodeServices.layer),
    Effect.exit,
    Effect.map((exit): CellOutcome => {
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
 * @since 0.1.0
 */
export default (task: CellTask): Promise<CellOutcome> => Effect.runPromise(compute(task))
