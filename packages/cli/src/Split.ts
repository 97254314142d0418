/**
 * One exploration split into segments that any worker can compute, merged
 * back into the report of the whole. The split is a pure function of the
 * scenario and the options — never of how many workers there are — so
 * `explore --jobs N` gives the same result for every N:
 *
 * - random and PCT: seed ranges. Segment j runs 1000 schedules (the last one
 *   the rest) from its own seed: the given seed for segment 0, a hash of
 *   (seed, j) after. An exploration of at most 1000 schedules is one segment:
 *   exactly the single-thread exploration of that seed.
 * - DFS: subtrees. The search is cut at the first depth (1, 2, 4, 8…) with at
 *   least 64 prefixes (fewer for small budgets); each prefix's subtree is a
 *   segment (`DfsStrategy.make({ prefix })`). Subtrees in order visit exactly
 *   the runs of the unsplit search in its order (argued in strategy/Dfs.ts),
 *   so the merged report is the unsplit one: same runs, same counterexamples
 *   (the first run of each signature), same coverage.
 *
 * Merging: segments in order; run indices offset by the runs before; a
 * signature keeps its first counterexample; `stopOnFirst` keeps the segments
 * up to the first with a finding; a DFS budget keeps the first `schedules`
 * runs. The partial-order-reducing search (`dpor`), whose subtrees share
 * what they learn, is not split: it runs as one segment.
 *
 * @since 0.1.0
 */
import { type Counterexample, DfsStrategy, Explorer, Finding, type Report, type Scenario, type Strategy } from "@drvmodel/core"
import { Effect } from "effect"
import * as Exploration from "./Exploration.ts"

/** Schedules per random or PCT segment. */
export const segmentRuns = 1000
/** DFS: the prefixes wanted (at most); fewer when the budget is small. */
const subtreesWanted = 64

/**
 * One segment of an exploration.
 *
 * @category models
 * @since 0.1.0
 */
export interface Segment {
  readonly index: number
  readonly seed: number
  readonly schedules: number
  /** DFS: the subtree's first choices. */
  readonly prefix?: ReadonlyArray<number>
}

/**
 * What a segment found (plain data: it crosses threads).
 *
 * @category models
 * @since 0.1.0
 */
export interface SegmentResult {
  readonly index: number
  readonly runs: number
  /** Steps of each run, and whether it hit the step limit (DFS only: to cut at the budget). */
  readonly runSteps?: ReadonlyArray<number>
  readonly runCut?: ReadonlyArray<boolean>
  readonly steps: number
  readonly stepLimitHits: number
  readonly maxTasks: number
  readonly maxStepsPerRun: number
  readonly stopped: Report["stopped"]
  readonly coverage: Report["coverage"]
  readonly counterexamples: ReadonlyArray<Counterexample>
}

/** A seed for segment j > 0: a 31-bit mix of (seed, j), far from seed + small numbers. */
const segmentSeed = (seed: number, j: number): number => {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(j, 0xc2b2ae35)
  h ^= h >>> 16
  h = Math.imul(h, 0x27d4eb2f)
  h ^= h >>> 15
  return h >>> 1
}

/**
 * The segments of an exploration. DFS runs the model to find the subtrees
 * (one run per subtree at each depth tried: a few hundred runs at most).
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * import { Split } from "@drvmodel/cli"
 * Split.plan(classic.scenario("abba", "buggy"), Explorer.options({ strategy: "random", schedules: 2500 })).length // => 3
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const plan = (
  scenario: Scenario,
  o: Explorer.ExploreOptions,
  /** DFS: the subtrees wanted (at most; fewer for small budgets). The split never changes a DFS result, only its cost: the matrix, whose cells already share the cores, asks for fewer. */
  subtrees: number = subtreesWanted
): Array<Segment> => {
  if (o.strategy === "random" || o.strategy === "pct") {
    const n = Math.ceil(o.schedules / segmentRuns)
    return Array.from({ length: n }, (_, j) => ({
      index: j,
      seed: j === 0 ? o.seed : segmentSeed(o.seed, j),
      schedules: Math.min(segmentRuns, o.schedules - j * segmentRuns)
    }))
  }
  const whole: Array<Segment> = [{ index: 0, seed: o.seed, schedules: o.schedules }]
  if (o.strategy !== "dfs") return whole
  const wanted = Math.min(subtrees, Math.floor(o.schedules / 100))
  if (wanted < 2) return whole
  const cap = Math.max(wanted, Math.min(o.schedules, 4 * subtrees * subtrees))
  // The shallowest cut with at least `wanted` prefixes: double the depth, then bisect. A depth
  // past the cap has more prefixes than wanted too: the bisection looks for a shallower one.
  let low = 0
  let high = 0
  let found: Array<Array<number>> | undefined
  for (let depth = 1; depth <= 4096 && high === 0; depth *= 2) {
    const prefixes = frontier(scenario, o, depth, cap)
    if (prefixes === undefined) high = depth
    // The whole space lies above this depth: not worth splitting.
    else if (prefixes.every((p) => p.length < depth)) return whole
    else if (prefixes.length >= wanted) {
      found = prefixes
      high = depth
    } else low = depth
  }
  if (high === 0) return whole
  while (high - low > 1) {
    const mid = (low + high) >> 1
    const prefixes = frontier(scenario, o, mid, cap)
    if (prefixes === undefined || prefixes.length >= wanted) {
      found = prefixes
      high = mid
    } else low = mid
  }
  // Every depth with enough prefixes has too many: not worth splitting.
  if (found === undefined) return whole
  // Most subtrees single runs: the space is about the cut itself, too small to share out.
  if (found.filter((p) => p.length < high).length * 4 > found.length) return whole
  return found.map((prefix, index) => ({ index, seed: o.seed, schedules: o.schedules, prefix }))
}

