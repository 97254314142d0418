/**
 * The explorer: runs a scenario under a strategy, wrapped in budgets
 * (schedules, steps per run, wall time) and metrics, and collects findings as
 * replayable counterexamples.
 *
 * The API is Effects with typed failures (Schema tagged errors): `explore`
 * (a `Report`, or `Nondeterminism`), `stream` (progress after every batch of
 * runs), `replay` (an execution, or `ScheduleDivergence`). Runs themselves are
 * synchronous and short; between batches the fiber yields, so interrupting it
 * stops the exploration between two runs, and `stream`'s last element holds
 * what was found until then. A plain script runs them with `Effect.runSync`.
 *
 * @since 0.1.0
 */
import { Effect, Option, Schema, Stream } from "effect"
import { Finding, kindOf, signatureOf } from "./Finding.ts"
import { Engine, type ExecutionResult, type OpObserver, ScheduleDivergence } from "./internal/engine.ts"
import type { Kernel } from "./Kernel.ts"
import { Schedule, timeoutsOf } from "./Schedule.ts"
import type { Coverage, Strategy } from "./Strategy.ts"
import * as Dfs from "./strategy/Dfs.ts"
import * as Dpor from "./strategy/Dpor.ts"
import * as Pct from "./strategy/Pct.ts"
import * as RandomStrategy from "./strategy/Random.ts"
import * as Replay from "./strategy/Replay.ts"
import { Trace } from "./Trace.ts"

export { ScheduleDivergence }

/**
 * Raised when replaying a found schedule does not reproduce its trace: the
 * model reads something the explorer does not control (real time, Math.random,
 * module-level state carried between runs, a fiber started outside Kernel.spawn).
 *
 * @category errors
 * @since 0.1.0
 */
export class Nondeterminism extends Schema.TaggedError<Nondeterminism>()("Nondeterminism", { message: Schema.String }) {}

/**
 * A scenario: a named, documented workload. `program` runs as the task
 * `setup`: it builds the model, registers invariants and spawns the threads
 * of control.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Scenario } from "@drvmodel/core"
 * const idle: Scenario = { name: "idle", description: "nothing happens", program: Effect.void }
 * ```
 * @category models
 * @since 0.1.0
 */
export interface Scenario {
  readonly name: string
  readonly description: string
  readonly program: Effect.Effect<void, unknown, Kernel>
  /** Default budget and strategy for this scenario. */
  readonly defaults?: Partial<ExploreOptions>
}

/** An integer in [minimum, maximum]: the upper bounds keep absurd values (a depth of 10^9) out. */
const IntIn = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

/**
 * Explorer options, validated: a bad value is an error naming the field. The upper bounds are
 * far beyond any useful value (a PCT depth of 10 or a preemption bound of 5 is already large).
 *
 * @category models
 * @since 0.1.0
 */
export const ExploreOptions = Schema.Struct({
  strategy: Schema.Literals(["random", "pct", "dfs", "dpor"]),
  /** Maximum number of executions. */
  schedules: IntIn(1, 100_000_000),
  seed: IntIn(0, 2 ** 32 - 1),
  /** PCT depth d. */
  depth: IntIn(1, 32),
  /** DFS preemption bound (and DPOR's, when `bounded`); at least the steps of a run means unbounded. */
  preemptions: IntIn(0, 10_000_000),
  /** DPOR: also apply the preemption bound (bounded DPOR; never exhaustive). */
  bounded: Schema.Boolean,
  /** Steps per execution before it is cut short. */
  maxSteps: IntIn(1, 10_000_000),
  /** Steps without progress (only retries) that make a livelock. */
  livelockBound: IntIn(1, 10_000_000),
  /**
   * Effect run-loop steps a task may take between two scheduling points; past it the run ends
   * with a `Runaway` finding (a loop that never reaches a point would hang the run). Generous:
   * model code between two points takes a few hundred (mlx5 and the classic examples: at most 157).
   */
  maxOpsBetweenPoints: IntIn(1, 1_000_000_000),
  /** Wall-clock budget in milliseconds (0: none), checked between runs. */
  timeLimitMs: IntIn(0, 7 * 24 * 3600 * 1000),
  /**
   * When a pending timeout may expire: `idle` (only when nothing else can run) or `any` (at any
   * step once its task waits — both orders of a timeout and other CPUs' work are explored).
   */
  timeouts: Schema.Literals(["idle", "any"]),
  /** Stop at the first finding. */
  stopOnFirst: Schema.Boolean,
  /** Distinct findings to keep. */
  maxFindings: IntIn(1, 10_000),
  /**
   * The happens-before checks (default on): data races on kernel cells (KCSAN), and a slab free
   * unordered with an access of the object (the use-after-free another order would give). Off: an
   * unordered pair no longer ends the run, so what it leads to (a NULL dereference, a broken
   * invariant) can be explored; an access after a free in the run's own order is still reported
   * (KASAN). The schedules record it.
   */
  races: Schema.optionalKey(Schema.Boolean)
})
/** @category models @since 0.1.0 */
export type ExploreOptions = typeof ExploreOptions.Type

