/**
 * Depth-first search bounded by preemptions (stateless, as in loom and
 * CHESS): each execution replays a prefix of choices and extends it with the
 * non-preempting choice; backtracking tries every alternative whose cost
 * keeps the run within the preemption bound. Switching away from a task that
 * could continue costs one preemption; switching when it blocked or finished
 * is free. When the frontier empties, the space within the bound is covered.
 *
 * @since 0.1.0
 */
import { ScheduleDivergence } from "../internal/engine.ts"
import type { Strategy } from "../Strategy.ts"

interface Frame {
  readonly count: number
  index: number
  /** Preemptions used before this choice. */
  readonly before: number
  /** Position of the non-preempting candidate (-1 if the current task cannot run). */
  readonly current: number
}

/**
 * @example
 * ```ts
 * import { DfsStrategy } from "@drvmodel/core"
 * const strategy = DfsStrategy.make({ preemptions: 2 })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: { readonly preemptions: number }): Strategy => {
  const bound = Math.max(0, options.preemptions)
  const frames: Array<Frame> = []
  let started = false
  let exhausted = false
  let truncated = 0
  // Order: the non-preempting candidate first, then the rest in task order.
  const order = (current: number, k: number) => {
    if (current < 0) return k
    if (k === 0) return current
    return k <= current ? k - 1 : k
  }
  const cost = (f: Frame, k: number) => (f.current >= 0 && k > 0 ? 1 : 0)
  return {
    name: "dfs",
    next: () => {
      if (started) {
        // Backtrack to the deepest frame with an affordable untried alternative.
        while (frames.length > 0) {
          const f = frames[frames.length - 1]!
          let k = f.index + 1
          while (k < f.count && f.before + cost(f, k) > bound) k++
          if (k < f.count) {
            f.index = k
            break
          }
          frames.pop()
        }
        if (frames.length === 0) {
          exhausted = true
          return undefined
        }
      }
      started = true
      let depth = 0
      let used = 0
      const take = (count: number, current: number): number => {
        if (depth < frames.length) {
          const f = frames[depth]!
          if (f.count !== count) {
            throw new ScheduleDivergence({
              message: `DFS: step ${depth} had ${f.count} choices on an earlier run and ${count} now: the model is not deterministic`
            })
          }
        } else frames.push({ count, index: 0, before: used, current })
        const f = frames[depth++]!
        used = f.before + cost(f, f.index)
        return order(current, f.index)
      }
      return {
        pick: (point) => {
          const current = point.current === undefined ? -1 : point.candidates.findIndex((c) => c.task === point.current)
          return take(point.candidates.length, current)
        },
        choose: (_label, count) => take(count, -1)
      }
    },
    finished: (r) => {
      if (r.hitStepLimit) truncated++
    },
    coverage: () => ({ _tag: "Bounded", exhausted, preemptionBound: bound, truncatedRuns: truncated })
  }
}
