/**
 * Firmware sync reset reported by the firmware (fw_reset.c), the remote case: another host or the
 * firmware resets, this driver ACKs, unloads, waits for PCI and reloads. The local case (`devlink
 * dev reload action fw_activate`, `PENDING_COMP`) is not modelled.
 *
 * @since 0.4.0
 */
import { LockContract } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { devl } from "./locks.ts"
import { Mlx5Core } from "./main.ts"
import type { Dev } from "./world.ts"
import { call, Run, step } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run
  const core = yield* Mlx5Core
  const fn = <A, E, R>(name: string, body: Effect.Effect<A, E, R>) => call(w, "fw_reset", name, body)

  /**
   * `mlx5_sync_reset_request_event()` (on `fw_reset->wq`): `devl_trylock` — on failure NACK the
   * reset — then `set_bit(RESET_IN_PROGRESS)`, ACK (`mlx5_fw_reset_set_reset_sync_ack`),
   * `devl_unlock`. True when the reset was ACKed.
   */
  const mlx5SyncResetRequestEvent = (dev: Dev): Effect.Effect<boolean> =>
    fn(
      "mlx5_sync_reset_request_event",
      Effect.gen(function* () {
        if (!(yield* fn("devl_trylock", dev.devlink.trylock))) {
          yield* step(w, "mlx5_fw_reset_set_reset_sync_nack", "NACK")
          return false
        }
        yield* dev.fwResetInProgress.writeOnce(true)
        yield* step(w, "mlx5_fw_reset_set_reset_sync_ack", "ACK")
        yield* fn("devl_unlock", dev.devlink.unlock)
        return true
      })
    )

  /**
   * `mlx5_sync_reset_reload_work()` → `mlx5_fw_reset_complete_reload()`, remote reset (no
   * `PENDING_COMP`): `mlx5_enter_error_state`, the unload (`devl_lock`;
   * `mlx5_unload_one_devl_locked`; `devl_unlock`), `mlx5_health_wait_pci_up`, `mlx5_load_one(dev,
   * true)` (`devl_lock`; `mlx5_load_one_devl_locked` — V1 7/7's `mlx5_set_default_switchdev` at its
   * end; `devl_unlock`), `devlink_remote_reload_actions_performed` under `devl_lock`, and only then
   * `clear_bit(RESET_IN_PROGRESS)`. With `fwResetClearBeforeReload` (the later fix, "net/mlx5: Clear
   * FW reset-in-progress bit before reload", net-next V6 1/4, July 2026): `devl_lock`, clear the bit,
   * `mlx5_load_one_devl_locked`, the actions notification, `devl_unlock`.
   */
  const mlx5SyncResetReloadWork = (dev: Dev): Effect.Effect<void> =>
    fn(
      "mlx5_sync_reset_reload_work",
      Effect.gen(function* () {
        const lock = devl(w, dev)
        yield* step(w, "mlx5_enter_error_state", "dev->state = INTERNAL_ERROR")
        yield* fn("mlx5_sync_reset_unload_flow", LockContract.withLock(lock, core.mlx5UnloadOneDevlLocked(dev)))
        yield* step(w, "mlx5_health_wait_pci_up", "PCI reads work again")
        if (w.v.fwResetClearBeforeReload) {
          yield* LockContract.withLock(
            lock,
            Effect.gen(function* () {
              yield* fn("clear_bit(RESET_IN_PROGRESS)", dev.fwResetInProgress.writeOnce(false))
              yield* core.mlx5LoadOneDevlLocked(dev)
              yield* step(w, "devlink_remote_reload_actions_performed", "DRIVER_REINIT | FW_ACTIVATE")
            })
          )
          return
        }
        yield* fn("mlx5_load_one", LockContract.withLock(lock, core.mlx5LoadOneDevlLocked(dev)))
        yield* LockContract.withLock(lock, step(w, "devlink_remote_reload_actions_performed", "DRIVER_REINIT | FW_ACTIVATE"))
        yield* fn("clear_bit(RESET_IN_PROGRESS)", dev.fwResetInProgress.writeOnce(false))
      })
    )

  return { mlx5SyncResetRequestEvent, mlx5SyncResetReloadWork }
})

/**
 * The firmware-reset handling of one device (`struct mlx5_fw_reset`) as a component.
 *
 * @example
 * ```ts
 * // const fwReset = yield* FwReset
 * // if (yield* fwReset.mlx5SyncResetRequestEvent(dev)) yield* fwReset.mlx5SyncResetReloadWork(dev)
 * ```
 * @category components
 * @since 0.4.0
 */
export class FwReset extends Context.Service<FwReset>()("@drvmodel/mlx5/FwReset", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(FwReset, make)
}
