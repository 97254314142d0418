/**
 * Targeted scheduling toward a lock-order cycle (confirmation of a potential
 * deadlock). Each *lane* of the cycle is one dependency `from -> to` with the
 * tasks that created it and the operations that acquired `to`. A run tries to
 * put every lane's task in the state "holds `from`, about to acquire `to`" at
 * the same time:
 *
 * 1. Hold phase, lanes in this run's order: run a task of the first lane
 *    that does not yet hold its `from` class, until it does; a task that holds
 *    its lane's `from` is then *frozen* (not picked) so it does not go on and
 *    take `to` early. When the lane's tasks cannot run, other tasks run
 *    (uniformly at random): they queue the work, spawn the threads, etc.
 * 2. Close phase, once every lane is held: run the holders toward their `to`
 *    operation; a holder already at it is *parked* and runs only when nothing
 *    else can. If the cycle is real, the parked operations are disabled
 *    (their locks are held by the other lanes) and the run deadlocks.
 * 3. Fallback: frozen and parked tasks still run when nothing else can, so
 *    every run ends; with this run's *noise* probability a step is instead
 *    picked uniformly at random.
 *
 * Run `r` uses lane order `r mod P` (all P orders for up to 4 lanes, else
 * rotations) and noise level `NOISE[floor(r / P) mod 7]` (0, 2 %, 5 %, 10 %,
 * 20 %, 30 %, 50 %). All randomness comes from the seed and the run index.
 * Which task holds which class is learnt from the lock events, through the
 * observer that must be passed to the same runs (`hooks.observers`).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { OpObserver } from "../internal/engine.ts"
import * as Prng from "../Prng.ts"
import type { Strategy } from "../Strategy.ts"

/**
 * One dependency of the cycle to drive toward.
 *
 * @category models
 * @since 0.1.0
 */
export interface Lane {
  /** Tasks that created the dependency (matched by name, ignoring `#n` and worker `/n` suffixes). */
  readonly tasks: ReadonlyArray<string>
  readonly from: string
  readonly to: string
  /** Labels of the operations acquiring `to` (the deadlock point of this lane). */
  readonly toOps: ReadonlyArray<string>
}

/**
 * A targeted strategy and the observer it learns held locks from.
 *
 * @category models
 * @since 0.1.0
 */
export interface Targeted {
  readonly strategy: Strategy
  readonly observer: OpObserver
  /** Whether `task` holds `lockClass` now (in the current or last run). */
  readonly holds: (task: string, lockClass: string) => boolean
  /** Lock class of a resource seen in the current or last run. */
  readonly classOf: (resource: string) => string | undefined
}

/** Noise levels cycled through, one per round of lane orders. */
export const NOISE: ReadonlyArray<number> = [0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]

/** `esw_wq-worker/2` and `thread#3` match lanes recorded as `esw_wq-worker/0` and `thread`. */
const baseOf = (task: string): string => task.replace(/#\d+$/, "").replace(/\/\d+$/, "")

const permutations = (n: number): ReadonlyArray<ReadonlyArray<number>> => {
  const ids = Array.from({ length: n }, (_, i) => i)
  if (n > 4) return ids.map((r) => ids.map((i) => (i + r) % n))
  const out: Array<Array<number>> = []
  const go = (prefix: Array<number>, rest: Array<number>) => {
    if (rest.length === 0) out.push(prefix)
    for (let i = 0; i < rest.length; i++) go([...prefix, rest[i]!], [...rest.slice(0, i), ...rest.slice(i + 1)])
  }
  go([], ids)
  return out
}

/**
 * Creates a targeted strategy for the lanes of a cycle.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer, TargetedStrategy } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * const abba = classic.scenario("abba", "buggy")
 * const program = Effect.gen(function*() {
 *   const t = yield* TargetedStrategy.make({
 *     seed: 0,
 *     runs: 1,
 *     lanes: [
 *       { tasks: ["thread-1"], from: "&a->lock", to: "&b->lock", toOps: ["mutex_lock(B)"] },
 *       { tasks: ["thread-2"], from: "&b->lock", to: "&a->lock", toOps: ["mutex_lock(A)"] }
 *     ]
 *   })
 *   const report = yield* Explorer.explore(abba, Explorer.options({ schedules: 1 }), { observers: [t.observer] }, t.strategy)
 *   return report.counterexamples[0]?.kind // => "deadlock"
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly lanes: ReadonlyArray<Lane>
  readonly seed: number
  /** Runs the strategy offers (default 200): each has its own seeded stream, made up front. */
  readonly runs?: number
}): Effect.Effect<Targeted> =>
  Effect.map(
    Effect.forEach(
      Array.from({ length: Math.max(1, options.runs ?? 200) }, (_, r) => r),
      (r) => Prng.make(`${options.seed}:targeted:${r}`)
    ),
    (rngs) => withStreams(options.lanes, rngs)
  )

