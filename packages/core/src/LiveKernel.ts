/**
 * A second `Kernel`: runs a model plainly on Effect's own runtime, with no
 * explorer. Tasks are fibers interleaved by the default scheduler; time is
 * the `Clock` in context, so under `@effect/vitest`'s `it.effect` the
 * `TestClock` drives `msleep`, timeouts and delayed work.
 *
 * Every operation still goes through `Kernel.point`: an enabled operation is
 * applied atomically (apply, held-lock bookkeeping, safety invariants, wake
 * waiters), then the task yields; a disabled one parks until something
 * changes or its `deadline` passes on the clock. There is no deadlock or
 * livelock detection (that is the explorer's job): a deadlocked model never
 * finishes, so tests bound `run` with `Effect.timeout` or drive it with
 * `TestClock`.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Effect, Fiber, Latch, Layer, Random, type Scope } from "effect"
import type { Invariant } from "./Invariant.ts"
import { type CpuState, Kernel, type Op, type Resource, type SpawnOptions, type TaskHandle } from "./Kernel.ts"
import type { HeldLock } from "./Trace.ts"

/**
 * The task a fiber runs for, provided at spawn: `current()` and held-lock
 * bookkeeping read it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LiveKernel } from "@drvmodel/core"
 * const name = Effect.withFiber((fiber) => Effect.succeed(fiber.getRef(LiveKernel.CurrentTask)))
 * ```
 * @category references
 * @since 0.1.0
 */
export const CurrentTask = Context.Reference<string>("@drvmodel/core/LiveKernel/CurrentTask", { defaultValue: () => "setup" })

/**
 * A broken invariant: the first violation of each invariant is kept.
 *
 * @example
 * ```ts
 * import type { LiveKernel } from "@drvmodel/core"
 * const v: LiveKernel.Violation = { invariant: "no-lost-update", when: "eventual", message: "counter is 1", step: 6 }
 * ```
 * @category models
 * @since 0.1.0
 */
export interface Violation {
  readonly invariant: string
  readonly when: Invariant["when"]
  readonly message: string
  /** Operations applied when it was seen. */
  readonly step: number
}

/**
 * What a live run observed.
 *
 * @example
 * ```ts
 * import type { LiveKernel } from "@drvmodel/core"
 * const clean = (r: LiveKernel.LiveResult) => r.warnings.length + r.invariantViolations.length + r.defects.length === 0
 * ```
 * @category models
 * @since 0.1.0
 */
export interface LiveResult {
  /** WARNs, as `task: message`. */
  readonly warnings: ReadonlyArray<string>
  readonly invariantViolations: ReadonlyArray<Violation>
  /** Tasks that died (failed or threw), as `task: message`. */
  readonly defects: ReadonlyArray<string>
  /** Operations applied (scheduling points passed, joins included). */
  readonly steps: number
  /** Clock time from the start of the run to its end. */
  readonly timeMs: number
  /** Whether `maxSteps` stopped the run (a model spinning forever). */
  readonly hitStepLimit: boolean
  /** Probes and resource states at the end. */
  readonly snapshot: Readonly<Record<string, string>>
}

/**
 * Options of a live run. `maxSteps` (default unbounded) stops a model that spins forever.
 *
 * @example
 * ```ts
 * import type { LiveKernel } from "@drvmodel/core"
 * const o: LiveKernel.LiveOptions = { maxSteps: 100_000 }
 * ```
 * @category models
 * @since 0.1.0
 */
export interface LiveOptions {
  readonly maxSteps?: number
}

/**
 * A started run. `settled` waits until every task is parked at a kernel point
 * or finished and the kernel's sleeper (if any) sleeps on the clock: the
 * moment to `TestClock.adjust`. `result` waits for quiescence: non-daemon
 * tasks finished, daemons idle, no timer armed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TestClock } from "effect/testing"
 * import { LiveKernel, Sched } from "@drvmodel/core"
 * const test = Effect.gen(function*() {
 *   const live = yield* LiveKernel.start(Sched.msleep(10))
 *   yield* live.settled
 *   yield* TestClock.adjust("10 millis")
 *   return yield* live.result
 * })
 * ```
 * @category models
 * @since 0.1.0
 */
export interface LiveRun {
  readonly settled: Effect.Effect<void>
  readonly result: Effect.Effect<LiveResult>
  readonly isDone: () => boolean
}

