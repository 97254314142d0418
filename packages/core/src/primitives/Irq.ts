/**
 * Execution contexts: process (threads), softirq and hardirq (interrupt
 * handlers), and the calls that disable interrupts and bottom halves.
 *
 * An interrupt is a task bound to a CPU (`raise`): it may arrive between any
 * two steps of the tasks bound to that CPU — the strategy picks when, like any
 * other choice — unless one of them disabled interrupts (`local_irq_disable`,
 * `local_irq_save`, `spin_lock_irqsave`) or, for a softirq, bottom halves
 * (`local_bh_disable`, `spin_lock_bh`). Once it has started it runs to
 * completion before what it interrupted continues (see internal/cpus.ts for
 * the rules). A hard interrupt handler runs with interrupts disabled; nothing
 * in interrupt context may sleep ("BUG: sleeping function called from invalid
 * context"). Threads are bound to a CPU with `Kernel.spawn(name, body, { cpu })`;
 * unbound ones have a CPU each and are never interrupted.
 *
 * Not modelled: nested hard interrupts (the kernel runs handlers with
 * interrupts off), threaded irqs (a threaded handler is a process-context
 * task), ksoftirqd deferral, and interrupts raised again while pending (each
 * `raise` is one interrupt).
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { Kernel, type TaskHandle } from "../Kernel.ts"

/**
 * `local_irq_save()`'s saved state.
 *
 * @example
 * ```ts
 * import type { Irq } from "@drvmodel/core"
 * const flags: Irq.Flags = { irqsDisabled: true }
 * ```
 * @category models
 * @since 0.3.0
 */
export interface Flags {
  readonly irqsDisabled: boolean
}

/**
 * One interrupt on `cpu` whose handler is `handler`: a `hardirq` (default) or
 * a `softirq` (a tasklet, a timer callback, NET_RX...). It may arrive at any
 * step of the tasks bound to `cpu` that allow it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Irq, Kernel, Spinlock } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const kernel = yield* Kernel
 *   const lock = yield* Spinlock.make("priv->lock")
 *   yield* kernel.spawn("xmit", Effect.andThen(lock.lock, lock.unlock), { cpu: 0 })
 *   // Deadlocks when it arrives while xmit holds the lock: xmit should use spin_lock_irqsave.
 *   yield* Irq.raise("eth0-irq", { cpu: 0 }, Effect.andThen(lock.lock, lock.unlock))
 * })
 * ```
 * @category constructors
 * @since 0.3.0
 */
export const raise = (
  name: string,
  options: { readonly cpu: number; readonly kind?: "hardirq" | "softirq" },
  handler: Effect.Effect<void, unknown, Kernel>
): Effect.Effect<TaskHandle, never, Kernel> =>
  Kernel.use((kernel) => kernel.spawn(name, handler, { cpu: options.cpu, context: options.kind ?? "hardirq" }))

const cpuPoint = <A>(name: string, apply: (kernel: Kernel["Service"]) => A) =>
  Kernel.use((kernel) =>
    kernel.point<A>({
      name,
      label: name,
      // The CPU the task runs on is written by the change itself (the engine adds it).
      footprint: [],
      apply: () => apply(kernel)
    })
  )

/**
 * `local_irq_disable()`: no interrupt handler starts on this CPU until `localIrqEnable`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Irq } from "@drvmodel/core"
 * const critical = Effect.andThen(Irq.localIrqDisable, Irq.localIrqEnable)
 * ```
 * @category operations
 * @since 0.3.0
 */
export const localIrqDisable: Effect.Effect<void, never, Kernel> = Effect.asVoid(
  cpuPoint("local_irq_disable", (k) => k.setCpu({ irqs: true }))
)

/**
 * `local_irq_enable()`
 *
 * @example
 * ```ts
 * import { Irq } from "@drvmodel/core"
 * const enable = Irq.localIrqEnable
 * ```
 * @category operations
 * @since 0.3.0
 */
export const localIrqEnable: Effect.Effect<void, never, Kernel> = Effect.asVoid(
  cpuPoint("local_irq_enable", (k) => k.setCpu({ irqs: false }))
)

/**
 * `local_irq_save(flags)`: disables interrupts, returning whether they were already disabled.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Irq } from "@drvmodel/core"
 * const critical = Effect.flatMap(Irq.localIrqSave, (flags) => Irq.localIrqRestore(flags))
 * ```
 * @category operations
 * @since 0.3.0
 */
export const localIrqSave: Effect.Effect<Flags, never, Kernel> = cpuPoint("local_irq_save", (k) => ({
  irqsDisabled: k.setCpu({ irqs: true })
}))

/**
 * `local_irq_restore(flags)`
 *
 * @example
 * ```ts
 * import { Irq } from "@drvmodel/core"
 * const restore = Irq.localIrqRestore({ irqsDisabled: false })
 * ```
 * @category operations
 * @since 0.3.0
 */
export const localIrqRestore = (flags: Flags): Effect.Effect<void, never, Kernel> =>
  Effect.asVoid(cpuPoint("local_irq_restore", (k) => k.setCpu({ irqs: flags.irqsDisabled })))

/**
 * `local_bh_disable()`: no softirq starts on this CPU until `localBhEnable` (nests).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Irq } from "@drvmodel/core"
 * const critical = Effect.andThen(Irq.localBhDisable, Irq.localBhEnable)
 * ```
 * @category operations
 * @since 0.3.0
 */
export const localBhDisable: Effect.Effect<void, never, Kernel> = Effect.asVoid(cpuPoint("local_bh_disable", (k) => k.setCpu({ bh: 1 })))

/**
 * `local_bh_enable()`
 *
 * @example
 * ```ts
 * import { Irq } from "@drvmodel/core"
 * const enable = Irq.localBhEnable
 * ```
 * @category operations
 * @since 0.3.0
 */
export const localBhEnable: Effect.Effect<void, never, Kernel> = Effect.asVoid(cpuPoint("local_bh_enable", (k) => k.setCpu({ bh: -1 })))
