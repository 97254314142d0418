/**
 * The common reading of a counterexample that every rendering starts from:
 * the lanes (one per task that did something), the operations in order with
 * the locks each task held after them, the calls into modelled functions, and
 * what each task was stuck on at the end.
 *
 * @since 0.1.0
 */
import type { Counterexample } from "../Explorer.ts"
import { type BlockedTask, edgeInWords, type Problem } from "../Finding.ts"
import type { Trace, TraceEvent } from "../Trace.ts"

/**
 * One applied operation (or data choice) in a trace.
 *
 * @category models
 * @since 0.1.0
 */
export interface TimelineOp {
  /** Position among the operations of the trace (the step axis of the renderings). */
  readonly index: number
  /** The engine's step counter when the operation ran (data choices share the next step's number). */
  readonly step: number
  readonly time: number
  readonly task: string
  /** Kernel function: `mutex_lock`. */
  readonly name: string
  /** `mutex_lock(A)`, `atomic_read(counter) = 1`, `choose(fault) = 1`. */
  readonly label: string
  readonly resource?: string | undefined
  /** Locks the task holds after the operation. */
  readonly holds: ReadonlyArray<string>
  readonly func?: string | undefined
  readonly preempted: boolean
  readonly state?: Readonly<Record<string, string>> | undefined
  /** The trace event. */
  readonly event: TraceEvent
}

/**
 * A counterexample read as lanes and operations.
 *
 * @category models
 * @since 0.1.0
 */
export interface Timeline {
  /** Lanes, in spawn order. `setup` only when it did more than start the others. */
  readonly tasks: ReadonlyArray<string>
  readonly ops: ReadonlyArray<TimelineOp>
  readonly events: Trace
  readonly problem: Problem
  /** Stuck tasks at the end (deadlock, livelock), by name. */
  readonly stuck: ReadonlyMap<string, BlockedTask>
  /** Whether the run ended with tasks stuck (the renderings add a final "blocked" column). */
  readonly endsStuck: boolean
  /** Verdict line, e.g. `*** DEADLOCK ***`. */
  readonly verdict: string
}

/**
 * The label of an operation event: `name(resource) = result`.
 *
 * @category getters
 * @since 0.1.0
 */
export const labelOf = (e: TraceEvent): string => {
  if (e.name === "choose" && e.result !== undefined) {
    const eq = e.result.lastIndexOf("=")
    return eq > 0 ? `choose(${e.result.slice(0, eq)}) = ${e.result.slice(eq + 1)}` : `choose ${e.result}`
  }
  const base = e.resource !== undefined ? `${e.name}(${e.resource})` : e.name
  return e.result !== undefined ? `${base} = ${e.result}` : base
}

/**
 * Stuck tasks of a problem, spinning ones first.
 *
 * @category getters
 * @since 0.1.0
 */
export const stuckOf = (problem: Problem): ReadonlyArray<BlockedTask> => {
  switch (problem._tag) {
    case "Deadlock":
      return problem.blocked
    case "Livelock":
      return [...problem.spinning, ...problem.blocked]
    default:
      return []
  }
}

/**
 * The closing verdict, in lockdep's style.
 *
 * @category getters
 * @since 0.1.0
 */
export const verdictOf = (problem: Problem): string => {
  switch (problem._tag) {
    case "Deadlock":
      return "*** DEADLOCK ***"
    case "Livelock":
      return problem.reason === "endless-spin" ? "*** LIVELOCK (endless spin) ***" : "*** LIVELOCK (no progress) ***"
    case "InvariantViolation":
      return `*** INVARIANT ${problem.invariant} BROKEN ***`
    case "Defect":
      return "*** WARNING ***"
    case "DataRace":
      return "*** DATA RACE ***"
    case "Runaway":
      return "*** RUNAWAY (no scheduling point) ***"
  }
}

/**
 * A data race in KCSAN's words: the cell, then each access with its task,
 * function and the locks held.
 *
 * @category getters
 * @since 0.2.0
 */
export const raceInWords = (p: Extract<Problem, { _tag: "DataRace" }>): string => {
  const side = (a: (typeof p)["first"]) =>
    `${a.mode} to ${p.cell}${a.marked ? " (marked)" : ""} by task ${a.task}${a.func !== undefined ? ` in ${a.func}()` : ""} at step ${a.step}, holding ${a.holds.length > 0 ? a.holds.join(", ") : "no lock"}`
  return `BUG: data-race in ${p.first.func ?? p.first.task} / ${p.second.func ?? p.second.task}: ${side(p.first)}; ${side(p.second)}. No common lock and no happens-before order between the two accesses.`
}

