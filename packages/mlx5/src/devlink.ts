/**
 * The devlink instance's commands: each taken under the instance lock as
 * `devlink_nl_pre_doit` does — eswitch mode set, SF port add / del, and
 * `devlink dev reload` (driver_reinit: `mlx5_devlink_reload_down` / `_up`).
 *
 * @since 0.4.0
 */
import { LockContract } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { Eswitch } from "./eswitch.ts"
import { Lag } from "./lag.ts"
import { type DevlinkHeld, devl } from "./locks.ts"
import { Mlx5Core } from "./main.ts"
import { RepRegistry } from "./registry.ts"
import type { Dev, Mode } from "./world.ts"
import { call, Run, step } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run
  const eswitch = yield* Eswitch
  const core = yield* Mlx5Core
  const registry = yield* RepRegistry
  const lag = yield* Lag
  const fn = <A, E, R>(name: string, body: Effect.Effect<A, E, R>) => call(w, "mlx5_core", name, body)

  /** A devlink netlink command: `devlink_nl_pre_doit` takes the instance lock around the op. */
  const devlinkCmd = <A>(dev: Dev, name: string, body: Effect.Effect<A, never, DevlinkHeld>): Effect.Effect<A> =>
    call(w, "devlink", name, LockContract.withLock(devl(w, dev), body))

  /**
   * `devlink dev eswitch set … mode legacy|switchdev`. On success the user's
   * choice is recorded (ghost `dev.userMode`) for the `user-mode-preserved`
   * invariant.
   */
  const devlinkEswitchSet = (dev: Dev, mode: Mode): Effect.Effect<number> =>
    devlinkCmd(
      dev,
      "devlink_nl_eswitch_set_doit",
      Effect.tap(eswitch.mlx5DevlinkEswitchModeSet(dev.esw, mode), (err) =>
        err !== 0 ? Effect.void : Effect.andThen(dev.userMode.set(mode), dev.reloadedSinceUserMode.set(false))
      )
    )
  /**
   * `devlink dev param set … name esw_multiport value true|false cmode runtime`:
   * `devlink_nl_param_set_doit` → the driver's set callback, under the instance lock.
   */
  const devlinkParamSetEswMultiport = (dev: Dev, enable: boolean): Effect.Effect<number> =>
    devlinkCmd(dev, "devlink_nl_param_set_doit", eswitch.mlx5DevlinkEswMultiportSet(dev.esw, enable))
  /** `devlink port add … flavour pcisf`: `mlx5_devlink_sf_port_new` → `mlx5_sf_add` (guard around the vport load from patch 5). */
  const devlinkSfPortNew = (dev: Dev): Effect.Effect<number> =>
    devlinkCmd(
      dev,
      "mlx5_devlink_sf_port_new",
      Effect.gen(function* () {
        // [inferred] SF ports require switchdev; a second SF in this model is refused.
        if ((yield* dev.sfExists.get) || (yield* dev.esw.mode.read) !== "OFFLOADS") return -95
        return yield* fn(
          "mlx5_sf_add",
          Effect.gen(function* () {
            yield* step(w, "mlx5_cmd_exec", "ALLOC_SF")
            yield* registry.repsBlock(dev.esw)
            const err = yield* eswitch.mlx5EswitchLoadVport(dev.esw, "sf1")
            yield* registry.repsUnblock(dev.esw)
            if (err === 0) yield* dev.sfExists.set(true)
            return err
          })
        )
      })
    )

  /** `devlink port del`: `mlx5_devlink_sf_port_del` → `mlx5_sf_del` (guard around it from patch 5). */
  const devlinkSfPortDel = (dev: Dev): Effect.Effect<number> =>
    devlinkCmd(
      dev,
      "mlx5_devlink_sf_port_del",
      Effect.gen(function* () {
        if (!(yield* dev.sfExists.get)) return -2
        yield* registry.repsBlock(dev.esw)
        yield* fn(
          "mlx5_sf_del",
          Effect.gen(function* () {
            yield* eswitch.mlx5EswitchUnloadVport(dev.esw, "sf1")
            yield* step(w, "mlx5_cmd_exec", "DEALLOC_SF")
            yield* dev.sfExists.set(false)
          })
        )
        yield* registry.repsUnblock(dev.esw)
        return 0
      })
    )
  /**
   * `mlx5_devlink_reload_down()` (driver_reinit): refused while a LAG is active
   * ("reload is unsupported in Lag mode"); with VFs only an extack message; then
   * `mlx5_unload_one_devl_locked(dev, false)`. The "SFs are allocated" refusal
   * counts SF *devices* (activated SFs), which the model never creates
   * [inferred: the model's SF port is added, not activated].
   */
  const mlx5DevlinkReloadDown = (dev: Dev): Effect.Effect<number, never, DevlinkHeld> =>
    fn(
      "mlx5_devlink_reload_down",
      Effect.gen(function* () {
        if (yield* lag.mlx5LagIsActive(dev)) return -95 // "reload is unsupported in Lag mode"
        yield* core.mlx5UnloadOneDevlLocked(dev)
        return 0
      })
    )

  /** `mlx5_devlink_reload_up()` (driver_reinit): `mlx5_load_one_devl_locked(dev, false)`. */
  const mlx5DevlinkReloadUp = (dev: Dev): Effect.Effect<number, never, DevlinkHeld> =>
    fn("mlx5_devlink_reload_up", core.mlx5LoadOneDevlLocked(dev))

  /**
   * `devlink dev reload` (action driver_reinit): `devlink_nl_pre_doit` takes
   * the instance lock; `devlink_reload` calls `.reload_down`, then (on
   * success) `.reload_up`, both with the lock held. Returns 0 or a negative
   * errno. Ghost: a successful reload after a user mode set is recorded for
   * the `user-mode-preserved` invariant.
   *
   * @example
   * ```ts
   * // inside a scenario program:
   * // yield* devlinkEswitchSet(dev, "LEGACY")
   * // yield* devlinkDevReload(dev) // v1@7 + prof_sel=4: back in OFFLOADS
   * ```
   */
  const devlinkDevReload = (dev: Dev): Effect.Effect<number> =>
    devlinkCmd(
      dev,
      "devlink_nl_reload_doit",
      call(
        w,
        "devlink",
        "devlink_reload",
        Effect.gen(function* () {
          const down = yield* mlx5DevlinkReloadDown(dev)
          if (down !== 0) return down
          const up = yield* mlx5DevlinkReloadUp(dev)
          if (up === 0 && (yield* dev.userMode.get) !== undefined) yield* dev.reloadedSinceUserMode.set(true)
          return up
        })
      )
    )
  return {
    devlinkEswitchSet,
    devlinkParamSetEswMultiport,
    devlinkSfPortNew,
    devlinkSfPortDel,
    devlinkDevReload
  }
})

/**
 * The devlink instance's commands as a component: each taken under the
 * instance lock as `devlink_nl_pre_doit` does (eswitch mode set, SF port add /
 * del, `devlink dev reload`).
 *
 * @example
 * ```ts
 * // const devlink = yield* Devlink
 * // yield* devlink.devlinkEswitchSet(dev, "OFFLOADS")
 * ```
 * @category components
 * @since 0.4.0
 */
export class Devlink extends Context.Service<Devlink>()("@drvmodel/mlx5/Devlink", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(Devlink, make)
}
