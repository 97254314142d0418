/**
 * `spinlock_t`: a busy-waiting lock with an owner (include/linux/spinlock.h).
 *
 * Kernel semantics kept:
 * - `spin_lock()` disables preemption, then spins until the lock is free: the
 *   waiter burns its CPU (`waitKind` `spinlock`, a busy-wait), and the thread
 *   that holds the lock keeps its CPU until `spin_unlock()`;
 * - `spin_lock_irqsave()` / `spin_lock_irq()` disable interrupts on the CPU
 *   first (no handler bound there can start), `spin_unlock_irqrestore()`
 *   restores the saved state, `spin_unlock_irq()` enables them unconditionally;
 * - `spin_lock_bh()` disables bottom halves (softirqs) on the CPU;
 * - `spin_trylock()` never waits;
 * - anything that may sleep while a spinlock is held (or in an interrupt
 *   handler) is the kernel's "BUG: sleeping function called from invalid
 *   context" — a defect finding at that call;
 * - a handler that spins on a lock held by the task it interrupted never lets
 *   that task run again: the explorer reports the deadlock, with the CPU in
 *   the wait-for cycle (`irq waits for L held by t; t waits for cpu0 held by irq`).
 *
 * Like `down_write`, a contended acquisition is two steps: the fast path,
 * which disables what the variant disables and takes the lock if it is free,
 * then the spin (`spin_lock(…) spin`) until it is. An uncontended lock is one.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type LockEvent, type Resource } from "../Kernel.ts"

/**
 * The interrupt state saved by `spin_lock_irqsave()` (`unsigned long flags`).
 *
 * @example
 * ```ts
 * import type { Spinlock } from "@drvmodel/core"
 * const flags: Spinlock.IrqFlags = { irqsDisabled: false }
 * ```
 * @category models
 * @since 0.3.0
 */
export interface IrqFlags {
  readonly irqsDisabled: boolean
}

/**
 * A modelled spinlock.
 *
 * @category models
 * @since 0.3.0
 */
export interface Spinlock extends Resource {
  /** `spin_lock()` */
  readonly lock: Effect.Effect<void>
  /** `spin_unlock()`: a WARN if the caller is not the owner. */
  readonly unlock: Effect.Effect<void>
  /** `spin_lock_irqsave()`: the saved flags go to `unlockIrqrestore`. */
  readonly lockIrqsave: Effect.Effect<IrqFlags>
  /** `spin_unlock_irqrestore()` */
  readonly unlockIrqrestore: (flags: IrqFlags) => Effect.Effect<void>
  /** `spin_lock_irq()` */
  readonly lockIrq: Effect.Effect<void>
  /** `spin_unlock_irq()`: enables interrupts whatever they were before. */
  readonly unlockIrq: Effect.Effect<void>
  /** `spin_lock_bh()` */
  readonly lockBh: Effect.Effect<void>
  /** `spin_unlock_bh()` */
  readonly unlockBh: Effect.Effect<void>
  /** `spin_trylock()`: true on success. */
  readonly trylock: Effect.Effect<boolean>
  /** `assert_spin_locked()` / `lockdep_assert_held()`: a WARN unless the caller holds it. */
  readonly assertHeld: Effect.Effect<void>
  readonly owner: () => string | undefined
}

type Variant = "plain" | "irq" | "irqsave" | "bh"

const suffix: Record<Variant, string> = { plain: "", irq: "_irq", irqsave: "_irqsave", bh: "_bh" }

/**
 * `spin_lock_init()`: creates a spinlock registered with the kernel.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Spinlock } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const lock = yield* Spinlock.make("priv->lock", { lockClass: "&priv->lock" })
 *   const flags = yield* lock.lockIrqsave
 *   yield* lock.unlockIrqrestore(flags)
 * })
 * ```
 * @category constructors
 * @since 0.3.0
 */
