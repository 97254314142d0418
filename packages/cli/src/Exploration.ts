/**
 * Exploration in batches, for the command: `Explorer.stream` (batches of
 * ~40 ms, the fiber yielding between them, so Node sees Ctrl-C and the
 * progress bar redraws) with the command's hooks. The runs, and so the
 * results, are those of one uninterrupted `Explorer.explore`.
 *
 * @since 0.1.0
 */
import { Explorer, type OpObserver, type Report, type Scenario, type Strategy } from "@drvmodel/core"
import { Effect, Option, Stream } from "effect"

/**
 * Hooks for a batched exploration.
 *
 * @category models
 * @since 0.1.0
 */
export interface BatchHooks {
  readonly variant?: string
  readonly shouldStop?: () => boolean
  readonly onProgress?: (p: { readonly runs: number; readonly findings: number }) => void
  /** Observers of every operation (extra analyses). */
  readonly observers?: ReadonlyArray<OpObserver>
  /** The strategy (default: the one the options name), e.g. a DFS subtree. */
  readonly strategy?: Strategy
}

/**
 * Explores `scenario` like `Explorer.explore`, in batches. A finding that does
 * not replay to itself (`Nondeterminism`) is a defect of the model: it dies.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer } from "@drvmodel/core"
 * import { Exploration } from "@drvmodel/cli"
 * declare const scenario: import("@drvmodel/core").Scenario
 * const report = Effect.runPromise(Exploration.explore(scenario, Explorer.options({ schedules: 100 })))
 * ```
 * @category execution
 * @since 0.1.0
 */
export const explore = (scenario: Scenario, o: Explorer.ExploreOptions, hooks: BatchHooks = {}): Effect.Effect<Report> =>
  Explorer.stream(
    scenario,
    o,
    {
      ...(hooks.variant !== undefined ? { variant: hooks.variant } : {}),
      ...(hooks.shouldStop ? { shouldStop: hooks.shouldStop } : {}),
      ...(hooks.observers ? { observers: hooks.observers } : {})
    },
    hooks.strategy
  ).pipe(
    Stream.tap((p) => Effect.sync(() => hooks.onProgress?.(p))),
    Stream.runLast,
    Effect.map((last) => Option.getOrThrow(last).report()),
    Effect.orDie
  )
