/**
 * The kernel seam: the one service through which model fibers interact.
 *
 * Every primitive (mutex, rw-semaphore, atomic, workqueue, completion, wait
 * queue, sleep) is built on `Kernel.point`: the calling task parks with a
 * description of the operation it is about to perform, and the kernel decides
 * when (and whether) it runs. Between two points exactly one model task runs,
 * which is what makes a run a pure function of its schedule.
 *
 * The explorer provides a controlled kernel (see `Explorer`); a model never
 * depends on which one it runs under.
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type { Invariant } from "./Invariant.ts"
import type { HeldLock } from "./Trace.ts"

/**
 * Anything a task can wait for or hold: a lock, a workqueue, a completion...
 * Resources are registered with the kernel so that deadlock reports can name
 * holders and renderers can show the state.
 *
 * @category models
 * @since 0.1.0
 */
export interface Resource {
  /** Instance name, unique within a run: `devlink`, `esw->work_queue`. */
  readonly id: string
  /** Primitive kind: `mutex`, `rwsem`, `atomic`, `workqueue`, `completion`, `waitqueue`. */
  readonly kind: string
  /** Lock class (lockdep's key) for lock-order analysis: shared by all instances of a kind of lock. */
  readonly lockClass: string
  /** Tasks that currently hold the resource (or must finish before a waiter can proceed). */
  readonly holders: () => ReadonlyArray<string>
  /** A short human-readable state for snapshots, e.g. `owner=devlink-user`. */
  readonly state: () => string
}

/**
 * How an operation relates to livelock detection and fair scheduling.
 * - `trylock`: a try-lock; a failure means "retry or give up", so the task spins from its
 *   first failure until it succeeds or leaves the function that tried;
 * - `attempt`: a conditional update (cmpxchg); one failure is an ordinary branch, failing
 *   the same attempt again (or yielding) in the same streak is a spin;
 * - `yield`: `cond_resched()` / `cpu_relax()` inside a retry loop.
 *
 * @category models
 * @since 0.1.0
 */
export type SpinRole = "trylock" | "attempt" | "yield"

/**
 * A lockdep-visible effect of an operation, consumed by lock-order analysis.
 * `acquire` adds held-lock dependencies; `touch` is an acquire immediately
 * followed by a release (flush, drain, cancel_work_sync, waits).
 *
 * @category models
 * @since 0.1.0
 */
export interface LockEvent {
  readonly type: "acquire" | "release" | "touch"
  readonly lockClass: string
  readonly resource: string
  readonly mode: "write" | "read" | "recursive-read"
  /** A successful trylock adds no dependency on the held locks (lockdep's trylock rule). */
  readonly trylock?: boolean
}

/**
 * One access of a step's footprint: the kernel object (a resource id or a
 * kernel cell's key) and whether it was read or written. Lock acquire and
 * release, queueing and completing are writes of the object; a failed trylock
 * or a plain `atomic_read` is a read. Two steps are dependent (their order can
 * matter) when they touch the same key and at least one writes.
 *
 * @example
 * ```ts
 * import type { Access } from "@drvmodel/core"
 * const lock: Access = { key: "devlink", mode: "write" }
 * ```
 * @category models
 * @since 0.2.0
 */
export interface Access {
  readonly key: string
  readonly mode: "read" | "write"
}

/**
 * One operation at a scheduling point. `apply` runs atomically when the
 * scheduler picks the task; until `enabled()` holds the task is blocked.
 *
 * @example
 * ```ts
 * import type { Op } from "@drvmodel/core"
 * let flag = false
 * const setFlag: Op<void> = { name: "WRITE_ONCE", label: "WRITE_ONCE(flag)", apply: () => { flag = true } }
 * ```
 * @category models
 * @since 0.1.0
 */
