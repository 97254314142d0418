/**
 * The lock-order observer: an `OpObserver` that turns the lock events of
 * every applied operation into dependencies of a `LockGraph`.
 *
 * Rules, after lockdep (kernel/locking/lockdep.c, kernel/workqueue.c):
 * - `acquire`: an edge from every lock the task holds to the acquired class,
 *   then the class is held until its `release`;
 * - trylock: a successful trylock adds no edge from the held locks (it cannot
 *   block), but later acquisitions while holding it depend on it as usual;
 * - `touch` (flush, drain, cancel_work_sync, completion and wait-queue
 *   waits): an acquisition immediately released, so edges in, nothing held;
 * - a touch by an operation with a timeout (`Op.deadline`:
 *   `wait_for_completion_timeout`, `wait_event_timeout`) adds nothing: the
 *   wait ends by itself, so it cannot close a deadlock [inferred: DEPT also
 *   leaves timed waits out];
 * - `complete()` / `complete_all()` / `wake_up*()` on a completion or wait
 *   queue while holding locks: an edge from the waited-for class to each held
 *   lock (the waiter depends on the signaller getting them: a narrowed form of
 *   lockdep's old cross-release, limited to locks held at the signal);
 * - a release of a lock another task holds (a lock-like atomic has no owner)
 *   drops that task's hold, so no stale edges follow;
 * - a blocking acquisition or untimed wait that never completes (the run
 *   ends stuck in it) adds its edges all the same: lockdep checks on request,
 *   so `mutex_lock(A); mutex_lock(A)` is "possible recursive locking";
 * - irq usage (lockdep's mark_usage): an acquisition in a hardirq or softirq
 *   handler sets `IN-HARDIRQ-W/R` / `IN-SOFTIRQ-W/R`; one with hard interrupts
 *   enabled `HARDIRQ-ON-W/R`, and with softirqs enabled too `SOFTIRQ-ON-W/R`;
 *   enabling interrupts or softirqs while holding locks sets the `-ON` bits of
 *   the held ones (mark_held_locks). `IrqUsage` reads the bits.
 *
 * Edges are added from every held lock, not only the innermost one as
 * lockdep does (it relies on transitivity); the result is the same set of
 * cycles with shorter, more direct chains.
 *
 * The held state is per run: a new run is recognised by its step 0.
 *
 * @since 0.1.0
 */
import type { OpObserver } from "../internal/engine.ts"
import type { CpuState, LockEvent, Op } from "../Kernel.ts"
import { depType, LockGraph, type Mode, type UsageBit } from "./LockGraph.ts"

/** Softirqs may run: a thread with bottom halves enabled (lockdep's `softirqs_enabled`). */
const softirqsEnabled = (cpu: CpuState): boolean => cpu.context === "process" && cpu.bhDisabled === 0

/**
 * A lock held by a task, with where it was taken.
 *
 * @category models
 * @since 0.1.0
 */
export interface HeldEntry {
  readonly lockClass: string
  readonly resource: string
  readonly mode: Mode
  readonly op: string
  readonly step: number
  readonly func: string | undefined
}

/**
 * An observer that feeds a graph; `graph` accumulates across every run it sees.
 *
 * @category models
 * @since 0.1.0
 */
export interface LockObserver extends OpObserver {
  readonly graph: LockGraph
  /** Locks `task` holds now (in the run being observed). */
  readonly held: (task: string) => ReadonlyArray<HeldEntry>
}

const SIGNALS = new Set(["complete", "complete_all", "wake_up", "wake_up_all"])
const SIGNALLED_KINDS = new Set(["completion", "waitqueue"])