/** The prefixes of length `depth` (shorter for runs that end earlier), in DFS order; undefined past `cap`. */
const frontier = (scenario: Scenario, o: Explorer.ExploreOptions, depth: number, cap: number): Array<Array<number>> | undefined => {
  const dfs = DfsStrategy.make({ preemptions: o.preemptions, frontier: depth })
  const out: Array<Array<number>> = []
  for (let chooser = dfs.next(); chooser !== undefined; chooser = dfs.next()) {
    if (out.length >= cap) return undefined
    const r = Explorer.runOnce(scenario.program, chooser, { ...o, recordTrace: false })
    dfs.finished?.({ steps: r.steps, hitStepLimit: r.outcome._tag === "StepLimit" })
    out.push(dfs.path().slice(0, depth))
  }
  return out
}

/**
 * Explores one segment, in batches (`Exploration.explore`): `observers` and
 * `shouldStop` as for `Explorer.stream`, `onProgress` after each batch.
 *
 * @category execution
 * @since 0.1.0
 */
export const run = (
  scenario: Scenario,
  o: Explorer.ExploreOptions,
  segment: Segment,
  hooks: Omit<Exploration.BatchHooks, "strategy"> = {}
): Effect.Effect<SegmentResult> =>
  Effect.gen(function* () {
    // Every distinct finding is kept: the merge keeps the first maxFindings over all segments.
    const so = { ...o, seed: segment.seed, schedules: segment.schedules, maxFindings: 1_000_000 }
    const runSteps: Array<number> = []
    const runCut: Array<boolean> = []
    let strategy: Strategy
    if (o.strategy === "dfs") {
      const dfs = DfsStrategy.make({ preemptions: o.preemptions, ...(segment.prefix !== undefined ? { prefix: segment.prefix } : {}) })
      strategy = {
        ...dfs,
        finished: (r) => {
          runSteps.push(r.steps)
          runCut.push(r.hitStepLimit)
          dfs.finished?.(r)
        }
      }
    } else strategy = yield* Explorer.strategyFor(so)
    const r = yield* Exploration.explore(scenario, so, { ...hooks, strategy })
    return {
      index: segment.index,
      runs: r.runs,
      ...(o.strategy === "dfs" ? { runSteps, runCut } : {}),
      steps: r.steps,
      stepLimitHits: r.stepLimitHits,
      maxTasks: r.maxTasks,
      maxStepsPerRun: r.maxStepsPerRun,
      stopped: r.stopped,
      coverage: r.coverage,
      counterexamples: r.counterexamples
    }
  })

/**
 * Whether the results of segments 0..i-1, all present, already decide the
 * exploration (a finding with `stopOnFirst`, a DFS budget reached): segment
 * i and those after it are not needed.
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * import { Split } from "@drvmodel/cli"
 * Split.decided(Explorer.options({ strategy: "dfs", schedules: 10 }), [], 0) // => false
 * ```
 * @category getters
 * @since 0.2.0
 */
export const decided = (
  o: Explorer.ExploreOptions,
  results: ReadonlyArray<{ readonly runs: number; readonly stopped: Report["stopped"] } | undefined>,
  i: number
): boolean => {
  let runs = 0
  for (let j = 0; j < i; j++) {
    const r = results[j]
    if (r === undefined) return false
    runs += r.runs
    if (o.stopOnFirst && r.stopped === "found") return true
  }
  return o.strategy === "dfs" && runs >= o.schedules
}

/**
 * Merges segment results (any order in; merged in segment order) into the
 * report of the whole exploration.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
import * as Exploration from "./Exploration.ts"
 * import { Explorer } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * import { Split } from "@drvmodel/cli"
 * const scenario = classic.scenario("abba", "buggy")
 * const o = Explorer.options({ strategy: "random", schedules: 2500 })
 * const segments = Split.plan(scenario, o)
 * const results = Effect.runSync(Effect.forEach(segments, (s) => Split.run(scenario, o, s)))
 * const report = Split.merge(scenario.name, o, results, segments.length, 0)
 * report.runs // => 2500
 * ```
 * @category execution
 * @since 0.1.0
 */
export const merge = (
  scenarioName: string,
  o: Explorer.ExploreOptions,
  results: ReadonlyArray<SegmentResult>,
  /** Segments planned: a missing one (Ctrl-C before it started) makes the report interrupted. */
  planned: number,
  elapsedMs: number
): Report => mergeTaking(scenarioName, o, results, planned, elapsedMs).report

