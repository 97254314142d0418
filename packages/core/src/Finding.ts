/**
 * Findings: what a check reported about one run, as Schema data that
 * round-trips through JSON. Each finding is evidence: who waits for what, who
 * holds it, the cycle, the spinning tasks, or the broken invariant and state.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A stuck task at the end of a run: what it waits for and who holds that.
 *
 * @category models
 * @since 0.1.0
 */
export const BlockedTask = Schema.Struct({
  task: Schema.String,
  /** Pending operation, e.g. `mutex_lock(devlink)`. */
  op: Schema.String,
  /** Resource waited for, e.g. `devlink`. */
  resource: Schema.optionalKey(Schema.String),
  /** What kind of wait: lock, rwsem, completion, workqueue flush/drain, spin... */
  waitKind: Schema.String,
  /** Tasks holding (or expected to release) the resource. */
  holders: Schema.Array(Schema.String),
  /** Queued waiters this task waits behind (a writer queued on an rw-semaphore before a new reader). */
  behind: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Holders that have ended: nobody will ever release what they hold for them. */
  exited: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Locks this task holds while it waits. */
  holds: Schema.Array(Schema.String),
  /** True when the task burns CPU while waiting (busy-wait), false when it sleeps. */
  spinning: Schema.Boolean,
  /** Innermost modelled function. */
  func: Schema.optionalKey(Schema.String)
})
/** @category models @since 0.1.0 */
export type BlockedTask = typeof BlockedTask.Type

/**
 * An edge of a wait-for cycle: `task` waits for `resource`, held by `holder`.
 *
 * @category models
 * @since 0.1.0
 */
export const WaitEdge = Schema.Struct({
  task: Schema.String,
  resource: Schema.String,
  holder: Schema.String,
  /** `holder` does not hold `resource`: it is queued for it ahead of `task` (a waiting writer). */
  queued: Schema.optionalKey(Schema.Boolean)
})
/** @category models @since 0.1.0 */
export type WaitEdge = typeof WaitEdge.Type

/**
 * One wait-for edge in words: `t1 waits for B held by t2`, or for a queued
 * writer `reader waits for sem behind writer (queued for it)`.
 *
 * @example
 * ```ts
 * import { Finding } from "@drvmodel/core"
 * Finding.edgeInWords({ task: "t1", resource: "B", holder: "t2" }) // => "t1 waits for B held by t2"
 * ```
 * @category getters
 * @since 0.3.0
 */
export const edgeInWords = (e: WaitEdge, task: string = e.task): string =>
  e.queued === true
    ? `${task} waits for ${e.resource} behind ${e.holder} (queued for it)`
    : `${task} waits for ${e.resource} held by ${e.holder}`

/**
 * No task can run or be woken, and some task has not finished.
 *
 * @category models
 * @since 0.1.0
 */
export const Deadlock = Schema.TaggedStruct("Deadlock", {
  blocked: Schema.Array(BlockedTask),
  cycle: Schema.Array(WaitEdge)
})

/**
 * Tasks keep retrying (trylock / cmpxchg / cond-read) without progress, or a
 * task busy-waits on a condition that nothing can make true.
 *
 * @category models
 * @since 0.1.0
 */
export const Livelock = Schema.TaggedStruct("Livelock", {
  reason: Schema.Literals(["endless-spin", "no-progress"]),
  spinning: Schema.Array(BlockedTask),
  blocked: Schema.Array(BlockedTask),
  cycle: Schema.Array(WaitEdge),
  /** Steps taken without progress before the report (for `no-progress`). */
  steps: Schema.Int
})

/**
 * A safety invariant failed after a step, or an eventual one at quiescence.
 *
 * @category models
 * @since 0.1.0
 */
export const InvariantViolation = Schema.TaggedStruct("InvariantViolation", {
  invariant: Schema.String,
  when: Schema.Literals(["safety", "eventual"]),
  message: Schema.String,
  state: Schema.Record(Schema.String, Schema.String)
})

/**
 * A model task died, threw, or the model hit a WARN (unlock by a non-owner,
 * an assertion, work queued on a destroyed workqueue...).
 *
 * @category models
 * @since 0.1.0
 */
export const Defect = Schema.TaggedStruct("Defect", {
  task: Schema.String,
  message: Schema.String
})

/**
 * One side of a data race: who accessed the cell, how, where, holding what.
 *
 * @category models
 * @since 0.2.0
 */
