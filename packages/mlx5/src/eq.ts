/**
 * The EQ table's notifier chain and the async EQ's interrupt (eq.c, pci_irq.c,
 * kernel/notifier.c's atomic notifier on the core RCU domain).
 *
 * `mlx5_eq_notifier_register/unregister()` are `atomic_notifier_chain_register/unregister()`
 * on `eqt->nh[nb->event_type]`. The firmware's EQE raises the device's control IRQ; in hard-irq
 * context `irq_int_handler()` walks the IRQ's chain (`atomic_notifier_call_chain(&irq->nh)`) to
 * `mlx5_eq_async_int()`, which takes `eq->lock` (`spin_lock`) and walks `eqt->nh[eqe->type]` with
 * `atomic_notifier_call_chain()` for each EQE. The handler runs as an interrupt (core `Irq`, a
 * hardirq task on the EQ's CPU), so everything under it is atomic context. The chain's writers
 * hold its spinlock (`nh->lock`, `spin_lock_irqsave`) around the one pointer update (core
 * `Spinlock`); the walk never takes it: readers are RCU's.
 *
 * @since 0.4.0
 */
import { Irq, Kernel } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import type { AsyncEq, Notifier } from "./world.ts"
import { call, Run } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run

  // ---------------------------------------------------------------------------
  // EQ notifier chain (kernel/notifier.c's atomic notifier on the core RCU domain)
  //
  // `mlx5_eq_notifier_register/unregister()` (eq.c) are `atomic_notifier_chain_register/unregister()`
  // on `eqt->nh[nb->event_type]`. The firmware's EQE raises the device's control IRQ; in hard-irq
  // context `irq_int_handler()` (pci_irq.c) walks the IRQ's chain (`atomic_notifier_call_chain(&irq->nh)`)
  // to `mlx5_eq_async_int()` (eq.c), which takes `eq->lock` (`spin_lock`) and walks
  // `eqt->nh[eqe->type]` with `atomic_notifier_call_chain()` for each EQE. The handler runs as an
  // interrupt (core `Irq`, a hardirq task on the EQ's CPU), so everything under it is atomic context.
  // The chain's writers hold its spinlock (`nh->lock`, `spin_lock_irqsave`) around the one pointer
  // update (core `Spinlock`); the walk never takes it: readers are RCU's.

  /** `mlx5_eq_notifier_register()` = `atomic_notifier_chain_register()`: publish the block on the chain under `spin_lock_irqsave(&nh->lock)`. */
  const eqNotifierRegister = (nb: Notifier, epoch: number) =>
    call(
      w,
      "eq",
      "mlx5_eq_notifier_register",
      call(
        w,
        "notifier",
        "atomic_notifier_chain_register",
        Effect.gen(function* () {
          const flags = yield* nb.lock.lockIrqsave
          yield* nb.epoch.set(epoch) // ghost: which configuration this registration belongs to
          // notifier_chain_register(): rcu_assign_pointer(*nl, n)
          yield* nb.head.assign(nb.block)
          yield* nb.lock.unlockIrqrestore(flags)
        })
      )
    )

  /**
   * `mlx5_eq_notifier_unregister()` = `atomic_notifier_chain_unregister()`: unpublish the block
   * (`spin_lock_irqsave(&nh->lock)`), then `synchronize_rcu()`: every walk that may still see the block has ended.
   */
  const eqNotifierUnregister = (nb: Notifier) =>
    call(
      w,
      "eq",
      "mlx5_eq_notifier_unregister",
      call(
        w,
        "notifier",
        "atomic_notifier_chain_unregister",
        Effect.gen(function* () {
          const flags = yield* nb.lock.lockIrqsave
          // notifier_chain_unregister(): rcu_assign_pointer(*nl, n->next)
          yield* nb.head.assign(null)
          yield* nb.lock.unlockIrqrestore(flags)
          yield* w.rcu.synchronize
        })
      )
    )

  /**
   * `atomic_notifier_call_chain(&eqt->nh[ESW_FUNCTIONS_CHANGED])` as `mlx5_eq_async_int()` calls it:
   * `rcu_read_lock()`, `rcu_dereference` of the chain head, the block's `notifier_call` (`handler`),
   * `rcu_read_unlock()`. The handler learns which registration (epoch) delivered the event in the
   * dereference's step: read any later, a re-registration in between would be mislabelled.
   */
  const eqNotifierCallChain = (nb: Notifier, handler: (epoch: number) => Effect.Effect<void>) =>
    call(
      w,
      "notifier",
      "atomic_notifier_call_chain",
      Effect.gen(function* () {
        yield* w.rcu.readLock
        // notifier_call_chain(): nb = rcu_dereference_raw(*nl)
        const block = yield* nb.head.dereference
        if (block !== null) {
          const epoch = yield* nb.epoch.get
          yield* block.read // nb->notifier_call
          yield* handler(epoch)
        }
        yield* w.rcu.readUnlock
      })
    )

  /**
   * `mlx5_eq_async_int()` (the async EQ's `irq_nb.notifier_call`) for one ESW_FUNCTIONS_CHANGED EQE:
   * `spin_lock(&eq->lock)`, the walk of `eqt->nh[eqe->type]`, `eq_update_ci(eq, 1)`, `spin_unlock`.
   * [inferred] The second walk, of `eqt->nh[MLX5_EVENT_TYPE_NOTIFY_ANY]`, is left out: no block on
   * it is modelled (an empty walk touches nothing the model shares but the RCU domain).
   */
  const mlx5EqAsyncInt = (eq: AsyncEq, nb: Notifier, handler: (epoch: number) => Effect.Effect<void>) =>
    call(
      w,
      "eq",
      "mlx5_eq_async_int",
      Effect.gen(function* () {
        yield* eq.lock.lock // mlx5_eq_async_int_lock(): not recovery, so spin_lock
        yield* eqNotifierCallChain(nb, handler)
        yield* eq.lock.unlock
      })
    )

  /**
   * The async EQ's interrupt: `irq_int_handler()` → `atomic_notifier_call_chain(&irq->nh)` (an RCU
   * read-side section of its own around the EQ's `irq_nb`) → `mlx5_eq_async_int()`. Runs as a hard
   * interrupt on the EQ's CPU. [inferred] The IRQ's chain always holds the EQ's block in the model
   * (`mlx5_eq_enable` / `mlx5_eq_disable` are outside every scenario), so its head is not a pointer here.
   */
  const eqInterrupt = (eq: AsyncEq, nb: Notifier, handler: (epoch: number) => Effect.Effect<void>) =>
    Effect.provideService(
      Irq.raise(
        eq.irqName,
        { cpu: eq.cpu, kind: "hardirq" },
        call(
          w,
          "irq",
          "irq_int_handler",
          call(
            w,
            "notifier",
            "atomic_notifier_call_chain",
            Effect.gen(function* () {
              yield* w.rcu.readLock
              yield* mlx5EqAsyncInt(eq, nb, handler)
              yield* w.rcu.readUnlock
            })
          )
        )
      ),
      Kernel,
      w.kernel
    )
  return {
    eqNotifierRegister,
    eqNotifierUnregister,
    eqNotifierCallChain,
    eqInterrupt
  }
})

/**
 * The EQ table's notifier chains and the async EQ's interrupt as a component.
 * Depends on no other component.
 *
 * @example
 * ```ts
 * // const eq = yield* EqTable
 * // yield* eq.eqNotifierRegister(nb, epoch)
 * ```
 * @category components
 * @since 0.4.0
 */
export class EqTable extends Context.Service<EqTable>()("@drvmodel/mlx5/EqTable", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(EqTable, make)
}
