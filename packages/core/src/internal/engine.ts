/**
 * One execution of a model under a chooser (the strategy seam for one run).
 *
 * Model fibers run on Effect's runtime with a synchronous, shared dispatcher;
 * each parks at `Kernel.point` and only the task the chooser picks resumes.
 * Virtual time advances to the next deadline only when nothing can run (or
 * when every runnable task is merely spinning: a spinning CPU does not stop
 * time). All state is local to the engine, so a run is a pure function of
 * model, scenario and choices.
 */
import { Cause, Clock, Duration, Effect, type Exit, Fiber, type Scheduler, Schema } from "effect"
import { type BlockedTask, edgeInWords, type Finding, type Problem } from "../Finding.ts"
import type { Invariant } from "../Invariant.ts"
import {
  type Access,
  type CpuState,
  Kernel,
  type LockEvent,
  type Op,
  type Resource,
  type SpawnOptions,
  type TaskHandle
} from "../Kernel.ts"
import { msleep } from "../primitives/Sched.ts"
import type { Schedule, ScheduleStep } from "../Schedule.ts"
import type { HeldLock, TraceEvent } from "../Trace.ts"
import { atomic, Cpus, cpuKey, type OnCpu, onCpu, snapshot } from "./cpus.ts"
import { type CellAccess, HappensBefore, type Race } from "./races.ts"
import { findCycle } from "./waitFor.ts"

/** A candidate at a scheduling point. */
export interface Candidate {
  readonly task: string
  readonly op: string
}

/** What a strategy sees at a scheduling point. */
export interface ChoicePoint {
  readonly step: number
  readonly candidates: ReadonlyArray<Candidate>
  /** Task that ran the previous step, if it is still a candidate (not switching to another is no preemption). */
  readonly current: string | undefined
  /**
   * Only for choosers that record footprints (`stepped`): enabled tasks that the fairness or
   * yield rule withheld here, and whether the candidate set depends on the scheduling history
   * (a runnable task is in a retry streak, the last step made no progress or yielded).
   */
  readonly withheld?: ReadonlyArray<string>
  readonly historic?: boolean
}

/**
 * What one step did, once it has run: the task, its op, and its footprint —
 * the op's declared accesses plus every kernel cell the task touched until its
 * next point (its exit and the tasks it spawned included). `footprint`
 * undefined: the step declared nothing and may touch anything.
 */
export interface StepRecord {
  readonly step: number
  readonly task: string
  readonly op: string
  readonly footprint: ReadonlyArray<Access> | undefined
  /**
   * Locks the step took while its op was a blocking one (it has `enabled`), and locks it
   * released: a release and a blocking acquire of the same lock are never enabled together
   * (unless both are shared), so partial-order reduction does not try to reverse them.
   */
  readonly acquired?: ReadonlyArray<HeldLock>
  readonly released?: ReadonlyArray<HeldLock>
}

/** The per-run face of a strategy. */
export interface Chooser {
  readonly pick: (point: ChoicePoint) => number
  readonly choose: (label: string, count: number, step: number) => number
  /** Told what each step touched, right after it ran (partial-order reduction). */
  readonly stepped?: (record: StepRecord) => void
  /**
   * Told that virtual time advanced before the next step (nothing could run): `timers` says
   * whether timer callbacks ran, whose effects no footprint records. Steps read the clock
   * (key `clock`) when their op has a deadline or they call `now()`.
   */
  readonly advanced?: (timers: boolean) => void
  /** Told how the run ended, with the keys invariants read (partial-order reduction). */
  readonly ended?: (run: { readonly outcome: Outcome; readonly invariantReads: ReadonlySet<string> }) => void
}

/** Observes every applied operation (lock-order analysis, metrics). */
export interface OpObserver {
  readonly onOp: (event: {
    readonly task: string
    readonly op: Op<unknown>
    readonly lockEvents: ReadonlyArray<LockEvent>
    readonly heldBefore: ReadonlyArray<HeldLock>
    readonly func: string | undefined
    readonly step: number
    /** The task's CPU state before and after the op (lockdep's irq usage rules read it). */
    readonly cpuBefore?: CpuState
    readonly cpu?: CpuState
  }) => void
  /**
   * Told, when a run ends stuck, of each task blocked for good in an operation that was never
   * applied, with what it held: lockdep checks an acquisition when it is requested, before it
   * waits, so a lock taken again by its holder (`mutex_lock(A); mutex_lock(A)`) is still seen.
   */
  readonly onStuck?: (event: {
    readonly task: string
    readonly op: Op<unknown>
    readonly heldBefore: ReadonlyArray<HeldLock>
    readonly func: string | undefined
    readonly step: number
  }) => void
}

export interface EngineOptions {
  /** Record the trace (off while exploring: a finding's trace comes from its replay). */
  readonly recordTrace: boolean
  readonly maxSteps: number
  readonly livelockBound: number
  readonly captureState: boolean
  readonly observers: ReadonlyArray<OpObserver>
  /** Check kernel cells for data races (KCSAN's rule, happens-before by vector clocks). */
  readonly races?: boolean
  /**
   * Debug: after every refresh compare the cached runnable set with a full scan and throw on a
   * difference (a broken `Op.enabledReads` promise). Tests only: it costs a scan per step.
   */
  readonly checkReadiness?: boolean
  /** Effect run-loop steps allowed between two scheduling points before the run ends as a runaway. */
  readonly maxOpsBetweenPoints: number
  /**
   * When a pending timeout (a timed wait, a sleep) may expire: `idle` — only when nothing else
   * can run (the default: every step takes no virtual time); `any` — at any step once its task
   * waits, as a candidate `<op> [timeout]` the strategy picks: in the kernel other CPUs' work
   * takes time, so a timeout can expire before, between or after their steps.
   */
  readonly timeouts?: "idle" | "any"
  /**
   * Spin-assume (see `Engine.spinStep`): a task in a retry streak whose last failed iteration
   * wrote nothing and read only what no one has written since waits until someone writes one of
   * those keys, instead of being offered again. Needs complete footprints (what the loop reads
   * is in kernel objects); the schedule records it (`Schedule.spinAssume`) so a replay follows it.
   */
  readonly spinAssume?: boolean
}

export type Outcome = { readonly _tag: "Finished" } | { readonly _tag: "Found"; readonly finding: Finding } | { readonly _tag: "StepLimit" }

export interface ExecutionResult {
  readonly outcome: Outcome
  readonly schedule: Schedule
  readonly trace: ReadonlyArray<TraceEvent>
  readonly steps: number
  readonly preemptions: number
  readonly tasks: number
  readonly time: number
  /** Keys of kernel cells (and atomics) that invariants read during this run. */
  readonly invariantReads: ReadonlySet<string>
}

/**
 * Raised by a chooser that cannot follow a saved schedule (replay): the
 * failure of `Explorer.replay`.
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * const e = new Explorer.ScheduleDivergence({ message: "step 3: task fw-event is not runnable" })
 * ```
 * @category errors
 * @since 0.1.0
 */
export class ScheduleDivergence extends Schema.TaggedError<ScheduleDivergence>()("ScheduleDivergence", { message: Schema.String }) {}

interface Pending {
  readonly op: Op<unknown>
  readonly resume: (effect: Effect.Effect<unknown>) => void
  readonly candidate: Candidate
}

interface Task {
  readonly name: string
  /** Creation order: the task's index in vector clocks. */
  readonly index: number
  readonly daemon: boolean
  /** The op the task is parked at; set only through `Engine.park` (it marks the task for the next refresh). */
  pending: Pending | undefined
  done: boolean
  /** In `Engine.runnable` (its pending op enabled, its CPU free), as of the last refresh. */
  ready: boolean
  /** Its pending op changed (parked, applied, exited) since the last refresh. */
  dirty: boolean
  /** Position in `Engine.watched`, or -1: whether its readiness can change without a step of its own. */
  watch: number
  /** The keys it is indexed under in `Engine.keyWaiters` (its pending op's `enabledReads`), if any. */
  keys: ReadonlyArray<string> | undefined
  /** In `Engine.timed`: its pending op has a deadline. */
  timed: boolean
  /** Context and CPU state (interrupts, bottom halves, preemption). */
  readonly cpu: OnCpu
  held: Array<HeldLock>
  /** Where each entry of `held` was taken (same order): the op's label and the innermost function. */
  heldAt: Array<TakenAt>
  stack: Array<string>
  retrying: boolean
  /** Call depth at which the current retry streak began: leaving that function ends the streak. */
  retryDepth: number
  /** Step at which the task last ran (fair suffix: least recently run first). */
  lastRun: number
  /** Resources held, as recorded in trace events; rebuilt only when `held` changes. */
  holds: ReadonlyArray<string>
  /** The task's last step was a yield (cond_resched): it gives way at the next decision. */
  yielded: boolean
  /**
   * Spinning: in its retry streak the task yielded or failed the same attempt again. A single
   * failed cmpxchg used as a conditional transition is a retry streak but not a spin.
   */
  spinning: boolean
  /** Label of the last failed attempt in the current retry streak. */
  lastFailed: string | undefined
  /** That attempt: what a livelock report says the task retries. */
  failedOp: Op<unknown> | undefined
  /** Spin-assume: the current iteration of the retry loop, from its failed attempt on. */
  iteration: Iteration | undefined
  /** Spin-assume: an iteration of the current retry streak wrote (it is not a read-only loop). */
  wrote: boolean
  /** Spin-assume: the keys the task waits to see written (it repeated a read-only iteration). */
  spinWait: ReadonlyArray<string> | undefined
  /** Spin-assume: its next step reads these keys (what it waited on), so it depends on the write that woke it. */
  woken: ReadonlyArray<string> | undefined
}

