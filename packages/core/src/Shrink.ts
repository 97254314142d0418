/**
 * Schedule shrinking: delta-debugs a failing schedule into a smaller one
 * that still produces the same finding (same `Finding.signatureOf`).
 *
 * Smaller means, in this order: fewer preemptions (the bug's depth), fewer
 * steps, fewer tasks, smaller data choices. Every candidate is replayed
 * leniently (`ReplayStrategy.lenient`), so a candidate may be any list of
 * choices: a step whose task cannot run is skipped, a forced move does not use
 * up a step, and past its end the run continues without preemption. The run
 * it produces is recorded, so the result replays strictly. Candidates, tried
 * until one is smaller:
 *
 * 1. prefixes cut just before a context switch (the rest runs non-preemptively),
 *    found by binary search over the cut points: a longer prefix is closer to
 *    the original, so "still reproduces" is close to monotone in its length,
 *    and log2(switches) replays find a short one where a linear scan would
 *    spend the budget on long schedules;
 * 2. adjacent blocks of steps swapped so that two runs of a task merge;
 * 3. a block of steps moved later, after any later block;
 * 4. one step moved earlier, to where its task was switched away from;
 * 5. chunks of steps deleted (ddmin: halves, quarters, ... single steps);
 * 6. data choices lowered towards branch 0.
 *
 * The search is bounded by a number of replays and is deterministic. `shrink`
 * and `counterexample` are Effects failing with `NotReproduced`; the search
 * itself runs as one synchronous step (at most `maxReplays` replays).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { type Counterexample, defaultOptions, replayUnsafe, runOnce, type Scenario } from "./Explorer.ts"
import { signatureOf } from "./Finding.ts"
import type { ExecutionResult, OpObserver } from "./internal/engine.ts"
import { type Schedule, type ScheduleStep, timeoutsOf } from "./Schedule.ts"
import * as Dfs from "./strategy/Dfs.ts"

/**
 * Options for shrinking. `maxSteps` and `livelockBound` must be the ones the
 * finding was found with (a livelock depends on the bound).
 *
 * @category models
 * @since 0.1.0
 */
export interface ShrinkOptions {
  /** Replays allowed (the budget); default 600. */
  readonly maxReplays?: number
  readonly maxSteps?: number
  readonly livelockBound?: number
  /**
   * Before delta debugging, search by bounded DFS every schedule with fewer
   * preemptions than the current witness (bound 0, 1, ...) for the same
   * finding, up to `runs` executions per bound. When every lower bound is
   * exhausted, the depth is proven minimal (`ShrinkResult.minimal`).
   */
  readonly minimalDepth?: { readonly runs: number }
  /**
   * See every operation of every replay (e.g. a worker's heartbeat, so that a long shrink is not
   * taken for a model stuck between scheduling points). They observe; they never change a replay.
   */
  readonly observers?: ReadonlyArray<OpObserver>
}

/**
 * The size of a run, in shrinking order.
 *
 * @category models
 * @since 0.1.0
 */
export interface Size {
  readonly steps: number
  readonly preemptions: number
}

/**
 * The result of shrinking.
 *
 * @category models
 * @since 0.1.0
 */
export interface ShrinkResult {
  /** The smallest run found (its `schedule` replays strictly). */
  readonly execution: ExecutionResult
  /** Size of the schedule before shrinking. */
  readonly original: Size
  /** Replays spent. */
  readonly replays: number
  /**
   * With `minimalDepth`: the bounds searched below the result's depth, and
   * whether each was exhausted; `minimal` when all were (and none truncated).
   */
  readonly depthSearch?: {
    readonly bounds: ReadonlyArray<{ readonly bound: number; readonly runs: number; readonly exhausted: boolean }>
    readonly minimal: boolean
  }
  /** True when no candidate was left untried (a local minimum), false when the budget ran out. */
  readonly complete: boolean
}

