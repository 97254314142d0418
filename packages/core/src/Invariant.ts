/**
 * Invariants: predicates over model state. Safety invariants are checked after
 * every step; eventual ones once the run reaches quiescence.
 *
 * @since 0.1.0
 */

/**
 * A check returns `true` when the invariant holds, or a message saying what
 * is wrong.
 *
 * @example
 * ```ts
 * import type { Invariant } from "@drvmodel/core"
 * let counter = 0
 * const noLostUpdate: Invariant = {
 *   name: "no-lost-update",
 *   description: "the counter equals the number of increments",
 *   when: "eventual",
 *   check: () => counter === 2 || `counter is ${counter}, expected 2`
 * }
 * ```
 * @category models
 * @since 0.1.0
 */
export interface Invariant {
  readonly name: string
  readonly description: string
  readonly when: "safety" | "eventual"
  readonly check: () => true | string
}