/** One iteration of a retry loop, from its failed attempt (step `start`) to that attempt again. */
interface Iteration {
  readonly start: number
  /** Each key read in the iteration, with the step of its last read. */
  readonly reads: Map<string, number>
  /** Wrote nothing, armed no timer, declared every footprint. */
  clean: boolean
}

/** Where a held lock was taken, for the lock-held-at-exit report. */
interface TakenAt {
  readonly op: string
  readonly func: string | undefined
}

interface Timer {
  readonly at: number
  readonly seq: number
  readonly fire: () => void
  armed: boolean
}

const startOp: Op<void> = { name: "start", label: "start", apply: () => undefined, footprint: [] }
/** A spawned task's first step reads what its parent's spawning step wrote: it comes after it. */
const startOf = (task: string): Op<void> => ({ ...startOp, footprint: [{ key: `task:${task}`, mode: "read" }] })
const noHolds: ReadonlyArray<string> = []
/** Reading virtual time: the time advances the engine makes between steps write it. */
const clockRead: Access = { key: "clock", mode: "read" }

/**
 * One dispatcher for every fiber of a run. `halt()` drops everything queued and refuses more work:
 * a runaway task is abandoned where it stands (it never resumes, so its loop ends).
 */
class SyncDispatcher implements Scheduler.SchedulerDispatcher {
  private ready: Array<() => void> = []
  private halted = false
  scheduleTask(task: () => void): void {
    if (!this.halted) this.ready.push(task)
  }
  flush(): void {
    // Index walk instead of shift(): tasks scheduled while draining are picked up too. The run
    // part is dropped now and then, so a task that keeps rescheduling itself (a yieldNow loop)
    // does not grow the queue until the op bound stops it.
    let i = 0
    while (i < this.ready.length && !this.halted) {
      this.ready[i++]!()
      if (i >= 4096) {
        this.ready = this.ready.slice(i)
        i = 0
      }
    }
    this.ready.length = 0
  }
  halt(): void {
    this.halted = true
    this.ready.length = 0
  }
}

/**
 * Effect's run loop asks `shouldYield` before every operation it evaluates (run-loop steps; the
 * few continuations it inlines between two steps are not counted). That is the seam to count the
 * Effect work done since the last scheduling point: model code between two points must be short,
 * so a task that exceeds the bound is looping without reaching one (a spin on a plain variable,
 * `Effect.forever` of pure work) and would otherwise hang the explorer. Past the bound the
 * scheduler asks the fiber to yield and halts the dispatcher, so the fiber never continues.
 */
class SyncScheduler implements Scheduler.Scheduler {
  readonly executionMode = "sync" as const
  readonly dispatcher = new SyncDispatcher()
  /** Run-loop steps since the last scheduling point (reset when a task is resumed or time advances). */
  ops = 0
  private readonly bound: number
  private readonly onRunaway: (fiber: Fiber.Fiber<unknown, unknown>, ops: number) => void
  constructor(bound: number, onRunaway: (fiber: Fiber.Fiber<unknown, unknown>, ops: number) => void) {
    this.bound = bound
    this.onRunaway = onRunaway
  }
  shouldYield(fiber: Fiber.Fiber<unknown, unknown>): boolean {
    if (++this.ops <= this.bound) return false
    this.onRunaway(fiber, this.ops)
    this.dispatcher.halt()
    return true
  }
  makeDispatcher(): Scheduler.SchedulerDispatcher {
    return this.dispatcher
  }
}

export class Engine {
  private readonly scheduler: SyncScheduler
  private readonly tasks: Array<Task> = []
  private readonly byName = new Map<string, Task>()
  private readonly byFiber = new Map<Fiber.Fiber<unknown, unknown>, Task>()
  private readonly resources: Array<Resource> = []
  private readonly resourceById = new Map<string, Resource>()
  private readonly cpus = new Cpus()
  private readonly probes: Array<readonly [string, () => string]> = []
  private readonly invariants: Array<Invariant> = []
  private readonly timers: Array<Timer> = []
  private readonly steps: Array<ScheduleStep> = []
  private readonly trace: Array<TraceEvent> = []
  private finding: Finding | undefined
  private now = 0
  private step = 0
  private preemptions = 0
  private timerSeq = 0
  private stepsSinceProgress = 0
  private last: Task | undefined
  private currentTask: Task | undefined
  // The runnable set, kept incrementally (see `refresh`): tasks whose pending op is enabled and
  // whose CPU is free, in creation order, and their candidates at the same positions. Strategies
  // read the candidates only during pick; both change only in `refresh`.
  private readonly runnable: Array<Task> = []
  private readonly runnableCandidates: Array<Candidate> = []
  /** Tasks not yet ended, in creation order: what a full rescan looks at (ended tasks leave every set). */
  private readonly live: Array<Task> = []
  /** Tasks whose pending op changed since the last refresh. */
  private readonly dirty: Array<Task> = []
  /** Parked tasks whose readiness can change without a step of their own (see `refresh`); unordered. */
  private readonly watched: Array<Task> = []
  /** Parked tasks whose op's `enabled` reads only the keys it names, by key (see `refresh`), and how many. */
  private readonly keyWaiters = new Map<string, Set<Task>>()
  private keyed = 0
  /** Parked tasks whose op has a deadline, in creation order (time advances, `[timeout]` candidates). */
  private readonly timed: Array<Task> = []
  /** Time advanced (timers ran): the next refresh re-evaluates every live task. */
  private rescan = false
  // Footprint of the step being applied (undefined: it declared nothing, so it may touch anything).
  private stepFootprint: Array<Access> | undefined = undefined
  private readonly recordFootprints: boolean
  /** Collect step footprints: for the chooser (partial-order reduction) or for spin-assume. */
  private readonly collect: boolean
  private readonly spinAssume: boolean
  /** Spin-assume: the step of the last write of each key, and of the last step that may have written anything. */
  private readonly lastWrite = new Map<string, number>()
  private wildWrite = -1
  /** Spin-assume: the tasks waiting for a write of each key, and how many tasks wait. */
  private readonly spinWaiters = new Map<string, Set<Task>>()
  private spinBlocked = 0
  /** Spin-assume is off for the rest of the run: nothing but waiting spinners could run, so they were let go. */
  private spinReleased = false
  /** The running step armed a timer (a change no footprint records). */
  private armedTimer = false
  private readonly hb: HappensBefore | undefined
  private readonly invariantReads = new Set<string>()
  private checking = false
  private readonly candidateBuf: Array<Candidate> = []

  private readonly chooser: Chooser
  private readonly options: EngineOptions

  constructor(chooser: Chooser, options: EngineOptions) {
    this.chooser = chooser
    this.options = options
    this.recordFootprints = chooser.stepped !== undefined
    this.spinAssume = options.spinAssume ?? this.recordFootprints
    this.collect = this.recordFootprints || this.spinAssume
    this.hb = options.races === false ? undefined : new HappensBefore()
    this.scheduler = new SyncScheduler(options.maxOpsBetweenPoints, (fiber, ops) => this.runaway(fiber, ops))
  }

