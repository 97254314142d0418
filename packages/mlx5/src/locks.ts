/**
 * The mlx5 model's lock contracts: lock classes as types, and the guards that
 * take them. A function the kernel runs under a lock (`devl_assert_locked`,
 * `lockdep_assert_held`, `mlx5_esw_assert_reps_blocked`, a `_locked` /
 * `_devl_locked` / `_blocked` name) is declared with `locked`: its type
 * requires the class, and on entry the running task must hold the instance
 * (else a WARN naming the function and the lock; no scheduling point).
 *
 * @since 0.2.0
 */
import { Kernel, LockContract } from "@drvmodel/core"
import { Effect } from "effect"
import type { Dev, Esw, World } from "./world.ts"
import { call } from "./world.ts"

/**
 * `devlink->lock` (the devlink instance lock).
 *
 * @example
 * ```ts
 * // type Held = typeof DevlinkLock.Identifier  // LockContract.Held<"&devlink->lock">
 * ```
 * @category models
 * @since 0.2.0
 */
export const DevlinkLock = LockContract.lockClass("&devlink->lock")
/** @category models @since 0.2.0 */
export type DevlinkHeld = LockContract.Held<"&devlink->lock">

/**
 * The representor guard of one E-Switch: V1's `reps_conf_state` BLOCKED by
 * this task, merged `reps_lock`; before patch 5 there is none (the type stays,
 * the run-time check is skipped).
 *
 * @example
 * ```ts
 * // RepsGuard.lockClass === "mlx5_esw_reps_block"
 * ```
 * @category models
 * @since 0.2.0
 */
export const RepsGuard = LockContract.lockClass("mlx5_esw_reps_block")
/** @category models @since 0.2.0 */
export type RepsHeld = LockContract.Held<"mlx5_esw_reps_block">

/**
 * `devl_lock()` / `devl_unlock()` on a device.
 *
 * @example
 * ```ts
 * // LockContract.withLock(devl(w, dev), mlx5EswitchEnable(w, dev.esw, 2))
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const devl = (w: World, dev: Dev): LockContract.Guard<"&devlink->lock"> =>
  LockContract.guard(
    DevlinkLock,
    dev.devlink.id,
    call(w, "mlx5_core", "devl_lock", dev.devlink.lock),
    call(w, "mlx5_core", "devl_unlock", dev.devlink.unlock)
  )

/**
 * Runs `body` as kernel function `fn` of `component`, which the kernel runs
 * under a lock of class `cls`: the result requires the class, and on entry
 * the running task must hold instance `lockId` (else a WARN; no point).
 *
 * @example
 * ```ts
 * // const mlx5EswitchEnableLocked = (w: World, esw: Esw) =>
 * //   locked(w, "eswitch", "mlx5_eswitch_enable_locked", DevlinkLock, esw.dev.devlink.id, body)
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const locked = <C extends string, A, E, R>(
  w: World,
  component: string,
  fn: string,
  cls: LockContract.LockClass<C>,
  lockId: string | undefined,
  body: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | LockContract.Held<C>> =>
  call(
    w,
    component,
    fn,
    Effect.andThen(Effect.andThen(cls, Effect.provideService(LockContract.checkHeld(fn, cls.lockClass, lockId), Kernel, w.kernel)), body)
  )

/** The instance id of an E-Switch's representor guard (none before patch 5). */
export const repsGuardId = (esw: Esw): string | undefined => esw.guard?.id ?? esw.repsLock?.id
