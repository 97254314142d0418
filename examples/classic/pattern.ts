/**
 * What every classic example shares: a pattern is a buggy and a fixed
 * scenario with the exploration that shows each verdict, and a printer used
 * by each example's `node examples/classic/<name>.ts` and by `run-all.ts`.
 *
 * @since 0.1.0
 */

import { type Described, Explorer, type Scenario } from "@drvmodel/core"
import { Effect } from "effect"

/**
 * A classic pattern with a known answer: the bug, its fix, and the
 * exploration budget that finds the bug.
 *
 * @example
 * ```ts
 * import { abbaPattern } from "./abba.ts"
 * abbaPattern.buggy.name // => "abba"
 * ```
 * @category models
 * @since 0.1.0
 */
export interface Pattern extends Described {
  readonly buggy: Scenario
  readonly fixed: Scenario
  /** What the fix changes, in one line. */
  readonly fix: string
  /**
   * The scenario's defaults in the model: DFS options under which the buggy
   * variant shows its bug and the fixed variant's bounded space is exhausted.
   */
  readonly defaults: Partial<Explorer.ExploreOptions>
  readonly invariants: ReadonlyArray<Described>
}

/**
 * The verdict of a pattern: the first finding in the buggy scenario, and
 * whether bounded exhaustive search (DFS) covers the fixed one clean.
 *
 * @category models
 * @since 0.1.0
 */
export interface Verdict {
  readonly buggy: Explorer.Report
  readonly fixed: Explorer.Report
}

/** Preemption bound of the exhaustive check when a pattern's defaults name none. */
export const fixedPreemptions = 2

/**
 * The preemption bound under which a pattern's fixed scenario is checked.
 *
 * @example
 * ```ts
 * import { boundOf } from "./pattern.ts"
 * import { abbaPattern } from "./abba.ts"
 * boundOf(abbaPattern) // => 2
 * ```
 * @category getters
 * @since 0.1.0
 */
export const boundOf = (pattern: Pattern): number => pattern.defaults.preemptions ?? fixedPreemptions

/**
 * Explores the buggy scenario with the pattern's defaults (stopping at the
 * first finding) and the fixed one with DFS until the space within the
 * pattern's preemption bound is exhausted.
 *
 * @example
 * ```ts
 * import { verdict } from "./pattern.ts"
 * import { abbaPattern } from "./abba.ts"
 * verdict(abbaPattern).fixed.stopped // => "exhausted"
 * ```
 * @category execution
 * @since 0.1.0
 */
export const verdict = (pattern: Pattern): Verdict => ({
  buggy: Effect.runSync(Explorer.explore(pattern.buggy, Explorer.options({ ...pattern.defaults, stopOnFirst: true }))),
  fixed: Effect.runSync(
    Explorer.explore(
      pattern.fixed,
      Explorer.options({ strategy: "dfs", preemptions: boundOf(pattern), schedules: 1_000_000, timeLimitMs: 0 })
    )
  )
})

/**
 * Renders a verdict as a few lines of text.
 *
 * @example
 * ```ts
 * import { describeVerdict, verdict } from "./pattern.ts"
 * import { abbaPattern } from "./abba.ts"
 * console.log(describeVerdict(abbaPattern, verdict(abbaPattern)))
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const describeVerdict = (pattern: Pattern, v: Verdict): string => {
  const lines = [`${pattern.name}: ${pattern.description}`]
  const found = v.buggy.counterexamples[0]
  lines.push(
    found === undefined
      ? `  buggy: NOTHING FOUND in ${v.buggy.runs} ${v.buggy.strategy} runs (expected a finding)`
      : `  buggy: ${found.kind} in run ${found.run + 1} of ${v.buggy.strategy} (${found.steps} steps, ${found.preemptions} preemptions)\n         ${found.finding.summary}`
  )
  const cov = v.fixed.coverage
  const exhausted = cov._tag === "Bounded" && cov.exhausted
  const fixedFound = v.fixed.counterexamples[0]
  lines.push(
    fixedFound !== undefined
      ? `  fixed: FOUND ${fixedFound.kind}: ${fixedFound.finding.summary}`
      : `  fixed: clean; dfs ${exhausted ? "exhausted" : "did NOT exhaust"} the schedules within preemption bound ${boundOf(pattern)} (${v.fixed.runs} runs)`
  )
  lines.push(`  fix:   ${pattern.fix}`)
  return lines.join("\n")
}

/**
 * Explores each pattern and prints its verdict; returns false when a buggy
 * scenario showed nothing or a fixed one was not clean and exhausted.
 *
 * @example
 * ```ts
 * import { printVerdicts } from "./pattern.ts"
 * import { abbaPattern } from "./abba.ts"
 * printVerdicts([abbaPattern])
 * ```
 * @category execution
 * @since 0.1.0
 */
export const printVerdicts = (patterns: ReadonlyArray<Pattern>): boolean => {
  let ok = true
  for (const p of patterns) {
    const v = verdict(p)
    const cov = v.fixed.coverage
    ok &&= v.buggy.counterexamples.length > 0 && v.fixed.counterexamples.length === 0 && cov._tag === "Bounded" && cov.exhausted
    console.log(describeVerdict(p, v))
  }
  return ok
}