  /** Runs `program` as the task `setup` until quiescence, a finding or the step limit. */
  run(program: Effect.Effect<void, unknown, Kernel>): ExecutionResult {
    const kernel = this.makeKernel()
    const main = program.pipe(Effect.provideService(Kernel, kernel), Effect.provideService(Clock.Clock, this.makeClock(kernel)))
    const root = this.newTask("setup", false)
    this.hb?.spawn(undefined, root.index)
    const fiber = Effect.runFork(Effect.andThen(this.parkAt(root, startOp), main), { scheduler: this.scheduler })
    this.attach(root, fiber)
    const outcome = this.drive()
    this.chooser.ended?.({ outcome, invariantReads: this.invariantReads })
    return {
      outcome,
      schedule: {
        steps: this.steps,
        ...(this.spinAssume ? { spinAssume: true } : {}),
        ...(this.options.races === false ? { races: false } : {})
      },
      trace: this.trace,
      steps: this.step,
      preemptions: this.preemptions,
      tasks: this.tasks.length,
      time: this.now,
      invariantReads: this.invariantReads
    }
  }

  // ---------------------------------------------------------------------------
  // The drive loop

  private drive(): Outcome {
    this.scheduler.dispatcher.flush()
    if (this.finding) return { _tag: "Found", finding: this.finding }
    // Invariants may be registered at any step (typically by `setup` after its
    // first point), so the safety list is refreshed whenever it grows.
    let safety: ReadonlyArray<Invariant> = []
    let known = -1
    while (true) {
      if (known !== this.invariants.length) {
        known = this.invariants.length
        safety = this.invariants.filter((i) => i.when === "safety")
      }
      const broken = this.checkAll(safety)
      if (broken) return { _tag: "Found", finding: broken }
      this.refresh()
      // Nothing runnable: re-evaluate every live task before time advances or the run is declared
      // stuck, so no cached readiness can ever end a run (see `refresh`).
      if (this.runnable.length === 0) this.refresh(true)
      // Before the fairness and yield rules narrow it. Not copied: `runnable` changes only in
      // `refresh`, after this step.
      const all: ReadonlyArray<Task> = this.runnable
      let enabled: ReadonlyArray<Task> = all
      if ((enabled.length === 0 || this.allSpinning(enabled)) && this.advanceTime()) {
        if (this.finding) return { _tag: "Found", finding: this.finding }
        continue
      }
      if (enabled.length === 0 && this.spinBlocked > 0) {
        // Only spinners waiting for a write are left, and no one can write: they are let go and
        // spin as without spin-assume, so an endless spin is still found by the livelock bound
        // (same finding, same steps) and a deadlock among the others as it was.
        this.spinReleased = true
        for (const t of this.live) if (t.spinWait !== undefined) this.wake(t)
        continue
      }
      if (enabled.length === 0) return this.quiescent()
      if (this.step >= this.options.maxSteps) return { _tag: "StepLimit" }
      // Fair continuation: while a runnable task spins (yields or fails the same attempt again
      // in a retry streak) and no progress has been made since, the least recently run task goes
      // next (round robin). A livelock is reported only if no progress comes for the whole
      // bound under fair scheduling; starving a lock holder is not a livelock. Spinning steps
      // repeat the same checks, so this loses no reachable state.
      if (this.stepsSinceProgress >= 1 && enabled.length > 1 && this.anySpinning(enabled)) {
        let fair = enabled[0]!
        for (const t of enabled) if (t.lastRun < fair.lastRun) fair = t
        enabled = [fair]
      }
      // cond_resched() gives way: right after a yield, another runnable task goes first. Running
      // the yielder again would only repeat its failed check on the same state, so no reachable
      // state is lost, and a spinner cannot starve the task it waits for.
      if (this.last?.yielded && enabled.length > 1 && this.ruled(this.last) && this.offered(this.last, enabled)) {
        const yielder = this.last
        enabled = enabled.filter((t) => t !== yielder)
      }
      const current = this.last !== undefined && this.offered(this.last, enabled) ? this.last.name : undefined
      const expiring = this.options.timeouts === "any" ? this.expirable(enabled) : noTasks
      let candidates: Array<Candidate> = this.runnableCandidates
      if (enabled !== all || expiring.length > 0) {
        candidates = this.candidateBuf
        candidates.length = 0
        for (const t of enabled) candidates.push(t.pending!.candidate)
        for (const t of expiring) candidates.push({ task: t.name, op: `${t.pending!.op.label}${TIMEOUT}` })
      }
      const index = this.chooser.pick(
        this.recordFootprints ? this.historicPoint(candidates, current, all, enabled) : { step: this.step, candidates, current }
      )
      const task = index < enabled.length ? enabled[index] : expiring[index - enabled.length]
      if (task === undefined) throw new Error(`strategy picked candidate ${index} of ${candidates.length}`)
      if (current !== undefined && task.name !== current) this.preemptions++
      if (index >= enabled.length) {
        // The timeout expires now: time passes (firing the timers due on the way) to its deadline.
        this.advanceTo(task.pending!.op.deadline!)
        this.apply(task, current !== undefined && task.name !== current, TIMEOUT)
      } else this.apply(task, current !== undefined && task.name !== current)
      if (this.finding) return { _tag: "Found", finding: this.finding }
      if (this.stepsSinceProgress >= this.options.livelockBound) return this.noProgress()
    }
  }

  /** The choice point with what a partial-order reduction must know about the engine's history-dependent rules here. */
  private historicPoint(
    candidates: ReadonlyArray<Candidate>,
    current: string | undefined,
    all: ReadonlyArray<Task>,
    enabled: ReadonlyArray<Task>
  ): ChoicePoint {
    const withheld = all.length === enabled.length ? noNames : all.filter((t) => !enabled.includes(t)).map((t) => t.name)
    // The rules can narrow the candidate set only while a task spins (fairness) or right after a
    // yield. Whether a task spins is a function of its own steps (a failed trylock, the same
    // attempt failing twice, a yield inside a streak), which equivalent executions share; a task
    // that failed one attempt (a cmpxchg used as a test) and has not failed it again cannot make
    // the fairness rule fire, whatever the order of the other tasks' steps, so such points are
    // plain. Where a rule fired, `withheld` says so and the strategy falls back further.
    const historic = (this.last?.yielded === true && this.ruled(this.last)) || this.anySpinning(all)
    return { step: this.step, candidates, current, withheld, historic }
  }

  /**
   * Whether every task of `tasks` spins, so that virtual time may advance now: a spinning CPU
   * does not stop time, and a spin may need a timed sleeper's end. Spinning (a failed trylock,
   * the same attempt failing twice, a yield in a retry streak) is a function of the task's own
   * steps. A task that failed one attempt — a cmpxchg used as a test — is in a retry streak but
   * does not spin: it goes on without anyone's help, so it does not let time pass. (When it
   * did, whether time jumped to a sleeper's timeout depended on whether that sleeper parked
   * before or after the tester's next, unrelated steps: independent steps whose order partial-
   * order reduction explores one way, so DPOR missed the other outcome — dpor.test.ts, "a
   * failed cmpxchg used as a test is no spin".)
   */
  private allSpinning(tasks: ReadonlyArray<Task>): boolean {
    for (const t of tasks) if (!t.spinning) return false
    return true
  }

  /** Whether a task of `tasks` spins, for the fairness rule. */
  private anySpinning(tasks: ReadonlyArray<Task>): boolean {
    for (const t of tasks) if (t.spinning && this.ruled(t)) return true
    return false
  }

  /**
   * Whether the fairness and yield rules apply to `t`: not to a task in a retry streak that has
   * written nothing so far, under spin-assume (`spinStep`). Such a task goes round at most once
   * more and then waits for a write, so it can starve no one; withholding the others for it
   * would only make the candidate sets depend on the order of past steps. A streak that wrote
   * (a retry loop that takes and drops a lock) stays under the rules until it ends. Waiting on a
   * wait queue and leaving it is no write (primitives/WaitQueue.ts): the merged esw_wq_handler's
   * loop is exempt.
   */
  private ruled(t: Task): boolean {
    return !this.spinAssume || this.spinReleased || !t.retrying || t.wrote
  }

  /** Whether `t` is among `enabled` (the runnable set, or a narrowing of it). */
  private offered(t: Task, enabled: ReadonlyArray<Task>): boolean {
    return enabled === this.runnable ? t.ready : enabled.includes(t)
  }

  /** Parks `task` at `pending` (undefined: it runs, or has ended); the next refresh re-evaluates it. */
  private park(task: Task, pending: Pending | undefined): void {
    task.pending = pending
    this.mark(task)
  }

  /** The next refresh re-evaluates `task`. */
  private mark(task: Task): void {
    if (!task.dirty) {
      task.dirty = true
      this.dirty.push(task)
    }
  }

