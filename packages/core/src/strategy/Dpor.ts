/**
 * Dynamic partial-order reduction: source-DPOR with sleep sets (Abdulla,
 * Aronis, Jonsson, Sagonas, POPL 2014 / JACM 2017), stateless, on the
 * engine's footprints. It explores one execution per Mazurkiewicz class:
 * two steps are dependent when their footprints touch a key and one writes
 * (a step that declared nothing is dependent with everything). After each
 * run, every race — two dependent steps of different tasks with no
 * happens-before path between them through other steps — is reversed by
 * adding an initial of `notdep(e', E).e` to the backtrack set before `e'`;
 * sleep sets stop a task whose step was explored at an ancestor from being
 * explored again until a dependent step wakes it. Data choices
 * (`Kernel.choose`) branch on every value.
 *
 * The engine is not a plain Mazurkiewicz system. Where it is not, this
 * strategy falls back to exploring more, never less:
 *
 * - Fairness and yield rules (history-dependent candidate sets). While a
 *   runnable task spins (a failed trylock, the same attempt failing twice, a
 *   yield inside a retry streak) or right after a yield, the engine's
 *   candidate set depends on the order of past steps (least recently run
 *   first, the yielder gives way), not only on the state. Whether a task spins
 *   is a function of its own steps, which equivalent executions share, so a
 *   task that failed one attempt (a cmpxchg used as a test) makes no point
 *   historic. At `historic` points every candidate is explored (as DFS does), the
 *   step taken there and the step that led into them are dependent with every
 *   step, and sleep sets are emptied. Fairness picks the least recently run
 *   task, and when steps commute that order is not preserved by equivalence: so
 *   when a run has a point where a rule withheld an enabled task, every earlier
 *   point of that run gets all its candidates too (its prefix is explored as
 *   DFS would). A race whose reversal needs a task that was withheld at that
 *   point adds every candidate there (Flanagan–Godefroid's fallback).
 * - Retry loops: spin-assume (the engine's, on for the runs of this strategy
 *   and recorded in their schedules). A task in a retry streak that went once
 *   round its loop — from a failed trylock or cmpxchg back to the same attempt —
 *   writing nothing, with every key it read not written since, waits until
 *   some step writes one of those keys. Sound because a read-only iteration's
 *   only effect is the task's own program counter and where the loop goes
 *   next depends only on what it read (a retry loop carries no other state
 *   between iterations, as the livelock bound and the yield rule already
 *   assume): running it again on the same values only repeats it, so the
 *   states and findings reachable are the same, without the repetitions.
 *   The wait is a blocking op like a lock wait: the woken task's next step
 *   reads the keys it waited on, so the waking write is dependent with it
 *   and before it in every equivalent execution, and whether it waits is a
 *   function of its own steps and of the writes ordered with its reads. The
 *   fairness and yield rules do not apply to a streak that has written
 *   nothing (it cannot starve anyone: it stops after one round), so its
 *   points are not historic. When no one but waiting spinners could run, they
 *   are let go for the rest of the run and spin under the old rules: an
 *   endless spin is still the livelock found at the bound. Waiting on a wait
 *   queue is no write (primitives/WaitQueue.ts: a waiter's steps touch only its
 *   own entry and commute with other waiters'), so the merged esw_wq_handler's
 *   `devl_trylock` + `wait_event_timeout` loop is such a streak. Exempt from
 *   the fairness rule, a loop may take two steps in a row where plain DFS puts
 *   another task between them (the worker prepares to wait right after its
 *   failed trylock and is woken late): real states plain DFS does not reach;
 *   none that it reaches is lost (tested against DFS with and without
 *   spin-assume).
 * - Blocking (locks, joins, waits). A race `e' ⋖ e` is reversible only if e's
 *   task was enabled before e' (a lock waiter is not before the unlock that
 *   enables it); enabling is a dependency because a blocking op and the op that
 *   unblocks it declare a common written key (the primitives' footprints).
 *   CPUs block too: while an interrupt handler runs, every other task on its
 *   CPU waits, even on its first step; a step of a task bound to a CPU reads
 *   the CPU's key, a handler's start and return write it.
 * - Virtual time. The clock advances only when no task can run, or when every
 *   task that can run spins (a spinning CPU does not stop time); the advance is
 *   a pseudo-event writing `clock`, which steps read when their op has a
 *   deadline or they call `now()`; it is never reversed (the engine offers no
 *   step before it). Whether a task spins is a function of its own steps, and
 *   a spinner leaves its loop only through a write it reads, which races with
 *   its read: the orders in which it leaves before the advance are explored
 *   through that race. A task that merely failed one attempt (a cmpxchg used
 *   as a test) does not spin and does not let time pass: it goes on by itself,
 *   and whether time jumped would depend on the order of independent steps. When timer callbacks ran (delayed work), their effects have no
 *   footprint, so that advance is dependent with every step.
 * - Safety invariants are checked at every intermediate state, which
 *   Mazurkiewicz equivalence does not preserve (two commuting writes pass
 *   through different intermediate states). Writes to keys that they read are
 *   therefore mutually dependent: within a class they keep their order, so
 *   every safety invariant sees the same sequence of values of what it reads.
 *   Eventual invariants are checked once, on the final state, which every
 *   execution of a class reaches: their reads add no dependency.
 * - Findings end a run: which of two independent bugs is hit first depends on
 *   the order. The step that ended a run with a finding is dependent with every
 *   step, and all candidates are explored at the point before it.
 * - A run cut by the step bound is not maximal: it is counted, and the search
 *   is then not exhaustive. A sleep-set-blocked run (every candidate asleep at
 *   some point) is redundant: it is not counted as a class, but it runs on and
 *   is analysed like any other (a race judged reversible that was not — its
 *   task blocks once it gets there — shows the real race only in that run).
 * - Optional preemption bound (bounded DPOR): a backtrack point beyond the
 *   bound is skipped, and the search is then not exhaustive.
 *
 * @since 0.2.0
 */
