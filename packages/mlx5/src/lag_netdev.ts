/**
 * LAG netdev membership (lag/lag.c): `mlx5_lag_add_netdev` /
 * `mlx5_lag_remove_netdev`, which the mlx5e profiles call from their
 * enable/disable — so from inside the ETH uplink representor's load and
 * unload callbacks, under whatever the representor path holds (the devlink
 * lock, the V1 guard or `reps_lock`). Both take `ldev->lock`: this is the
 * edge guard → `ldev->lock` that reps V2 3/7 ("Lag, avoid LAG and
 * representor lock cycles") orders against the LAG transitions.
 *
 * @since 0.3.0
 */
import { Context, Effect, Layer } from "effect"
import type { Dev } from "./world.ts"
import { call, Run, step } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run

  /**
   * `mlx5_lag_add_netdev(dev, netdev)`: nothing without an ldev; else under
   * `ldev->lock` record the netdev (`mlx5_ldev_add_netdev`) and set
   * NDEVS_READY once every port has one, then `mlx5_queue_bond_work(ldev, 0)`.
   *
   * @example
   * ```ts
   * // yield* mlx5LagAddNetdev(dev)  // takes and drops dev.lag.lock when dev is in a LAG
   * ```
   * @category models
   * @since 0.3.0
   */
  const mlx5LagAddNetdev = (dev: Dev): Effect.Effect<void> =>
    Effect.gen(function* () {
      // ldev = mlx5_lag_dev(dev): a plain load of dev->priv.lag, no lock.
      const ldev = yield* dev.lag.get
      if (ldev === undefined) return
      yield* call(
        w,
        "lag",
        "mlx5_lag_add_netdev",
        Effect.gen(function* () {
          yield* ldev.lock.lock
          // mlx5_ldev_add_netdev() (pf->netdev under the lag_lock spinlock) and the NDEVS_READY bit: the
          // model's bond work does not read them (its trigger is the scenario's `bonded`), so one step.
          yield* step(w, "mlx5_ldev_add_netdev", dev.name)
          yield* ldev.lock.unlock
          // mlx5_queue_bond_work(ldev, 0): the bond work is the scenario's bond thread, not queued here.
        })
      )
    })

  /**
   * `mlx5_lag_remove_netdev(dev, netdev)`: nothing without an ldev; else under
   * `ldev->lock` forget the netdev, clear NDEVS_READY and read whether the LAG is
   * active; after the unlock queue the bond work if it was.
   *
   * @example
   * ```ts
   * // yield* mlx5LagRemoveNetdev(dev)  // takes and drops dev.lag.lock when dev is in a LAG
   * ```
   * @category models
   * @since 0.3.0
   */
  const mlx5LagRemoveNetdev = (dev: Dev): Effect.Effect<void> =>
    Effect.gen(function* () {
      const ldev = yield* dev.lag.get
      if (ldev === undefined) return
      yield* call(
        w,
        "lag",
        "mlx5_lag_remove_netdev",
        Effect.gen(function* () {
          yield* ldev.lock.lock
          // mlx5_ldev_remove_netdev() + clear_bit(NDEVS_READY) + __mlx5_lag_is_active(): as in add, one
          // step; the bond work queued when active is the scenario's bond thread.
          yield* step(w, "mlx5_ldev_remove_netdev", dev.name)
          yield* ldev.lock.unlock
        })
      )
    })
  return {
    mlx5LagAddNetdev,
    mlx5LagRemoveNetdev
  }
})

/**
 * LAG netdev membership as a component (`mlx5_lag_add_netdev` /
 * `mlx5_lag_remove_netdev`). Depends on no other component.
 *
 * @example
 * ```ts
 * // const lagNetdev = yield* LagNetdev
 * // yield* lagNetdev.mlx5LagAddNetdev(dev)
 * ```
 * @category components
 * @since 0.4.0
 */
export class LagNetdev extends Context.Service<LagNetdev>()("@drvmodel/mlx5/LagNetdev", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(LagNetdev, make)
}