  /**
   * Brings `runnable` up to date, re-evaluating only what can have changed since the last refresh:
   * the tasks that parked, ran or ended (`dirty`), and the `watched` ones. A task is runnable when
   * its pending op is enabled (`isEnabled`) and no other task keeps it off its CPU. Why that is
   * exactly what a scan of every task would find, with no trust in footprints:
   *
   * - an op without `enabled` is enabled unless it has a deadline still ahead: its readiness
   *   changes only when time advances, and every time advance (`fireAt`, which also runs timer
   *   callbacks: arbitrary code) sets `rescan`;
   * - an op with `enabled` may read any state, a model's plain objects included, that any task
   *   may change between two points: such a task is watched, and re-evaluated at every refresh;
   * - unless the op names the keys its `enabled` reads (`Op.enabledReads`: a primitive's own
   *   state, changed only by that primitive's ops, whose footprints write its key): its value
   *   can change only in a step that writes one of those keys or declares no footprint
   *   (`wakeKeyed` marks the task then), or when time advances (a rescan). Engine tests run
   *   every scenario with `checkReadiness`, which compares each refresh with a full scan;
   * - a task bound to a CPU depends on the state of the other tasks there: watched too;
   * - an unbound task's CPU is its own (`Cpus.blocker` is undefined for it).
   *
   * So the candidates offered, and their order (creation order, as before), are the full scan's.
   * The saving is every task parked at an op that needs no re-evaluation (unlock, atomic ops, a
   * start), and every ended one. `full`: re-evaluate every live task anyway (time advanced, or
   * nothing is runnable: a run never ends as stuck on a cached verdict).
   */
  private refresh(full = false): void {
    if (this.dirty.length > 0) {
      for (const t of this.dirty) {
        t.dirty = false
        this.classify(t)
        if (t.done) {
          if (t.ready) this.unready(t)
          const i = position(this.live, t.index)
          if (this.live[i] === t) this.live.splice(i, 1)
        } else this.update(t, true)
      }
      this.dirty.length = 0
    }
    if (full || this.rescan) {
      this.rescan = false
      for (const t of this.live) this.update(t)
    } else for (const t of this.watched) this.update(t)
    if (this.options.checkReadiness) this.checkReadiness()
  }

  /** Debug check (`EngineOptions.checkReadiness`): the cached readiness is what a full scan finds. */
  private checkReadiness(): void {
    for (const t of this.live) {
      if (this.readyNow(t) !== t.ready)
        throw new Error(
          `engine: stale readiness of ${t.name} at ${t.pending?.op.label ?? "no op"} after step ${this.step}` +
            " (an op's enabledReads misses a key its enabled reads, or a step changed it without writing that key)"
        )
    }
  }

  /** Marks the tasks whose `enabled` reads a key this step's declared footprint writes (every one: it declared none). */
  private wakeKeyed(footprint: ReadonlyArray<Access> | undefined): void {
    if (footprint === undefined) {
      for (const waiting of this.keyWaiters.values()) for (const t of waiting) this.mark(t)
      return
    }
    for (const a of footprint) {
      if (a.mode !== "write") continue
      const waiting = this.keyWaiters.get(a.key)
      if (waiting !== undefined) for (const t of waiting) this.mark(t)
    }
  }

  /** Whether `t` can run now: its pending op enabled, not waiting as a spinner, its CPU free. */
  private readyNow(t: Task): boolean {
    const p = t.pending
    return (
      p !== undefined && t.spinWait === undefined && this.isEnabled(p.op) && (!this.cpus.used || this.cpus.blocker(t.cpu) === undefined)
    )
  }

  /**
   * Re-evaluates whether `t` is runnable now, and moves it into or out of `runnable`. `parked`:
   * its pending op changed, so its candidate too (typically a task that ran and parked again).
   */
  private update(t: Task, parked = false): void {
    const p = t.pending
    const ready = this.readyNow(t)
    if (ready === t.ready) {
      if (ready && parked) this.runnableCandidates[position(this.runnable, t.index)] = p!.candidate
      return
    }
    if (!ready) {
      this.unready(t)
      return
    }
    const i = position(this.runnable, t.index)
    this.runnable.splice(i, 0, t)
    this.runnableCandidates.splice(i, 0, p!.candidate)
    t.ready = true
  }

  private unready(t: Task): void {
    const i = position(this.runnable, t.index)
    this.runnable.splice(i, 1)
    this.runnableCandidates.splice(i, 1)
    t.ready = false
  }

  /** Puts a task whose pending op changed into the sets its new op needs (`watched`, `timed`). */
  private classify(t: Task): void {
    const op = t.pending?.op
    const keys = op?.enabled !== undefined && t.cpu.cpu === undefined ? op.enabledReads : undefined
    if (keys !== t.keys) {
      if (t.keys !== undefined) {
        for (const key of t.keys) this.keyWaiters.get(key)?.delete(t)
        this.keyed--
      }
      t.keys = keys
      if (keys !== undefined) {
        for (const key of keys) {
          const waiting = this.keyWaiters.get(key)
          if (waiting === undefined) this.keyWaiters.set(key, new Set([t]))
          else waiting.add(t)
        }
        this.keyed++
      }
    }
    const watch = op !== undefined && keys === undefined && (op.enabled !== undefined || t.cpu.cpu !== undefined)
    if (watch && t.watch < 0) {
      t.watch = this.watched.length
      this.watched.push(t)
    } else if (!watch && t.watch >= 0) {
      const last = this.watched.pop()!
      if (last !== t) {
        this.watched[t.watch] = last
        last.watch = t.watch
      }
      t.watch = -1
    }
    const timed = op?.deadline !== undefined
    if (timed !== t.timed) {
      const i = position(this.timed, t.index)
      if (timed) this.timed.splice(i, 0, t)
      else this.timed.splice(i, 1)
      t.timed = timed
    }
  }

  private isEnabled(op: Op<unknown>): boolean {
    if (op.deadline !== undefined && this.now >= op.deadline) return true
    if (op.enabled === undefined) return op.deadline === undefined
    return op.enabled()
  }

  /** Tasks waiting with a deadline still ahead (timed waits and sleeps), in task order. */
  private expirable(enabled: ReadonlyArray<Task>): ReadonlyArray<Task> {
    if (this.timed.length === 0) return noTasks
    const out: Array<Task> = []
    for (const t of this.timed) {
      const d = t.pending?.op.deadline
      if (d !== undefined && d > this.now && !this.offered(t, enabled)) out.push(t)
    }
    return out
  }

