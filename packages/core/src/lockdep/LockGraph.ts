/**
 * The lock-class dependency graph, as lockdep keeps it: a node per lock
 * class, an edge `A -> B` whenever some task acquired (or touched) B while
 * holding A. The graph outlives executions: an edge only has to occur once,
 * in any task, in any run, for a cycle through it to be reported.
 *
 * Edges carry lockdep's dependency types (Boqun Feng's read/recursive-read
 * rules, kernel/locking/lockdep.c): the holder side is exclusive (`E`, held
 * for write) or shared (`S`, held for read of either kind), the acquired side
 * is non-recursive (`N`: write, or a read that a waiting writer blocks) or
 * recursive (`R`: a read that only a writer blocks). A cycle can deadlock iff
 * it is *strong*: no edge that arrives as `R` at a class is followed by an
 * edge that leaves that class as `S` (read after recursive read never blocks).
 *
 * @since 0.1.0
 */

/**
 * Acquisition mode of a lock event, as in `LockEvent.mode`.
 *
 * @category models
 * @since 0.1.0
 */
export type Mode = "write" | "read" | "recursive-read"

/**
 * Lockdep's dependency type: holder side `E`/`S`, acquired side `N`/`R`.
 *
 * @category models
 * @since 0.1.0
 */
export type DepType = "EN" | "ER" | "SN" | "SR"

/**
 * The dependency type of "acquire `next` (mode) while holding `held` (mode)".
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * LockOrder.depType("read", "recursive-read") // => "SR"
 * ```
 * @category getters
 * @since 0.1.0
 */
export const depType = (held: Mode, next: Mode): DepType =>
  `${held === "write" ? "E" : "S"}${next === "recursive-read" ? "R" : "N"}` as DepType

/**
 * Where one dependency was first created: the task that held `from` and
 * acquired `to`, the innermost modelled function, the step and run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Occurrence {
  readonly type: DepType
  /** Mode in which `to` was acquired. */
  readonly mode: Mode
  readonly task: string
  readonly func: string | undefined
  /** Step of the acquisition of `to` within its run. */
  readonly step: number
  /** Index (0-based) of the execution in which it occurred. */
  readonly run: number
  /** Label of the operation that acquired or touched `to`: `mutex_lock(B)`, `destroy_workqueue(wq)`. */
  readonly op: string
  /** `acquire` or `touch` (flush, drain, cancel, wait), or `signal` (complete / wake_up under a lock). */
  readonly via: "acquire" | "touch" | "signal"
  readonly fromResource: string
  readonly toResource: string
  /** Where the task acquired `from`: operation label, step, function. */
  readonly fromOp: string
  readonly fromStep: number
  readonly fromFunc: string | undefined
}

/**
 * One edge of the graph with its first occurrences: the first one of each
 * dependency type, and the first one by each task (at most `MAX_OCCURRENCES`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Dependency {
  readonly from: string
  readonly to: string
  readonly types: ReadonlySet<DepType>
  readonly occurrences: ReadonlyArray<Occurrence>
}

/**
 * A lock class's irq usage, lockdep's names (kernel/locking/lockdep_states.h):
 * taken in a hard interrupt or softirq (`IN-HARDIRQ-W`, `-R` for a read), or
 * taken, or held, with hard interrupts / softirqs enabled (`HARDIRQ-ON-W`…).
 *
 * @category models
 * @since 0.3.0
 */
export type UsageBit = `${"IN-" | ""}${"HARDIRQ" | "SOFTIRQ"}${"" | "-ON"}-${"W" | "R"}`

/**
 * Where a usage bit was first set: the task, the operation and function, the step and run.
 *
 * @category models
 * @since 0.3.0
 */
export interface UsageOccurrence {
  readonly usage: UsageBit
  readonly task: string
  readonly op: string
  readonly func: string | undefined
  readonly step: number
  readonly run: number
  /** Order in which bits were set across the whole analysis (earlier first). */
  readonly seq: number
}

/** Occurrences kept per edge: enough to name every task of a small model, bounded for long explorations. */
const MAX_OCCURRENCES = 8

interface MutableDependency {
  readonly from: string
  readonly to: string
  readonly types: Set<DepType>
  readonly occurrences: Array<Occurrence>
  readonly seen: Set<string>
}

/**
 * The graph. Mutable and cheap to update: one map lookup per (held, acquired)
 * pair, occurrences recorded only the first time a (type, task) pair is seen.
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * const graph = new LockOrder.LockGraph()
 * graph.classes.size // => 0
 * ```
 * @category models
 * @since 0.1.0
 */
export class LockGraph {
  /** Every class ever acquired or touched. */
  readonly classes = new Set<string>()
  private readonly out = new Map<string, Map<string, MutableDependency>>()
  /** Irq usage bits of each class, with their first occurrence. */
  readonly usage = new Map<string, Map<UsageBit, UsageOccurrence>>()
  private usageSeq = 0
  /** Executions observed (run boundaries seen by the observer). */
  runs = 0
  /** Operations observed. */
  ops = 0