/**
 * Reads a counterexample (with an optional richer trace, e.g. one replayed
 * with `captureState: true`).
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * import { Render } from "@drvmodel/core"
 * declare const cx: Explorer.Counterexample
 * Render.Timeline.of(cx).tasks // => ["thread-1", "thread-2"]
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const of = (cx: Pick<Counterexample, "finding" | "trace">, trace: Trace = cx.trace): Timeline => {
  const problem = cx.finding.problem
  const ops: Array<TimelineOp> = []
  for (const e of trace) {
    if (e.kind !== "op") continue
    ops.push({
      index: ops.length,
      step: e.step,
      time: e.time,
      task: e.task,
      name: e.name,
      label: labelOf(e),
      resource: e.resource,
      holds: e.holds ?? [],
      func: e.func,
      preempted: e.preempted === true,
      state: e.state,
      event: e
    })
  }
  const stuckList = stuckOf(problem)
  const stuck = new Map(stuckList.map((b) => [b.task, b]))
  const interesting = new Set<string>()
  for (const o of ops) if (o.task !== "setup" || o.name !== "start") interesting.add(o.task)
  for (const e of trace) if (e.kind === "call" || e.kind === "warn") interesting.add(e.task)
  for (const b of stuckList) interesting.add(b.task)
  if (problem._tag === "Defect" || problem._tag === "Runaway") interesting.add(problem.task)
  if (problem._tag === "DataRace") {
    interesting.add(problem.first.task)
    interesting.add(problem.second.task)
  }
  const order: Array<string> = []
  const see = (t: string) => {
    if (interesting.has(t) && !order.includes(t)) order.push(t)
  }
  // Lanes in spawn order (thread-1 before thread-2), setup first.
  see("setup")
  for (const e of trace) see(e.kind === "spawn" ? e.name : e.task)
  for (const b of stuckList) see(b.task)
  if (problem._tag === "Defect" || problem._tag === "Runaway") see(problem.task)
  return {
    tasks: order,
    ops,
    events: trace,
    problem,
    stuck,
    endsStuck: stuckList.length > 0,
    verdict: verdictOf(problem)
  }
}

/**
 * Index of the operation to highlight: the last one that ran (a broken
 * safety invariant is checked right after it; a deadlock follows it).
 *
 * @category getters
 * @since 0.1.0
 */
export const failingIndex = (t: Timeline): number => Math.max(0, t.ops.length - 1)

/**
 * Wait-for edges at the end of the run: the cycle if there is one, else each
 * stuck task towards the holders of what it waits for.
 *
 * @category getters
 * @since 0.1.0
 */
export const waitEdges = (
  t: Timeline
): ReadonlyArray<{
  readonly task: string
  readonly resource: string
  readonly holder: string
  readonly inCycle: boolean
  readonly queued?: boolean
}> => {
  const p = t.problem
  const cycle = p._tag === "Deadlock" || p._tag === "Livelock" ? p.cycle : []
  const key = (a: string, r: string, h: string) => `${a}\u0000${r}\u0000${h}`
  const inCycle = new Set(cycle.map((e) => key(e.task, e.resource, e.holder)))
  const out: Array<{ task: string; resource: string; holder: string; inCycle: boolean; queued?: boolean }> = []
  for (const b of t.stuck.values()) {
    if (b.resource === undefined) continue
    for (const h of b.behind ?? [])
      out.push({ task: b.task, resource: b.resource, holder: h, inCycle: inCycle.has(key(b.task, b.resource, h)), queued: true })
    for (const h of b.holders) {
      if (h === b.task && !inCycle.has(key(b.task, b.resource, h))) continue
      out.push({ task: b.task, resource: b.resource, holder: h, inCycle: inCycle.has(key(b.task, b.resource, h)) })
    }
  }
  return out
}

/**
 * The cycle in words: `thread-1 waits for B held by thread-2, which waits for A held by thread-1`.
 *
 * @category getters
 * @since 0.1.0
 */
export const cycleInWords = (p: Problem): string | undefined => {
  if (p._tag !== "Deadlock" && p._tag !== "Livelock") return undefined
  if (p.cycle.length === 0) return undefined
  const parts = p.cycle.map((e, i) => edgeInWords(e, i === 0 ? e.task : "which"))
  return `${parts.join(", ")}: a cycle, so none of them can proceed.`
}

/**
 * The cycle as a chain: `thread-1 -> [B] -> thread-2 -> [A] -> thread-1`.
 *
 * @category getters
 * @since 0.1.0
 */
export const cycleChain = (p: Problem): string | undefined => {
  if (p._tag !== "Deadlock" && p._tag !== "Livelock") return undefined
  if (p.cycle.length === 0) return undefined
  return [p.cycle[0]!.task, ...p.cycle.flatMap((e) => [`[${e.resource}]`, e.holder])].join(" -> ")
}
