/**
 * Lockdep's irq rules over the usage bits the observer sets
 * (kernel/locking/lockdep.c: mark_lock_irq, check_irq_usage), for hard
 * interrupts and softirqs alike:
 *
 * - *inconsistent lock state*: one class both taken in an interrupt handler
 *   (`IN-HARDIRQ-W`) and taken or held with interrupts enabled
 *   (`HARDIRQ-ON-W`): the interrupt can arrive while the lock is held on the
 *   same CPU. Read against read never conflicts (`IN-HARDIRQ-R` with
 *   `HARDIRQ-ON-R`: a reader does not block a reader); any other pair does;
 * - *irq-safe → irq-unsafe lock order*: a dependency path from a class taken
 *   in an interrupt handler (safe) to a class taken with interrupts enabled
 *   (unsafe): CPU0 holds the unsafe lock and is interrupted by a handler that
 *   wants the safe one, which CPU1 holds while it waits for the unsafe one.
 *   Read rules (Boqun Feng's, "lockdep: Fix recursive read lock related
 *   safe->unsafe detection"): the path must be strong (no edge arriving as a
 *   recursive read followed by one leaving as shared); the safe class's read
 *   usage counts only if the path leaves it held for write (a handler taking
 *   it for read passes a reader), the unsafe class's read usage only if the
 *   path takes it non-recursively (a recursive reader passes a reader).
 *
 * @since 0.3.0
 */
import type { DepType, LockGraph, UsageBit, UsageOccurrence } from "./LockGraph.ts"

/**
 * One irq-rule violation: lockdep's title, the classes, the two usages (the
 * earlier one first) and, for a lock order, the chain of classes from the
 * safe lock to the unsafe one.
 *
 * @category models
 * @since 0.3.0
 */
export interface IrqViolation {
  readonly kind: "inconsistent" | "irq-unsafe-order"
  readonly irq: "HARDIRQ" | "SOFTIRQ"
  /** `inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.` or `HARDIRQ-safe -> HARDIRQ-unsafe lock order detected`. */
  readonly title: string
  /** The class (inconsistent), or the chain from the safe class to the unsafe one. */
  readonly classes: ReadonlyArray<string>
  readonly first: UsageOccurrence
  readonly second: UsageOccurrence
}

const IRQS = ["HARDIRQ", "SOFTIRQ"] as const

/** Conflicting pairs (safe usage, unsafe usage): all but read against read. */
const conflicts = (irq: string): ReadonlyArray<readonly [UsageBit, UsageBit]> => [
  [`IN-${irq}-W` as UsageBit, `${irq}-ON-W` as UsageBit],
  [`IN-${irq}-W` as UsageBit, `${irq}-ON-R` as UsageBit],
  [`IN-${irq}-R` as UsageBit, `${irq}-ON-W` as UsageBit]
]

const inconsistent = (graph: LockGraph): Array<IrqViolation> => {
  const out: Array<IrqViolation> = []
  for (const [lockClass, bits] of [...graph.usage].sort(([a], [b]) => a.localeCompare(b))) {
    for (const irq of IRQS) {
      for (const [safe, unsafe] of conflicts(irq)) {
        const a = bits.get(safe)
        const b = bits.get(unsafe)
        if (a === undefined || b === undefined) continue
        const [first, second] = a.seq < b.seq ? [a, b] : [b, a]
        out.push({
          kind: "inconsistent",
          irq,
          title: `inconsistent {${first.usage}} -> {${second.usage}} usage.`,
          classes: [lockClass],
          first,
          second
        })
        break
      }
    }
  }
  return out
}

const arrivesRecursive = (t: DepType) => t[1] === "R"
const leavesShared = (t: DepType) => t[0] === "S"

/** The shortest strong path from `safe` to a class with unsafe usage that counts, or undefined. */
const unsafePath = (
  graph: LockGraph,
  safe: string,
  irq: string,
  writeSafe: boolean
): { readonly classes: ReadonlyArray<string>; readonly unsafe: UsageOccurrence } | undefined => {
  // BFS over (class, arrived as a recursive read), parents kept for the chain.
  interface State {
    readonly at: string
    readonly arrivedR: boolean
    readonly parent: State | undefined
  }
  const seen = new Set<string>()
  let frontier: Array<State> = [{ at: safe, arrivedR: false, parent: undefined }]
  while (frontier.length > 0) {
    const next: Array<State> = []
    for (const s of frontier) {
      for (const dep of graph.successors(s.at)) {
        for (const t of dep.types) {
          if (s.parent === undefined && !writeSafe && leavesShared(t)) continue
          if (s.arrivedR && leavesShared(t)) continue
          const state: State = { at: dep.to, arrivedR: arrivesRecursive(t), parent: s }
          if (dep.to !== safe) {
            const bits = graph.usage.get(dep.to)
            const unsafe = bits?.get(`${irq}-ON-W` as UsageBit) ?? (arrivesRecursive(t) ? undefined : bits?.get(`${irq}-ON-R` as UsageBit))
            if (unsafe !== undefined) {
              const chain: Array<string> = []
              for (let p: State | undefined = state; p !== undefined; p = p.parent) chain.unshift(p.at)
              return { classes: chain, unsafe }
            }
          }
          const key = `${dep.to}\u0000${state.arrivedR}`
          if (seen.has(key) || dep.to === safe) continue
          seen.add(key)
          next.push(state)
        }
      }
    }
    frontier = next
  }
  return undefined
}

const unsafeOrder = (graph: LockGraph): Array<IrqViolation> => {
  const out: Array<IrqViolation> = []
  for (const [safe, bits] of [...graph.usage].sort(([a], [b]) => a.localeCompare(b))) {
    for (const irq of IRQS) {
      const w = bits.get(`IN-${irq}-W` as UsageBit)
      const r = bits.get(`IN-${irq}-R` as UsageBit)
      const used = w ?? r
      if (used === undefined) continue
      const found = unsafePath(graph, safe, irq, w !== undefined)
      if (found === undefined) continue
      out.push({
        kind: "irq-unsafe-order",
        irq,
        title: `${irq}-safe -> ${irq}-unsafe lock order detected`,
        classes: found.classes,
        first: used,
        second: found.unsafe
      })
    }
  }
  return out
}

/**
 * Every irq-rule violation in a graph: inconsistent usages, then irq-safe →
 * irq-unsafe orders (one per safe class and kind of interrupt, the shortest).
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * const graph = new LockOrder.LockGraph()
 * LockOrder.irqViolations(graph) // => []
 * ```
 * @category getters
 * @since 0.3.0
 */
export const irqViolations = (graph: LockGraph): ReadonlyArray<IrqViolation> => [...inconsistent(graph), ...unsafeOrder(graph)]