/**
 * Defaults for every option.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultOptions: ExploreOptions = {
  strategy: "random",
  schedules: 1000,
  seed: 0,
  depth: 2,
  preemptions: 2,
  bounded: false,
  maxSteps: 5000,
  livelockBound: 400,
  maxOpsBetweenPoints: 100_000,
  timeLimitMs: 0,
  timeouts: "idle",
  stopOnFirst: false,
  maxFindings: 8,
  races: true
}

/**
 * Raised when explorer options do not validate.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  message: Schema.String
}) {}

/**
 * Validates user-provided options over the defaults; throws `InvalidOptions`
 * (the synchronous form of `decodeOptions`, for option literals in code).
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * const options = Explorer.options({ strategy: "pct", depth: 3 })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const options = (input: Partial<Record<keyof ExploreOptions, unknown>>, base: ExploreOptions = defaultOptions): ExploreOptions => {
  for (const key of Object.keys(input)) {
    if (!(key in defaultOptions)) throw new InvalidOptions({ message: `unknown explorer option "${key}"` })
  }
  const merged = { ...base, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) }
  const result = Schema.decodeUnknownExit(ExploreOptions)(merged)
  if (result._tag === "Success") return result.value
  const message = String(result.cause).includes("at [")
    ? describeIssue(String(result.cause))
    : `invalid explorer options: ${String(result.cause)}`
  throw new InvalidOptions({ message })
}

/**
 * Validates user-provided options over the defaults, failing with `InvalidOptions`.
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * const options = Explorer.decodeOptions({ strategy: "pct", depth: 3 }) // Effect<ExploreOptions, InvalidOptions>
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const decodeOptions = (
  input: Partial<Record<keyof ExploreOptions, unknown>>,
  base: ExploreOptions = defaultOptions
): Effect.Effect<ExploreOptions, InvalidOptions> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(options(input, base))
    } catch (e) {
      return e instanceof InvalidOptions ? Effect.fail(e) : Effect.die(e)
    }
  })

const describeIssue = (text: string): string => {
  const at = /at \["([^"]+)"\]/.exec(text)
  const expected = /Expected [^\n]*/.exec(text)
  return `invalid explorer option "${at?.[1] ?? "?"}": ${expected?.[0] ?? text.split("\n")[0]}`
}

/**
 * A counterexample: a finding with the schedule that reproduces it and the
 * trace it produced. Round-trips through JSON.
 *
 * @category models
 * @since 0.1.0
 */
export const Counterexample = Schema.Struct({
  format: Schema.Literal("drvmodel-counterexample/1"),
  scenario: Schema.String,
  variant: Schema.optionalKey(Schema.String),
  strategy: Schema.String,
  seed: Schema.optionalKey(Schema.Int),
  /** Index of the execution that found it. */
  run: Schema.Int,
  kind: Schema.String,
  finding: Finding,
  steps: Schema.Int,
  preemptions: Schema.Int,
  schedule: Schedule,
  trace: Trace,
  /** Present when the schedule was shrunk: size before shrinking. */
  original: Schema.optionalKey(Schema.Struct({ steps: Schema.Int, preemptions: Schema.Int }))
})
/** @category models @since 0.1.0 */
export type Counterexample = typeof Counterexample.Type