/**
 * Creates an observer; pass it to `Explorer.explore` as `hooks.observers`.
 *
 * @example
 * ```ts
 * import { Explorer, LockOrder } from "@drvmodel/core"
 * import { classic } from "@drvmodel/examples"
 * const abba = classic.scenario("abba", "buggy")
 * const observer = LockOrder.observer()
 * Explorer.explore(abba, Explorer.options({ schedules: 10 }), { observers: [observer] })
 * LockOrder.cycles(observer.graph).length // => 1
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const observer = (graph: LockGraph = new LockGraph()): LockObserver => {
  let held = new Map<string, Array<HeldEntry>>()
  let run = -1
  const heldOf = (task: string): Array<HeldEntry> => {
    let h = held.get(task)
    if (h === undefined) {
      h = []
      held.set(task, h)
    }
    return h
  }
  const release = (task: string, e: LockEvent) => {
    const own = held.get(task)
    const i = own?.findLastIndex((h) => h.resource === e.resource) ?? -1
    if (i >= 0) {
      own!.splice(i, 1)
      return
    }
    for (const other of held.values()) {
      const j = other.findLastIndex((h) => h.resource === e.resource)
      if (j >= 0) {
        other.splice(j, 1)
        return
      }
    }
  }
  const edgeFrom =
    (task: string, op: Op<unknown>, func: string | undefined, step: number) =>
    (h: HeldEntry, toClass: string, toResource: string, mode: Mode, via: "acquire" | "touch" | "signal") => {
      graph.add({
        from: h.lockClass,
        to: toClass,
        type: depType(h.mode, mode),
        mode,
        task,
        func,
        step,
        run,
        op: op.label,
        via,
        fromResource: h.resource,
        toResource,
        fromOp: h.op,
        fromStep: h.step,
        fromFunc: h.func
      })
    }
  // lockdep's mark_usage() and mark_held_locks(): what the context of an acquisition (or an
  // interrupt enable while holding locks) says about each lock class.
  const mark = (lockClass: string, bit: UsageBit, task: string, op: Op<unknown>, func: string | undefined, step: number) =>
    graph.mark(lockClass, { usage: bit, task, op: op.label, func, step, run })
  const usageOfAcquire = (cpu: CpuState, read: boolean): ReadonlyArray<UsageBit> => {
    const rw = read ? "R" : "W"
    const bits: Array<UsageBit> = []
    if (cpu.context === "hardirq") bits.push(`IN-HARDIRQ-${rw}`)
    if (cpu.context === "softirq") bits.push(`IN-SOFTIRQ-${rw}`)
    if (!cpu.irqsDisabled) {
      bits.push(`HARDIRQ-ON-${rw}`)
      if (softirqsEnabled(cpu)) bits.push(`SOFTIRQ-ON-${rw}`)
    }
    return bits
  }
  return {
    graph,
    held: (task) => held.get(task) ?? [],
    onOp: ({ task, op, lockEvents, func, step, cpu, cpuBefore }) => {
      if (step === 0) {
        held = new Map()
        run = graph.runs++
      }
      graph.ops++
      const signal = op.resource !== undefined && SIGNALS.has(op.name) && SIGNALLED_KINDS.has(op.resource.kind)
      const irqsOn = cpu !== undefined && cpuBefore !== undefined && cpuBefore.irqsDisabled && !cpu.irqsDisabled
      const softirqsOn = cpu !== undefined && cpuBefore !== undefined && !softirqsEnabled(cpuBefore) && softirqsEnabled(cpu)
      if (lockEvents.length === 0 && !signal && !irqsOn && !softirqsOn) return
      const mine = heldOf(task)
      const edge = edgeFrom(task, op, func, step)
      for (const e of lockEvents) {
        graph.touchClass(e.lockClass)
        switch (e.type) {
          case "acquire":
            if (e.trylock !== true) for (const h of mine) edge(h, e.lockClass, e.resource, e.mode, "acquire")
            mine.push({ lockClass: e.lockClass, resource: e.resource, mode: e.mode, op: op.label, step, func })
            // Trylocks too: the usage is about the context, not about waiting.
            if (cpu !== undefined) for (const bit of usageOfAcquire(cpu, e.mode !== "write")) mark(e.lockClass, bit, task, op, func, step)
            break
          case "touch":
            if (op.deadline === undefined) for (const h of mine) edge(h, e.lockClass, e.resource, e.mode, "touch")
            break
          case "release":
            release(task, e)
            break
        }
      }
      // Enabling interrupts (or softirqs) with locks held makes them irq-unsafe (trace_hardirqs_on).
      if (irqsOn || softirqsOn) {
        for (const h of mine) {
          const rw = h.mode === "write" ? "W" : "R"
          if (irqsOn) mark(h.lockClass, `HARDIRQ-ON-${rw}`, task, op, func, step)
          if (softirqsEnabled(cpu!) && !cpu!.irqsDisabled) mark(h.lockClass, `SOFTIRQ-ON-${rw}`, task, op, func, step)
        }
      }
      if (signal && mine.length > 0) {
        const waited = op.resource!
        graph.touchClass(waited.lockClass)
        for (const h of mine) {
          graph.add({
            from: waited.lockClass,
            to: h.lockClass,
            type: depType("write", h.mode),
            mode: h.mode,
            task,
            func,
            step,
            run,
            op: op.label,
            via: "signal",
            fromResource: waited.id,
            toResource: h.resource,
            // For a signal, "from" is the signalled class; the held lock's acquisition is what matters.
            fromOp: h.op,
            fromStep: h.step,
            fromFunc: h.func
          })
        }
      }
    },
    // A blocking acquisition that never happened still counts, as lockdep checks it on request:
    // edges from what the task holds, nothing held after. Its events do not depend on the result
    // of an op that never ran (blocking acquires and untimed waits report them unconditionally).
    onStuck: ({ task, op, func, step }) => {
      const mine = held.get(task) ?? []
      if (op.lockEvents === undefined || mine.length === 0) return
      const edge = edgeFrom(task, op, func, step)
      for (const e of op.lockEvents(undefined)) {
        graph.touchClass(e.lockClass)
        if (e.trylock === true) continue
        if (e.type === "acquire" || (e.type === "touch" && op.deadline === undefined))
          for (const h of mine) edge(h, e.lockClass, e.resource, e.mode, e.type === "acquire" ? "acquire" : "touch")
      }
    }
  }
}
