/**
 * Lock-order analysis of a scenario: feed a lock-class graph from one run on
 * the default schedule (`analyzeOnce`) or from every run of an exploration
 * (`analyze`), find its strong cycles, try to confirm each with targeted
 * runs, and return Schema data (`LockOrderResult`).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import {
  decodeOptions,
  defaultOptions,
  type ExploreOptions,
  type InvalidOptions,
  runOnce,
  type Scenario,
  strategyFor
} from "../Explorer.ts"
import { kindOf } from "../Finding.ts"
import type { Chooser, ExecutionResult } from "../internal/engine.ts"
import type { Schedule } from "../Schedule.ts"
import * as Replay from "../strategy/Replay.ts"
import { type Confirmation, type ConfirmOptions, confirm } from "./Confirm.ts"
import { type Cycle, type CycleOptions, cycles } from "./Cycles.ts"
import { irqViolations } from "./IrqUsage.ts"
import type { LockGraph, UsageOccurrence } from "./LockGraph.ts"
import { observer } from "./Observer.ts"
import type { LockOrderCycle, LockOrderEdge, LockOrderIrq, LockOrderResult, LockOrderUsage } from "./Result.ts"

/**
 * Options shared by `analyze` and `analyzeOnce`.
 *
 * @category models
 * @since 0.1.0
 */
export interface AnalyzeOptions {
  /** Confirm each cycle with targeted runs (default: yes, 200 runs), or not (`false`). */
  readonly confirm?: boolean | ConfirmOptions
  readonly cycles?: CycleOptions
  /** Variant name, recorded in the result and counterexamples. */
  readonly variant?: string
}

/**
 * The default schedule: never preempt; when the running task blocks or ends,
 * run the first runnable task (in creation order); data choices take branch 0.
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * const chooser = LockOrder.nonPreemptive()
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const nonPreemptive = (): Chooser => ({
  pick: (point) => {
    const i = point.current === undefined ? -1 : point.candidates.findIndex((c) => c.task === point.current)
    return i >= 0 ? i : 0
  },
  choose: () => 0
})

const outcomeOf = (r: ExecutionResult): string =>
  r.outcome._tag === "Finished" ? "finished" : r.outcome._tag === "StepLimit" ? "step-limit" : kindOf(r.outcome.finding.problem)

/**
 * One cycle as result data, with its confirmation (or "not tried").
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * declare const cycle: LockOrder.Cycle
 * const data = LockOrder.cycleResult(cycle, undefined)
 * data.status // => "potential"
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const cycleResult = (cycle: Cycle, confirmation: Confirmation | undefined): LockOrderCycle => ({
  kind: cycle.kind,
  classes: cycle.classes,
  edges: cycle.edges.map(
    (e): LockOrderEdge => ({
      from: e.from,
      to: e.to,
      type: e.type,
      mode: e.occurrence.mode,
      via: e.occurrence.via,
      task: e.occurrence.task,
      ...(e.occurrence.func !== undefined ? { func: e.occurrence.func } : {}),
      step: e.occurrence.step,
      run: e.occurrence.run,
      op: e.occurrence.op,
      held: {
        op: e.occurrence.fromOp,
        step: e.occurrence.fromStep,
        ...(e.occurrence.fromFunc !== undefined ? { func: e.occurrence.fromFunc } : {})
      },
      tasks: e.tasks
    })
  ),
  confirmed: confirmation?.confirmed ?? false,
  status: confirmation?.confirmed ? "confirmed" : "potential",
  ...(confirmation?.counterexample !== undefined ? { counterexample: confirmation.counterexample } : {}),
  tried: confirmation?.tried ?? { strategy: "none", runs: 0, seed: 0, maxSteps: 0, outcomes: {} }
})

/**
 * Cycles of a graph as result data, confirmed on `scenario` unless
 * `options.confirm` is false.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer, LockOrder } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * const abba = classic.scenario("abba", "buggy")
 * const observer = LockOrder.observer()
 * const cycles = Explorer.explore(abba, Explorer.options({ schedules: 20 }), { observers: [observer] }).pipe(
 *   Effect.andThen(() => LockOrder.resultCycles(abba, observer.graph))
 * )
 * ```
 * @category execution
 * @since 0.1.0
 */
export const resultCycles = (
  scenario: Scenario,
  graph: LockGraph,
  options: AnalyzeOptions = {}
): Effect.Effect<ReadonlyArray<LockOrderCycle>> => {
  const budget: ConfirmOptions | undefined =
    options.confirm === false
      ? undefined
      : {
          ...(options.confirm === true || options.confirm === undefined ? {} : options.confirm),
          ...(options.variant !== undefined ? { variant: options.variant } : {})
        }
  return Effect.forEach(cycles(graph, options.cycles), (c) =>
    budget === undefined ? Effect.succeed(cycleResult(c, undefined)) : Effect.map(confirm(scenario, c, budget), (k) => cycleResult(c, k))
  )
}