interface Task {
  readonly name: string
  readonly daemon: boolean
  readonly held: Array<HeldLock>
  done: boolean
  /** The op the task is parked on (undefined while it runs, or once woken). */
  parked: Op<unknown> | undefined
  /** Its CPU state, kept so that save/restore pairs answer as in the kernel (nothing is interrupted here). */
  cpu: Mutable<CpuState>
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface Timer {
  readonly at: number
  readonly seq: number
  readonly fire: () => void
  /** A parked op's deadline, not a model timer: does not keep the run alive. */
  readonly deadline: boolean
}

interface Sleeper {
  readonly at: number
  sleeping: boolean
  fiber: Fiber.Fiber<void> | undefined
}

const isEnabled = (op: Op<unknown>, now: number): boolean => {
  if (op.deadline !== undefined && now >= op.deadline) return true
  if (op.enabled === undefined) return op.deadline === undefined
  return op.enabled()
}

/**
 * Starts `program` as task `setup` under a live kernel; its fibers belong to
 * the caller's scope (closing it interrupts them).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LiveKernel } from "@drvmodel/core"
 * const result = Effect.scoped(Effect.flatMap(LiveKernel.start(Effect.void), (live) => live.result))
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const start = (program: Effect.Effect<void, unknown, Kernel>, options?: LiveOptions): Effect.Effect<LiveRun, never, Scope.Scope> =>
  Effect.gen(function* () {
    const live = yield* make(options)
    yield* live.kernel.spawn("setup", program)
    return live.run
  })

/**
 * The live run of `layer`: wait for `settled` / `result` as with `start`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LiveKernel } from "@drvmodel/core"
 * const result = Effect.gen(function*() {
 *   const live = yield* LiveKernel.Live
 *   return yield* live.result
 * })
 * ```
 * @category services
 * @since 0.2.0
 */
export class Live extends Context.Service<Live, LiveRun>()("@drvmodel/core/LiveKernel/Live") {}

/**
 * The live kernel as a Layer: provides `Kernel` (and `Live`, to wait for the
 * run) to a program, which then plays the part of `setup` — it builds the
 * model and spawns its tasks; it is not itself a task, so it does not hold up
 * quiescence, and its own kernel operations (locking, sleeping) belong in a
 * spawned task. Tasks live in the layer's scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Kernel, LiveKernel, Sched } from "@drvmodel/core"
 * const result = Effect.gen(function*() {
 *   const kernel = yield* Kernel
 *   yield* kernel.spawn("sleeper", Sched.msleep(10))
 *   return yield* (yield* LiveKernel.Live).result
 * }).pipe(Effect.provide(LiveKernel.layer()))
 * ```
 * @category layers
 * @since 0.2.0
 */
export const layer = (options?: LiveOptions): Layer.Layer<Kernel | Live> =>
  Layer.effectContext(Effect.map(make(options), ({ kernel, run }) => Context.make(Kernel, kernel).pipe(Context.add(Live, run))))

/** A live kernel with no task yet, its run handle tied to the current scope. */
const make = (options?: LiveOptions): Effect.Effect<{ readonly kernel: Kernel["Service"]; readonly run: LiveRun }, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const clock = yield* Clock.Clock
    const t0 = clock.currentTimeMillisUnsafe()
    const now = () => clock.currentTimeMillisUnsafe() - t0
    const maxSteps = options?.maxSteps ?? Number.POSITIVE_INFINITY
    const tasks = new Map<string, Task>()
    const resources: Array<Resource> = []
    const probes: Array<readonly [string, () => string]> = []
    const invariants: Array<Invariant> = []
    const warnings: Array<string> = []
    const defects: Array<string> = []
    const violations: Array<Violation> = []
    const timers: Array<Timer> = []
    let seq = 0
    let steps = 0
    let applying: string | undefined
    // Outside a task's apply (never in a correct primitive) a plain thread's state.
    const cpuOf = (): Mutable<CpuState> =>
      (applying === undefined ? undefined : tasks.get(applying)?.cpu) ?? {
        context: "process",
        cpu: undefined,
        irqsDisabled: false,
        bhDisabled: 0,
        preemptDisabled: 0
      }
    let stopped = false
    let timersDirty = false
    let sleeper: Sleeper | undefined
    let final: LiveResult | undefined
    // `changed` wakes parked tasks after every change; `quiet` wakes whoever waits for `settled`/`result`.
    const changed = Latch.makeUnsafe()
    const quiet = Latch.makeUnsafe()

