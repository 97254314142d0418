/**
 * Benchmark hook: steps per second of the same exploration with and without
 * the lock-order observer. Wall-clock timing, for benchmarks only (never in
 * tests' assertions). The two explorations run the same schedules, so their
 * step counts are equal and the rates compare like for like.
 *
 * Doing it by hand is equally valid: pass
 * `{ observers: [LockOrder.observer()] }` as the hooks of `Explorer.explore`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { decodeOptions, type ExploreOptions, explore, type InvalidOptions, type Nondeterminism, type Scenario } from "../Explorer.ts"
import { observer } from "./Observer.ts"

/**
 * Measured overhead of the analysis on one exploration.
 *
 * @category models
 * @since 0.1.0
 */
export interface Overhead {
  readonly runs: number
  readonly steps: number
  readonly plainMs: number
  readonly observedMs: number
  readonly plainStepsPerSec: number
  readonly observedStepsPerSec: number
  /** `(observedMs / plainMs - 1) * 100`: extra time spent by the observer, in percent. */
  readonly overheadPct: number
}

/**
 * Explores `scenario` `repeat` times without and with the observer
 * (alternating, after one warm-up of each) and reports the best of each.
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * import { Effect } from "effect"
 * const o = Effect.runSync(LockOrder.overhead(classic.scenario("abba", "buggy"), { schedules: 2000 }))
 * console.log(`${o.overheadPct.toFixed(1)} %`)
 * ```
 * @category execution
 * @since 0.1.0
 */
export const overhead = (
  scenario: Scenario,
  input: Partial<Record<keyof ExploreOptions, unknown>> = {},
  repeat = 3
): Effect.Effect<Overhead, InvalidOptions | Nondeterminism> =>
  Effect.gen(function* () {
    const o = yield* decodeOptions({ ...scenario.defaults, ...input, stopOnFirst: false })
    const time = (observed: boolean) =>
      Effect.gen(function* () {
        const t0 = performance.now()
        const report = yield* explore(scenario, o, observed ? { observers: [observer()] } : {})
        return { ms: performance.now() - t0, runs: report.runs, steps: report.steps }
      })
    yield* time(false)
    yield* time(true)
    let plain = yield* time(false)
    let observed = yield* time(true)
    for (let i = 1; i < repeat; i++) {
      const p = yield* time(false)
      const w = yield* time(true)
      if (p.ms < plain.ms) plain = p
      if (w.ms < observed.ms) observed = w
    }
    return {
      runs: plain.runs,
      steps: plain.steps,
      plainMs: plain.ms,
      observedMs: observed.ms,
      plainStepsPerSec: (plain.steps / plain.ms) * 1000,
      observedStepsPerSec: (observed.steps / observed.ms) * 1000,
      overheadPct: (observed.ms / plain.ms - 1) * 100
    }
  })