import { type Outcome, ScheduleDivergence, type StepRecord } from "../internal/engine.ts"
import type { Access } from "../Kernel.ts"
import type { ChoicePoint, Chooser, Strategy } from "../Strategy.ts"
import type { HeldLock } from "../Trace.ts"

/** A step's accesses; undefined: dependent with every step. */
type Footprint = ReadonlyArray<Access> | undefined

interface PickNode {
  readonly kind: "pick"
  readonly candidates: ReadonlyArray<string>
  readonly withheld: ReadonlyArray<string>
  readonly historic: boolean
  readonly current: string | undefined
  /** Preemptions used before this point. */
  readonly before: number
  chosen: string
  /** Union of the footprints of `chosen`'s step here over the runs that took it (data choices vary it). */
  footprint: Array<Access> | undefined
  seen: boolean
  readonly backtrack: Set<string>
  /** Tasks whose subtree here is explored, with their step's footprint (for sleep sets). */
  readonly done: Map<string, Footprint>
  sleep: Map<string, Footprint>
  /** Every candidate was asleep when this node was made: runs through it are redundant. */
  readonly forced: boolean
}

interface ChooseNode {
  readonly kind: "choose"
  readonly count: number
  index: number
}

type Node = PickNode | ChooseNode

interface Event {
  readonly task: string
  /** Index of the pick node the step was taken at; `clockNode` or `pendingNode` for the pseudo-events. */
  readonly node: number
  fp: Footprint
  /** The candidates and withheld tasks at the point the step was taken at. */
  readonly candidates: ReadonlyArray<string>
  readonly withheld: ReadonlyArray<string>
  readonly acquired?: ReadonlyArray<HeldLock> | undefined
  readonly released?: ReadonlyArray<HeldLock> | undefined
}

const clockTask = "<clock>"
/** Node of a clock advance, and of the next step a task would have taken when a finding ended the run. */
const clockNode = -1
const pendingNode = -3
const clockWrite: ReadonlyArray<Access> = [{ key: "clock", mode: "write" }]

