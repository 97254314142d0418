/**
 * Confirmation of a potential deadlock: run the scenario under the targeted
 * strategy (`strategy/Targeted.ts`) for a bounded number of runs and look for
 * a run that really deadlocks (or spins forever) with a task of every lane of
 * the cycle among the stuck tasks. The first such run is the counterexample.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Counterexample, defaultOptions, runOnce, type Scenario } from "../Explorer.ts"
import { kindOf, type Problem } from "../Finding.ts"
import * as Targeted from "../strategy/Targeted.ts"
import type { Cycle } from "./Cycles.ts"
import type { Tried } from "./Result.ts"

/**
 * Budget of a confirmation.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConfirmOptions {
  /** Targeted runs at most. Default 200. */
  readonly runs?: number
  readonly seed?: number
  /** Steps per run. Default: the scenario's default, else the explorer's. */
  readonly maxSteps?: number
  readonly livelockBound?: number
  /** Variant name, recorded in the counterexample. */
  readonly variant?: string
}

/**
 * Outcome of a confirmation.
 *
 * @category models
 * @since 0.1.0
 */
export interface Confirmation {
  readonly confirmed: boolean
  readonly counterexample?: Counterexample
  readonly tried: Tried
}

const baseOf = (task: string): string => task.replace(/#\d+$/, "").replace(/\/\d+$/, "")

/**
 * The lanes of a cycle: one per edge, with its tasks and acquisition points.
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * declare const cycle: LockOrder.Cycle
 * const lanes = LockOrder.lanesOf(cycle)
 * ```
 * @category getters
 * @since 0.1.0
 */
export const lanesOf = (cycle: Cycle): ReadonlyArray<Targeted.Lane> =>
  cycle.edges.map((e) => ({ tasks: e.tasks, from: e.from, to: e.to, toOps: e.ops }))

/**
 * The run deadlocked *on this cycle*: a deadlock or an endless spin in which
 * every lane has a stuck task of its own that holds the lane's `from` class
 * and waits at the lane's acquisition of `to` (one of its operations, or any
 * wait on a resource of class `to`, such as a spin on a lock-like atomic).
 */
const deadlocksCycle = (problem: Problem, lanes: ReadonlyArray<Targeted.Lane>, run: Targeted.Targeted): boolean => {
  if (problem._tag !== "Deadlock" && !(problem._tag === "Livelock" && problem.reason === "endless-spin")) return false
  const stuck = problem._tag === "Deadlock" ? problem.blocked : [...problem.spinning, ...problem.blocked]
  const used = new Set<string>()
  return lanes.every((l) => {
    const bases = new Set(l.tasks.map(baseOf))
    const t = stuck.find(
      (b) =>
        !used.has(b.task) &&
        bases.has(baseOf(b.task)) &&
        run.holds(b.task, l.from) &&
        (l.toOps.some((o) => b.op.startsWith(o)) || (b.resource !== undefined && run.classOf(b.resource) === l.to))
    )
    if (t !== undefined) used.add(t.task)
    return t !== undefined
  })
}

/**
 * Tries to confirm `cycle` on `scenario` with targeted runs.
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * declare const cycle: LockOrder.Cycle
 * const confirmation = LockOrder.confirm(classic.scenario("abba", "buggy"), cycle) // Effect<Confirmation>
 * ```
 * @category execution
 * @since 0.1.0
 */
export const confirm = (scenario: Scenario, cycle: Cycle, options: ConfirmOptions = {}): Effect.Effect<Confirmation> => {
  const runs = Math.max(1, options.runs ?? 200)
  const seed = options.seed ?? 0
  const lanes = lanesOf(cycle)
  return Effect.map(Targeted.make({ lanes, seed, runs }), (targeted) => confirmWith(scenario, lanes, targeted, runs, seed, options))
}

const confirmWith = (
  scenario: Scenario,
  lanes: ReadonlyArray<Targeted.Lane>,
  targeted: Targeted.Targeted,
  runs: number,
  seed: number,
  options: ConfirmOptions
): Confirmation => {
  const maxSteps = options.maxSteps ?? scenario.defaults?.maxSteps ?? defaultOptions.maxSteps
  const livelockBound = options.livelockBound ?? scenario.defaults?.livelockBound ?? defaultOptions.livelockBound
  const outcomes: Record<string, number> = {}
  const tally = (k: string) => {
    outcomes[k] = (outcomes[k] ?? 0) + 1
  }
  for (let run = 0; run < runs; run++) {
    const chooser = targeted.strategy.next()!
    const result = runOnce(scenario.program, chooser, { maxSteps, livelockBound, observers: [targeted.observer] })
    const outcome = result.outcome
    if (outcome._tag === "Found" && deadlocksCycle(outcome.finding.problem, lanes, targeted)) {
      tally(`${kindOf(outcome.finding.problem)} (cycle)`)
      return {
        confirmed: true,
        counterexample: {
          format: "drvmodel-counterexample/1",
          scenario: scenario.name,
          ...(options.variant !== undefined ? { variant: options.variant } : {}),
          strategy: targeted.strategy.name,
          seed,
          run,
          kind: kindOf(outcome.finding.problem),
          finding: outcome.finding,
          steps: result.steps,
          preemptions: result.preemptions,
          schedule: result.schedule,
          trace: result.trace
        },
        tried: { strategy: targeted.strategy.name, runs: run + 1, seed, maxSteps, outcomes }
      }
    }
    tally(outcome._tag === "Finished" ? "finished" : outcome._tag === "StepLimit" ? "step-limit" : kindOf(outcome.finding.problem))
  }
  return { confirmed: false, tried: { strategy: targeted.strategy.name, runs, seed, maxSteps, outcomes } }
}