/**
 * What a merge read of each segment: the segments it used, in order, and
 * how many of their runs (fewer than the segment ran where a DFS budget cut
 * it). Observers' state from the same segments (`LockGraph.append`) must be
 * taken in for exactly those runs.
 *
 * @category models
 * @since 0.2.0
 */
export interface Taken {
  readonly index: number
  readonly runs: number
  /** Every run of the segment was used. */
  readonly whole: boolean
}

/**
 * `merge`, also saying which runs of which segments the report is made of.
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * import { Split } from "@drvmodel/cli"
 * declare const results: ReadonlyArray<Split.SegmentResult>
 * const { report, taken } = Split.mergeTaking("abba", Explorer.options({ strategy: "dfs" }), results, results.length, 0)
 * ```
 * @category execution
 * @since 0.2.0
 */
export const mergeTaking = (
  scenarioName: string,
  o: Explorer.ExploreOptions,
  results: ReadonlyArray<SegmentResult>,
  planned: number,
  elapsedMs: number
): { readonly report: Report; readonly taken: ReadonlyArray<Taken> } => {
  const taken: Array<Taken> = []
  const ordered = [...results].sort((a, b) => a.index - b.index)
  const found = new Map<string, Counterexample>()
  let runs = 0
  let steps = 0
  let stepLimitHits = 0
  let maxTasks = 0
  let maxStepsPerRun = 0
  let stopped: Report["stopped"] | undefined
  let partial: "interrupted" | "time" | undefined
  let exhausted = o.strategy === "dfs"
  const pct = { maxTasks: 0, maxSteps: 0 }
  for (const [i, seg] of ordered.entries()) {
    if (stopped !== undefined) break
    // A segment missing before this one (Ctrl-C): keep what was found, but the whole is partial.
    if (seg.index !== i) partial ??= "interrupted"
    // A DFS budget keeps the first `schedules` runs of the search.
    const take = o.strategy === "dfs" ? Math.min(seg.runs, o.schedules - runs) : seg.runs
    const cut = take < seg.runs || (o.strategy === "dfs" && seg.stopped === "budget" && runs + take >= o.schedules)
    for (const cx of seg.counterexamples) {
      if (cx.run >= take) continue
      const sig = Finding.signatureOf(cx.finding.problem)
      if (!found.has(sig) && found.size < o.maxFindings) found.set(sig, { ...cx, seed: o.seed, run: runs + cx.run })
    }
    if (take < seg.runs && seg.runSteps !== undefined && seg.runCut !== undefined) {
      const kept = seg.runSteps.slice(0, take)
      steps += kept.reduce((a, b) => a + b, 0)
      stepLimitHits += seg.runCut.slice(0, take).filter((c) => c).length
      maxStepsPerRun = Math.max(maxStepsPerRun, ...kept)
    } else {
      steps += seg.steps
      stepLimitHits += seg.stepLimitHits
      maxStepsPerRun = Math.max(maxStepsPerRun, seg.maxStepsPerRun)
    }
    maxTasks = Math.max(maxTasks, seg.maxTasks)
    runs += take
    taken.push({ index: seg.index, runs: take, whole: take === seg.runs })
    if (seg.coverage._tag === "Bounded" && !seg.coverage.exhausted) exhausted = false
    if (seg.coverage._tag === "Pct") {
      pct.maxTasks = Math.max(pct.maxTasks, seg.coverage.maxTasks)
      pct.maxSteps = Math.max(pct.maxSteps, seg.coverage.maxSteps)
    }
    if (seg.stopped === "interrupted" || seg.stopped === "time") partial ??= seg.stopped
    else if (seg.stopped === "found" && o.stopOnFirst) stopped = "found"
    else if (cut) {
      exhausted = false
      stopped = "budget"
    }
  }
  // Segments past the first finding (stopOnFirst) or past a DFS budget are not needed.
  if (stopped === undefined && ordered.length < planned) partial ??= "interrupted"
  if (partial !== undefined) stopped = partial
  // As the unsplit search: reaching the budget is "budget", even if the space ended there too.
  if (o.strategy === "dfs" && runs >= o.schedules) {
    stopped ??= "budget"
    exhausted = false
  }
  const coverage: Report["coverage"] =
    o.strategy === "dfs"
      ? { _tag: "Bounded", exhausted: exhausted && stopped === undefined, preemptionBound: o.preemptions, truncatedRuns: stepLimitHits }
      : o.strategy === "pct"
        ? { _tag: "Pct", depth: o.depth, maxTasks: pct.maxTasks, maxSteps: pct.maxSteps }
        : { _tag: "Sampled" }
  const report: Report = {
    scenario: scenarioName,
    strategy: o.strategy,
    options: o,
    runs,
    steps,
    stepLimitHits,
    maxTasks,
    maxStepsPerRun,
    elapsedMs,
    stopped: stopped ?? (o.strategy === "dfs" && exhausted ? "exhausted" : "budget"),
    coverage,
    counterexamples: [...found.values()]
  }
  return { report, taken }
}