/**
 * Options: an optional preemption bound (bounded DPOR).
 *
 * @category models
 * @since 0.2.0
 */
export interface DporOptions {
  readonly preemptions?: number
}

/**
 * @example
 * ```ts
 * import { DporStrategy, Explorer } from "@drvmodel/core"
 * import { Effect } from "effect"
 * const report = Effect.runSync(
 *   Explorer.explore(
 *     { name: "idle", description: "nothing", program: Effect.void },
 *     Explorer.options({ strategy: "dpor" }),
 *     {},
 *     DporStrategy.make()
 *   )
 * )
 * report.coverage // => { _tag: "Dpor", exhausted: true, classes: 1, sleepBlocked: 0, truncatedRuns: 0 }
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const make = (options: DporOptions = {}): Strategy => {
  const bound = options.preemptions
  const nodes: Array<Node> = []
  const invariantKeys = new Set<string>()
  const taskIndex = new Map<string, number>()
  let started = false
  let exhausted = false
  let boundHit = false
  let classes = 0
  let sleepBlocked = 0
  let truncated = 0

  const indexOf = (task: string): number => {
    let i = taskIndex.get(task)
    if (i === undefined) {
      i = taskIndex.size
      taskIndex.set(task, i)
    }
    return i
  }

  const writes = (a: Access): boolean => a.mode === "write"
  const conflicts = (a: Access, b: Access): boolean =>
    (a.key === b.key && (writes(a) || writes(b))) || (writes(a) && writes(b) && invariantKeys.has(a.key) && invariantKeys.has(b.key))
  const dependent = (x: Footprint, y: Footprint): boolean => {
    if (x === undefined || y === undefined) return true
    for (const a of x) for (const b of y) if (conflicts(a, b)) return true
    return false
  }

  const addAll = (n: PickNode): void => {
    for (const c of n.candidates) n.backtrack.add(c)
  }

  /** Races of one run, reversed into backtrack sets (source-DPOR, Algorithm 1 of the JACM paper). */
  const analyze = (events: ReadonlyArray<Event>): void => {
    const count = events.length
    const tasks = events.map((e) => indexOf(e.task))
    const names = [...taskIndex.keys()]
    const width = taskIndex.size
    const clocks: Array<Int32Array> = new Array(count)
    const seq = new Int32Array(count)
    const prevOf = new Int32Array(count)
    const byTask = new Map<number, Array<number>>()
    const accessors = new Map<string, Array<number>>()
    const writers = new Map<string, Array<number>>()
    const globals: Array<number> = []
    const observedWriters: Array<number> = []
    const races: Array<readonly [number, number]> = []
    // Where each task was first seen parked (a candidate or withheld): from then on it waits on
    // its first op. Only CPUs make a parked first op blocked (an interrupt handler runs on its CPU).
    const firstSeen = new Map<string, number>()
    events.forEach((e, k) => {
      for (const t of e.candidates) if (!firstSeen.has(t)) firstSeen.set(t, k)
      for (const t of e.withheld) if (!firstSeen.has(t)) firstSeen.set(t, k)
    })
    const join = (into: Int32Array, c: Int32Array) => {
      for (let k = 0; k < width; k++) if (c[k]! > into[k]!) into[k] = c[k]!
    }
    const push = (m: Map<string, Array<number>>, key: string, i: number) => {
      const list = m.get(key)
      if (list === undefined) m.set(key, [i])
      else list.push(i)
    }
    /**
     * Whether step j may be enabled together with the later step i (so that their race can be
     * reversed): not when either is a clock advance (it happens only when no task can run), nor
     * when i's blocking acquire takes a lock that j released (unless both hold it shared), nor
     * when i's task was already parked on i's op before j and blocked there (for a first step: seen
     * waiting on it before j — an interrupt handler running on its CPU blocks it).
     */
    const coEnabled = (j: number, i: number): boolean => {
      const first = events[j]!
      const second = events[i]!
      if (first.node < 0 || second.node === clockNode) return false
      if (second.acquired !== undefined && first.released !== undefined) {
        for (const a of second.acquired) {
          for (const r of first.released) if (a.resource === r.resource && !(a.mode === "read" && r.mode === "read")) return false
        }
      }
      const prev = prevOf[i]!
      // Parked on i's op since before j (its previous step, or — for its first step — seen waiting
      // on it before j), and not runnable at j: blocked there.
      const parked = prev >= 0 ? prev < j : (firstSeen.get(second.task) ?? count) < j
      if (parked && !first.candidates.includes(second.task) && !first.withheld.includes(second.task)) return false
      return true
    }
    /** Earlier steps dependent with step i that its task's clock does not already cover, latest first. */
    const dependentOf = (i: number, known: Int32Array): Array<number> => {
      const e = events[i]!
      const p = tasks[i]!
      const out: Array<number> = []
      const uncovered = (j: number) => tasks[j] !== p && seq[j]! > known[tasks[j]!]!
      if (e.fp === undefined) {
        for (const [q, list] of byTask) {
          if (q === p) continue
          for (let k = known[q]!; k < list.length; k++) out.push(list[k]!)
        }
      } else {
        const add = (list: ReadonlyArray<number> | undefined) => {
          if (list !== undefined) for (const j of list) if (uncovered(j)) out.push(j)
        }
        add(globals)
        for (const a of e.fp) {
          add(a.mode === "write" ? accessors.get(a.key) : writers.get(a.key))
          if (a.mode === "write" && invariantKeys.has(a.key)) add(observedWriters)
        }
      }
      out.sort((x, y) => y - x)
      return out.filter((j, k) => k === 0 || out[k - 1] !== j)
    }
    const last = new Map<number, Int32Array>()
    for (let i = 0; i < count; i++) {
      const e = events[i]!
      const p = tasks[i]!
      const own = byTask.get(p)
      prevOf[i] = own === undefined ? -1 : own[own.length - 1]!
      // `clock`: e's happens-before clock (every dependent step before it). `acc`: what e's task
      // knew before e, plus the steps it races with (Flanagan–Godefroid: the latest dependent step
      // that may be enabled together with it), so a step enabling e does not hide an earlier race.
      const base = last.get(p)
      const clock = base === undefined ? new Int32Array(width) : base.slice()
      const acc = clock.slice()
      for (const j of dependentOf(i, clock)) {
        const q = tasks[j]!
        const cj = clocks[j]!
        if (seq[j]! > clock[q]!) join(clock, cj)
        if (seq[j]! <= acc[q]! || !coEnabled(j, i)) continue
        races.push([j, i])
        join(acc, cj)
      }
      seq[i] = (own?.length ?? 0) + 1
      clock[p] = seq[i]!
      clocks[i] = clock
      last.set(p, clock)
      if (own === undefined) byTask.set(p, [i])
      else own.push(i)
      if (e.fp === undefined) globals.push(i)
      else {
        let observes = false
        for (const a of e.fp) {
          push(accessors, a.key, i)
          if (a.mode === "write") {
            push(writers, a.key, i)
            observes ||= invariantKeys.has(a.key)
          }
        }
        if (observes) observedWriters.push(i)
      }
    }
    for (const [j, i] of races) {
      const first = events[j]!
      const second = events[i]!
      if (first.node < 0 || second.node === clockNode) continue // the clock is never reversible
      const n = nodes[first.node] as PickNode
      // Initials of v = notdep(e', E).e: the first step in v of each task, when no step of v
      // happens before it. A task's steps in v are a prefix of its steps after e'.
      const q = tasks[j]!
      const sj = seq[j]!
      const firsts: Array<number> = []
      for (const [t, list] of byTask) {
        let lo = 0
        let hi = list.length
        while (lo < hi) {
          const mid = (lo + hi) >> 1
          if (list[mid]! <= j) lo = mid + 1
          else hi = mid
        }
        const f = list[lo]
        if (f === undefined || f > i) continue
        if (t !== tasks[i] && clocks[f]![q]! >= sj) continue // happens after e': not in v
        firsts.push(f)
      }
      const initials: Array<string> = []
      for (const f of firsts) {
        const cf = clocks[f]!
        if (!firsts.some((g) => g < f && seq[g]! <= cf[tasks[g]!]!)) initials.push(names[tasks[f]!]!)
      }
      if (initials.some((t) => n.backtrack.has(t) || n.sleep.has(t))) continue
      const runnable = initials.filter((t) => n.candidates.includes(t))
      if (runnable.length > 0) n.backtrack.add(runnable.includes(second.task) ? second.task : runnable[0]!)
      else if (initials.some((t) => n.withheld.includes(t))) addAll(n)
    }
  }

  const chooser = (): Chooser => {
    const replay = nodes.length
    const events: Array<Event> = []
    let depth = 0
    let lastPick = -1
    let used = 0
    let redundant = false
    let withheldAt = -1
    let pendingSleep = new Map<string, Footprint>()
    let point: { candidates: ReadonlyArray<string>; withheld: ReadonlyArray<string>; historic: boolean } = {
      candidates: [],
      withheld: [],
      historic: true
    }

    const diverged = (what: string) =>
      new ScheduleDivergence({ message: `DPOR: step ${depth} ${what} on an earlier run: the model is not deterministic` })

    const pick = (at: ChoicePoint): number => {
      const names = at.candidates.map((c) => c.task)
      point = { candidates: names, withheld: at.withheld ?? [], historic: at.historic ?? true }
      const historic = at.historic ?? true
      // The step that led here made the candidate set history-dependent: dependent with everything.
      if (historic && events.length > 0) {
        const prev = events[events.length - 1]!
        if (prev.node >= 0) {
          prev.fp = undefined
          ;(nodes[prev.node] as PickNode).footprint = undefined
        }
      }
      let n: PickNode
      if (depth < replay) {
        const node = nodes[depth]!
        if (node.kind !== "pick" || node.candidates.join("\u0000") !== names.join("\u0000")) {
          throw diverged(`had other candidates (now ${names.join(", ")})`)
        }
        n = node
      } else {
        const sleep = historic ? new Map<string, Footprint>() : pendingSleep
        const cost = (t: string) => (at.current !== undefined && t !== at.current ? 1 : 0)
        const allowed = (t: string) => !sleep.has(t) && (bound === undefined || used + cost(t) <= bound)
        let preferred = at.current !== undefined && allowed(at.current) ? at.current : names.find(allowed)
        // Every candidate asleep (or beyond the bound): the run is redundant; it goes on with
        // the task that costs no preemption.
        const forced = preferred === undefined
        if (preferred === undefined) preferred = at.current ?? names[0]!
        n = {
          kind: "pick",
          candidates: names,
          withheld: point.withheld,
          historic,
          current: at.current,
          before: used,
          chosen: preferred,
          footprint: undefined,
          seen: false,
          backtrack: new Set(historic ? names : [preferred]),
          done: new Map(),
          sleep,
          forced
        }
        nodes.push(n)
      }
      if (n.forced) redundant = true
      if (n.withheld.length > 0 && withheldAt < 0) withheldAt = depth
      if (at.current !== undefined && n.chosen !== at.current) used++
      lastPick = depth++
      return names.indexOf(n.chosen)
    }

    const choose = (label: string, count: number): number => {
      if (depth < replay) {
        const node = nodes[depth]!
        if (node.kind !== "choose" || node.count !== count) throw diverged(`had no ${count}-way choice ${label}`)
        depth++
        return node.index
      }
      nodes.push({ kind: "choose", count, index: 0 })
      depth++
      return 0
    }

    const stepped = (record: StepRecord): void => {
      if (lastPick < 0) return
      const n = nodes[lastPick] as PickNode
      const fp = n.historic ? undefined : record.footprint
      if (!n.seen) {
        n.seen = true
        n.footprint = fp?.slice()
      } else if (n.footprint !== undefined) {
        if (fp === undefined) n.footprint = undefined
        else n.footprint.push(...fp)
      }
      events.push({ task: record.task, node: lastPick, fp, ...point, acquired: record.acquired, released: record.released })
      // Sleep set of the next point: asleep (or done) here and independent of this step.
      const next = new Map<string, Footprint>()
      if (fp !== undefined) {
        for (const source of [n.sleep, n.done]) {
          for (const [q, fq] of source) if (q !== record.task && !dependent(fq, fp)) next.set(q, fq)
        }
      }
      pendingSleep = next
    }

    const advanced = (timers: boolean): void => {
      const fp = timers ? undefined : clockWrite
      events.push({ task: clockTask, node: clockNode, fp, candidates: [], withheld: [] })
      const next = new Map<string, Footprint>()
      for (const [q, fq] of pendingSleep) if (!dependent(fq, fp)) next.set(q, fq)
      pendingSleep = next
    }

    const ended = (run: { readonly outcome: Outcome; readonly invariantReads: ReadonlySet<string> }): void => {
      let grew = false
      for (const k of run.invariantReads) {
        if (!invariantKeys.has(k)) {
          invariantKeys.add(k)
          grew = true
        }
      }
      // Sleep sets computed with fewer observed keys may have kept a dependent task asleep.
      if (grew) for (const n of nodes) if (n.kind === "pick") n.sleep = new Map()
      if (run.outcome._tag === "StepLimit") truncated++
      else if (!redundant) classes++
      if (redundant) sleepBlocked++
      if (run.outcome._tag === "Found") {
        // The run is not maximal: every task still alive would have taken a step that may
        // depend on anything. Those pending steps race with what came before them (a task that
        // never got to its lock, because a finding came first, still races for it).
        const exited = new Set<string>()
        const alive = new Set<string>()
        for (const e of events) {
          alive.add(e.task)
          for (const c of e.candidates) alive.add(c)
          if (e.fp?.some((a) => a.mode === "write" && a.key === `task:${e.task}`)) exited.add(e.task)
        }
        alive.delete(clockTask)
        for (const t of alive) {
          if (!exited.has(t)) events.push({ task: t, node: pendingNode, fp: undefined, candidates: [], withheld: [] })
        }
        // Another task's next step might have found something else first.
        for (let k = events.length - 1; k >= 0; k--) {
          const e = events[k]!
          if (e.node < 0) continue
          e.fp = undefined
          addAll(nodes[e.node] as PickNode)
          break
        }
      }
      if (withheldAt >= 0) for (let k = 0; k < withheldAt; k++) if (nodes[k]!.kind === "pick") addAll(nodes[k] as PickNode)
      analyze(events)
    }

    return { pick, choose: (label, count) => choose(label, count), stepped, advanced, ended }
  }

  const backtrack = (): boolean => {
    while (nodes.length > 0) {
      const n = nodes[nodes.length - 1]!
      if (n.kind === "choose") {
        if (n.index + 1 < n.count) {
          n.index++
          return true
        }
        nodes.pop()
        continue
      }
      n.done.set(n.chosen, n.seen ? n.footprint : undefined)
      const cost = (t: string) => (n.current !== undefined && t !== n.current ? 1 : 0)
      let next: string | undefined
      for (const t of n.candidates) {
        if (!n.backtrack.has(t) || n.done.has(t) || n.sleep.has(t)) continue
        if (bound !== undefined && n.before + cost(t) > bound) {
          boundHit = true
          continue
        }
        next = t
        break
      }
      if (next !== undefined) {
        n.chosen = next
        n.footprint = undefined
        n.seen = false
        return true
      }
      nodes.pop()
    }
    return false
  }

  return {
    name: "dpor",
    next: () => {
      if (started && !backtrack()) {
        exhausted = true
        return undefined
      }
      started = true
      return chooser()
    },
    coverage: () => ({
      _tag: "Dpor",
      exhausted: exhausted && truncated === 0 && !boundHit,
      classes,
      sleepBlocked,
      truncatedRuns: truncated,
      ...(bound !== undefined ? { preemptionBound: bound } : {})
    })
  }
}