  /** Records `from -> to`; returns true if the edge or its (type, task) occurrence is new. */
  add(occurrence: Occurrence & { readonly from: string; readonly to: string }): boolean {
    const { from, to } = occurrence
    let row = this.out.get(from)
    if (row === undefined) {
      row = new Map()
      this.out.set(from, row)
    }
    let dep = row.get(to)
    if (dep === undefined) {
      dep = { from, to, types: new Set(), occurrences: [], seen: new Set() }
      row.set(to, dep)
    }
    const typeIsNew = !dep.types.has(occurrence.type)
    dep.types.add(occurrence.type)
    const key = `${occurrence.type}|${occurrence.task}`
    if (dep.seen.has(key)) return typeIsNew
    dep.seen.add(key)
    // The first occurrence of a type is always kept; per-task ones while there is room.
    if (typeIsNew || dep.occurrences.length < MAX_OCCURRENCES) {
      const { from: _f, to: _t, ...rest } = occurrence
      dep.occurrences.push(rest)
    }
    return true
  }

  /** Sets a usage bit of a class (the first occurrence is kept). */
  mark(lockClass: string, occurrence: Omit<UsageOccurrence, "seq">): void {
    let bits = this.usage.get(lockClass)
    if (bits === undefined) {
      bits = new Map()
      this.usage.set(lockClass, bits)
    }
    if (!bits.has(occurrence.usage)) bits.set(occurrence.usage, { ...occurrence, seq: this.usageSeq++ })
  }

  /** Notes a class (so that classes with no dependency still count). */
  touchClass(lockClass: string): void {
    this.classes.add(lockClass)
  }

  /** The edge `from -> to`, if recorded. */
  edge(from: string, to: string): Dependency | undefined {
    return this.out.get(from)?.get(to)
  }

  /** Edges leaving `from`. */
  successors(from: string): ReadonlyArray<Dependency> {
    const row = this.out.get(from)
    return row === undefined ? [] : [...row.values()]
  }

  /** Every edge, in insertion order. */
  dependencies(): ReadonlyArray<Dependency> {
    const all: Array<Dependency> = []
    for (const row of this.out.values()) for (const d of row.values()) all.push(d)
    return all
  }

  /**
   * The graph as plain data (it crosses worker threads): classes, counters,
   * and every edge with its kept occurrences, in insertion order.
   *
   * @example
   * ```ts
   * import { LockOrder } from "@drvmodel/core"
   * new LockOrder.LockGraph().toData() // => { classes: [], runs: 0, ops: 0, dependencies: [] }
   * ```
   */
  toData(): LockGraphData {
    const usage = [...this.usage].map(([lockClass, bits]) => ({ lockClass, occurrences: [...bits.values()] }))
    return {
      classes: [...this.classes],
      runs: this.runs,
      ops: this.ops,
      dependencies: this.dependencies().map((d) => ({ from: d.from, to: d.to, occurrences: d.occurrences })),
      ...(usage.length > 0 ? { usage } : {})
    }
  }

  /**
   * Takes in a graph observed over later runs (an exploration split into
   * segments), as if this graph's observer had gone on to see those runs:
   * their run numbers follow ours. The result is the graph one observer of
   * all the runs builds. Why: an edge's occurrences depend only on that
   * edge's own history, and are kept in order of occurrence; the first of
   * each type is kept on both sides; an occurrence the later graph dropped
   * (its edge already held `MAX_OCCURRENCES`, the type not new) found the
   * edge full in the whole graph too (each of those earlier occurrences is
   * there, or was itself dropped from a full edge), so it is dropped there as
   * well. New rows and edges are appended in the order they first appear,
   * as the single observer appends them.
   *
   * @example
   * ```ts
   * import { LockOrder } from "@drvmodel/core"
   * const whole = new LockOrder.LockGraph()
   * whole.append(new LockOrder.LockGraph().toData())
   * whole.runs // => 0
   * ```
   */
  append(later: LockGraphData): void {
    for (const c of later.classes) this.classes.add(c)
    for (const d of later.dependencies) {
      for (const o of d.occurrences) this.add({ ...o, from: d.from, to: d.to, run: o.run + this.runs })
    }
    // Usage bits in the order the later observer set them: a bit already set here keeps ours.
    const bits = (later.usage ?? []).flatMap((u) => u.occurrences.map((o) => [u.lockClass, o] as const))
    bits.sort((a, b) => a[1].seq - b[1].seq)
    for (const [lockClass, { seq: _seq, ...o }] of bits) this.mark(lockClass, { ...o, run: o.run + this.runs })
    this.runs += later.runs
    this.ops += later.ops
  }
}

/**
 * A `LockGraph` as plain data (`toData`, `append`).
 *
 * @category models
 * @since 0.2.0
 */
export interface LockGraphData {
  readonly classes: ReadonlyArray<string>
  readonly runs: number
  readonly ops: number
  readonly dependencies: ReadonlyArray<{ readonly from: string; readonly to: string; readonly occurrences: ReadonlyArray<Occurrence> }>
  /** Irq usage bits per class, when any were set. */
  readonly usage?: ReadonlyArray<{ readonly lockClass: string; readonly occurrences: ReadonlyArray<UsageOccurrence> }>
}
