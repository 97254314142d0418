/**
 * Lenient replay, for a schedule recorded on another variant or before a
 * model edit: each step names a task; a step whose task cannot run at that
 * point is skipped, a data choice whose label does not match is left to
 * branch 0, and past the end the run continues without preemption. The run
 * is still a pure function of model, scenario and schedule.
 *
 * @since 0.1.0
 */
import { type Chooser, Explorer, type Scenario, type Schedule } from "@drvmodel/core"

/**
 * A chooser that follows `schedule` leniently; `skipped()` counts the steps it dropped.
 *
 * @example
 * ```ts
 * import { Lenient } from "@drvmodel/cli"
 * const chooser = Lenient.chooser({ steps: [{ _tag: "Run", task: "thread-2", op: "start" }] })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const chooser = (schedule: Schedule.Schedule): Chooser & { readonly skipped: () => number } => {
  let i = 0
  let skipped = 0
  return {
    skipped: () => skipped,
    pick: (point) => {
      while (i < schedule.steps.length) {
        const step = schedule.steps[i++]!
        if (step._tag !== "Run") {
          skipped++
          continue
        }
        const k = point.candidates.findIndex((c) => c.task === step.task)
        if (k >= 0) return k
        skipped++
      }
      const cur = point.current === undefined ? -1 : point.candidates.findIndex((c) => c.task === point.current)
      return cur >= 0 ? cur : 0
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

/**
 * Replays `schedule` leniently.
 *
 * @example
 * ```ts
 * import { Lenient } from "@drvmodel/cli"
 * declare const scenario: import("@drvmodel/core").Scenario
 * const { result, skipped } = Lenient.replay(scenario, { steps: [] }, { maxSteps: 5000, livelockBound: 400 })
 * ```
 * @category execution
 * @since 0.1.0
 */
export const replay = (
  scenario: Scenario,
  schedule: Schedule.Schedule,
  o: { readonly maxSteps: number; readonly livelockBound: number }
) => {
  const c = chooser(schedule)
  const result = Explorer.runOnce(scenario.program, c, o)
  return { result, skipped: c.skipped() }
}
