/**
 * One segment of an exploration as a task: what a worker thread runs for
 * `explore --jobs` (the default export is the entry point the pool loads).
 *
 * @since 0.1.0
 */
import type { Explorer } from "@drvmodel/core"
import { Cause, Effect, Exit } from "effect"
import { InputError } from "./InputError.ts"
import * as Models from "./Models.ts"
import * as Slot from "./Slot.ts"
import * as Split from "./Split.ts"

/**
 * What a segment task needs (plain data and shared buffers).
 *
 * @category models
 * @since 0.1.0
 */
export interface SegmentTask {
  readonly model: string
  readonly scenario: string
  readonly variant: string
  readonly options: Explorer.ExploreOptions
  readonly segment: Split.Segment
  /** Int32 word 0 set to 1: stop between runs (Ctrl-C). */
  readonly control: SharedArrayBuffer
  readonly slot: SharedArrayBuffer
}

/**
 * The result of a segment task.
 *
 * @category models
 * @since 0.1.0
 */
export type SegmentOutcome =
  | { readonly _tag: "Done"; readonly result: Split.SegmentResult }
  | { readonly _tag: "Failed"; readonly message: string; readonly input: boolean }

/**
 * Explores one segment, reporting progress and steps into its slot.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer } from "@drvmodel/core"
 * import { SegmentWorker, Slot } from "@drvmodel/cli"
 * const options = Explorer.options({ strategy: "random", schedules: 2000 })
 * const outcome = Effect.runPromise(
 *   SegmentWorker.compute({
 *     model: "classic", scenario: "abba", variant: "buggy", options,
 *     segment: { index: 1, seed: 7, schedules: 1000 }, control: new SharedArrayBuffer(4), slot: Slot.make()
 *   })
 * )
 * ```
 * @category execution
 * @since 0.1.0
 */
export const compute = (task: SegmentTask): Effect.Effect<SegmentOutcome> =>
  Effect.gen(function* () {
    const stop = new Int32Array(task.control)
    const slot = Slot.writer(task.slot)
    slot.setState(Slot.State.running)
    const resolved = yield* Models.resolve(task.model, task.scenario, task.variant)
    const result = yield* Split.run(resolved.scenario, task.options, task.segment, {
      variant: resolved.variant,
      shouldStop: () => Atomics.load(stop, 0) !== 0,
      observers: [slot.observer],
      onProgress: slot.progress
    })
    slot.setState(Slot.State.done)
    return { _tag: "Done", result } as SegmentOutcome
  }).pipe(
    Effect.exit,
    Effect.map((exit): SegmentOutcome => {
      if (Exit.isSuccess(exit)) return exit.value
      const error = Cause.squash(exit.cause)
      if (error instanceof InputError) return { _tag: "Failed", message: error.message, input: true }
      return { _tag: "Failed", message: error instanceof Error ? `${error.name}: ${error.message}` : String(error), input: false }
    })
  )

/**
 * The worker entry point.
 *
 * @category execution
 * @since 0.1.0
 */
export default (task: SegmentTask): Promise<SegmentOutcome> => Effect.runPromise(compute(task))
