/**
 * Cycle search in the lock-class graph: every elementary cycle up to a length
 * bound that can deadlock under lockdep's read/write rules (a *strong*
 * cycle), keeping only minimal ones.
 *
 * - Enumeration: from each class in order, a depth-first search over classes
 *   that come later in that order, so each elementary cycle is found once
 *   (from its first class); bounded by `maxLength` and a path budget.
 * - Strength: an edge may have been seen with several dependency types; the
 *   cycle deadlocks if some choice of one type per edge never has an edge
 *   arriving as `R` followed by one leaving as `S`, cyclically. A self-edge
 *   (the class is already held: "possible recursive locking") is strong
 *   unless it is read after recursive read (`SR`).
 * - Minimality: a cycle whose classes strictly contain those of another
 *   strong cycle is dropped (lockdep, too, reports the one cycle the new edge
 *   closes, not every longer detour around it).
 *
 * @since 0.1.0
 */
import type { Dependency, DepType, LockGraph, Occurrence } from "./LockGraph.ts"

/**
 * One edge of a cycle: the dependency type chosen for the cycle to be strong,
 * its first occurrence of that type, and every task that created it.
 *
 * @category models
 * @since 0.1.0
 */
export interface CycleEdge {
  readonly from: string
  readonly to: string
  readonly type: DepType
  readonly occurrence: Occurrence
  /** Tasks seen creating this dependency with a compatible type (first one first). */
  readonly tasks: ReadonlyArray<string>
  /** Labels of the operations that acquired `to` in those occurrences. */
  readonly ops: ReadonlyArray<string>
}

/**
 * A potential deadlock: classes in cycle order and the edge from each class
 * to the next (the last edge closes the cycle). `recursive` is a one-class
 * cycle: a class acquired while already held.
 *
 * @category models
 * @since 0.1.0
 */
export interface Cycle {
  readonly kind: "circular" | "recursive"
  readonly classes: ReadonlyArray<string>
  readonly edges: ReadonlyArray<CycleEdge>
}

/**
 * Search bounds.
 *
 * @category models
 * @since 0.1.0
 */
export interface CycleOptions {
  /** Longest cycle (classes) searched. Default 6. */
  readonly maxLength?: number
  /** Cycles returned, shortest first. Default 32. */
  readonly maxCycles?: number
  /** Include one-class cycles (recursive locking). Default true. */
  readonly recursive?: boolean
}

// Preference when several types make a cycle strong: exclusive evidence first.
const TYPE_ORDER: ReadonlyArray<DepType> = ["EN", "SN", "ER", "SR"]
const arrivesRecursive = (t: DepType) => t[1] === "R"
const leavesShared = (t: DepType) => t[0] === "S"
/** Paths explored per search: keeps dense graphs from exploding. */
const PATH_BUDGET = 200_000

/** One type per edge such that the cycle is strong, or undefined. */
const strongTypes = (deps: ReadonlyArray<Dependency>): ReadonlyArray<DepType> | undefined => {
  const n = deps.length
  const chosen: Array<DepType> = []
  const options = deps.map((d) => TYPE_ORDER.filter((t) => d.types.has(t)))
  const go = (i: number): boolean => {
    if (i === n) return !(arrivesRecursive(chosen[n - 1]!) && leavesShared(chosen[0]!))
    for (const t of options[i]!) {
      if (i > 0 && arrivesRecursive(chosen[i - 1]!) && leavesShared(t)) continue
      chosen[i] = t
      if (go(i + 1)) return true
    }
    return false
  }
  return go(0) ? chosen : undefined
}

const earlier = (a: Occurrence, b: Occurrence) => a.run < b.run || (a.run === b.run && a.step < b.step)

const edgeOf = (dep: Dependency, type: DepType): CycleEdge => {
  const compatible = dep.occurrences.filter((o) => o.type === type)
  const first = compatible.reduce((a, b) => (earlier(b, a) ? b : a))
  return {
    from: dep.from,
    to: dep.to,
    type,
    occurrence: first,
    tasks: [...new Set([first.task, ...compatible.map((o) => o.task)])],
    ops: [...new Set([first.op, ...compatible.map((o) => o.op)])]
  }
}

/** Starts the cycle at the edge that occurred first, so reports read in the order things happened. */
const rotate = (edges: ReadonlyArray<CycleEdge>): Cycle => {
  let first = 0
  for (let i = 1; i < edges.length; i++) if (earlier(edges[i]!.occurrence, edges[first]!.occurrence)) first = i
  const rotated = [...edges.slice(first), ...edges.slice(0, first)]
  return { kind: rotated.length === 1 ? "recursive" : "circular", classes: rotated.map((e) => e.from), edges: rotated }
}

/**
 * The strong, minimal cycles of a graph, shortest first (then by where their
 * first edge occurred).
 *
 * @example
 * ```ts
 * import { Explorer, LockOrder } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * const abba = classic.scenario("abba", "buggy")
 * const observer = LockOrder.observer()
 * Explorer.explore(abba, Explorer.options({ schedules: 1 }), { observers: [observer] })
 * LockOrder.cycles(observer.graph).map((c) => c.classes) // => [["&a->lock", "&b->lock"]]
 * ```
 * @category getters
 * @since 0.1.0
 */
export const cycles = (graph: LockGraph, options: CycleOptions = {}): ReadonlyArray<Cycle> => {
  const maxLength = Math.max(1, options.maxLength ?? 6)
  const maxCycles = Math.max(1, options.maxCycles ?? 32)
  const order = [...graph.classes].sort()
  const index = new Map(order.map((c, i) => [c, i]))
  const found: Array<Cycle> = []
  let budget = PATH_BUDGET
  for (const start of order) {
    const s = index.get(start)!
    const path: Array<Dependency> = []
    const onPath = new Set<string>([start])
    const dfs = (at: string) => {
      for (const dep of graph.successors(at)) {
        if (--budget <= 0) return
        if (dep.to === start) {
          if (path.length === 0 && options.recursive === false) continue
          const deps = [...path, dep]
          const types = strongTypes(deps)
          if (types !== undefined) found.push(rotate(deps.map((d, i) => edgeOf(d, types[i]!))))
          continue
        }
        const j = index.get(dep.to)
        if (j === undefined || j <= s || onPath.has(dep.to) || path.length + 1 >= maxLength) continue
        path.push(dep)
        onPath.add(dep.to)
        dfs(dep.to)
        onPath.delete(dep.to)
        path.pop()
      }
    }
    dfs(start)
  }
  const key = (c: Cycle) => {
    const o = c.edges[0]!.occurrence
    return [c.classes.length, o.run, o.step] as const
  }
  found.sort((a, b) => {
    const ka = key(a)
    const kb = key(b)
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2] || a.classes.join().localeCompare(b.classes.join())
  })
  const minimal: Array<Cycle> = []
  for (const c of found) {
    const set = new Set(c.classes)
    // A recursive (one-class) cycle is a different report; it does not hide circular ones.
    const hidden = minimal.some((m) => m.kind === "circular" && m.classes.length < c.classes.length && m.classes.every((x) => set.has(x)))
    if (hidden) continue
    minimal.push(c)
    if (minimal.length >= maxCycles) break
  }
  return minimal
}