    const check = (when: Invariant["when"]) => {
      for (const inv of invariants) {
        if (inv.when !== when || violations.some((v) => v.invariant === inv.name)) continue
        const r = inv.check()
        if (r !== true) violations.push({ invariant: inv.name, when, message: r, step: steps })
      }
    }
    const arm = (at: number, fire: () => void, deadline: boolean): Timer => {
      const t: Timer = { at, seq: seq++, fire, deadline }
      timers.push(t)
      timersDirty = true
      return t
    }
    const disarm = (t: Timer) => {
      const i = timers.indexOf(t)
      if (i >= 0) timers.splice(i, 1)
      timersDirty = true
    }
    // One kernel-owned fiber sleeps on the Clock until the earliest timer; re-armed when timers change.
    const sleepUntil = (mine: Sleeper): Effect.Effect<void> =>
      Effect.gen(function* () {
        mine.sleeping = true
        yield* quiet.release
        yield* Effect.sleep(Math.max(0, mine.at - now()))
        if (sleeper !== mine) return
        sleeper = undefined
        const due = timers.filter((t) => t.at <= now()).sort((a, b) => a.at - b.at || a.seq - b.seq)
        for (const t of due) disarm(t)
        for (const t of due) t.fire()
        timersDirty = true
        check("safety")
        yield* afterChange
        yield* quiet.release
      })
    const syncTimers: Effect.Effect<void> = Effect.suspend(() => {
      if (!timersDirty) return Effect.void
      timersDirty = false
      let next: number | undefined
      for (const t of timers) if (next === undefined || t.at < next) next = t.at
      if (sleeper?.at === next) return Effect.void
      sleeper?.fiber?.interruptUnsafe()
      sleeper = undefined
      if (next === undefined) return Effect.void
      const mine: Sleeper = { at: next, sleeping: false, fiber: undefined }
      sleeper = mine
      return Effect.map(Effect.forkIn(sleepUntil(mine), scope), (fiber) => {
        mine.fiber = fiber
      })
    })
    const afterChange: Effect.Effect<void> = Effect.suspend(() => {
      let woken = false
      for (const t of tasks.values())
        if (t.parked !== undefined) {
          t.parked = undefined
          woken = true
        }
      const wake = woken ? Effect.andThen(changed.release, syncTimers) : syncTimers
      return stopped ? Effect.andThen(wake, quiet.release) : wake
    })

    const applyOp = <A>(task: Task, op: Op<A>): A => {
      applying = task.name
      let result: A
      try {
        result = op.apply()
      } finally {
        applying = undefined
      }
      if (op.releases !== undefined) {
        for (const r of typeof op.releases === "string" ? [op.releases] : op.releases(result)) {
          const i = task.held.findLastIndex((h) => h.resource === r)
          if (i >= 0) task.held.splice(i, 1)
        }
      }
      const held = op.holds?.(result)
      if (held !== undefined) task.held.push(...(Array.isArray(held) ? (held as ReadonlyArray<HeldLock>) : [held as HeldLock]))
      if (++steps >= maxSteps) stopped = true
      check("safety")
      return result
    }
    const point = <A>(op: Op<A>): Effect.Effect<A> =>
      Effect.withFiber((fiber) => {
        const task = tasks.get(fiber.getRef(CurrentTask))
        if (task === undefined)
          return Effect.die(new Error("a kernel primitive was used outside a task: start threads of control with Kernel.spawn"))
        let deadline: Timer | undefined
        const attempt: Effect.Effect<A> = Effect.suspend(() => {
          if (stopped) return Effect.never
          if (isEnabled(op as Op<unknown>, now())) {
            if (deadline !== undefined) disarm(deadline)
            const result = applyOp(task, op)
            return Effect.as(Effect.andThen(afterChange, Effect.yieldNow), result)
          }
          // The deadline is a kernel timer, so the one sleeper wakes the task when it passes.
          if (op.deadline !== undefined && deadline === undefined) deadline = arm(op.deadline, () => undefined, true)
          task.parked = op as Op<unknown>
          return Effect.andThen(syncTimers, Effect.andThen(quiet.release, Effect.andThen(changed.await, attempt)))
        })
        return attempt
      })

