/**
 * A schedule is data: the list of choices that, together with a model and a
 * scenario, determines one run completely.
 *
 * Choices are keyed by stable labels (task name and operation), never by
 * ordinal fiber ids, so a saved schedule still replays after small model edits.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * One scheduling decision: task `task` ran its pending operation `op`.
 *
 * @example
 * ```ts
 * import { Schedule } from "@drvmodel/core"
 * const step = Schedule.RunStep.make({ task: "esw-wq-worker", op: "mutex_lock(devlink)" })
 * ```
 * @category models
 * @since 0.1.0
 */
export const RunStep = Schema.TaggedStruct("Run", {
  task: Schema.String,
  op: Schema.String
})
/** @category models @since 0.1.0 */
export type RunStep = typeof RunStep.Type

/**
 * One data choice: the nondeterministic choice `label` took branch `index`.
 *
 * @category models
 * @since 0.1.0
 */
export const ChooseStep = Schema.TaggedStruct("Choose", {
  label: Schema.String,
  index: Schema.Int
})
/** @category models @since 0.1.0 */
export type ChooseStep = typeof ChooseStep.Type

/**
 * A step of a schedule.
 *
 * @category models
 * @since 0.1.0
 */
export const ScheduleStep = Schema.Union([RunStep, ChooseStep])
/** @category models @since 0.1.0 */
export type ScheduleStep = typeof ScheduleStep.Type

/**
 * A whole schedule: every choice of one run, in order.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Schedule } from "@drvmodel/core"
 * const json = Schema.encodeSync(Schedule.Schedule)({ steps: [{ _tag: "Run", task: "A", op: "start" }] })
 * ```
 * @category models
 * @since 0.1.0
 */
export const Schedule = Schema.Struct({
  steps: Schema.Array(ScheduleStep),
  /**
   * The run waited spinners for a write (spin-assume, as DPOR runs do): a replay must too, or a
   * spinner the run kept waiting would be offered (and the fairness rule would narrow the
   * candidates differently).
   */
  spinAssume: Schema.optionalKey(Schema.Boolean),
  /** The run had the data-race check off (`ExploreOptions.races`): a replay must too, or it would stop at a race. */
  races: Schema.optionalKey(Schema.Boolean)
})
/** @category models @since 0.1.0 */
export type Schedule = typeof Schedule.Type

/**
 * The timeout mode a schedule needs to replay: `any` when a pending timeout
 * expired early in it (a step labelled `… [timeout]`), else `idle`.
 *
 * @example
 * ```ts
 * import { Schedule } from "@drvmodel/core"
 * Schedule.timeoutsOf({ steps: [{ _tag: "Run", task: "w", op: "msleep(10) [timeout]" }] }) // => "any"
 * ```
 * @category getters
 * @since 0.2.0
 */
export const timeoutsOf = (schedule: Schedule): "idle" | "any" =>
  schedule.steps.some((s) => s._tag === "Run" && s.op.endsWith(" [timeout]")) ? "any" : "idle"
