/**
 * What a clean result means: for bounded DFS, whether the space within the
 * preemption bound was exhausted; for PCT, the per-run probability of hitting
 * a depth-d bug, 1/(n·k^(d−1)), for DPOR how many classes were explored and
 * whether that is all of them, and the resulting bound on having missed one
 * after the runs made; for random sampling, that there is no guarantee.
 *
 * @since 0.1.0
 */
import { PctStrategy, type Report } from "@drvmodel/core"

/**
 * Coverage as data for matrix.json.
 *
 * @category models
 * @since 0.1.0
 */
export interface CoverageInfo {
  readonly kind: "bounded" | "dpor" | "pct" | "sampled"
  readonly text: string
  readonly exhausted?: boolean
  readonly preemptionBound?: number
  readonly truncatedRuns?: number
  /** DPOR: Mazurkiewicz classes explored (one complete execution each). */
  readonly classes?: number
  readonly depth?: number
  readonly tasks?: number
  readonly steps?: number
  readonly perRun?: number
  readonly missBound?: number
}

const pct = (x: number): string =>
  x >= 0.995 ? "100%" : x >= 0.001 ? `${(x * 100).toPrecision(2)}%` : x === 0 ? "0%" : `${x.toExponential(1)}`
/** A large count: digits up to a million, then 1.2e+9. */
const count = (n: number): string => (n < 1e6 ? String(n) : n.toExponential(1))

/**
 * Describes a report's coverage.
 *
 * @example
 * ```ts
 * import { Coverage } from "@drvmodel/cli"
 * declare const report: import("@drvmodel/core").Report
 * Coverage.describe(report).text // => "DFS: all schedules within 2 preemptions explored (exhausted)"
 * ```
 * @category getters
 * @since 0.1.0
 */
export const describe = (report: Report): CoverageInfo => {
  const c = report.coverage
  switch (c._tag) {
    case "Bounded": {
      const truncated = c.truncatedRuns > 0 ? `; ${c.truncatedRuns} runs cut at the step limit` : ""
      return {
        kind: "bounded",
        exhausted: c.exhausted,
        preemptionBound: c.preemptionBound,
        truncatedRuns: c.truncatedRuns,
        text: c.exhausted
          ? `DFS: every schedule within ${c.preemptionBound} preemptions explored (exhausted${truncated})`
          : `DFS: NOT exhausted: ${report.runs} schedules within ${c.preemptionBound} preemptions explored before the budget ran out${truncated}`
      }
    }
    case "Dpor": {
      const truncated = c.truncatedRuns > 0 ? `; ${c.truncatedRuns} runs cut at the step limit` : ""
      const within = c.preemptionBound !== undefined ? ` within ${c.preemptionBound} preemptions` : ""
      const classes = `${c.classes} class${c.classes === 1 ? "" : "es"}`
      return {
        kind: "dpor",
        exhausted: c.exhausted,
        classes: c.classes,
        truncatedRuns: c.truncatedRuns,
        ...(c.preemptionBound !== undefined ? { preemptionBound: c.preemptionBound } : {}),
        text: c.exhausted
          ? `DPOR: all ${classes} of interleavings explored (exhaustive)`
          : `DPOR: NOT exhaustive: ${classes}${within} explored${c.preemptionBound !== undefined ? " (bounded DPOR)" : " before the budget ran out"}${truncated}`
      }
    }
    case "Pct": {
      const g = PctStrategy.guarantee({ tasks: c.maxTasks, steps: c.maxSteps, depth: c.depth, runs: report.runs })
      const denominator = Math.round(1 / g.perRun)
      return {
        kind: "pct",
        depth: c.depth,
        tasks: c.maxTasks,
        steps: c.maxSteps,
        perRun: g.perRun,
        missBound: g.missBound,
        text: `PCT d=${c.depth}: each run finds a given depth-${c.depth} bug with p >= 1/(n*k^(d-1)) = 1/${count(denominator)} (n=${c.maxTasks} tasks, k=${c.maxSteps} steps); after ${report.runs} clean runs the chance of having missed one is <= ${pct(g.missBound)}`
      }
    }
    case "Sampled":
      return { kind: "sampled", text: `random: ${report.runs} schedules sampled (no coverage guarantee)` }
  }
}