/**
 * Raised when the schedule to shrink does not reproduce its finding.
 *
 * @example
 * ```ts
 * import { Shrink } from "@drvmodel/core"
 * const e = new Shrink.NotReproduced({ message: "the schedule does not reproduce the finding deadlock:…" })
 * ```
 * @category errors
 * @since 0.1.0
 */
export class NotReproduced extends Schema.TaggedError<NotReproduced>()("NotReproduced", { message: Schema.String }) {}

type Cost = readonly [number, number, number, number]

const costOf = (r: ExecutionResult): Cost => [
  r.preemptions,
  r.steps,
  r.tasks,
  r.schedule.steps.reduce((n, s) => n + (s._tag === "Choose" ? s.index : 0), 0)
]

const smaller = (a: Cost, b: Cost): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!
  return false
}

/** Positions of Run steps that switch to another task than the previous Run step. */
const switchPoints = (steps: ReadonlyArray<ScheduleStep>): Array<number> => {
  const out: Array<number> = []
  let last: string | undefined
  steps.forEach((s, i) => {
    if (s._tag !== "Run") return
    if (last !== undefined && s.task !== last) out.push(i)
    last = s.task
  })
  return out
}

/** Maximal runs of consecutive steps by one task (choices stay in their block). */
const blocksOf = (steps: ReadonlyArray<ScheduleStep>): Array<{ readonly task: string; readonly from: number; readonly to: number }> => {
  const out: Array<{ task: string; from: number; to: number }> = []
  steps.forEach((s, i) => {
    const last = out[out.length - 1]
    if (s._tag === "Run" && (last === undefined || last.task !== s.task)) out.push({ task: s.task, from: i, to: i + 1 })
    else if (last !== undefined) last.to = i + 1
    else out.push({ task: "", from: i, to: i + 1 })
  })
  return out
}

function* candidates(steps: ReadonlyArray<ScheduleStep>): Generator<ReadonlyArray<ScheduleStep>> {
  const switches = switchPoints(steps)
  // (1. Prefixes are searched by bisection in `shrink`.)
  // 2. Swap adjacent blocks so that the task of block i-1 continues: A B A -> A A B.
  const blocks = blocksOf(steps)
  for (let i = 1; i + 1 < blocks.length; i++) {
    const [prev, b, next] = [blocks[i - 1]!, blocks[i]!, blocks[i + 1]!]
    if (prev.task !== next.task) continue
    yield [...steps.slice(0, b.from), ...steps.slice(next.from, next.to), ...steps.slice(b.from, b.to), ...steps.slice(next.to)]
  }
  // 3. Move a whole block later (after block j): lets a preempting task run when the other blocks or ends.
  for (let i = 1; i < blocks.length; i++) {
    const b = blocks[i]!
    for (let j = i + 1; j < blocks.length; j++) {
      const after = blocks[j]!
      yield [...steps.slice(0, b.from), ...steps.slice(b.to, after.to), ...steps.slice(b.from, b.to), ...steps.slice(after.to)]
    }
  }
  // 4. Move the next step of the preempted task before the switch (delays the preemption by one step).
  for (const p of switches) {
    let prevTask: string | undefined
    for (let j = p - 1; j >= 0 && prevTask === undefined; j--) {
      const s = steps[j]!
      if (s._tag === "Run") prevTask = s.task
    }
    const q = steps.findIndex((s, j) => j > p && s._tag === "Run" && s.task === prevTask)
    if (q < 0) continue
    yield [...steps.slice(0, p), steps[q]!, ...steps.slice(p, q), ...steps.slice(q + 1)]
  }
  // 5. ddmin: delete chunks, largest first.
  for (let size = Math.floor(steps.length / 2); size >= 1; size = Math.floor(size / 2)) {
    for (let from = 0; from + size <= steps.length; from += size) {
      yield [...steps.slice(0, from), ...steps.slice(from + size)]
    }
  }
  // 6. Lower data choices.
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!
    if (s._tag !== "Choose" || s.index === 0) continue
    for (const index of s.index > 1 ? [0, s.index - 1] : [0]) {
      yield [...steps.slice(0, i), { _tag: "Choose", label: s.label, index }, ...steps.slice(i + 1)]
    }
  }
}