export const RaceAccess = Schema.Struct({
  task: Schema.String,
  mode: Schema.Literals(["read", "write"]),
  /** `READ_ONCE`/`WRITE_ONCE`: two marked accesses never race. */
  marked: Schema.Boolean,
  step: Schema.Int,
  func: Schema.optionalKey(Schema.String),
  /** Locks held at the access. */
  holds: Schema.Array(Schema.String)
})
/** @category models @since 0.2.0 */
export type RaceAccess = typeof RaceAccess.Type

/**
 * Two tasks touched a plain kernel cell, at least one wrote, and nothing
 * orders the two accesses (no common lock, no happens-before edge): KCSAN's
 * "data-race in f1 / f2".
 *
 * @category models
 * @since 0.2.0
 */
export const DataRace = Schema.TaggedStruct("DataRace", {
  cell: Schema.String,
  first: RaceAccess,
  second: RaceAccess
})

/**
 * A task did more Effect work between two scheduling points than the bound
 * allows (`maxOpsBetweenPoints`): it loops without reaching one, e.g. it spins
 * on a plain variable instead of an atomic read, or runs `Effect.forever` of
 * pure work. In the kernel such a loop never lets the CPU go; in the explorer
 * it would hang the run, so the run ends here.
 *
 * @category models
 * @since 0.1.0
 */
export const Runaway = Schema.TaggedStruct("Runaway", {
  task: Schema.String,
  /** Effect run-loop steps counted since the task's last scheduling point. */
  ops: Schema.Int,
  /** Innermost modelled function, if the loop runs inside one. */
  func: Schema.optionalKey(Schema.String)
})

/**
 * What went wrong in a run.
 *
 * @category models
 * @since 0.1.0
 */
export const Problem = Schema.Union([Deadlock, Livelock, InvariantViolation, Defect, DataRace, Runaway])
/** @category models @since 0.1.0 */
export type Problem = typeof Problem.Type

/**
 * A finding: the problem, at which step, with a one-line summary.
 *
 * @category models
 * @since 0.1.0
 */
export const Finding = Schema.Struct({
  problem: Problem,
  step: Schema.Int,
  time: Schema.Number,
  summary: Schema.String
})
/** @category models @since 0.1.0 */
export type Finding = typeof Finding.Type

/**
 * The kind of a finding as used in the findings matrix:
 * `deadlock`, `livelock`, `invariant:<name>`, `defect`, `data-race` or `runaway`.
 *
 * @example
 * ```ts
 * import { Finding } from "@drvmodel/core"
 * declare const problem: Finding.Problem
 * Finding.kindOf(problem) // => "deadlock", "invariant:no-stale-execution", ...
 * ```
 * @category getters
 * @since 0.1.0
 */
export const kindOf = (problem: Problem): string => {
  switch (problem._tag) {
    case "Deadlock":
      return "deadlock"
    case "Livelock":
      return "livelock"
    case "InvariantViolation":
      return `invariant:${problem.invariant}`
    case "Defect":
      return "defect"
    case "DataRace":
      return "data-race"
    case "Runaway":
      return "runaway"
  }
}

/**
 * A signature identifying "the same finding" across schedules: same kind,
 * same invariant, same cycle (as a set of resources), same spin.
 * Used to deduplicate and to keep a shrunk schedule faithful to the original.
 *
 * @category getters
 * @since 0.1.0
 */
export const signatureOf = (problem: Problem): string => {
  switch (problem._tag) {
    case "Deadlock":
      return `deadlock:${cycleKey(problem.cycle)}`
    case "Livelock":
      return `livelock:${problem.reason}:${[...new Set(problem.spinning.map((s) => s.resource ?? s.op))].sort().join(",")}`
    case "InvariantViolation":
      return `invariant:${problem.invariant}`
    case "Defect":
      return `defect:${problem.message.replace(/\d+/g, "#")}`
    case "DataRace":
      return `data-race:${problem.cell}:${[problem.first.func ?? "?", problem.second.func ?? "?"].sort().join("/")}`
    case "Runaway":
      // Not the count: it depends on the bound in force.
      return `runaway:${problem.task}:${problem.func ?? ""}`
  }
}

const cycleKey = (cycle: ReadonlyArray<WaitEdge>): string => [...new Set(cycle.map((e) => e.resource))].sort().join(",")