/**
 * Why an exploration stopped.
 *
 * @category models
 * @since 0.1.0
 */
export type StopReason = "budget" | "exhausted" | "found" | "time" | "interrupted"

/**
 * The result of an exploration.
 *
 * @category models
 * @since 0.1.0
 */
export interface Report {
  readonly scenario: string
  readonly strategy: string
  readonly options: ExploreOptions
  readonly runs: number
  readonly steps: number
  readonly stepLimitHits: number
  readonly maxTasks: number
  readonly maxStepsPerRun: number
  readonly elapsedMs: number
  readonly stopped: StopReason
  readonly coverage: Coverage
  readonly counterexamples: ReadonlyArray<Counterexample>
}

/**
 * Hooks: an external stop request (Ctrl-C), extra observers, the variant name (progress: `Exploration.progress`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Hooks {
  readonly shouldStop?: () => boolean
  readonly observers?: ReadonlyArray<OpObserver>
  /** Model variant name, recorded in counterexamples. */
  readonly variant?: string
}

/**
 * Builds the strategy named in the options (seeded strategies take their
 * random stream from the caller's fiber).
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * const strategy = Explorer.strategyFor(Explorer.options({ strategy: "pct" })) // Effect<Strategy>
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const strategyFor = (o: ExploreOptions): Effect.Effect<Strategy> => {
  switch (o.strategy) {
    case "random":
      return RandomStrategy.make({ seed: o.seed })
    case "pct":
      return Pct.make({ seed: o.seed, depth: o.depth })
    case "dfs":
      return Effect.sync(() => Dfs.make({ preemptions: o.preemptions }))
    case "dpor":
      return Effect.sync(() => Dpor.make(o.bounded ? { preemptions: o.preemptions } : {}))
  }
}

/**
 * Runs one execution of a program under a strategy's next chooser.
 *
 * @category execution
 * @since 0.1.0
 */
export const runOnce = (
  program: Effect.Effect<void, unknown, Kernel>,
  chooser: NonNullable<ReturnType<Strategy["next"]>>,
  o: {
    readonly maxSteps: number
    readonly livelockBound: number
    readonly captureState?: boolean
    readonly observers?: ReadonlyArray<OpObserver>
    /** Record the trace (default: yes). */
    readonly recordTrace?: boolean
    /** Default: `defaultOptions.maxOpsBetweenPoints`. */
    readonly maxOpsBetweenPoints?: number
    /** When pending timeouts may expire (default: `idle`). */
    readonly timeouts?: "idle" | "any"
    /**
     * Spinners wait for a write (spin-assume; default: when the chooser records footprints, as
     * DPOR's does). A replay takes it from the schedule (`Schedule.spinAssume`).
     */
    readonly spinAssume?: boolean
    /** Debug: check the engine's cached runnable set against a full scan at every step (tests). */
    readonly checkReadiness?: boolean
    /** The data-race check (default: on). */
    readonly races?: boolean
  }
): ExecutionResult =>
  new Engine(chooser, {
    ...(o.races === false ? { races: false } : {}),
    ...(o.checkReadiness === true ? { checkReadiness: true } : {}),
    ...(o.spinAssume !== undefined ? { spinAssume: o.spinAssume } : {}),
    timeouts: o.timeouts ?? "idle",
    recordTrace: o.recordTrace ?? true,
    maxSteps: o.maxSteps,
    livelockBound: o.livelockBound,
    maxOpsBetweenPoints: o.maxOpsBetweenPoints ?? defaultOptions.maxOpsBetweenPoints,
    captureState: o.captureState ?? false,
    observers: o.observers ?? []
  }).run(program)

/**
 * An exploration in progress: `advance(n)` runs up to `n` more executions and
 * says whether the exploration is over; `report()` gives what was found so
 * far. Lets a caller run it in batches (to redraw a progress bar or notice
 * Ctrl-C between runs) with exactly the runs of one uninterrupted call.
 *
 * @category models
 * @since 0.1.0
 */
