/**
 * Replay of a saved schedule. Choices are matched by label: the task name
 * (and operation) for scheduling steps, the choice label for data choices. A
 * label that no longer exists in the model is a clear error, not a silent
 * different run. Past the end of the schedule the run continues without
 * preemption (keep the current task, else the first runnable), which is what
 * shrinking relies on.
 *
 * @since 0.1.0
 */
import { ScheduleDivergence } from "../internal/engine.ts"
import type { Schedule } from "../Schedule.ts"
import type { Strategy } from "../Strategy.ts"

/**
 * @example
 * ```ts
 * import { ReplayStrategy } from "@drvmodel/core"
 * const strategy = ReplayStrategy.make({ steps: [{ _tag: "Run", task: "setup", op: "start" }] })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (schedule: Schedule, options?: { readonly strict?: boolean }): Strategy => {
  let used = false
  const strict = options?.strict ?? true
  return {
    name: "replay",
    next: () => {
      if (used) return undefined
      used = true
      let i = 0
      return {
        pick: (point) => {
          const step = schedule.steps[i]
          if (step === undefined) {
            const cur = point.current === undefined ? -1 : point.candidates.findIndex((c) => c.task === point.current)
            return cur >= 0 ? cur : 0
          }
          i++
          if (step._tag !== "Run") {
            throw new ScheduleDivergence(
              `schedule step ${i - 1} is the data choice "${step.label}", but the model is at a scheduling point`
            )
          }
          const k = point.candidates.findIndex((c) => c.task === step.task)
          if (k < 0) {
            throw new ScheduleDivergence(
              `schedule step ${i - 1}: task "${step.task}" cannot run here; runnable: ${point.candidates.map((c) => `${c.task} (${c.op})`).join(", ")}`
            )
          }
          if (strict && point.candidates[k]!.op !== step.op) {
            throw new ScheduleDivergence(
              `schedule step ${i - 1}: task "${step.task}" is at "${point.candidates[k]!.op}", the schedule expects "${step.op}"`
            )
          }
          return k
        },
        choose: (label, count) => {
          const step = schedule.steps[i]
          if (step === undefined) return 0
          i++
          if (step._tag !== "Choose" || step.label !== label) {
            throw new ScheduleDivergence(
              `schedule step ${i - 1}: the model makes the data choice "${label}", the schedule has ${step._tag === "Run" ? `a run of ${step.task}` : `"${step.label}"`}`
            )
          }
          if (step.index >= count)
            throw new ScheduleDivergence(
              `schedule step ${i - 1}: choice "${label}" has ${count} branches, the schedule picks ${step.index}`
            )
          return step.index
        }
      }
    },
    coverage: () => ({ _tag: "Sampled" })
  }
}
