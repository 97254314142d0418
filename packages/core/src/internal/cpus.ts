/**
 * CPUs, only as far as interrupts need them. A task may be bound to a CPU;
 * an interrupt handler (hardirq or softirq task) is bound to one. The rules,
 * after the kernel (kernel/softirq.c, include/linux/preempt.h):
 *
 * - a hard interrupt handler may start between any two steps of the tasks on
 *   its CPU unless one of them has interrupts disabled (`local_irq_disable`,
 *   `spin_lock_irqsave`) or another hard interrupt handler runs there (they
 *   do not nest); it runs with interrupts disabled;
 * - a softirq may start unless a task on its CPU has interrupts or bottom
 *   halves disabled (`local_bh_disable`, `spin_lock_bh`), or a handler runs
 *   there; a hard interrupt may interrupt a running softirq;
 * - while a handler runs, what it interrupted (every other task on its CPU)
 *   cannot: it continues when the handler returns;
 * - a thread that disabled preemption (holds a spinlock, or disabled bottom
 *   halves or interrupts) keeps its CPU: the other threads bound there wait.
 *
 * Unbound tasks have a CPU each: nothing interrupts them, nothing waits for
 * their CPU. A task that spins keeps the CPU, which is how a handler that
 * spins on a lock held by the task it interrupted never lets it go.
 */
import type { CpuState, ExecutionContext } from "../Kernel.ts"

/** One task's CPU state, owned by the engine's task record. */
export interface OnCpu {
  readonly name: string
  readonly cpu: number | undefined
  readonly context: ExecutionContext
  irqsDisabled: boolean
  bhDisabled: number
  preemptDisabled: number
  /** A handler has started (its first step ran) and runs until its task ends. */
  started: boolean
  done: boolean
}

/** A fresh state for a task spawned in `context` on `cpu`. */
export const onCpu = (name: string, cpu: number | undefined, context: ExecutionContext): OnCpu => ({
  name,
  cpu,
  context,
  irqsDisabled: context === "hardirq",
  bhDisabled: 0,
  preemptDisabled: 0,
  started: false,
  done: false
})

/** The state as `Kernel.cpuState` shows it. */
export const snapshot = (t: OnCpu): CpuState => ({
  context: t.context,
  cpu: t.cpu,
  irqsDisabled: t.irqsDisabled,
  bhDisabled: t.bhDisabled,
  preemptDisabled: t.preemptDisabled
})

/** Atomic context: sleeping here is "BUG: sleeping function called from invalid context". */
export const atomic = (t: OnCpu): boolean => t.context !== "process" || t.irqsDisabled || t.bhDisabled > 0 || t.preemptDisabled > 0

/** The footprint key of a CPU: its state changes write it, the steps of its tasks read it. */
export const cpuKey = (cpu: number): string => `cpu:${cpu}`

/** The tasks bound to each CPU. */
export class Cpus {
  private readonly on = new Map<number, Array<OnCpu>>()

  add(t: OnCpu): void {
    if (t.cpu === undefined) return
    const list = this.on.get(t.cpu)
    if (list === undefined) this.on.set(t.cpu, [t])
    else list.push(t)
  }

  /** Whether any CPU has tasks bound to it (otherwise no rule applies). */
  get used(): boolean {
    return this.on.size > 0
  }

  /** The task that keeps `t` from running on its CPU now, or undefined if it may run. */
  blocker(t: OnCpu): OnCpu | undefined {
    if (t.cpu === undefined || t.done) return undefined
    const all = this.on.get(t.cpu)!
    let hard: OnCpu | undefined
    let soft: OnCpu | undefined
    for (const u of all) {
      if (u === t || u.done || !u.started) continue
      if (u.context === "hardirq") hard ??= u
      else if (u.context === "softirq") soft ??= u
    }
    switch (t.context) {
      case "hardirq":
        if (t.started) return undefined
        if (hard !== undefined) return hard
        for (const u of all) if (u !== t && !u.done && u.irqsDisabled && (u.context === "process" || u.started)) return u
        return undefined
      case "softirq":
        if (hard !== undefined) return hard
        if (t.started) return undefined
        if (soft !== undefined) return soft
        for (const u of all)
          if (u !== t && !u.done && (u.irqsDisabled || u.bhDisabled > 0) && (u.context === "process" || u.started)) return u
        return undefined
      case "process":
        if (hard !== undefined) return hard
        if (soft !== undefined) return soft
        for (const u of all)
          if (u !== t && !u.done && u.context === "process" && (u.preemptDisabled > 0 || u.bhDisabled > 0 || u.irqsDisabled)) return u
        return undefined
    }
  }
}
