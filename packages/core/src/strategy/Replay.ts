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
import { type ChoicePoint, type Chooser, ScheduleDivergence } from "../internal/engine.ts"
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
            throw new ScheduleDivergence({
              message: `schedule step ${i - 1} is the data choice "${step.label}", but the model is at a scheduling point`
            })
          }
          const k = point.candidates.findIndex((c) => c.task === step.task)
          if (k < 0) {
            throw new ScheduleDivergence({
              message: `schedule step ${i - 1}: task "${step.task}" cannot run here; runnable: ${point.candidates.map((c) => `${c.task} (${c.op})`).join(", ")}`
            })
          }
          if (strict && point.candidates[k]!.op !== step.op) {
            throw new ScheduleDivergence({
              message: `schedule step ${i - 1}: task "${step.task}" is at "${point.candidates[k]!.op}", the schedule expects "${step.op}"`
            })
          }
          return k
        },
        choose: (label, count) => {
          const step = schedule.steps[i]
          if (step === undefined) return 0
          i++
          if (step._tag !== "Choose" || step.label !== label) {
            throw new ScheduleDivergence({
              message: `schedule step ${i - 1}: the model makes the data choice "${label}", the schedule has ${step._tag === "Run" ? `a run of ${step.task}` : `"${step.label}"`}`
            })
          }
          if (step.index >= count)
            throw new ScheduleDivergence({
              message: `schedule step ${i - 1}: choice "${label}" has ${count} branches, the schedule picks ${step.index}`
            })
          return step.index
        }
      }
    },
    coverage: () => ({ _tag: "Sampled" })
  }
}

/**
 * A lenient chooser: follows `schedule` where it can and never fails. A step
 * whose task cannot run here is skipped (and counted); a forced move (only one
 * task can run) is taken without using up a step that names another task; a
 * data choice whose label does not match takes branch 0; past the end the run
 * continues without preemption. For shrinking (edited schedules) and for
 * replaying a schedule recorded on another variant. Still a pure function of
 * model, scenario and schedule.
 *
 * @example
 * ```ts
 * import { ReplayStrategy } from "@drvmodel/core"
 * const chooser = ReplayStrategy.lenient({ steps: [{ _tag: "Run", task: "thread-2", op: "start" }] })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const lenient = (schedule: Schedule): Chooser & { readonly skipped: () => number } => {
  let i = 0
  let skipped = 0
  const continuing = (point: ChoicePoint) => {
    const cur = point.current === undefined ? -1 : point.candidates.findIndex((c) => c.task === point.current)
    return cur >= 0 ? cur : 0
  }
  return {
    skipped: () => skipped,
    pick: (point) => {
      const next = schedule.steps[i]
      if (point.candidates.length === 1 && (next?._tag !== "Run" || next.task !== point.candidates[0]!.task)) return 0
      while (i < schedule.steps.length) {
        const step = schedule.steps[i++]!
        if (step._tag === "Run") {
          const k = point.candidates.findIndex((c) => c.task === step.task)
          if (k >= 0) return k
        }
        skipped++
      }
      return continuing(point)
    },
    choose: (label, count) => {
      const step = schedule.steps[i]
      if (step?._tag === "Choose" && step.label === label) {
        i++
        return Math.min(step.index, count - 1)
      }
      return 0
    }
  }
}