export interface Exploration {
  readonly advance: (maxRuns: number) => boolean
  readonly progress: () => { readonly runs: number; readonly findings: number; readonly elapsedMs: number }
  readonly report: () => Report
}

/**
 * Starts an exploration (nothing runs until `advance`, which is synchronous
 * and throws `Nondeterminism`: the building block of `explore` and `stream`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const exploration = yield* Explorer.start({ name: "idle", description: "nothing", program: Effect.void }, Explorer.options({ schedules: 10 }))
 *   while (!exploration.advance(3)) {}
 *   return exploration.report().runs // => 10
 * })
 * ```
 * @category execution
 * @since 0.1.0
 */
export const start = (scenario: Scenario, o: ExploreOptions, hooks: Hooks = {}, strategy?: Strategy): Effect.Effect<Exploration> =>
  strategy !== undefined
    ? Effect.sync(() => startWith(scenario, o, hooks, strategy))
    : Effect.map(strategyFor(o), (s) => startWith(scenario, o, hooks, s))

const startWith = (scenario: Scenario, o: ExploreOptions, hooks: Hooks, strategy: Strategy): Exploration => {
  const started = performance.now()
  const found = new Map<string, Counterexample>()
  let runs = 0
  let steps = 0
  let stepLimitHits = 0
  let maxTasks = 0
  let maxStepsPerRun = 0
  let stopped: StopReason | undefined
  const runOne = (): void => {
    if (hooks.shouldStop?.()) {
      stopped = "interrupted"
      return
    }
    if (o.timeLimitMs > 0 && performance.now() - started > o.timeLimitMs) {
      stopped = "time"
      return
    }
    const chooser = strategy.next()
    if (chooser === undefined) {
      stopped = "exhausted"
      return
    }
    // No trace while exploring: a finding's trace comes from its replay below.
    const result = runOnce(scenario.program, chooser, {
      maxSteps: o.maxSteps,
      livelockBound: o.livelockBound,
      maxOpsBetweenPoints: o.maxOpsBetweenPoints,
      timeouts: o.timeouts,
      recordTrace: false,
      races: o.races !== false,
      ...(hooks.observers ? { observers: hooks.observers } : {})
    })
    strategy.finished?.({ steps: result.steps, hitStepLimit: result.outcome._tag === "StepLimit" })
    runs++
    steps += result.steps
    maxTasks = Math.max(maxTasks, result.tasks)
    maxStepsPerRun = Math.max(maxStepsPerRun, result.steps)
    if (result.outcome._tag === "StepLimit") stepLimitHits++
    if (result.outcome._tag === "Found") {
      const sig = signatureOf(result.outcome.finding.problem)
      if (!found.has(sig) && found.size < o.maxFindings) {
        // The replay gives the trace and is the determinism self-check: the recorded
        // schedule must be followed step by step (strict) to the same finding.
        let again: ExecutionResult
        try {
          again = replayUnsafe(scenario, result.schedule, {
            maxSteps: o.maxSteps,
            livelockBound: o.livelockBound,
            maxOpsBetweenPoints: o.maxOpsBetweenPoints
          })
        } catch (e) {
          if (!(e instanceof ScheduleDivergence)) throw e
          throw new Nondeterminism({ message: `scenario ${scenario.name}: replaying run ${runs - 1} did not reproduce it: ${e.message}` })
        }
        const same =
          again.outcome._tag === "Found" &&
          signatureOf(again.outcome.finding.problem) === sig &&
          again.steps === result.steps &&
          JSON.stringify(again.schedule) === JSON.stringify(result.schedule)
        if (!same) {
          throw new Nondeterminism({
            message: `scenario ${scenario.name}: replaying run ${runs - 1} did not reproduce it: ${result.outcome.finding.summary} (${result.steps} steps) vs ${again.outcome._tag === "Found" ? again.outcome.finding.summary : again.outcome._tag} (${again.steps} steps)`
          })
        }
        found.set(sig, {
          format: "drvmodel-counterexample/1",
          scenario: scenario.name,
          ...(hooks.variant !== undefined ? { variant: hooks.variant } : {}),
          strategy: strategy.name,
          seed: o.seed,
          run: runs - 1,
          kind: kindOf(result.outcome.finding.problem),
          finding: result.outcome.finding,
          steps: result.steps,
          preemptions: result.preemptions,
          schedule: result.schedule,
          trace: again.trace
        })
      }
      if (o.stopOnFirst) stopped = "found"
    }
  }
  return {
    advance: (maxRuns) => {
      for (let i = 0; i < maxRuns && stopped === undefined; i++) {
        if (runs >= o.schedules) stopped = "budget"
        else runOne()
      }
      if (stopped === undefined && runs >= o.schedules) stopped = "budget"
      return stopped !== undefined
    },
    progress: () => ({ runs, findings: found.size, elapsedMs: performance.now() - started }),
    report: () => ({
      scenario: scenario.name,
      strategy: strategy.name,
      options: o,
      runs,
      steps,
      stepLimitHits,
      maxTasks,
      maxStepsPerRun,
      elapsedMs: performance.now() - started,
      // Asked for before the end: the caller stopped it.
      stopped: stopped ?? "interrupted",
      coverage: strategy.coverage?.() ?? { _tag: "Sampled" },
      counterexamples: [...found.values()]
    })
  }
}

