/**
 * PCT (Burckhardt et al., ASPLOS 2010): random task priorities, always run the
 * highest-priority runnable task, and lower the running task's priority at
 * d-1 random change points. A bug of depth d among n tasks and k steps is hit
 * by one run with probability at least 1/(n·k^(d-1)). k is learned from the
 * longest run so far, as shuttle does: the first run has no change points
 * and measures it (a fixed guess longer than the runs would put most change
 * points after the end of the run).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Prng from "../Prng.ts"
import type { Strategy } from "../Strategy.ts"

/**
 * @example
 * ```ts
 * import { PctStrategy } from "@drvmodel/core"
 * const strategy = PctStrategy.make({ seed: 1, depth: 2 }) // Effect<Strategy>
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: { readonly seed: number; readonly depth: number; readonly initialSteps?: number }): Effect.Effect<Strategy> =>
  Effect.map(Prng.make(options.seed), (rng) => withRng(rng, options))

const withRng = (rng: Prng.Prng, options: { readonly depth: number; readonly initialSteps?: number }): Strategy => {
  let maxSteps = Math.max(0, options.initialSteps ?? 0)
  let maxTasks = 0
  const depth = Math.max(1, options.depth)
  return {
    name: "pct",
    next: () => {
      const priority = new Map<string, number>()
      // d-1 distinct change points in [0, k).
      const changes = new Map<number, number>()
      for (let j = 1; j < depth && changes.size < Math.min(depth - 1, maxSteps); ) {
        const at = rng.int(maxSteps)
        if (!changes.has(at)) changes.set(at, depth - j++)
      }
      const prio = (task: string) => {
        let p = priority.get(task)
        if (p === undefined) {
          p = depth + rng.next()
          priority.set(task, p)
          maxTasks = Math.max(maxTasks, priority.size)
        }
        return p
      }
      return {
        pick: (point) => {
          for (const c of point.candidates) prio(c.task)
          let best = 0
          for (let i = 1; i < point.candidates.length; i++) {
            if (prio(point.candidates[i]!.task) > prio(point.candidates[best]!.task)) best = i
          }
          const low = changes.get(point.step)
          if (low !== undefined) {
            // Demote the task that would run, then re-pick. As in the paper, also when it is
            // the only runnable task: its lower priority matters at later steps.
            priority.set(point.candidates[best]!.task, low)
            best = 0
            for (let i = 1; i < point.candidates.length; i++) {
              if (prio(point.candidates[i]!.task) > prio(point.candidates[best]!.task)) best = i
            }
          }
          return best
        },
        choose: (_label, count) => rng.int(count)
      }
    },
    finished: (r) => {
      // A run cut off by the step limit says nothing about the length of a run.
      if (!r.hitStepLimit) maxSteps = Math.max(maxSteps, r.steps)
    },
    coverage: () => ({ _tag: "Pct", depth, maxTasks, maxSteps })
  }
}

/**
 * The PCT guarantee: probability that one run finds a given depth-d bug,
 * `1/(n·k^(d-1))`, and the bound on missing it after `runs` clean runs.
 *
 * @example
 * ```ts
 * import { PctStrategy } from "@drvmodel/core"
 * PctStrategy.guarantee({ tasks: 4, steps: 200, depth: 2, runs: 3000 }).missBound // ≈ 0.023
 * ```
 * @category getters
 * @since 0.1.0
 */
export const guarantee = (o: { readonly tasks: number; readonly steps: number; readonly depth: number; readonly runs: number }) => {
  const perRun = 1 / (Math.max(1, o.tasks) * Math.max(1, o.steps) ** (o.depth - 1))
  return { perRun, missBound: (1 - perRun) ** o.runs }
}