/**
 * Shrinks `schedule` while it keeps producing a finding with signature
 * `signature`. Fails with `NotReproduced` when the schedule itself does not.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer, Shrink } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * const abba = classic.scenario("abba", "buggy")
 * const program = Effect.gen(function*() {
 *   const cx = (yield* Explorer.explore(abba, Explorer.options({ schedules: 50 }))).counterexamples[0]!
 *   const shrunk = yield* Shrink.shrink(abba, cx.schedule, Shrink.signatureOfCounterexample(cx))
 *   return shrunk.execution.preemptions // => 1
 * })
 * ```
 * @category shrinking
 * @since 0.1.0
 */
export const shrink = (
  scenario: Scenario,
  schedule: Schedule,
  signature: string,
  options: ShrinkOptions = {}
): Effect.Effect<ShrinkResult, NotReproduced> => orNotReproduced(() => shrinkUnsafe(scenario, schedule, signature, options))

const orNotReproduced = <A>(f: () => A): Effect.Effect<A, NotReproduced> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      return e instanceof NotReproduced ? Effect.fail(e) : Effect.die(e)
    }
  })

const shrinkUnsafe = (scenario: Scenario, schedule: Schedule, signature: string, options: ShrinkOptions): ShrinkResult => {
  const budget = Math.max(1, options.maxReplays ?? 600)
  const replayOptions = {
    lenient: true,
    maxSteps: options.maxSteps ?? defaultOptions.maxSteps,
    livelockBound: options.livelockBound ?? defaultOptions.livelockBound,
    timeouts: timeoutsOf(schedule),
    // A schedule found with spin-assume (DPOR) is shrunk, and its depth searched, with it.
    spinAssume: schedule.spinAssume === true,
    races: schedule.races !== false,
    observers: options.observers ?? [],
    // Trial replays need only the outcome: the winner is replayed once more with its trace (below).
    recordTrace: false
  }
  let replays = 0
  const tried = new Set<string>()
  const attempt = (steps: ReadonlyArray<ScheduleStep>): ExecutionResult | undefined => {
    const key = JSON.stringify(steps)
    if (tried.has(key)) return undefined
    tried.add(key)
    replays++
    const r = replayUnsafe(
      scenario,
      { steps, ...(replayOptions.spinAssume ? { spinAssume: true } : {}), ...(replayOptions.races ? {} : { races: false }) },
      replayOptions
    )
    return r.outcome._tag === "Found" && signatureOf(r.outcome.finding.problem) === signature ? r : undefined
  }
  let best = attempt(schedule.steps)
  if (best === undefined) throw new NotReproduced({ message: `the schedule does not reproduce the finding ${signature}` })
  const original: Size = { steps: best.steps, preemptions: best.preemptions }
  let depthSearch: ShrinkResult["depthSearch"]
  if (options.minimalDepth !== undefined) {
    const bounds: Array<{ readonly bound: number; readonly runs: number; readonly exhausted: boolean }> = []
    deepen: for (let bound = 0; bound < best.preemptions; bound++) {
      const dfs = Dfs.make({ preemptions: bound })
      let runs = 0
      while (runs < options.minimalDepth.runs) {
        const chooser = dfs.next()
        if (chooser === undefined) break
        runs++
        const r = runOnce(scenario.program, chooser, replayOptions)
        dfs.finished?.({ steps: r.steps, hitStepLimit: r.outcome._tag === "StepLimit" })
        if (r.outcome._tag === "Found" && signatureOf(r.outcome.finding.problem) === signature && r.preemptions < best.preemptions) {
          best = r
          bounds.push({ bound, runs, exhausted: false })
          break deepen
        }
      }
      const coverage = dfs.coverage?.()
      const exhausted = coverage?._tag === "Bounded" && coverage.exhausted && coverage.truncatedRuns === 0
      bounds.push({ bound, runs, exhausted })
    }
    // Minimal: every bound below the final depth was searched to the end without a witness.
    const below = bounds.filter((b) => b.bound < best!.preemptions)
    depthSearch = { bounds, minimal: below.length === best.preemptions && below.every((b) => b.exhausted) }
  }
  let complete = false
  /** 1. The shortest prefix (cut before a switch, or nothing) that still reproduces, by bisection. */
  const bisectPrefix = (): boolean => {
    const steps = best!.schedule.steps
    const cuts = [0, ...switchPoints(steps)]
    let lo = 0
    let hi = cuts.length // cuts.length stands for the whole schedule, which reproduces
    let found: ExecutionResult | undefined
    while (lo < hi && replays < budget) {
      const mid = (lo + hi) >> 1
      const r = attempt(steps.slice(0, cuts[mid]))
      if (r !== undefined && smaller(costOf(r), costOf(found ?? best!))) {
        found = r
        hi = mid
      } else lo = mid + 1
    }
    if (found === undefined) return false
    best = found
    return true
  }
  search: while (replays < budget) {
    if (bisectPrefix()) continue
    const bestCost = costOf(best)
    for (const candidate of candidates(best.schedule.steps)) {
      if (replays >= budget) break search
      const r = attempt(candidate)
      if (r !== undefined && smaller(costOf(r), bestCost)) {
        best = r
        continue search
      }
    }
    complete = true
    break
  }
  // The winner's trace: the same schedule again, recorded (a run is a function of its schedule).
  const traced = replayUnsafe(scenario, best.schedule, { ...replayOptions, recordTrace: true })
  if (traced.outcome._tag !== "Found" || signatureOf(traced.outcome.finding.problem) !== signature)
    throw new NotReproduced({ message: `the shrunk schedule did not reproduce ${signature} when replayed with its trace` })
  return { execution: traced, original, replays, complete, ...(depthSearch !== undefined ? { depthSearch } : {}) }
}

