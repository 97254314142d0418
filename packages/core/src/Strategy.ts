/**
 * The strategy seam: given the runnable tasks at a scheduling point, pick the
 * next. One module per strategy (`strategy/`), as in shuttle and fast-check's
 * scheduler; budgets, metrics and determinism checks wrap a strategy in the
 * explorer instead of living inside it.
 *
 * @since 0.1.0
 */
import type { Chooser } from "./internal/engine.ts"

export type { Candidate, ChoicePoint, Chooser, StepRecord } from "./internal/engine.ts"

/**
 * A strategy hands out one chooser per execution.
 *
 * @example
 * ```ts
 * import type { Strategy } from "@drvmodel/core"
 * // Always run the first runnable task: a deterministic, non-exploring strategy.
 * const firstReady: Strategy = {
 *   name: "first",
 *   next: () => ({ pick: () => 0, choose: () => 0 })
 * }
 * ```
 * @category models
 * @since 0.1.0
 */
export interface Strategy {
  readonly name: string
  /** The chooser for the next execution, or undefined when nothing is left to explore. */
  readonly next: () => Chooser | undefined
  /** Told how each execution ended (DFS backtracks here). */
  readonly finished?: (run: { readonly steps: number; readonly hitStepLimit: boolean }) => void
  /** What a clean exploration covered. */
  readonly coverage?: () => Coverage
}

/**
 * What an exploration covered: for DFS whether the bounded space was
 * exhausted; for PCT the per-run probability bound.
 *
 * @category models
 * @since 0.1.0
 */
export type Coverage =
  | { readonly _tag: "Sampled" }
  | { readonly _tag: "Bounded"; readonly exhausted: boolean; readonly preemptionBound: number; readonly truncatedRuns: number }
  | { readonly _tag: "Pct"; readonly depth: number; readonly maxTasks: number; readonly maxSteps: number }
  | {
      readonly _tag: "Dpor"
      /** Every class was explored: no backtrack point is left, no run was cut off, no preemption bound skipped one. */
      readonly exhausted: boolean
      /** Complete executions that were not sleep-set blocked: one per Mazurkiewicz class explored. */
      readonly classes: number
      /** Executions whose every candidate was asleep at some point (redundant; not counted as classes). */
      readonly sleepBlocked: number
      readonly truncatedRuns: number
      /** Bounded DPOR: the preemption bound (undefined: none). */
      readonly preemptionBound?: number
    }
