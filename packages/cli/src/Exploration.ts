/**
 * Exploration in batches. `Explorer.explore` is synchronous, so a long
 * exploration would never let Node see Ctrl-C or redraw a progress bar. Here
 * it runs in small batches that share one strategy instance (the 4th
 * parameter of `Explorer.explore`), yielding to the event loop between
 * batches. Batch sizes adapt to wall time, but the runs, and so the results,
 * are the same as one call: the strategy carries its state across batches.
 *
 * @since 0.1.0
 */
import { type Counterexample, Explorer, Finding, type OpObserver, type Report, type Scenario } from "@drvmodel/core"
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
    const strategy = Explorer.strategyFor(o)
    const started = performance.now()
    const found = new Map<string, Counterexample>()
    let runs = 0
    let steps = 0
    let stepLimitHits = 0
    let maxTasks = 0
    let maxStepsPerRun = 0
    let stopped: Report["stopped"] = "budget"
    let batch = 4
    while (runs < o.schedules) {
      if (hooks.shouldStop?.()) {
        stopped = "interrupted"
        break
      }
      if (o.timeLimitMs > 0 && performance.now() - started > o.timeLimitMs) {
        stopped = "time"
        break
      }
      const n = Math.min(batch, o.schedules - runs)
      const t0 = performance.now()
      const r = Explorer.explore(
        scenario,
        { ...o, schedules: n, timeLimitMs: 0 },
        {
          ...(hooks.variant !== undefined ? { variant: hooks.variant } : {}),
          ...(hooks.shouldStop ? { shouldStop: hooks.shouldStop } : {}),
          ...(hooks.observers ? { observers: hooks.observers } : {})
        },
        strategy
      )
      for (const cx of r.counterexamples) {
        const sig = Finding.signatureOf(cx.finding.problem)
        if (!found.has(sig) && found.size < o.maxFindings) found.set(sig, { ...cx, run: cx.run + runs })
      }
      runs += r.runs
      steps += r.steps
      stepLimitHits += r.stepLimitHits
      maxTasks = Math.max(maxTasks, r.maxTasks)
      maxStepsPerRun = Math.max(maxStepsPerRun, r.maxStepsPerRun)
      hooks.onProgress?.({ runs, findings: found.size })
      if (r.stopped === "exhausted" || r.stopped === "interrupted" || (r.stopped === "found" && o.stopOnFirst)) {
        stopped = r.stopped
        break
      }
      // Aim at ~40 ms per batch: responsive to Ctrl-C, cheap in overhead.
      const dt = performance.now() - t0
      batch = Math.max(1, Math.min(4096, Math.round((n * 40) / Math.max(1, dt))))
      yield* nextTick
    }
    return {
      scenario: scenario.name,
      strategy: strategy.name,
      options: o,
      runs,
      steps,
      stepLimitHits,
      maxTasks,
      maxStepsPerRun,
      elapsedMs: performance.now() - started,
      stopped,
      coverage: strategy.coverage?.() ?? { _tag: "Sampled" },
      counterexamples: [...found.values()]
    } satisfies Report
  })