/**
 * Progress of an exploration, after a batch of runs.
 *
 * @example
 * ```ts
 * import type { Explorer } from "@drvmodel/core"
 * const line = (p: Explorer.Progress) => `${p.runs} runs, ${p.findings} findings${p.done ? "" : "…"}`
 * ```
 * @category models
 * @since 0.2.0
 */
export interface Progress {
  readonly runs: number
  readonly findings: number
  readonly elapsedMs: number
  /** The exploration is over (budget, exhausted, found, time). */
  readonly done: boolean
  /** The report as of this update: final when `done`, else `stopped: "interrupted"` (what was found so far). */
  readonly report: () => Report
}

/** Runs `f`, failing with the tagged error `Nondeterminism` it throws; other exceptions are defects. */
const advanceOrFail = <A>(f: () => A): Effect.Effect<A, Nondeterminism> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      return e instanceof Nondeterminism ? Effect.fail(e) : Effect.die(e)
    }
  })

/**
 * Explores a scenario as a stream of progress updates, one after each batch
 * of runs. Batches aim at ~40 ms of work (so a progress bar redraws and an
 * interruption lands soon), and the fiber yields between them; batch sizes
 * adapt to wall time, but the runs, and so the results, are those of one
 * uninterrupted exploration. Interrupting the stream stops between two runs;
 * the last update received holds the report so far.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Explorer } from "@drvmodel/core"
 * const idle = { name: "idle", description: "nothing", program: Effect.void }
 * const program = Explorer.stream(idle, Explorer.options({ schedules: 100 })).pipe(
 *   Stream.runForEach((p) => Effect.log(`${p.runs} runs`))
 * )
 * ```
 * @category execution
 * @since 0.2.0
 */
export const stream = (
  scenario: Scenario,
  o: ExploreOptions,
  hooks: Hooks = {},
  strategy?: Strategy
): Stream.Stream<Progress, Nondeterminism> =>
  Stream.unwrap(
    Effect.map(start(scenario, o, hooks, strategy), (exploration) =>
      Stream.paginate({ batch: 4, first: true }, ({ batch, first }) =>
        Effect.andThen(
          first ? Effect.void : Effect.yieldNow,
          advanceOrFail(() => {
            const t0 = performance.now()
            const done = exploration.advance(batch)
            const report = done ? exploration.report() : undefined
            const p = exploration.progress()
            const update: Progress = { ...p, done, report: () => report ?? exploration.report() }
            // Aim at ~40 ms per batch: responsive to interruption, cheap in overhead.
            const next = Math.max(1, Math.min(4096, Math.round((batch * 40) / Math.max(1, performance.now() - t0))))
            return [[update], done ? Option.none() : Option.some({ batch: next, first: false })] as const
          })
        )
      )
    )
  )

