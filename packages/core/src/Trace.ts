/**
 * Traces: what happened at each step of a run, as plain Schema data.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A lock (or lock-like resource) held by a task, as recorded in traces.
 *
 * @category models
 * @since 0.1.0
 */
export const HeldLock = Schema.Struct({
  resource: Schema.String,
  lockClass: Schema.String,
  mode: Schema.Literals(["write", "read"]),
  /**
   * Holding it makes the task's context atomic (an RCU read-side critical section, a spinlock):
   * the report made when the holder reaches an operation that may sleep, e.g.
   * `WARNING: suspicious RCU usage: Illegal context switch in RCU read-side critical section`.
   */
  atomic: Schema.optionalKey(Schema.String)
})
/** @category models @since 0.1.0 */
export type HeldLock = typeof HeldLock.Type

/**
 * One trace event. `kind` is `"op"` for a scheduling point (an operation on a
 * kernel primitive), `"call"` / `"return"` for entering and leaving a modelled
 * kernel function, `"time"` for virtual time advancing, `"warn"` for a WARN.
 *
 * @category models
 * @since 0.1.0
 */
export const TraceEvent = Schema.Struct({
  step: Schema.Int,
  time: Schema.Number,
  kind: Schema.Literals(["op", "call", "return", "time", "warn", "spawn", "exit"]),
  task: Schema.String,
  /** Kernel function of the operation (`mutex_lock`) or modelled function (`mlx5_eswitch_cleanup`). */
  name: Schema.String,
  /** Component the modelled function belongs to, for calls. */
  component: Schema.optionalKey(Schema.String),
  resource: Schema.optionalKey(Schema.String),
  result: Schema.optionalKey(Schema.String),
  /** Locks the task holds after this event. */
  holds: Schema.optionalKey(Schema.Array(Schema.String)),
  /** Innermost modelled function the task was in. */
  func: Schema.optionalKey(Schema.String),
  /** Whether this step was a preemption (switched away from a task that could run on). */
  preempted: Schema.optionalKey(Schema.Boolean),
  /** Model state snapshot after the step (only when state capture is on). */
  state: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
})
/** @category models @since 0.1.0 */
export type TraceEvent = typeof TraceEvent.Type

/**
 * A whole trace.
 *
 * @category models
 * @since 0.1.0
 */
export const Trace = Schema.Array(TraceEvent)
/** @category models @since 0.1.0 */
export type Trace = typeof Trace.Type