export const make = (id: string, options?: { readonly lockClass?: string }): Effect.Effect<Spinlock, never, Kernel> =>
  Kernel.useSync((kernel) => {
    let owner: string | undefined
    const lockClass = options?.lockClass ?? id
    const resource: Resource = {
      id,
      kind: "spinlock",
      lockClass,
      holders: () => (owner === undefined ? [] : [owner]),
      state: () => (owner === undefined ? "unlocked" : `locked by ${owner}`)
    }
    kernel.register(resource)
    const held = { resource: id, lockClass, mode: "write" as const }
    // Footprints as for a mutex: taking or releasing writes the lock, a failed trylock reads it.
    // The CPU state each variant changes is added by the engine (a write of the task's CPU).
    const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
    const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
    const acquired: ReadonlyArray<LockEvent> = [{ type: "acquire", lockClass, resource: id, mode: "write" }]
    // What the variant disables before it spins; returns the saved interrupt state.
    const disable = (v: Variant): IrqFlags => {
      const irqsDisabled = v === "irq" || v === "irqsave" ? kernel.setCpu({ irqs: true }) : kernel.cpuState().irqsDisabled
      if (v === "bh") kernel.setCpu({ bh: 1 })
      kernel.setCpu({ preempt: 1 })
      return { irqsDisabled }
    }
    const lockAs = (v: Variant): Effect.Effect<IrqFlags> => {
      const name = `spin_lock${suffix[v]}`
      const fast = kernel.point<{ readonly ok: boolean; readonly flags: IrqFlags }>({
        name,
        label: `${name}(${id})`,
        resource,
        mightSleep: false,
        apply: () => {
          const flags = disable(v)
          if (owner !== undefined) return { ok: false, flags }
          owner = kernel.current()
          return { ok: true, flags }
        },
        show: (r) => (r.ok ? undefined : "spin"),
        footprint: (r) => (r.ok ? writes : reads),
        holds: (r) => (r.ok ? held : undefined),
        lockEvents: (r) => (r.ok ? acquired : [])
      })
      const spin = kernel.point<void>({
        name,
        label: `${name}(${id}) spin`,
        resource,
        waitKind: "spinlock",
        busyWait: true,
        enabled: () => owner === undefined,
        // `owner` changes only in this lock's ops that write `id`.
        enabledReads: [id],
        apply: () => {
          owner = kernel.current()
        },
        footprint: writes,
        holds: () => held,
        lockEvents: () => acquired
      })
      return Effect.flatMap(fast, (r) => (r.ok ? Effect.succeed(r.flags) : Effect.as(spin, r.flags)))
    }
    const unlockAs = (v: Variant, flags?: IrqFlags): Effect.Effect<void> => {
      const name = `spin_unlock${v === "irqsave" ? "_irqrestore" : suffix[v]}`
      return Effect.flatMap(
        kernel.point({
          name,
          label: `${name}(${id})`,
          resource,
          releases: id,
          footprint: writes,
          apply: () => {
            const me = kernel.current()
            if (owner !== me) return `${name}(${id}) by ${me}, owner is ${owner ?? "nobody"}`
            owner = undefined
            kernel.setCpu({ preempt: -1 })
            if (v === "bh") kernel.setCpu({ bh: -1 })
            if (v === "irq") kernel.setCpu({ irqs: false })
            if (v === "irqsave") kernel.setCpu({ irqs: flags?.irqsDisabled ?? false })
            return undefined
          },
          lockEvents: () => [{ type: "release", lockClass, resource: id, mode: "write" }]
        }),
        (bad) => (bad === undefined ? Effect.void : kernel.warn(bad))
      )
    }
    return {
      ...resource,
      owner: () => owner,
      lock: Effect.asVoid(lockAs("plain")),
      unlock: unlockAs("plain"),
      lockIrqsave: lockAs("irqsave"),
      unlockIrqrestore: (flags) => unlockAs("irqsave", flags),
      lockIrq: Effect.asVoid(lockAs("irq")),
      unlockIrq: unlockAs("irq"),
      lockBh: Effect.asVoid(lockAs("bh")),
      unlockBh: unlockAs("bh"),
      trylock: kernel.point({
        name: "spin_trylock",
        label: `spin_trylock(${id})`,
        resource,
        spin: "trylock",
        apply: () => {
          if (owner !== undefined) return false
          owner = kernel.current()
          kernel.setCpu({ preempt: 1 })
          return true
        },
        succeeded: (ok) => ok,
        show: (ok) => (ok ? "1" : "0"),
        footprint: (ok) => (ok ? writes : reads),
        holds: (ok) => (ok ? held : undefined),
        lockEvents: (ok) => (ok ? [{ type: "acquire", lockClass, resource: id, mode: "write", trylock: true }] : [])
      }),
      assertHeld: Effect.flatMap(
        kernel.point({
          name: "lockdep_assert_held",
          label: `lockdep_assert_held(${id})`,
          resource,
          footprint: reads,
          apply: () => owner === kernel.current()
        }),
        (ok) => (ok ? Effect.void : kernel.warn(`lockdep_assert_held(${id}) failed: owner is ${owner ?? "nobody"}`))
      )
    }
  })