/**
 * Explores a scenario to the end of its budget. Pure apart from the
 * wall-clock budget and the hooks: the same scenario and options give the
 * same report. Interruptible between runs (see `stream`, whose last update
 * keeps what was found); fails with `Nondeterminism` when a finding does not
 * replay to itself.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer } from "@drvmodel/core"
 * const idle = { name: "idle", description: "nothing", program: Effect.void }
 * const report = Effect.runSync(Explorer.explore(idle, Explorer.options({ schedules: 10 })))
 * report.counterexamples.length // => 0
 * ```
 * @category execution
 * @since 0.1.0
 */
export const explore = (
  scenario: Scenario,
  o: ExploreOptions = defaultOptions,
  hooks: Hooks = {},
  strategy?: Strategy
): Effect.Effect<Report, Nondeterminism> =>
  Effect.map(Stream.runLast(stream(scenario, o, hooks, strategy)), (last) =>
    // A stream always emits at least its first batch.
    Option.getOrThrow(last).report()
  )

/**
 * Replays a schedule and returns the execution (with model state captured at
 * every step when asked, for renderings); fails with `ScheduleDivergence`
 * when a choice label no longer exists in the model (strict replay).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer, type Schedule } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * declare const schedule: Schedule.Schedule
 * const run = Explorer.replay(classic.scenario("abba", "buggy"), schedule) // Effect<ExecutionResult, ScheduleDivergence>
 * ```
 * @category execution
 * @since 0.1.0
 */
export const replay = (scenario: Scenario, schedule: Schedule, o: ReplayOptions = {}): Effect.Effect<ExecutionResult, ScheduleDivergence> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(replayUnsafe(scenario, schedule, o))
    } catch (e) {
      return e instanceof ScheduleDivergence ? Effect.fail(e) : Effect.die(e)
    }
  })

/**
 * Options of a replay.
 *
 * @category models
 * @since 0.2.0
 */
export interface ReplayOptions {
  readonly maxSteps?: number
  readonly livelockBound?: number
  readonly maxOpsBetweenPoints?: number
  readonly captureState?: boolean
  readonly strict?: boolean
  /** Follow the schedule where it can, never fail (`ReplayStrategy.lenient`): for edited schedules. */
  readonly lenient?: boolean
  readonly observers?: ReadonlyArray<OpObserver>
  /** Record the trace (default: yes; a shrink's trial replays need only the outcome). */
  readonly recordTrace?: boolean
}

/**
 * `replay`, synchronously: throws `ScheduleDivergence`. For code already
 * inside a synchronous loop of runs (the explorer's self-check, shrinking).
 *
 * @example
 * ```ts
 * import { Explorer, type Schedule } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * declare const schedule: Schedule.Schedule
 * const run = Explorer.replayUnsafe(classic.scenario("abba", "buggy"), schedule, { lenient: true })
 * ```
 * @category execution
 * @since 0.2.0
 */
export const replayUnsafe = (scenario: Scenario, schedule: Schedule, o: ReplayOptions = {}): ExecutionResult => {
  const chooser = o.lenient ? Replay.lenient(schedule) : Replay.make(schedule, { strict: o.strict ?? true }).next()!
  return runOnce(scenario.program, chooser, {
    // A schedule in which a timeout expired early needs those candidates offered again; one
    // recorded with spin-assume, its waits.
    timeouts: timeoutsOf(schedule),
    spinAssume: schedule.spinAssume === true,
    races: schedule.races !== false,
    maxSteps: o.maxSteps ?? defaultOptions.maxSteps,
    livelockBound: o.livelockBound ?? defaultOptions.livelockBound,
    maxOpsBetweenPoints: o.maxOpsBetweenPoints ?? defaultOptions.maxOpsBetweenPoints,
    captureState: o.captureState ?? false,
    observers: o.observers ?? [],
    recordTrace: o.recordTrace ?? true
  })
}
