/**
 * Lenient replay, for a schedule recorded on another variant or before a
 * model edit (`ReplayStrategy.lenient`): a step whose task cannot run at that
 * point is skipped, a forced move does not use up a step, a data choice whose
 * label does not match takes branch 0, and past the end the run continues
 * without preemption. The run is still a pure function of model, scenario and
 * schedule.
 *
 * @since 0.1.0
 */
import { Explorer, ReplayStrategy, type Scenario, Schedule } from "@drvmodel/core"

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
  const c = ReplayStrategy.lenient(schedule)
  const result = Explorer.runOnce(scenario.program, c, {
    ...o,
    timeouts: Schedule.timeoutsOf(schedule),
    spinAssume: schedule.spinAssume === true,
    races: schedule.races !== false
  })
  return { result, skipped: c.skipped() }
}