  private apply(task: Task, preempted: boolean, suffix = ""): void {
    const { op, resume } = task.pending!
    this.park(task, undefined)
    const observed = this.options.observers.length > 0
    const heldBefore = observed ? task.held.slice() : noHeld
    const cpuBefore = observed ? snapshot(task.cpu) : undefined
    this.currentTask = task
    // Collects the clock reads of apply (a timeout's remaining time).
    if (this.collect) this.stepFootprint = []
    const result = op.apply()
    this.currentTask = undefined
    const declared = typeof op.footprint === "function" ? op.footprint(result) : op.footprint
    if (this.keyed > 0) this.wakeKeyed(declared)
    if (task.cpu.cpu !== undefined) {
      // A step on a shared CPU reads it (an interrupt there would have stopped it); a handler's
      // first step writes it (from then on what it interrupted cannot run).
      const started = task.cpu.context !== "process" && !task.cpu.started
      task.cpu.started = true
      this.stepFootprint?.push({ key: cpuKey(task.cpu.cpu), mode: started ? "write" : "read" })
    }
    if (this.collect) {
      const during = this.stepFootprint!
      // A timeout that expires early moved the clock: that step may affect anything.
      this.stepFootprint = declared === undefined || suffix !== "" ? undefined : declared.concat(during)
      // An op with a deadline was enabled by the clock, or could have been: it reads it.
      if (op.deadline !== undefined) this.stepFootprint?.push(clockRead)
      // A spinner's first step after its wait reads what it waited on: the write that woke it
      // comes before it in every equivalent execution.
      if (task.woken !== undefined) {
        for (const key of task.woken) this.stepFootprint?.push({ key, mode: "read" })
        task.woken = undefined
      }
    }
    this.hb?.op(task.index, declared)
    let changed = false
    const released: Array<HeldLock> | undefined = this.recordFootprints ? [] : undefined
    if (op.releases !== undefined) {
      if (typeof op.releases === "string") changed = release(task, op.releases, released) || changed
      else for (const r of op.releases(result)) changed = release(task, r, released) || changed
    }
    const held = op.holds?.(result)
    let acquired: ReadonlyArray<HeldLock> | undefined
    if (held !== undefined) {
      acquired = Array.isArray(held) ? (held as ReadonlyArray<HeldLock>) : [held as HeldLock]
      task.held.push(...acquired)
      const at: TakenAt = { op: op.label, func: task.stack[task.stack.length - 1] }
      for (let i = 0; i < acquired.length; i++) task.heldAt.push(at)
      changed = true
    }
    if (changed) task.holds = task.held.length === 0 ? noHolds : task.held.map((h) => h.resource)
    let progress: boolean
    if (op.spin === "attempt" || op.spin === "trylock") {
      progress = op.succeeded?.(result) ?? true
      if (progress) endStreak(task)
      else {
        if (!task.retrying) task.retryDepth = task.stack.length
        if (op.spin === "trylock" || task.lastFailed === op.label) task.spinning = true
        task.retrying = true
        task.lastFailed = op.label
        task.failedOp = op
      }
    } else if (op.spin === "yield") {
      progress = false
      if (task.retrying) task.spinning = true
    } else progress = !task.retrying
    task.yielded = op.spin === "yield"
    const failed = (op.spin === "attempt" || op.spin === "trylock") && !progress
    this.stepsSinceProgress = progress ? 0 : this.stepsSinceProgress + 1
    this.steps.push({ _tag: "Run", task: task.name, op: op.label + suffix })
    if (this.options.recordTrace) {
      // Built field by field: spreads allocate, and this runs at every step.
      const event: Mutable<TraceEvent> = { step: this.step, time: this.now, kind: "op", task: task.name, name: op.name }
      if (op.resource) event.resource = op.resource.id
      const shown = op.show?.(result)
      if (shown !== undefined) event.result = shown
      event.holds = task.holds
      if (task.stack.length > 0) event.func = task.stack[task.stack.length - 1]!
      if (preempted) event.preempted = true
      if (this.options.captureState) event.state = this.snapshot()
      this.trace.push(event)
    }
    if (observed) {
      // One event for every observer (it is read-only), built without spreads: this runs at every step.
      const event: Mutable<OpEvent> = {
        task: task.name,
        op,
        lockEvents: op.lockEvents?.(result) ?? noLockEvents,
        heldBefore,
        func: task.stack[task.stack.length - 1],
        step: this.step
      }
      if (cpuBefore !== undefined) {
        event.cpuBefore = cpuBefore
        event.cpu = snapshot(task.cpu)
      }
      for (const o of this.options.observers) o.onOp(event)
    }
    task.lastRun = this.step
    const step = this.step++
    this.last = task
    this.scheduler.ops = 0
    resume(Effect.succeed(result))
    this.scheduler.dispatcher.flush()
    if (this.spinAssume) this.spinStep(task, step, this.stepFootprint, failed)
    if (this.recordFootprints) {
      const record: Mutable<StepRecord> = { step, task: task.name, op: op.label, footprint: this.stepFootprint }
      if (acquired !== undefined && op.enabled !== undefined) record.acquired = acquired
      if (released !== undefined && released.length > 0) record.released = released
      this.chooser.stepped!(record)
    }
    this.stepFootprint = undefined
  }

  /**
   * Spin-assume: GenMC's and Nidhugg's transformation of await loops, done at run time on the
   * footprints. A retry loop (a streak of failed trylocks or cmpxchgs, `Op.spin`) that went once
   * round — from its failed attempt back to the same attempt — writing nothing, and whose every
   * read still holds (no write of that key since the task read it), would only go round again:
   * a read-only iteration's only effect is the task's own program counter, and where the loop
   * goes next depends only on what it read (a retry loop carries no other state from one
   * iteration to the next — the assumption the livelock bound and the yield rule already make).
   * So the task waits, not runnable, until some step writes a key the iteration read (then its
   * next step reads those keys, so that write stays before it), or until no one else can run
   * (see `drive`). What is lost is only repetitions of the same iteration on the same state:
   * no state, no finding. Whether a task waits is a function of its own steps and of the writes
   * ordered with its reads, which equivalent executions share, so partial-order reduction
   * treats the wait as a blocking op whose enabling write it depends on.
   */
  private spinStep(task: Task, step: number, fp: ReadonlyArray<Access> | undefined, failed: boolean): void {
    const armed = this.armedTimer
    this.armedTimer = false
    // This step's writes wake whoever waits on them.
    if (fp === undefined) {
      this.wildWrite = step
      if (this.spinBlocked > 0) for (const t of this.live) if (t.spinWait !== undefined) this.wake(t)
    } else {
      for (const a of fp) {
        if (a.mode !== "write") continue
        this.lastWrite.set(a.key, step)
        if (this.spinBlocked > 0) this.wakeOn(a.key)
      }
    }
    if (failed) task.iteration = { start: step, reads: new Map(), clean: true }
    else if (!task.retrying) task.iteration = undefined
    const it = task.iteration
    if (it === undefined) return
    if (fp === undefined || armed) it.clean = false
    else {
      for (const a of fp) {
        if (a.mode === "write") it.clean = false
        else it.reads.set(a.key, step)
      }
    }
    if (!it.clean) task.wrote = true
    // Back at the attempt that failed, having written nothing, with every read still current.
    if (!it.clean || this.spinReleased || task.done || task.pending?.candidate.op !== task.lastFailed) return
    if (this.wildWrite > it.start) return
    for (const [key, at] of it.reads) if ((this.lastWrite.get(key) ?? -1) > at) return
    task.iteration = undefined
    const keys = [...it.reads.keys()]
    task.spinWait = keys
    this.spinBlocked++
    for (const key of keys) {
      const waiting = this.spinWaiters.get(key)
      if (waiting === undefined) this.spinWaiters.set(key, new Set([task]))
      else waiting.add(task)
    }
    this.mark(task)
  }

  /** Wakes the spinners waiting for a write of `key`. */
  private wakeOn(key: string): void {
    const waiting = this.spinWaiters.get(key)
    if (waiting !== undefined && waiting.size > 0) for (const t of [...waiting]) this.wake(t)
  }

  /** Ends a spinner's wait (a key it read was written, or it is let go). */
  private wake(t: Task): void {
    const keys = t.spinWait!
    for (const key of keys) this.spinWaiters.get(key)?.delete(t)
    t.spinWait = undefined
    t.woken = keys
    this.spinBlocked--
    this.mark(t)
  }

  /** A kernel cell access by the running task (or, outside any task, an invariant's read). */
  private access(key: string, mode: "read" | "write", kind: "plain" | "marked" | "ghost" | "free", freed?: string): void {
    // Inside Op.apply the dispatcher runs, not the task's fiber: what apply reads (a wait
    // condition, a ghost check) belongs to the task whose op it is.
    const fiber = this.currentTask === undefined ? Fiber.getCurrent() : undefined
    const task = this.currentTask ?? (fiber === undefined ? undefined : this.byFiber.get(fiber))
    if (task === undefined) {
      if (this.checking) this.invariantReads.add(key)
      return
    }
    this.stepFootprint?.push({ key, mode })
    if (this.hb === undefined || kind === "ghost") return
    const access: Mutable<CellAccess> = {
      task: task.name,
      mode,
      marked: kind === "marked",
      step: Math.max(0, this.step - 1),
      func: task.stack[task.stack.length - 1],
      holds: task.holds
    }
    if (kind === "free") access.free = freed ?? key
    const race = this.hb.access(key, task.index, access)
    if (race !== undefined && this.finding === undefined) this.finding = this.makeFinding(raceProblem(race))
  }

  /** Advances virtual time to `target`, firing every timer due on the way in order. */
  private advanceTo(target: number): void {
    while (true) {
      let next = Number.POSITIVE_INFINITY
      for (const t of this.timers) if (t.armed && t.at < next) next = t.at
      if (next > target) break
      this.fireAt(next)
    }
    this.fireAt(target)
  }

  /** Virtual time, as read by the running step (part of its footprint). */
  private readClock(): number {
    this.stepFootprint?.push(clockRead)
    return this.now
  }

  /** Advances virtual time to the next deadline; false if there is none. */
  private advanceTime(): boolean {
    let next = Number.POSITIVE_INFINITY
    for (const t of this.timed) {
      const d = t.pending?.op.deadline
      if (d !== undefined && d > this.now && d < next) next = d
    }
    for (const t of this.timers) if (t.armed && t.at < next) next = t.at
    if (next === Number.POSITIVE_INFINITY) return false
    this.fireAt(next)
    return true
  }