export interface Op<A> {
  /** Kernel function: `mutex_lock`, `queue_work`, `atomic_cmpxchg`. */
  readonly name: string
  /** Stable label used in schedules: `mutex_lock(devlink)`. */
  readonly label: string
  readonly resource?: Resource
  /** Whether the operation can proceed now. Omitted: always. */
  readonly enabled?: () => boolean
  /**
   * The keys `enabled` reads, when that is all it reads: its value can then change only in a
   * step whose footprint writes one of them (or declares none), or when time advances, and the
   * engine re-evaluates the blocked op only after such a step instead of after every step.
   * A promise the engine checks in tests (`checkReadiness`), so give it only for a primitive's
   * own state, written by that primitive's ops alone. Omitted: `enabled` may read anything.
   */
  readonly enabledReads?: ReadonlyArray<string>
  /** Performs the operation; called once, when the task is picked. */
  readonly apply: () => A
  /** Virtual time (ms) at which the operation becomes enabled regardless (timeouts, sleeps). */
  readonly deadline?: number
  /** Kind of wait while blocked, for reports: `lock`, `rwsem-read`, `drain`, `completion`... */
  readonly waitKind?: string
  /**
   * Tasks the blocked operation waits behind without their holding the resource: a new
   * `down_read` waits behind a queued writer. The wait-for cycle search follows them first.
   */
  readonly behind?: () => ReadonlyArray<string>
  /**
   * Whether the operation may sleep (`might_sleep()`): a finding when called in atomic context.
   * Omitted: an op that blocks (`enabled`) or has a deadline and is not a busy-wait may sleep.
   */
  readonly mightSleep?: boolean
  /** Busy-wait: the task burns CPU while blocked (cond-read spin), rather than sleeping. */
  readonly busyWait?: boolean
  /** An idle daemon (a workqueue worker with nothing to do) is not "stuck". */
  readonly idle?: boolean
  readonly spin?: SpinRole
  /** For `attempt` ops: whether the result was a success. */
  readonly succeeded?: (a: A) => boolean
  /** Rendering of the result for traces. */
  readonly show?: (a: A) => string | undefined
  /** Locks held by the task after the operation (added to what it held). */
  readonly holds?: (a: A) => HeldLock | ReadonlyArray<HeldLock> | undefined
  /** Resources released by the operation. */
  readonly releases?: string | ((a: A) => ReadonlyArray<string>)
  /** Lock events for lock-order analysis. */
  readonly lockEvents?: (a: A) => ReadonlyArray<LockEvent>
  /**
   * What the operation itself touches (its result may narrow it: a failed trylock only reads).
   * Omitted: the operation is dependent with every other step — never unsound, only slow for
   * partial-order reduction, and a happens-before edge with everything for the race check.
   * The kernel cells the task then touches before its next point are added by the engine.
   */
  readonly footprint?: ReadonlyArray<Access> | ((a: A) => ReadonlyArray<Access>)
}

/**
 * Execution context of a task: a thread (`process`), a softirq handler, or a
 * hard interrupt handler.
 *
 * @example
 * ```ts
 * import type { ExecutionContext } from "@drvmodel/core"
 * const irq: ExecutionContext = "hardirq"
 * ```
 * @category models
 * @since 0.3.0
 */
export type ExecutionContext = "process" | "softirq" | "hardirq"

/**
 * What the running task's CPU state is (see `Irq`): its context, whether it
 * disabled interrupts, its bottom-half and preemption disable depths.
 *
 * @example
 * ```ts
 * import type { CpuState } from "@drvmodel/core"
 * const thread: CpuState = { context: "process", cpu: 0, irqsDisabled: false, bhDisabled: 0, preemptDisabled: 0 }
 * ```
 * @category models
 * @since 0.3.0
 */
export interface CpuState {
  readonly context: ExecutionContext
  /** The CPU the task is bound to; undefined: a CPU of its own (nothing interrupts it). */
  readonly cpu: number | undefined
  /** `local_irq_disable()` / `spin_lock_irqsave()` in force (always true in a hard interrupt handler). */
  readonly irqsDisabled: boolean
  /** `local_bh_disable()` depth (`spin_lock_bh()`). */
  readonly bhDisabled: number
  /** `preempt_disable()` depth (every spinlock held). */
  readonly preemptDisabled: number
}

/**
 * Options for spawning a task.
 *
 * @category models
 * @since 0.1.0
 */