    const spawn = (name: string, body: Effect.Effect<void, unknown, Kernel>, options?: SpawnOptions): Effect.Effect<TaskHandle> =>
      Effect.suspend(() => {
        let unique = name
        for (let n = 2; tasks.has(unique); n++) unique = `${name}#${n}`
        const context = options?.context ?? "process"
        const task: Task = {
          name: unique,
          daemon: options?.daemon === true,
          held: [],
          done: false,
          parked: undefined,
          cpu: { context, cpu: options?.cpu, irqsDisabled: context === "hardirq", bhDisabled: 0, preemptDisabled: 0 }
        }
        tasks.set(unique, task)
        const onExit = Effect.onExit(body, (exit) =>
          Effect.suspend(() => {
            task.done = true
            task.parked = undefined
            if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
              const err = Cause.squash(exit.cause)
              defects.push(`${unique}: task died: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`)
            }
            return Effect.andThen(afterChange, quiet.release)
          })
        )
        const run = onExit.pipe(Effect.provideService(Kernel, kernel), Effect.provideService(CurrentTask, unique))
        return Effect.as(Effect.forkIn(run, scope), { name: unique, isDone: () => task.done })
      })

    const kernel: Kernel["Service"] = Kernel.of({
      point,
      spawn,
      join: (handle) =>
        point<void>({
          name: "join",
          label: `join(${handle.name})`,
          waitKind: "join",
          enabled: handle.isDone,
          footprint: [{ key: `task:${handle.name}`, mode: "read" }],
          apply: () => undefined
        }),
      choose: (_label, count) => (count <= 1 ? Effect.succeed(0) : Random.nextIntBetween(0, count, { halfOpen: true })),
      warn: (message) =>
        Effect.withFiber((fiber) => {
          const task = fiber.getRef(CurrentTask)
          warnings.push(`${task}: ${message}`)
          return Effect.logWarning(`WARNING: ${message}`).pipe(Effect.annotateLogs({ task }))
        }),
      call: (component, fn, body) => Effect.withSpan(body, fn, { attributes: { component } }),
      register: (r) => {
        // As under the explorer: an id names one instance.
        const taken = resources.find((x) => x.id === r.id)
        if (taken !== undefined)
          throw new Error(`two resources made with id "${r.id}" in one run (a ${taken.kind} and now a ${r.kind}): an id names one instance`)
        resources.push(r)
      },
      probe: (name, read) => {
        probes.push([name, read])
      },
      timer: (afterMs, fire) => {
        const t = arm(now() + afterMs, fire, false)
        return () => disarm(t)
      },
      now,
      // The plain runtime explores nothing: cell accesses need no record.
      access: () => undefined,
      current: () => {
        if (applying === undefined) throw new Error("Kernel.current() is only valid inside Op.apply")
        return applying
      },
      running: () => {
        const fiber = Fiber.getCurrent()
        return fiber === undefined ? undefined : fiber.getRef(CurrentTask)
      },
      heldBy: (task) => tasks.get(task)?.held ?? [],
      cpuState: () => cpuOf(),
      setCpu: (change) => {
        const c = cpuOf()
        const before = c.irqsDisabled
        if (change.irqs !== undefined) c.irqsDisabled = change.irqs
        if (change.bh !== undefined) c.bhDisabled += change.bh
        if (change.preempt !== undefined) c.preemptDisabled += change.preempt
        return before
      },
      invariant: (inv) => {
        invariants.push(inv)
      }
    })

    const settledNow = () => {
      for (const t of tasks.values()) if (!t.done && t.parked === undefined) return false
      return sleeper === undefined || sleeper.sleeping
    }
    const quiescent = () => {
      if (!settledNow() || timers.some((t) => !t.deadline)) return false
      for (const t of tasks.values()) if (!t.done && !(t.daemon && t.parked?.idle === true && !isEnabled(t.parked, now()))) return false
      return true
    }
    const waitFor = (cond: () => boolean): Effect.Effect<void> =>
      Effect.suspend(() => (cond() ? Effect.void : Effect.andThen(quiet.await, waitFor(cond))))
    const finish = Effect.sync((): LiveResult => {
      if (final !== undefined) return final
      if (!stopped) check("eventual")
      const snapshot: Record<string, string> = {}
      for (const [name, read] of probes) snapshot[name] = read()
      for (const r of resources) snapshot[r.id] = r.state()
      final = { warnings, invariantViolations: violations, defects, steps, timeMs: now(), hitStepLimit: stopped, snapshot }
      return final
    })

    const isDone = () => stopped || quiescent()
    return { kernel, run: { settled: waitFor(() => stopped || settledNow()), result: Effect.andThen(waitFor(isDone), finish), isDone } }
  })

/**
 * Runs `program` as task `setup` under a live kernel until every non-daemon
 * task has finished (daemons are then interrupted). A deadlocked model never
 * returns: bound it with `Effect.timeout`, or drive it with `TestClock`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LiveKernel } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * const result = await Effect.runPromise(LiveKernel.run(classic.scenario("abba", "fixed").program))
 * result.warnings // => []
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const run = (program: Effect.Effect<void, unknown, Kernel>, options?: LiveOptions): Effect.Effect<LiveResult> =>
  Effect.scoped(Effect.flatMap(start(program, options), (live) => live.result))
