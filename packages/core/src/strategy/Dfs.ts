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
  /** A choice of the subtree's prefix: never backtracked. */
  readonly fixed: boolean
  /** Preemptions used before this choice. */
  readonly before: number
  /** Position of the non-preempting candidate (-1 if the current task cannot run). */
  readonly current: number
}

/**
 * Options: the preemption bound; `prefix`, to search only the subtree whose
 * first choices are these (indices in DFS order, as `path()` gives them);
 * `frontier`, to backtrack only the first `frontier` choices (every later
 * choice takes its first alternative): one run per subtree at that depth.
 *
 * Why subtrees partition the search (what lets several workers share one
 * DFS): the search visits runs in lexicographic order of their choice
 * indices, and which alternatives a choice offers depends only on the
 * choices before it (the model is deterministic; the preemptions used are a
 * function of the prefix). So the runs under the frontier prefixes P1 < P2 <
 * … are disjoint, their union is the whole search, and searching P1's
 * subtree, then P2's, … visits exactly the runs of one search, in its order.
 * Tested against the unsplit search (packages/cli/test/split.test.ts).
 *
 * @example
 * ```ts
 * import { DfsStrategy } from "@drvmodel/core"
 * const strategy = DfsStrategy.make({ preemptions: 2 })
 * const subtree = DfsStrategy.make({ preemptions: 2, prefix: [0, 1] })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly preemptions: number
  readonly prefix?: ReadonlyArray<number>
  readonly frontier?: number
}): Strategy & { readonly path: () => ReadonlyArray<number> } => {
  const bound = Math.max(0, options.preemptions)
  const prefix = options.prefix ?? []
  const frontier = options.frontier ?? Number.POSITIVE_INFINITY
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
          if (f.fixed) {
            frames.length = 0
            break
          }
          if (frames.length > frontier) {
            frames.pop()
            continue
          }
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
        } else {
          const index = depth < prefix.length ? prefix[depth]! : 0
          if (index >= count) {
            throw new ScheduleDivergence({
              message: `DFS: the subtree's choice ${depth} is ${index} of ${count}: the model is not deterministic`
            })
          }
          frames.push({ count, index, before: used, current, fixed: depth < prefix.length })
        }
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
    coverage: () => ({ _tag: "Bounded", exhausted, preemptionBound: bound, truncatedRuns: truncated }),
    path: () => frames.map((f) => f.index)
  }
}