  private fireAt(time: number): void {
    this.now = Math.max(this.now, time)
    // Deadlines passed, and timer callbacks may change anything: every readiness is re-evaluated.
    this.rescan = true
    if (this.options.recordTrace) this.trace.push({ step: this.step, time: this.now, kind: "time", task: "clock", name: "advance" })
    const due = this.timers.filter((t) => t.armed && t.at <= this.now).sort((a, b) => a.at - b.at || a.seq - b.seq)
    this.scheduler.ops = 0
    for (const t of due) {
      t.armed = false
      this.timers.splice(this.timers.indexOf(t), 1)
      t.fire()
    }
    this.scheduler.dispatcher.flush()
    if (this.spinAssume) {
      // Time moved (a write of the clock); timer callbacks may have written anything.
      this.lastWrite.set("clock", this.step)
      if (due.length > 0) this.wildWrite = this.step
      if (this.spinBlocked > 0) {
        if (due.length > 0) {
          for (const t of this.live) if (t.spinWait !== undefined) this.wake(t)
        } else this.wakeOn("clock")
      }
    }
    this.chooser.advanced?.(due.length > 0)
  }

  private quiescent(): Outcome {
    const stuck = this.tasks.filter((t) => !t.done && !(t.daemon && t.pending?.op.idle))
    if (stuck.length > 0) {
      for (const o of this.options.observers) {
        if (o.onStuck === undefined) continue
        for (const t of stuck) {
          const op = t.pending?.op
          if (op !== undefined && !this.isEnabled(op))
            o.onStuck({ task: t.name, op, heldBefore: t.held.slice(), func: t.stack[t.stack.length - 1], step: this.step })
        }
      }
      const blocked = stuck.map((t) => this.describeBlocked(t))
      const cycle = findCycle(blocked)
      // Spinning on a spinlock or rwlock whose holder cannot run is a deadlock, not an endless
      // cond-read: lockdep and the kernel call it one (the spinner is marked `spinning`).
      const spinning = blocked.filter((b) => b.spinning && !SPINLOCK_WAITS.has(b.waitKind))
      const problem: Problem =
        spinning.length > 0
          ? { _tag: "Livelock", reason: "endless-spin", spinning, blocked: blocked.filter((b) => !b.spinning), cycle, steps: 0 }
          : { _tag: "Deadlock", blocked, cycle }
      return { _tag: "Found", finding: this.makeFinding(problem) }
    }
    const broken = this.checkAll(this.invariants.filter((i) => i.when === "eventual"))
    if (broken) return { _tag: "Found", finding: broken }
    return { _tag: "Finished" }
  }

  private noProgress(): Outcome {
    const live = this.tasks.filter((t) => !t.done && !(t.daemon && t.pending?.op.idle))
    // A task in a retry streak is described at the attempt it keeps failing, not wherever in its
    // loop the bound happened to stop it: one livelock, one report, whatever the interleaving.
    const described = live.map((t) => this.describeBlocked(t, t.retrying ? t.failedOp : undefined))
    const spinning = described.filter((_, i) => live[i]!.retrying).map((b) => ({ ...b, spinning: true }))
    const blocked = described.filter((_, i) => !live[i]!.retrying)
    // Only tasks that cannot run wait for anyone: an enabled pending op (an unlock) is no wait.
    const waiting = blocked.filter((_, i) => {
      const op = live.filter((t) => !t.retrying)[i]!.pending?.op
      return op !== undefined && !this.isEnabled(op)
    })
    return {
      _tag: "Found",
      finding: this.makeFinding({
        _tag: "Livelock",
        reason: "no-progress",
        spinning,
        blocked,
        cycle: findCycle(waiting),
        steps: this.stepsSinceProgress
      })
    }
  }

  private describeBlocked(t: Task, at?: Op<unknown>): BlockedTask {
    const op = at ?? t.pending?.op
    const func = t.stack[t.stack.length - 1]
    // Ready, but its CPU is taken: by the handler that interrupted it, or a thread that disabled preemption.
    const cpuHolder = op !== undefined && this.isEnabled(op) && this.cpus.used ? this.cpus.blocker(t.cpu) : undefined
    if (cpuHolder !== undefined) {
      return {
        task: t.name,
        op: op!.label,
        resource: `cpu${t.cpu.cpu}`,
        waitKind: cpuHolder.context === "process" ? "cpu (preemption disabled)" : `cpu (interrupted by ${cpuHolder.context})`,
        holders: [cpuHolder.name],
        holds: t.held.map((h) => h.resource),
        spinning: false,
        ...(func !== undefined ? { func } : {})
      }
    }
    const spin = t.retrying && op !== undefined && op.spin !== undefined
    const holders = op?.resource?.holders() ?? []
    const behind = op?.behind?.()
    const exited = holders.filter((h) => this.byName.get(h)?.done === true)
    return {
      task: t.name,
      op: op?.label ?? "<suspended outside the kernel>",
      ...(op?.resource ? { resource: op.resource.id } : {}),
      waitKind: op?.waitKind ?? (op ? op.name : "unknown"),
      holders,
      ...(behind !== undefined && behind.length > 0 ? { behind } : {}),
      ...(exited.length > 0 ? { exited } : {}),
      holds: t.held.map((h) => h.resource),
      spinning: op?.busyWait === true || spin,
      ...(func !== undefined ? { func } : {})
    }
  }

  private checkAll(invariants: ReadonlyArray<Invariant>): Finding | undefined {
    for (const inv of invariants) {
      // Only what safety invariants read is an observed key for partial-order reduction: they are
      // checked at every intermediate state, which equivalent executions do not share. Eventual
      // ones run once, at quiescence, on the final state, which every execution of one
      // Mazurkiewicz class reaches (same writes per key, in the same order), so their reads need
      // no extra dependency.
      this.checking = inv.when === "safety"
      const r = inv.check()
      this.checking = false
      if (r !== true) {
        return this.makeFinding({ _tag: "InvariantViolation", invariant: inv.name, when: inv.when, message: r, state: this.snapshot() })
      }
    }
    return undefined
  }

  private makeFinding(problem: Problem): Finding {
    return { problem, step: this.step, time: this.now, summary: summarize(problem) }
  }

