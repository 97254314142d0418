/**
 * How a driver model declares a component — a devlink instance, an E-Switch,
 * a representor registry, an IB driver: one Effect service per component.
 *
 * - **Interface**: the service's shape is the component's kernel functions,
 *   named after the C (`mlx5_eswitch_enable`, `mlx5_esw_add_work`), typed
 *   with the locks they need (`LockContract.requires`). Other components use
 *   it only through this interface (`yield* Eswitch`), so a component's file
 *   imports interfaces, not implementations, and the import graph has no
 *   circle.
 * - **Layer**: `Layer.effect(Service, make)` builds it once per run, from the
 *   `Kernel` and the interfaces it depends on (build it `{ local: true }` or
 *   with `Layer.fresh`: every explored run needs its own).
 * - **State**: the C struct's members live in kernel cells (`Cell`, plain or
 *   `READ_ONCE`-marked as the C accesses them) and atomics (`Atomic`), created
 *   by the component's constructor (`mlx5_eswitch_init`) and touched only by
 *   its functions; the engine records every access (footprints, data races).
 * - **Fibers and lifetime**: a kernel object's lifetime is an Effect `Scope`
 *   (`instance`): what the object starts (a workqueue's workers, `workqueue`)
 *   is started when it is built and stopped by a finaliser
 *   (`destroy_workqueue`), which runs where the kernel tears the object down
 *   (`close`, from `mlx5_eswitch_cleanup`), on the calling task.
 * - **Calls**: a synchronous kernel call runs on the caller's fiber, as in C
 *   (`fn` only traces it). A mailbox serialises only where the kernel does: an
 *   ordered workqueue is the mailbox of its items.
 *
 * @example
 * ```ts
 * import { Context, Effect, Layer } from "effect"
 * import { Cell, Component, Kernel, type Workqueue } from "@drvmodel/core"
 *
 * interface Dev { readonly name: string; readonly count: Cell.Cell<number>; readonly wq: Workqueue.Workqueue; readonly life: Component.Instance }
 * class Driver extends Context.Service<Driver, {
 *   readonly dev_init: (name: string) => Effect.Effect<Dev, never, Kernel>
 *   readonly dev_event: (dev: Dev) => Effect.Effect<void>
 *   readonly dev_cleanup: (dev: Dev) => Effect.Effect<void>
 * }>()("example/Driver") {
 *   static readonly layer = Layer.effect(Driver, Effect.gen(function*() {
 *     const c = yield* Component.make("driver")
 *     return Driver.of({
 *       dev_init: (name) => Effect.gen(function*() {
 *         const life = yield* Component.instance(`${name}`)
 *         const wq = yield* Component.workqueue(life, `${name}->wq`)
 *         return { name, count: yield* Cell.make(`${name}->count`, 0), wq, life }
 *       }),
 *       dev_event: (dev) => c.fn("dev_event", Effect.asVoid(dev.count.update((n) => n + 1))),
 *       dev_cleanup: (dev) => c.fn("dev_cleanup", dev.life.close) // destroy_workqueue runs here
 *     })
 *   }))
 * }
 * ```
 * @since 0.2.0
 */
import { Effect, Exit, Scope } from "effect"
import { Kernel } from "./Kernel.ts"
import * as Workqueue from "./primitives/Workqueue.ts"

/**
 * What a component's implementation gets from `make`: its name and the
 * tracing of its kernel functions.
 *
 * @category models
 * @since 0.2.0
 */
export interface Component {
  readonly name: string
  /** Runs `body` as kernel function `fn` of this component (traced; no scheduling point). */
  readonly fn: <A, E, R>(fn: string, body: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * Starts a component's implementation (inside its Layer).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Component } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const c = yield* Component.make("eswitch")
 *   yield* c.fn("mlx5_eswitch_enable", Effect.void)
 * })
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const make = (name: string): Effect.Effect<Component, never, Kernel> =>
  Kernel.useSync((kernel) => ({
    name,
    fn: (fn, body) => kernel.call(name, fn, body)
  }))

/**
 * The lifetime of one kernel object (a `struct mlx5_eswitch`): a scope for
 * what it owns, closed where the kernel frees it.
 *
 * @category models
 * @since 0.2.0
 */
export interface Instance {
  readonly name: string
  /** For Effect resources bound to the object (`Scope.addFinalizer`): closed after the teardown steps. */
  readonly scope: Scope.Scope
  /** Adds a teardown step, run (last added first) by `close`. */
  readonly onClose: (finaliser: Effect.Effect<void>) => Effect.Effect<void>
  /**
   * Runs the teardown steps on the calling task, interruptibly (unlike a `Scope`'s finalisers): a
   * kernel teardown can block for good (`destroy_workqueue` on a work item waiting for the lock its
   * caller holds), and the run that found that deadlock must still be stoppable. A second close
   * does nothing.
   */
  readonly close: Effect.Effect<void>
  readonly isClosed: () => boolean
}

/**
 * A new object lifetime.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Component } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const esw = yield* Component.instance("pf0/esw")
 *   yield* esw.onClose(Effect.log("freed"))
 *   yield* esw.close
 * })
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const instance = (name: string): Effect.Effect<Instance> =>
  Effect.map(Scope.make(), (scope) => {
    let closed = false
    const steps: Array<Effect.Effect<void>> = []
    return {
      name,
      scope,
      onClose: (finaliser) => Effect.sync(() => void steps.push(finaliser)),
      close: Effect.suspend(() => {
        if (closed) return Effect.void
        closed = true
        return Effect.andThen(
          Effect.forEach(steps.splice(0).reverse(), (step) => step, { discard: true }),
          Scope.close(scope, Exit.void)
        )
      }),
      isClosed: () => closed
    }
  })

/**
 * `alloc_workqueue()` owned by an instance: its workers start now and
 * `destroy_workqueue()` (drain, then stop the workers) is the instance's
 * finaliser.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Component, Workqueue } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const esw = yield* Component.instance("esw")
 *   const wq = yield* Component.workqueue(esw, "esw_wq")
 *   yield* wq.queueWork(Workqueue.work("esw_wq_handler", Effect.void))
 *   yield* esw.close // destroy_workqueue: waits for the item, stops the worker
 * })
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const workqueue = (
  owner: Instance,
  id: string,
  options?: Workqueue.WorkqueueOptions
): Effect.Effect<Workqueue.Workqueue, never, Kernel> =>
  Effect.gen(function* () {
    const kernel = yield* Kernel
    const wq = yield* Workqueue.make(id, options)
    yield* owner.onClose(kernel.call("workqueue", "destroy_workqueue", wq.destroy))
    return wq
  })