const result = (
  scenario: Scenario,
  graph: LockGraph,
  mode: "once" | "explore",
  steps: number,
  outcomes: Record<string, number>,
  options: AnalyzeOptions
): Effect.Effect<LockOrderResult> =>
  Effect.map(resultCycles(scenario, graph, options), (found) => {
    const irq = irqResult(graph)
    return {
      format: "drvmodel-lock-order/1" as const,
      scenario: scenario.name,
      ...(options.variant !== undefined ? { variant: options.variant } : {}),
      mode,
      runs: graph.runs,
      steps,
      classes: graph.classes.size,
      dependencies: graph.dependencies().length,
      outcomes,
      cycles: found,
      ...(irq.length > 0 ? { irq } : {})
    }
  })

const usageData = (u: UsageOccurrence): LockOrderUsage => ({
  usage: u.usage,
  task: u.task,
  op: u.op,
  ...(u.func !== undefined ? { func: u.func } : {}),
  step: u.step,
  run: u.run
})

/**
 * Lockdep's irq-rule violations of a graph as result data.
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * LockOrder.irqResult(new LockOrder.LockGraph()) // => []
 * ```
 * @category getters
 * @since 0.3.0
 */
export const irqResult = (graph: LockGraph): ReadonlyArray<LockOrderIrq> =>
  irqViolations(graph).map((v) => ({
    kind: v.kind,
    irq: v.irq,
    title: v.title,
    classes: v.classes,
    first: usageData(v.first),
    second: usageData(v.second)
  }))

/**
 * Analysis from a single run on the default non-preemptive schedule (the run
 * may well be benign: that is the point), then confirmation of each cycle.
 * `schedule` analyses that schedule instead (replayed leniently: past its
 * end the run continues without preemption).
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * import { Effect } from "effect"
 * const r = Effect.runSync(LockOrder.analyzeOnce(classic.scenario("abba", "buggy")))
 * r.outcomes // => { finished: 1 }
 * r.cycles[0]?.classes // => ["&a->lock", "&b->lock"]
 * r.cycles[0]?.status // => "confirmed"
 * ```
 * @category execution
 * @since 0.1.0
 */
export const analyzeOnce = (
  scenario: Scenario,
  options: AnalyzeOptions & { readonly maxSteps?: number; readonly livelockBound?: number; readonly schedule?: Schedule } = {}
): Effect.Effect<LockOrderResult> =>
  Effect.suspend(() => {
    const obs = observer()
    const chooser = options.schedule === undefined ? nonPreemptive() : Replay.make(options.schedule, { strict: false }).next()!
    const run = runOnce(scenario.program, chooser, {
      maxSteps: options.maxSteps ?? scenario.defaults?.maxSteps ?? defaultOptions.maxSteps,
      livelockBound: options.livelockBound ?? scenario.defaults?.livelockBound ?? defaultOptions.livelockBound,
      observers: [obs]
    })
    return result(scenario, obs.graph, "once", run.steps, { [outcomeOf(run)]: 1 }, options)
  })

/**
 * Analysis over every run of an exploration (explorer options over the
 * scenario's defaults; the graph accumulates across runs), then confirmation
 * of each cycle. Honours `schedules` and `timeLimitMs`; findings of the runs
 * themselves are counted in `outcomes`, not collected.
 *
 * @example
 * ```ts
 * import { LockOrder } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * import { Effect } from "effect"
 * const r = Effect.runSync(LockOrder.analyze(classic.scenario("abba", "fixed"), { explore: { schedules: 50 } }))
 * r.cycles.length // => 0
 * ```
 * @category execution
 * @since 0.1.0
 */
export const analyze = (
  scenario: Scenario,
  options: AnalyzeOptions & { readonly explore?: Partial<Record<keyof ExploreOptions, unknown>> } = {}
): Effect.Effect<LockOrderResult, InvalidOptions> =>
  Effect.gen(function* () {
    const o = yield* decodeOptions({ ...scenario.defaults, ...options.explore })
    const strategy = yield* strategyFor(o)
    const obs = observer()
    const started = performance.now()
    const outcomes: Record<string, number> = {}
    let steps = 0
    for (let runs = 0; runs < o.schedules; runs++) {
      if (o.timeLimitMs > 0 && performance.now() - started > o.timeLimitMs) break
      const chooser = strategy.next()
      if (chooser === undefined) break
      const r = runOnce(scenario.program, chooser, { maxSteps: o.maxSteps, livelockBound: o.livelockBound, observers: [obs] })
      strategy.finished?.({ steps: r.steps, hitStepLimit: r.outcome._tag === "StepLimit" })
      steps += r.steps
      const k = outcomeOf(r)
      outcomes[k] = (outcomes[k] ?? 0) + 1
    }
    return yield* result(scenario, obs.graph, "explore", steps, outcomes, options)
  })