  private snapshot(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [name, read] of this.probes) out[name] = read()
    for (const r of this.resources) out[r.id] = r.state()
    return out
  }

  // ---------------------------------------------------------------------------
  // Tasks and the kernel service

  private newTask(name: string, daemon: boolean, options?: SpawnOptions): Task {
    let unique = name
    for (let n = 2; this.byName.has(unique); n++) unique = `${name}#${n}`
    const context = options?.context ?? "process"
    // An interrupt handler always has a CPU (0 unless told): it interrupts the tasks bound there.
    const cpu = onCpu(unique, options?.cpu ?? (context === "process" ? undefined : 0), context)
    this.cpus.add(cpu)
    const task: Task = {
      name: unique,
      index: this.tasks.length,
      cpu,
      daemon,
      pending: undefined,
      done: false,
      ready: false,
      dirty: false,
      watch: -1,
      keys: undefined,
      timed: false,
      held: [],
      heldAt: [],
      stack: [],
      retrying: false,
      retryDepth: 0,
      lastRun: -1,
      holds: noHolds,
      yielded: false,
      spinning: false,
      lastFailed: undefined,
      failedOp: undefined,
      iteration: undefined,
      wrote: false,
      spinWait: undefined,
      woken: undefined
    }
    this.tasks.push(task)
    this.live.push(task)
    this.byName.set(unique, task)
    return task
  }

  private attach(task: Task, fiber: Fiber.Fiber<unknown, unknown>): void {
    this.byFiber.set(fiber, task)
    fiber.addObserver((exit) => this.onExit(task, exit))
  }

  private onExit(task: Task, exit: Exit.Exit<unknown, unknown>): void {
    // Ending is a write of the task that `join` reads: joining orders after everything it did.
    this.stepFootprint?.push({ key: `task:${task.name}`, mode: "write" })
    this.hb?.release(task.index, `task:${task.name}`)
    task.done = true
    task.cpu.done = true
    // A handler's return lets what it interrupted continue: a write of its CPU.
    if (task.cpu.cpu !== undefined) this.stepFootprint?.push({ key: cpuKey(task.cpu.cpu), mode: "write" })
    this.park(task, undefined)
    if (this.options.recordTrace) this.trace.push({ step: this.step, time: this.now, kind: "exit", task: task.name, name: exit._tag })
    if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause) && this.finding === undefined) {
      const err = Cause.squash(exit.cause)
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      this.finding = this.makeFinding({ _tag: "Defect", task: task.name, message: `task died: ${message}` })
    }
    if (this.finding === undefined) {
      const left = this.stillHeld(task)
      if (left.length > 0) {
        const message = heldAtExit(task.name, left)
        if (this.options.recordTrace) this.trace.push({ step: this.step, time: this.now, kind: "warn", task: task.name, name: message })
        this.finding = this.makeFinding({ _tag: "Defect", task: task.name, message })
      }
    }
  }

  /**
   * Locks a task still holds as it ends (lockdep_sys_exit / debug_check_no_locks_held): its own
   * holds of the locks lockdep tracks that the resource still attributes to it. A home-grown
   * lock (a lock-like atomic) is invisible to lockdep, and handing it to another task to clear
   * is legitimate, so it is left out.
   */
  private stillHeld(task: Task): ReadonlyArray<HeldLock & TakenAt> {
    const out: Array<HeldLock & TakenAt> = []
    task.held.forEach((h, i) => {
      const r = this.resourceById.get(h.resource)
      if (r?.kind === "atomic-lock") return
      if (r === undefined || r.holders().includes(task.name)) out.push({ ...h, ...task.heldAt[i]! })
    })
    return out
  }

  private applying(): Task {
    if (this.currentTask === undefined) throw new Error("the CPU state is only valid inside Op.apply")
    return this.currentTask
  }

  /**
   * might_sleep() in atomic context (a spinlock held, interrupts or bottom halves disabled, an
   * interrupt handler): the kernel's "BUG: sleeping function called from invalid context".
   */
  private atomicSleepCheck(task: Task, op: Op<unknown>): void {
    if (this.finding !== undefined || !atomic(task.cpu)) return
    if (!(op.mightSleep ?? mightSleep(op))) return
    const c = task.cpu
    const func = task.stack[task.stack.length - 1]
    const held = task.held.filter(
      (h) => this.resourceById.get(h.resource)?.kind.startsWith("spin") || this.resourceById.get(h.resource)?.kind.startsWith("rwlock")
    )
    const message = `BUG: sleeping function called from invalid context at ${op.label}${func !== undefined ? ` in ${func}()` : ""}: in_atomic(): 1, irqs_disabled(): ${c.irqsDisabled ? 1 : 0}, context: ${c.context}, name: ${task.name}${held.length > 0 ? `; holding ${held.map((h) => h.resource).join(", ")}` : ""}`
    if (this.options.recordTrace) this.trace.push({ step: this.step, time: this.now, kind: "warn", task: task.name, name: message })
    this.finding = this.makeFinding({ _tag: "Defect", task: task.name, message })
  }

  private parkAt<A>(task: Task, op: Op<A>): Effect.Effect<A> {
    return Effect.callback<A>((resume) => {
      this.park(task, { op: op as Op<unknown>, resume: resume as Pending["resume"], candidate: { task: task.name, op: op.label } })
    })
  }

  private taskOf(fiber: Fiber.Fiber<unknown, unknown>): Task {
    const task = this.byFiber.get(fiber)
    if (task === undefined) {
      throw new Error("a kernel primitive was used outside a task: start threads of control with Kernel.spawn")
    }
    return task
  }

  /** A task passed the op bound between two points: the run ends with the runaway finding. */
  private runaway(fiber: Fiber.Fiber<unknown, unknown>, ops: number): void {
    if (this.finding !== undefined) return
    const task = this.byFiber.get(fiber)
    const func = task?.stack[task.stack.length - 1]
    const name = task?.name ?? "<a fiber outside Kernel.spawn>"
    if (this.options.recordTrace)
      this.trace.push({ step: this.step, time: this.now, kind: "warn", task: name, name: `runaway after ${ops} Effect operations` })
    this.finding = this.makeFinding({ _tag: "Runaway", task: name, ops, ...(func !== undefined ? { func } : {}) })
  }

  private warnUnsafe(task: string, message: string): void {
    if (this.options.recordTrace) this.trace.push({ step: this.step, time: this.now, kind: "warn", task, name: message })
    if (this.finding === undefined) this.finding = this.makeFinding({ _tag: "Defect", task, message: `WARNING: ${message}` })
  }

  /**
   * might_sleep(): an operation that may sleep, reached while the task holds something that makes
   * its context atomic (`HeldLock.atomic`), is reported when it is reached — as the kernel's
   * might_sleep() / rcu_sleep_check() do on every call — whether or not it would block now.
   */
  private sleepCheck(task: Task, op: Op<unknown>): void {
    const atomic = task.held.find((h) => h.atomic !== undefined)
    if (atomic === undefined || this.finding !== undefined) return
    const func = task.stack[task.stack.length - 1]
    const held = task.held.map((h) => h.lockClass).join(", ")
    const message = `${atomic.atomic}: ${op.label}${func !== undefined ? ` in ${func}` : ""}; held: ${held}`
    if (this.options.recordTrace) this.trace.push({ step: this.step, time: this.now, kind: "warn", task: task.name, name: message })
    this.finding = this.makeFinding({ _tag: "Defect", task: task.name, message })
  }

  private makeKernel(): Kernel["Service"] {
    // The register function runs on the calling fiber, so the current fiber names the task.
    const point = <A>(op: Op<A>): Effect.Effect<A> =>
      Effect.callback<A>((resume) => {
        const task = this.taskOf(Fiber.getCurrent()!)
        this.atomicSleepCheck(task, op as Op<unknown>)
        this.park(task, { op: op as Op<unknown>, resume: resume as Pending["resume"], candidate: { task: task.name, op: op.label } })
        if (task.held.length > 0 && (op.mightSleep ?? mightSleep(op as Op<unknown>))) this.sleepCheck(task, op as Op<unknown>)
      })
    const spawn = (name: string, body: Effect.Effect<void, unknown, Kernel>, options?: SpawnOptions) =>
      Effect.withFiber((parent) =>
        Effect.suspend(() => {
          const task = this.newTask(name, options?.daemon === true, options)
          const parentTask = this.byFiber.get(parent)
          this.hb?.spawn(parentTask?.index, task.index)
          this.stepFootprint?.push({ key: `task:${task.name}`, mode: "write" })
          if (this.options.recordTrace)
            this.trace.push({ step: this.step, time: this.now, kind: "spawn", task: parentTask?.name ?? "setup", name: task.name })
          // A daemon's code up to its first point is local bookkeeping: it needs no "start" step.
          const first = task.daemon ? Effect.void : this.parkAt(task, startOf(task.name))
          return Effect.forkDetach(Effect.andThen(first, Effect.provideService(body, Kernel, kernel))).pipe(
            Effect.map((fiber): TaskHandle => {
              this.attach(task, fiber)
              return { name: task.name, isDone: () => task.done }
            })
          )
        })
      )
    const join = (handle: TaskHandle) =>
      point<void>({
        name: "join",
        label: `join(${handle.name})`,
        waitKind: "join",
        resource: {
          id: `task:${handle.name}`,
          kind: "task",
          lockClass: "task",
          holders: () => (handle.isDone() ? [] : [handle.name]),
          state: () => (handle.isDone() ? "done" : "running")
        },
        enabled: handle.isDone,
        apply: () => undefined,
        footprint: [{ key: `task:${handle.name}`, mode: "read" }]
      })
    const choose = (label: string, count: number) =>
      Effect.withFiber((fiber) =>
        Effect.sync(() => {
          const task = this.taskOf(fiber)
          const index = count <= 1 ? 0 : this.chooser.choose(label, count, this.step)
          this.steps.push({ _tag: "Choose", label, index })
          if (this.options.recordTrace)
            this.trace.push({ step: this.step, time: this.now, kind: "op", task: task.name, name: "choose", result: `${label}=${index}` })
          return index
        })
      )
    const warn = (message: string) => Effect.withFiber((fiber) => Effect.sync(() => this.warnUnsafe(this.taskOf(fiber).name, message)))
    const call = <A, E, R>(component: string, fn: string, body: Effect.Effect<A, E, R>) =>
      Effect.withFiber((fiber) => {
        const task = this.taskOf(fiber)
        task.stack.push(fn)
        if (this.options.recordTrace)
          this.trace.push({ step: this.step, time: this.now, kind: "call", task: task.name, name: fn, component })
        return Effect.onExit(body, () =>
          Effect.sync(() => {
            task.stack.pop()
            // Returning from the function that began a retry streak means the loop was left (gave up or requeued).
            if (task.retrying && task.stack.length < task.retryDepth) endStreak(task)
            if (this.options.recordTrace)
              this.trace.push({ step: this.step, time: this.now, kind: "return", task: task.name, name: fn, component })
          })
        )
      })
    const kernel: Kernel["Service"] = Kernel.of({
      point,
      spawn,
      join,
      choose,
      warn,
      call,
      register: (r) => {
        // Ids name instances: a second resource under a taken id would be a second, unrelated lock
        // that every report confuses with the first. Thrown at make time, so the model's task dies
        // with this message (a defect finding naming it).
        const taken = this.resourceById.get(r.id)
        if (taken !== undefined) throw new Error(duplicateId(taken, r))
        this.resourceById.set(r.id, r)
        this.resources.push(r)
      },
      probe: (name, read) => {
        this.probes.push([name, read])
      },
      timer: (afterMs, fire) => {
        this.stepFootprint?.push(clockRead)
        this.armedTimer = true
        const t: Timer = { at: this.now + afterMs, seq: this.timerSeq++, fire, armed: true }
        this.timers.push(t)
        return () => {
          t.armed = false
          const i = this.timers.indexOf(t)
          if (i >= 0) this.timers.splice(i, 1)
        }
      },
      now: () => this.readClock(),
      access: (key, mode, kind, freed) => this.access(key, mode, kind, freed),
      current: () => {
        if (this.currentTask === undefined) throw new Error("Kernel.current() is only valid inside Op.apply")
        return this.currentTask.name
      },
      running: () => {
        const fiber = Fiber.getCurrent()
        return fiber === undefined ? undefined : this.byFiber.get(fiber)?.name
      },
      where: () => {
        const fiber = Fiber.getCurrent()
        const task = fiber === undefined ? undefined : this.byFiber.get(fiber)
        return task === undefined ? [] : task.stack.slice()
      },
      heldBy: (task) => this.byName.get(task)?.held ?? [],
      cpuState: () => snapshot(this.applying().cpu),
      setCpu: (change) => {
        const c = this.applying().cpu
        const before = c.irqsDisabled
        if (change.irqs !== undefined) c.irqsDisabled = change.irqs
        if (change.bh !== undefined) c.bhDisabled += change.bh
        if (change.preempt !== undefined) c.preemptDisabled += change.preempt
        if (c.cpu !== undefined) this.stepFootprint?.push({ key: cpuKey(c.cpu), mode: "write" })
        return before
      },
      invariant: (inv) => {
        this.invariants.push(inv)
      }
    })
    return kernel
  }

  private makeClock(kernel: Kernel["Service"]): Clock.Clock {
    const nowNanos = () => BigInt(this.readClock()) * 1_000_000n
    return {
      currentTimeMillisUnsafe: () => this.readClock(),
      currentTimeMillis: Effect.sync(() => this.readClock()),
      currentTimeNanosUnsafe: nowNanos,
      currentTimeNanos: Effect.sync(nowNanos),
      monotonicTimeNanosUnsafe: nowNanos,
      monotonicTimeNanos: Effect.sync(nowNanos),
      // Effect.sleep in a model is msleep on the virtual clock.
      sleep: (d: Duration.Duration) => Effect.provideService(msleep(Duration.toMillis(d)), Kernel, kernel)
    }
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const noHeld: ReadonlyArray<HeldLock> = []
const noNames: ReadonlyArray<string> = []
const noLockEvents: ReadonlyArray<LockEvent> = []
/** What an `OpObserver` is told of one applied op. */
type OpEvent = Parameters<OpObserver["onOp"]>[0]
/** Wait kinds of spinning lock acquisitions (Spinlock, RwLock). */
const SPINLOCK_WAITS: ReadonlySet<string> = new Set(["spinlock", "rwlock-read", "rwlock-write"])
const noTasks: ReadonlyArray<Task> = []

/** Where the task with creation index `index` is, or would go, in `list` (sorted by index). */
const position = (list: ReadonlyArray<Task>, index: number): number => {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid]!.index < index) lo = mid + 1
    else hi = mid
  }
  return lo
}
/** Suffix of a candidate (and schedule step) that lets a pending timeout expire now. */
const TIMEOUT = " [timeout]"

