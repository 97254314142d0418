/**
 * Typed lock contracts: "this function runs with `devlink->lock` held" as a
 * type, checked by the compiler, and as a lockdep assertion, checked by the
 * explorer.
 *
 * A lock class (lockdep's key, `&devlink->lock`) is a type, `Held<C>`, carried
 * in an Effect's requirements. Taking a lock with `withLock` provides `Held<C>`
 * to its body; a function declared with `requires` (the C's
 * `lockdep_assert_held`, `devl_assert_locked`, a `_locked` name) needs
 * `Held<C>` in its requirements, so calling it where no enclosing `withLock`
 * provides it does not compile. The type proves only that some lock of the
 * class is held; which instance is the run-time check's business: when the
 * function is entered, the running task must hold that instance, else a WARN
 * names the function and the lock — as lockdep would, and with no scheduling
 * point, so the schedules explored stay those of the C.
 *
 * Where the kernel hands a held lock over to others for a while (the V1 guard
 * released and re-taken around the rescans of `esw_mode_change`), `handOver`
 * writes it: the caller must hold the lock, the body runs without it and its
 * type may not ask for it, and the lock is re-taken before returning.
 *
 * @since 0.2.0
 */
import { Context, Effect } from "effect"
import { Kernel } from "./Kernel.ts"

/**
 * The capability "a lock of class `C` is held by this task", as an Effect
 * requirement.
 *
 * @category models
 * @since 0.2.0
 */
export interface Held<C extends string> {
  readonly "~drvmodel/Held": C
}

/**
 * A lock class: the key under which `Held<C>` is provided.
 *
 * @category models
 * @since 0.2.0
 */
export interface LockClass<C extends string> extends Context.Key<Held<C>, Holding> {
  readonly lockClass: C
}

/**
 * What `withLock` provides at run time: the instance taken.
 *
 * @category models
 * @since 0.2.0
 */
export interface Holding {
  readonly resource: string
}

/**
 * Declares a lock class. The name is lockdep's class name (`&devlink->lock`);
 * give the same name to the primitive's `lockClass`.
 *
 * @example
 * ```ts
 * import { LockContract } from "@drvmodel/core"
 * const DevlinkLock = LockContract.lockClass("&devlink->lock")
 * type DevlinkHeld = LockContract.Held<"&devlink->lock">
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const lockClass = <const C extends string>(name: C): LockClass<C> =>
  Object.assign(Context.Service<Held<C>, Holding>(`@drvmodel/core/Held/${name}`), { lockClass: name })

/**
 * One lock instance under a class: how to take it and release it (a mutex's
 * lock/unlock, an rwsem's write side, a home-grown lock's block/unblock).
 * `id` is the primitive's resource id, which the run-time check looks for
 * among the locks the task holds; `undefined` where a variant has no such
 * lock (the check is then skipped, the type stays).
 *
 * @category models
 * @since 0.2.0
 */
export interface Guard<C extends string> {
  readonly lockClass: LockClass<C>
  readonly id: string | undefined
  readonly acquire: Effect.Effect<void>
  readonly release: Effect.Effect<void>
}

/**
 * Builds a guard.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockContract, Mutex } from "@drvmodel/core"
 * const DevlinkLock = LockContract.lockClass("&devlink->lock")
 * const program = Effect.gen(function*() {
 *   const m = yield* Mutex.make("devlink", { lockClass: DevlinkLock.lockClass })
 *   const devl = LockContract.guard(DevlinkLock, m.id, m.lock, m.unlock)
 * })
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const guard = <C extends string>(
  cls: LockClass<C>,
  id: string | undefined,
  acquire: Effect.Effect<void>,
  release: Effect.Effect<void>
): Guard<C> => ({ lockClass: cls, id, acquire, release })

/**
 * A guard on a `struct mutex` (anything with `lock` / `unlock`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockContract, Mutex } from "@drvmodel/core"
 * const Rtnl = LockContract.lockClass("rtnl_mutex")
 * const program = Effect.gen(function*() {
 *   const rtnl = LockContract.mutex(Rtnl, yield* Mutex.make("rtnl", { lockClass: Rtnl.lockClass }))
 * })
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const mutex = <C extends string>(
  cls: LockClass<C>,
  m: { readonly id: string; readonly lock: Effect.Effect<void>; readonly unlock: Effect.Effect<void> }
): Guard<C> => guard(cls, m.id, m.lock, m.unlock)

/**
 * Takes the lock, runs `body` with `Held<C>` provided, releases the lock
 * (`mutex_lock(); body; mutex_unlock();`). The result no longer requires
 * `Held<C>`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockContract, Mutex } from "@drvmodel/core"
 * const Rtnl = LockContract.lockClass("rtnl_mutex")
 * const program = Effect.gen(function*() {
 *   const rtnl = LockContract.mutex(Rtnl, yield* Mutex.make("rtnl", { lockClass: Rtnl.lockClass }))
 *   yield* LockContract.withLock(rtnl, Effect.void)
 * })
 * ```
 * @category combinators
 * @since 0.2.0
 */
