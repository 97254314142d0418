/**
 * Exploration in batches. `Explorer.explore` is synchronous, so a long
 * exploration would never let Node see Ctrl-C or redraw a progress bar. Here
 * an `Explorer.start`ed exploration advances in small batches, yielding to the
 * event loop between them. Batch sizes adapt to wall time, but the runs, and
 * so the results, are the same as one call.
 *
 * @since 0.1.0
 */
import { Explorer, type OpObserver, type Report, type Scenario } from "@drvmodel/core"
import { Effect } from "effect"

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
}

const nextTick: Effect.Effect<void> = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Explores `scenario` like `Explorer.explore`, in batches.
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
  Effect.gen(function* () {
    const exploration = yield* Explorer.start(scenario, o, {
      ...(hooks.variant !== undefined ? { variant: hooks.variant } : {}),
      ...(hooks.shouldStop ? { shouldStop: hooks.shouldStop } : {}),
      ...(hooks.observers ? { observers: hooks.observers } : {})
    })
    let batch = 4
    while (true) {
      const t0 = performance.now()
      const over = exploration.advance(batch)
      hooks.onProgress?.(exploration.progress())
      if (over) break
      // Aim at ~40 ms per batch: responsive to Ctrl-C, cheap in overhead.
      batch = Math.max(1, Math.min(4096, Math.round((batch * 40) / Math.max(1, performance.now() - t0))))
      yield* nextTick
    }
    return exploration.report()
  })