/**
 * Whether an operation may sleep (might_sleep()): it can block (it has `enabled`) or waits for
 * time (a deadline), and it is not a busy-wait or an idle daemon's wait; or it is cond_resched(),
 * which the kernel checks as might_resched().
 */
const mightSleep = (op: Op<unknown>): boolean =>
  ((op.enabled !== undefined || op.deadline !== undefined) && op.busyWait !== true && op.idle !== true) || op.name === "cond_resched"

const endStreak = (task: Task): void => {
  task.wrote = false
  task.retrying = false
  task.spinning = false
  task.lastFailed = undefined
  task.failedOp = undefined
}

/** Removes the task's last hold of `resource` (into `into`, if given); whether anything was removed. */
const release = (task: Task, resource: string, into: Array<HeldLock> | undefined): boolean => {
  const i = task.held.findLastIndex((h) => h.resource === resource)
  if (i < 0) return false
  into?.push(task.held[i]!)
  task.held.splice(i, 1)
  task.heldAt.splice(i, 1)
  return true
}

/** Lockdep's report of a task that ends holding locks, with where each was taken. */
const heldAtExit = (task: string, left: ReadonlyArray<HeldLock & TakenAt>): string =>
  `WARNING: lock held when returning to user space! ${task} is leaving the kernel with locks still held! ${left.length} lock${left.length === 1 ? "" : "s"} held by ${task}: ${left
    .map(
      (h, i) =>
        `#${i}: ${h.resource} (${h.lockClass}${h.mode === "read" ? ", read" : ""}) taken by ${h.op}${h.func !== undefined ? ` in ${h.func}()` : ""}`
    )
    .join("; ")}`

const duplicateId = (taken: Resource, again: Resource): string =>
  `two resources made with id "${again.id}" in one run (a ${taken.kind} and now a ${again.kind}): an id names one instance; give the second its own id (its lock class may be shared)`

/** A one-line summary of a problem. */
export const summarize = (problem: Problem): string => {
  switch (problem._tag) {
    case "Deadlock": {
      if (problem.cycle.length > 0) return `deadlock: ${problem.cycle.map((e) => edgeInWords(e)).join("; ")}`
      // No cycle: name the holders that have gone (they will never release), if any.
      return `deadlock: ${problem.blocked
        .map((b) => `${b.task} blocked in ${b.op}${b.exited?.length ? `, held by ${b.exited.join(", ")}, which exited` : ""}`)
        .join("; ")}`
    }
    case "Livelock":
      return problem.reason === "endless-spin"
        ? `livelock (endless spin): ${problem.spinning.map((s) => `${s.task} spins in ${s.op}${s.holds.length ? ` holding ${s.holds.join(", ")}` : ""}`).join("; ")}`
        : `livelock: ${problem.spinning.map((s) => `${s.task} retries ${s.op}`).join("; ")} with no progress for ${problem.steps} steps`
    case "InvariantViolation":
      return `invariant ${problem.invariant} broken: ${problem.message}`
    case "Defect":
      return `${problem.task}: ${problem.message}`
    case "DataRace": {
      const side = (a: (typeof problem)["first"]) =>
        `${a.task} ${a.mode === "write" ? "writes" : "reads"}${a.marked ? " (marked)" : ""}${a.func ? ` in ${a.func}` : ""}${a.holds.length ? ` holding ${a.holds.join(", ")}` : " holding no lock"}`
      return `data race on ${problem.cell}: ${side(problem.first)}; ${side(problem.second)}; no happens-before order between them`
    }
    case "Runaway":
      return `task ${problem.task} ran ${problem.ops} Effect operations without a scheduling point in ${problem.func ?? "its body"}`
  }
}

const raceAccess = (a: Race["first"]) => ({
  task: a.task,
  mode: a.mode,
  marked: a.marked,
  step: a.step,
  holds: [...a.holds],
  ...(a.func !== undefined ? { func: a.func } : {})
})

const raceProblem = (race: Race): Problem => {
  // A free with no happens-before order with an access of the object: the access can come after
  // it (KASAN's use-after-free), whichever order this run took. Reported as the access's task.
  const free = race.first.free !== undefined ? race.first : race.second.free !== undefined ? race.second : undefined
  if (free !== undefined) {
    const user = free === race.first ? race.second : race.first
    const where = user.func === undefined ? user.task : `${user.task} in ${user.func}`
    return { _tag: "Defect", task: user.task, message: `WARNING: use-after-free: ${free.free} still reached by ${where}` }
  }
  return { _tag: "DataRace", cell: race.cell, first: raceAccess(race.first), second: raceAccess(race.second) }
}
