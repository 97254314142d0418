/**
 * Health recovery after a fatal firmware error (health.c, with the devlink
 * health core's report / recover and main.c's `mlx5_disable_device`): the
 * health work queue's `mlx5_fw_fatal_reporter_err_work` reports to the
 * `fw_fatal` reporter, whose auto-recover runs `mlx5_fw_fatal_reporter_recover`
 * under the devlink instance lock: the driver is unloaded
 * (`mlx5_unload_one_devl_locked`) and loaded again
 * (`mlx5_load_one_devl_locked(dev, true)`) — the body of a `devlink dev
 * reload`, on the health work's thread.
 *
 * C read: health.c (Mellanox/nic-kernel 636908a9: `mlx5_fw_fatal_reporter_err_work`,
 * `enter_error_state`, `mlx5_error_sw_reset`, `mlx5_handle_bad_state`,
 * `mlx5_health_wait_pci_up`, `mlx5_health_try_recover`), net/devlink/health.c
 * (torvalds 0006c6f1: `devlink_health_report` takes `devl_lock` around the dump
 * and, separately, around `devlink_health_reporter_recover`), main.c
 * (`mlx5_disable_device`, `mlx5_recover_device`, `mlx5_load_one_devl_locked`).
 *
 * @since 0.4.0
 */
