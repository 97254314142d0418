/**
 * The lock-order result as Schema data: what the analysis found (cycles with
 * the edges that make them), whether each was confirmed by a targeted
 * schedule (with the counterexample) or is only potential (with what was
 * tried). Round-trips through JSON, ready for `report/matrix.json`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Counterexample } from "../Explorer.ts"

/**
 * One dependency of a cycle, at its first occurrence: `task`, in modelled
 * function `func`, at `step` of analysis run `run`, acquired (or touched, or
 * signalled) `to` with operation `op` while holding `from`, which it had taken
 * with `held.op` at `held.step`. `tasks` lists every task seen creating it.
 *
 * @category models
 * @since 0.1.0
 */
export const LockOrderEdge = Schema.Struct({
  from: Schema.String,
  to: Schema.String,
  /** Lockdep dependency type: holder exclusive/shared (E/S), acquisition non-recursive/recursive (N/R). */
  type: Schema.Literals(["EN", "ER", "SN", "SR"]),
  /** Mode in which `to` was acquired. */
  mode: Schema.Literals(["write", "read", "recursive-read"]),
  via: Schema.Literals(["acquire", "touch", "signal"]),
  task: Schema.String,
  func: Schema.optionalKey(Schema.String),
  step: Schema.Int,
  run: Schema.Int,
  op: Schema.String,
  held: Schema.Struct({ op: Schema.String, step: Schema.Int, func: Schema.optionalKey(Schema.String) }),
  tasks: Schema.Array(Schema.String)
})
/** @category models @since 0.1.0 */
export type LockOrderEdge = typeof LockOrderEdge.Type

/**
 * What confirmation tried: strategy, runs, seed, step bound, and how the runs
 * ended (`finished`, `step-limit`, or a finding kind such as `defect`).
 *
 * @category models
 * @since 0.1.0
 */
export const Tried = Schema.Struct({
  strategy: Schema.String,
  runs: Schema.Int,
  seed: Schema.Int,
  maxSteps: Schema.Int,
  outcomes: Schema.Record(Schema.String, Schema.Int)
})
/** @category models @since 0.1.0 */
export type Tried = typeof Tried.Type

/**
 * A cycle: `classes` in order, `edges[i]` from `classes[i]` to the next.
 * `confirmed` with the deadlocking counterexample, else potential.
 *
 * @category models
 * @since 0.1.0
 */
export const LockOrderCycle = Schema.Struct({
  kind: Schema.Literals(["circular", "recursive"]),
  classes: Schema.Array(Schema.String),
  edges: Schema.Array(LockOrderEdge),
  confirmed: Schema.Boolean,
  status: Schema.Literals(["confirmed", "potential"]),
  counterexample: Schema.optionalKey(Counterexample),
  tried: Tried
})
/** @category models @since 0.1.0 */
export type LockOrderCycle = typeof LockOrderCycle.Type

/**
 * Where an irq usage bit of a class was first set.
 *
 * @category models
 * @since 0.3.0
 */
export const LockOrderUsage = Schema.Struct({
  /** Lockdep's name: `IN-HARDIRQ-W`, `HARDIRQ-ON-R`, `IN-SOFTIRQ-W`... */
  usage: Schema.String,
  task: Schema.String,
  op: Schema.String,
  func: Schema.optionalKey(Schema.String),
  step: Schema.Int,
  run: Schema.Int
})
/** @category models @since 0.3.0 */
export type LockOrderUsage = typeof LockOrderUsage.Type

/**
 * A violation of lockdep's irq rules: an inconsistent lock state (`classes`:
 * the class) or an irq-safe → irq-unsafe lock order (`classes`: the chain from
 * the safe class to the unsafe one); `first` and `second` are the two usages,
 * in the order they were set.
 *
 * @category models
 * @since 0.3.0
 */
export const LockOrderIrq = Schema.Struct({
  kind: Schema.Literals(["inconsistent", "irq-unsafe-order"]),
  irq: Schema.Literals(["HARDIRQ", "SOFTIRQ"]),
  title: Schema.String,
  classes: Schema.Array(Schema.String),
  first: LockOrderUsage,
  second: LockOrderUsage
})
/** @category models @since 0.3.0 */
export type LockOrderIrq = typeof LockOrderIrq.Type

/**
 * The analysis of one scenario (on one variant): how many runs fed the graph,
 * its size, findings those runs hit by themselves, and the cycles.
 *
 * @category models
 * @since 0.1.0
 */
export const LockOrderResult = Schema.Struct({
  format: Schema.Literal("drvmodel-lock-order/1"),
  scenario: Schema.String,
  variant: Schema.optionalKey(Schema.String),
  /** `once`: one run on the default non-preemptive schedule; `explore`: every run of an exploration. */
  mode: Schema.Literals(["once", "explore"]),
  runs: Schema.Int,
  steps: Schema.Int,
  classes: Schema.Int,
  dependencies: Schema.Int,
  /** Outcomes of the analysis runs themselves (`finished`, `step-limit`, finding kinds), with counts. */
  outcomes: Schema.Record(Schema.String, Schema.Int),
  cycles: Schema.Array(LockOrderCycle),
  /** Violations of lockdep's irq rules (irq usage of spinlocks and rwlocks), when there are any. */
  irq: Schema.optionalKey(Schema.Array(LockOrderIrq))
})
/** @category models @since 0.1.0 */
export type LockOrderResult = typeof LockOrderResult.Type