const withStreams = (lanes: ReadonlyArray<Lane>, rngs: ReadonlyArray<Prng.Prng>): Targeted => {
  const accepts = lanes.map((l) => new Set(l.tasks.map(baseOf)))
  const toOps = lanes.map((l) => new Set(l.toOps))
  const orders = permutations(lanes.length)
  // Held classes per task (multiset), learnt from lock events; reset per run.
  let held = new Map<string, Map<string, number>>()
  let classes = new Map<string, string>()
  let run = 0
  const holds = (task: string, lockClass: string) => (held.get(task)?.get(lockClass) ?? 0) > 0
  const observer: OpObserver = {
    onOp: ({ task, op, lockEvents }) => {
      if (op.resource !== undefined) classes.set(op.resource.id, op.resource.lockClass)
      for (const e of lockEvents) {
        classes.set(e.resource, e.lockClass)
        if (e.type === "touch") continue
        let mine = held.get(task)
        if (e.type === "acquire") {
          if (mine === undefined) held.set(task, (mine = new Map()))
          mine.set(e.lockClass, (mine.get(e.lockClass) ?? 0) + 1)
        } else {
          // A lock-like atomic may be released by another task than the one that took it.
          const owner = (mine?.get(e.lockClass) ?? 0) > 0 ? mine : [...held.values()].find((m) => (m.get(e.lockClass) ?? 0) > 0)
          if (owner !== undefined) owner.set(e.lockClass, owner.get(e.lockClass)! - 1)
        }
      }
    }
  }
  const strategy: Strategy = {
    name: "targeted",
    next: () => {
      const r = run++
      const rng = rngs[r]
      if (rng === undefined) return undefined
      held = new Map()
      classes = new Map()
      const order = orders[r % orders.length]!
      const noise = NOISE[Math.floor(r / orders.length) % NOISE.length]!
      const pickAmong = (indices: ReadonlyArray<number>, current: number) =>
        current >= 0 && indices.includes(current) ? current : indices[rng.int(indices.length)]!
      return {
        pick: (point) => {
          const cands = point.candidates
          if (noise > 0 && rng.next() < noise) return rng.int(cands.length)
          const current = point.current === undefined ? -1 : cands.findIndex((c) => c.task === point.current)
          // Which task holds which lane: each lane claimed by at most one task, each task claims one lane.
          const claim = new Map<string, number>()
          const claimed: Array<boolean> = lanes.map(() => false)
          const tasks = new Set([...held.keys(), ...cands.map((c) => c.task)])
          for (const i of order) {
            for (const t of tasks) {
              if (claim.has(t) || !accepts[i]!.has(baseOf(t)) || !holds(t, lanes[i]!.from)) continue
              claim.set(t, i)
              claimed[i] = true
              break
            }
          }
          const all = cands.map((_, i) => i)
          const free = all.filter((i) => !claim.has(cands[i]!.task))
          if (claimed.every(Boolean)) {
            const toward = all.filter((i) => {
              const lane = claim.get(cands[i]!.task)
              return lane !== undefined && !toOps[lane]!.has(cands[i]!.op)
            })
            if (toward.length > 0) return pickAmong(toward, current)
            if (free.length > 0) return pickAmong(free, -1)
            return pickAmong(all, -1)
          }
          const lane = order.find((i) => !claimed[i])!
          const mine = free.filter((i) => accepts[lane]!.has(baseOf(cands[i]!.task)))
          if (mine.length > 0) return pickAmong(mine, current)
          if (free.length > 0) return pickAmong(free, -1)
          return pickAmong(all, -1)
        },
        choose: (_label, count) => rng.int(count)
      }
    },
    coverage: () => ({ _tag: "Sampled" })
  }
  return { strategy, observer, holds, classOf: (resource) => classes.get(resource) }
}