export const withLock = <C extends string, A, E, R>(g: Guard<C>, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Held<C>>> =>
  Effect.gen(function* () {
    yield* g.acquire
    const a = yield* Effect.provideService(body, g.lockClass, { resource: g.id ?? g.lockClass.lockClass })
    yield* g.release
    return a
  }) as Effect.Effect<A, E, Exclude<R, Held<C>>>

/**
 * Provides `Held<C>` for a lock the task took by hand, where the kernel's
 * lock and unlock do not bracket one block (a trylock loop, a lock taken in
 * one function and released in another). The run-time checks still look at
 * what the task really holds.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockContract, Mutex } from "@drvmodel/core"
 * const Devlink = LockContract.lockClass("&devlink->lock")
 * const program = Effect.gen(function*() {
 *   const m = yield* Mutex.make("devlink", { lockClass: Devlink.lockClass })
 *   while (!(yield* m.trylock)) yield* Effect.void
 *   yield* LockContract.assume(LockContract.mutex(Devlink, m), Effect.void)
 *   yield* m.unlock
 * })
 * ```
 * @category combinators
 * @since 0.2.0
 */
export const assume = <C extends string, A, E, R>(g: Guard<C>, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Held<C>>> =>
  Effect.provideService(body, g.lockClass, { resource: g.id ?? g.lockClass.lockClass }) as Effect.Effect<A, E, Exclude<R, Held<C>>>

/**
 * The body of a hand-over may not ask for the lock it runs without.
 *
 * @category models
 * @since 0.2.0
 */
export type WithoutHeld<R, C extends string> = [Extract<R, Held<C>>] extends [never]
  ? unknown
  : { readonly "runs with the lock released": C }

/**
 * A hand-over: the caller holds the lock; it is released, `body` runs without
 * it (others may take it meanwhile), and it is taken again before returning.
 * `body`'s type may not require `Held<C>`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockContract, Mutex } from "@drvmodel/core"
 * const Guard = LockContract.lockClass("reps_lock")
 * const program = Effect.gen(function*() {
 *   const g = LockContract.mutex(Guard, yield* Mutex.make("reps_lock", { lockClass: Guard.lockClass }))
 *   const rescan = Effect.void // mlx5_ib's probe may take the guard here
 *   yield* LockContract.withLock(g, LockContract.handOver(g, rescan))
 * })
 * ```
 * @category combinators
 * @since 0.2.0
 */
export const handOver = <C extends string, A, E, R>(
  g: Guard<C>,
  body: Effect.Effect<A, E, R> & WithoutHeld<R, C>
): Effect.Effect<A, E, R | Held<C>> =>
  Effect.gen(function* () {
    yield* g.lockClass
    yield* g.release
    const a = yield* body as Effect.Effect<A, E, R>
    yield* g.acquire
    return a
  })

/**
 * The run-time half of a contract, lockdep's `lockdep_assert_held`: a WARN
 * naming `fn` and the lock unless the running task holds lock `id`. No
 * scheduling point; nothing outside a task.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockContract } from "@drvmodel/core"
 * const check = LockContract.checkHeld("mlx5_eswitch_enable_locked", "&devlink->lock", "pf0.devlink")
 * ```
 * @category combinators
 * @since 0.2.0
 */
export const checkHeld = (fn: string, lockClass: string, id: string | undefined): Effect.Effect<void, never, Kernel> =>
  id === undefined
    ? Effect.void
    : Kernel.use((kernel) => {
        const me = kernel.running()
        if (me === undefined || kernel.heldBy(me).some((h) => h.resource === id)) return Effect.void
        return kernel.warn(`${fn}() called without ${lockClass} held (lockdep_assert_held(${id}) by ${me})`)
      })

/**
 * Declares a kernel function that runs under a lock: its type requires
 * `Held<C>` and, when it is entered, the task must hold the instance that
 * `lockOf` names (else a WARN). `body` is traced as kernel function `fn` of
 * `component`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LockContract } from "@drvmodel/core"
 * const Devlink = LockContract.lockClass("&devlink->lock")
 * interface Esw { readonly devlink: string }
 * // mlx5_eswitch_enable_locked(esw, num_vfs): lockdep_assert_held(&devlink->lock)
 * const enableLocked = LockContract.requires("eswitch", "mlx5_eswitch_enable_locked", Devlink, (esw: Esw, _numVfs: number) => esw.devlink,
 *   (esw: Esw, numVfs: number) => Effect.succeed(numVfs))
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const requires =
  <C extends string, Args extends ReadonlyArray<unknown>, A, E, R>(
    component: string,
    fn: string,
    cls: LockClass<C>,
    lockOf: (...args: Args) => string | undefined,
    body: (...args: Args) => Effect.Effect<A, E, R>
  ): ((...args: Args) => Effect.Effect<A, E, R | Held<C> | Kernel>) =>
  (...args) =>
    Kernel.use((kernel) =>
      kernel.call(
        component,
        fn,
        Effect.andThen(
          Effect.andThen(cls, checkHeld(fn, cls.lockClass, lockOf(...args))),
          Effect.suspend(() => body(...args))
        )
      )
    )