import { LockContract } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { type DevlinkHeld, DevlinkLock, devl, locked } from "./locks.ts"
import { Mlx5Core } from "./main.ts"
import type { Dev } from "./world.ts"
import { call, Run, step } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run
  const core = yield* Mlx5Core
  const fn = <A, E, R>(name: string, body: Effect.Effect<A, E, R>) => call(w, "mlx5_core", name, body)

  /**
   * `mlx5_error_sw_reset()`: under `intf_state_mutex`, if the device is in
   * INTERNAL_ERROR, take the firmware semaphore and issue the SW reset, then
   * poll (`msleep(20)`) until the NIC interface reads DISABLED. The firmware
   * side is one step [inferred: the reset completes; the timeout branch is not
   * modelled].
   */
  const mlx5ErrorSwReset = (dev: Dev) =>
    fn(
      "mlx5_error_sw_reset",
      Effect.gen(function* () {
        yield* dev.intfStateMutex.lock
        yield* step(w, "mlx5_fw_reset", "reset_fw_if_needed, wait NIC IFC DISABLED")
        yield* dev.intfStateMutex.unlock
      })
    )

  /**
   * main.c's `mlx5_disable_device()` = `mlx5_error_sw_reset` +
   * `mlx5_unload_one_devl_locked(dev, false)` [devlink asserted by the callee].
   * Here rather than in `Mlx5Core` because it calls health.c's
   * `mlx5_error_sw_reset`, and `Mlx5Core` is below this component.
   */
  const mlx5DisableDevice = (dev: Dev): Effect.Effect<void, never, DevlinkHeld> =>
    fn(
      "mlx5_disable_device",
      Effect.gen(function* () {
        yield* mlx5ErrorSwReset(dev)
        yield* core.mlx5UnloadOneDevlLocked(dev)
      })
    )

  /**
   * `mlx5_health_try_recover()` [devlink held: the devlink health core took it]:
   * `mlx5_handle_bad_state` (log the NIC interface state, `mlx5_disable_device`),
   * `mlx5_health_wait_pci_up` (poll every 100 ms up to the FW_RESET timeout: one
   * step here [inferred: PCI reads work again; the -ETIMEDOUT branch is not
   * modelled]), then `mlx5_recover_device` (PCI disable, slot reset, then
   * `mlx5_load_one_devl_locked(dev, true)`, whose end with V1 7/7 / V2 7/7 and
   * the profile bit calls `mlx5_set_default_switchdev`). Returns 0 or -EIO.
   */
  const mlx5HealthTryRecover = (dev: Dev): Effect.Effect<number, never, DevlinkHeld> =>
    locked(
      w,
      "mlx5_core",
      "mlx5_health_try_recover",
      DevlinkLock,
      dev.devlink.id,
      Effect.gen(function* () {
        yield* step(w, "mlx5_core_warn", "handling bad device here")
        yield* fn("mlx5_handle_bad_state", mlx5DisableDevice(dev))
        yield* fn("mlx5_health_wait_pci_up", step(w, "sensor_pci_not_working", "poll every 100 ms until PCI reads work"))
        yield* step(w, "mlx5_core_err", "starting health recovery flow")
        const err = yield* core.mlx5RecoverDevice(dev)
        if (err !== 0) return -5
        // Ghost: the driver was reloaded after the user's last mode set (user-mode-preserved).
        if ((yield* dev.userMode.get) !== undefined) yield* dev.reloadedSinceUserMode.set(true)
        return 0
      })
    )

  /**
   * `mlx5_fw_fatal_reporter_err_work()` on the health work queue, after
   * `poll_health` saw a fatal sensor and set `dev->state = INTERNAL_ERROR`:
   * `intf_state_mutex` around the `MLX5_DROP_HEALTH_WORK` check (set only on
   * teardown, which no health scenario runs); `enter_error_state` (commands
   * flushed, `MLX5_DEV_EVENT_SYS_ERROR` to the notifier chain: one step, its
   * listeners are not modelled); then `devlink_health_report` on the `fw_fatal`
   * reporter: the first error of a fresh reporter is neither in its grace
   * period nor after an unrecovered one, so auto-dump (`devl_lock`, the
   * crdump, `devl_unlock`) and auto-recover (`devl_lock`,
   * `devlink_health_reporter_recover` → `.recover` =
   * `mlx5_fw_fatal_reporter_recover` → `mlx5_health_try_recover`,
   * `devl_unlock`) both run [C: `auto_dump` / `auto_recover` default to
   * whether the ops have `.dump` / `.recover`; the PF ops have both].
   * Reduction: firmware commands issued by other threads while the device is in
   * INTERNAL_ERROR (between `enter_error_state` and the reload) succeed in the
   * model; in the C, create commands fail with -ENOLINK (`mlx5_internal_err_ret_value`).
   *
   * @example
   * ```ts
   * // const health = yield* Health
   * // yield* w.kernel.spawn("health", health.mlx5FwFatalReporterErrWork(dev))
   * ```
   */
  const mlx5FwFatalReporterErrWork = (dev: Dev): Effect.Effect<number> =>
    fn(
      "mlx5_fw_fatal_reporter_err_work",
      Effect.gen(function* () {
        yield* dev.intfStateMutex.lock
        yield* dev.intfStateMutex.unlock
        yield* fn("enter_error_state", step(w, "mlx5_cmd_flush", "dev->state = INTERNAL_ERROR; MLX5_DEV_EVENT_SYS_ERROR"))
        return yield* call(
          w,
          "devlink",
          "devlink_health_report",
          Effect.gen(function* () {
            yield* LockContract.withLock(
              devl(w, dev),
              call(w, "devlink", "devlink_health_do_dump", step(w, "mlx5_crdump_collect", dev.name))
            )
            return yield* LockContract.withLock(
              devl(w, dev),
              call(w, "devlink", "devlink_health_reporter_recover", fn("mlx5_fw_fatal_reporter_recover", mlx5HealthTryRecover(dev)))
            )
          })
        )
      })
    )
  return { mlx5FwFatalReporterErrWork }
})

/**
 * Health recovery as a component: the health work queue's fatal-error work
 * and the `fw_fatal` reporter's recover (health.c), reached by a scenario's
 * health thread.
 *
 * @example
 * ```ts
 * // const health = yield* Health
 * // yield* health.mlx5FwFatalReporterErrWork(dev) // unload + load under devl_lock
 * ```
 * @category components
 * @since 0.4.0
 */
export class Health extends Context.Service<Health>()("@drvmodel/mlx5/Health", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(Health, make)
}