export interface SpawnOptions {
  /**
   * Bind the task to a CPU: interrupt handlers bound to the same CPU may run between any two
   * of its steps (unless it disabled them), and while one runs the task cannot. Unbound tasks
   * each have a CPU of their own.
   */
  readonly cpu?: number
  /**
   * An interrupt handler (`hardirq`) or softirq: one interrupt, which may arrive at any step of
   * the tasks on its CPU that allow it, then runs to completion before they continue. Default `process`.
   */
  readonly context?: ExecutionContext
  /**
   * A daemon (workqueue worker) may stay parked on an idle op at quiescence, and
   * starts without a "start" step: its code up to its first point must be local.
   */
  readonly daemon?: boolean
}

/**
 * A handle on a spawned task.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskHandle {
  readonly name: string
  readonly isDone: () => boolean
}

/**
 * The kernel service. Models obtain it once (`yield* Kernel`) when they build
 * their components; primitives capture it, so model code reads like the C.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Kernel } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const kernel = yield* Kernel
 *   yield* kernel.spawn("devlink-user", Effect.void)
 * })
 * ```
 * @category services
 * @since 0.1.0
 */
export class Kernel extends Context.Service<
  Kernel,
  {
    /** Park the current task at a scheduling point and perform `op` when picked. */
    readonly point: <A>(op: Op<A>) => Effect.Effect<A>
    /** Start an independent thread of control. Its first step is a scheduling point. */
    readonly spawn: (name: string, body: Effect.Effect<void, unknown, Kernel>, options?: SpawnOptions) => Effect.Effect<TaskHandle>
    /** Wait until a task has finished. */
    readonly join: (task: TaskHandle) => Effect.Effect<void>
    /** A nondeterministic data choice among `count` branches, made by the strategy. */
    readonly choose: (label: string, count: number) => Effect.Effect<number>
    /** Record a WARN (unlock by non-owner, failed assertion...): a `defect` finding. */
    readonly warn: (message: string) => Effect.Effect<void>
    /** Run `body` as the modelled kernel function `fn` of `component` (traced, no scheduling point). */
    readonly call: <A, E, R>(component: string, fn: string, body: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    /** Register a resource (for reports and snapshots). */
    readonly register: (resource: Resource) => void
    /** Register a named state probe shown in snapshots and used by invariants. */
    readonly probe: (name: string, read: () => string) => void
    /** Arm a timer on the virtual clock; returns a disarm function. Timers fire between steps. */
    readonly timer: (afterMs: number, fire: () => void) => () => void
    /** Virtual time in milliseconds. */
    readonly now: () => number
    /**
     * Record an access to a kernel cell by the running task (see `Cell`): part of the step's
     * footprint and, unless `ghost`, checked for data races. Outside a task: an observer's read.
     * `free` is the free of a slab object (`Slab`, a write): an access with no happens-before order
     * with it is a use-after-free, reported as `use-after-free: <freed> still reached by …`, where
     * `freed` (e.g. `cfg#1 freed after grace period`) says what was freed and how.
     */
    readonly access: (key: string, mode: "read" | "write", kind: "plain" | "marked" | "ghost" | "free", freed?: string) => void
    /** Name of the task whose operation is being applied (valid inside `Op.apply`). */
    readonly current: () => string
    /**
     * Name of the task whose fiber is running now (between two points, where `current` is not
     * valid); undefined outside any task. Used by checks that must not add a point (lock contracts).
     */
    readonly running: () => string | undefined
    /**
     * The modelled call stack of the running task (`Kernel.call` frames, innermost last), for
     * reports that name the function (use-after-free). Optional: the plain `LiveKernel` keeps none.
     */
    readonly where?: () => ReadonlyArray<string>
    /** Locks currently held by a task. */
    readonly heldBy: (task: string) => ReadonlyArray<HeldLock>
    /** The applying task's CPU state (valid inside `Op.apply`). */
    readonly cpuState: () => CpuState
    /**
     * Changes the applying task's CPU state (inside `Op.apply`): `irqs` sets whether interrupts
     * are disabled and returns the previous setting (local_irq_save/restore), `bh` and `preempt`
     * add to the disable depths. Every change is a write of the CPU (footprint `cpu:<n>`).
     */
    readonly setCpu: (change: { readonly irqs?: boolean; readonly bh?: 1 | -1; readonly preempt?: 1 | -1 }) => boolean
    /** Check `invariant` during this run (after every step, or at quiescence). */
    readonly invariant: (invariant: Invariant) => void
  }
>()("@drvmodel/core/Kernel") {}