/**
 * The signature of a counterexample's finding.
 *
 * @category getters
 * @since 0.1.0
 */
export const signatureOfCounterexample = (cx: Counterexample): string => signatureOf(cx.finding.problem)

/**
 * Shrinks a counterexample: the result has the smaller schedule, its trace
 * and finding, and `original` set to the size before shrinking (kept from an
 * earlier shrink if there was one).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer, Shrink } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * const abba = classic.scenario("abba", "buggy")
 * const program = Effect.gen(function*() {
 *   const cx = (yield* Explorer.explore(abba, Explorer.options({ schedules: 50 }))).counterexamples[0]!
 *   const { counterexample } = yield* Shrink.counterexample(abba, cx)
 *   return counterexample.original // => { steps: ..., preemptions: ... } before shrinking
 * })
 * ```
 * @category shrinking
 * @since 0.1.0
 */
export const counterexample = (
  scenario: Scenario,
  cx: Counterexample,
  options: ShrinkOptions = {}
): Effect.Effect<{ readonly counterexample: Counterexample; readonly result: ShrinkResult }, NotReproduced> =>
  orNotReproduced(() => {
    const result = shrinkUnsafe(scenario, cx.schedule, signatureOfCounterexample(cx), options)
    const r = result.execution
    if (r.outcome._tag !== "Found") throw new NotReproduced({ message: "unreachable: a shrunk run always has a finding" })
    const shrunk: Counterexample = {
      ...cx,
      finding: r.outcome.finding,
      steps: r.steps,
      preemptions: r.preemptions,
      schedule: r.schedule,
      trace: r.trace,
      original: cx.original ?? { steps: cx.steps, preemptions: cx.preemptions }
    }
    return { counterexample: shrunk, result }
  })
