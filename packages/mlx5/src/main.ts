/**
 * The PCI function's lifecycle in mlx5_core (main.c, sriov.c, dev.c): probe and
 * remove (`init_one` / `remove_one`), SR-IOV configuration
 * (`sriov_numvfs_store` → `mlx5_core_sriov_configure`), registering the aux
 * devices, and the unload / load a devlink reload and health recovery run
 * (`mlx5_recover_device`), with V1 patch 7's switchdev profile.
 *
 * @since 0.4.0
 */
import { LockContract } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { AuxBus } from "./aux.ts"
import { Eswitch } from "./eswitch.ts"
import { Lag } from "./lag.ts"
import { type DevlinkHeld, DevlinkLock, devl, locked } from "./locks.ts"
import type { Dev } from "./world.ts"
import { call, Run, step } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run
  const aux = yield* AuxBus
  const eswitch = yield* Eswitch
  const lag = yield* Lag
  const fn = <A, E, R>(name: string, body: Effect.Effect<A, E, R>) => call(w, "mlx5_core", name, body)
  /**
   * `echo n > sriov_numvfs`: `sriov_numvfs_store` (pdev device_lock) →
   * `mlx5_core_sriov_configure` → enable (`mlx5_eswitch_enable`) or disable
   * (`mlx5_eswitch_disable_sriov`) under the devlink lock. Only 0→n and n→0.
   */
  const sriovNumvfsStore = (dev: Dev, n: number): Effect.Effect<number> =>
    call(
      w,
      "pci",
      "sriov_numvfs_store",
      Effect.gen(function* () {
        yield* dev.pdevLock.lock
        let err = 0
        const current = yield* dev.sriovNumVfs.get
        if (n > 0 && current > 0) err = -16
        else if (n !== current) {
          // mlx5_core_sriov_configure: devl_lock; enable or disable; on success sriov->num_vfs = n.
          err = yield* LockContract.withLock(
            devl(w, dev),
            Effect.gen(function* () {
              const e =
                n > 0
                  ? yield* fn("mlx5_device_enable_sriov", eswitch.mlx5EswitchEnable(dev.esw, n))
                  : yield* Effect.as(fn("mlx5_device_disable_sriov", eswitch.mlx5EswitchDisableSriov(dev.esw, true)), 0)
              if (e === 0) yield* dev.sriovNumVfsDev.set(n)
              return e
            })
          )
          if (err === 0) yield* dev.sriovNumVfs.set(n)
        }
        yield* dev.pdevLock.unlock
        return err
      })
    )
  /** `mlx5_register_device()`: under the devcom comp lock, publish the aux devices supported in the current mode. */
  const mlx5RegisterDevice = (dev: Dev) =>
    fn(
      "mlx5_register_device",
      Effect.gen(function* () {
        yield* call(w, "devcom", "mlx5_devcom_comp_lock", dev.devcom.downWrite)
        yield* dev.flags.disableAllAdev.set(false)
        yield* dev.registered.set(true)
        yield* aux.mlx5RescanDriversLocked(dev)
        yield* call(w, "devcom", "mlx5_devcom_comp_unlock", dev.devcom.upWrite)
      })
    )

  /**
   * `mlx5_unregister_device()`: under the devcom comp lock, `priv.flags =
   * DISABLE_ALL_ADEV` (which also clears DETACH) and rescan (every aux device removed).
   */
  const mlx5UnregisterDevice = (dev: Dev) =>
    fn(
      "mlx5_unregister_device",
      Effect.gen(function* () {
        yield* call(w, "devcom", "mlx5_devcom_comp_lock", dev.devcom.downWrite)
        yield* dev.flags.disableAllAdev.set(true)
        yield* dev.flags.disableIbAdev.set(false)
        yield* dev.flags.detach.set(false)
        yield* dev.registered.set(false)
        yield* aux.mlx5RescanDriversLocked(dev)
        yield* call(w, "devcom", "mlx5_devcom_comp_unlock", dev.devcom.upWrite)
      })
    )

  /**
   * V1 patch 7 `mlx5_set_default_switchdev()` [devlink held]: the driver's own
   * mode set to switchdev (not through devlink core: no notification, and the
   * user's earlier choice is not consulted); `mlx5_core_warn` unless it
   * succeeded or returned -EOPNOTSUPP. The warning is a log line, not a WARN
   * splat, so it is a trace step here, not a finding.
   */
  const mlx5SetDefaultSwitchdev = (dev: Dev) =>
    locked(
      w,
      "mlx5_core",
      "mlx5_set_default_switchdev",
      DevlinkLock,
      dev.devlink.id,
      Effect.gen(function* () {
        const err = yield* eswitch.mlx5DevlinkEswitchModeSet(dev.esw, "OFFLOADS")
        if (err !== 0 && err !== -95) yield* step(w, "mlx5_core_warn", `failed setting switchdev as default (${err})`)
      })
    )

  /**
   * `probe_one` → `mlx5_init_one`: devl_lock; `mlx5_init_one_devl_locked`
   * (intf_state_mutex: setup, init_once, load, register_device; then, after
   * the mutex is released, with patch 7 and the profile bit,
   * `mlx5_set_default_switchdev`); devl_unlock. `profileSwitchdev` is prof_sel=4; without patch 7 that index
   * is out of range and the default profile is used.
   */
  const probeOne = (dev: Dev, profileSwitchdev: boolean): Effect.Effect<void> =>
    call(
      w,
      "pci",
      "probe_one",
      Effect.gen(function* () {
        yield* dev.pdevLock.lock
        // mlx5_mdev_init(dev, prof_sel): copy profile[prof_sel] (index 4 exists only with patch 7).
        yield* dev.profileDefSwitchdev.set(profileSwitchdev && w.v.switchdevProfile)
        yield* fn(
          "mlx5_init_one",
          Effect.gen(function* () {
            yield* LockContract.withLock(
              devl(w, dev),
              locked(
                w,
                "mlx5_core",
                "mlx5_init_one_devl_locked",
                DevlinkLock,
                dev.devlink.id,
                Effect.gen(function* () {
                  yield* dev.intfStateMutex.lock
                  yield* step(w, "mlx5_cmd_exec", "mlx5_function_setup")
                  yield* step(w, "mlx5_load", dev.name)
                  yield* mlx5RegisterDevice(dev)
                  yield* dev.intfStateMutex.unlock
                  // V1 patch 7: after intf_state_mutex is released, devlink still held.
                  if (yield* dev.profileDefSwitchdev.get) yield* mlx5SetDefaultSwitchdev(dev)
                })
              )
            )
          })
        )
        yield* dev.pdevLock.unlock
      })
    )

  /**
   * `remove_one` → `mlx5_uninit_one`: devl_lock; intf_state_mutex;
   * `mlx5_unregister_device`; `mlx5_unload` (→ `mlx5_eswitch_disable`, `mlx5_lag_remove_mdev`);
   * `mlx5_cleanup_once` (→ `mlx5_eswitch_cleanup`, which drains the work
   * queue); devl_unregister; devl_unlock.
   */
  const removeOne = (dev: Dev): Effect.Effect<void> =>
    call(
      w,
      "pci",
      "remove_one",
      Effect.gen(function* () {
        yield* dev.pdevLock.lock
        yield* fn(
          "mlx5_uninit_one",
          Effect.gen(function* () {
            yield* LockContract.withLock(
              devl(w, dev),
              Effect.gen(function* () {
                yield* dev.intfStateMutex.lock
                yield* mlx5UnregisterDevice(dev)
                // [inferred] mlx5_unload as far as remove needs it: the E-Switch, then the LAG membership
                // (mlx5_sriov_detach and the firmware teardown in between are left out here).
                yield* fn("mlx5_unload", Effect.andThen(eswitch.mlx5EswitchDisable(dev.esw), lag.mlx5LagRemoveMdev(dev)))
                yield* fn("mlx5_cleanup_once", eswitch.mlx5EswitchCleanup(dev.esw))
                yield* dev.intfStateMutex.unlock
              })
            )
          })
        )
        yield* dev.pdevLock.unlock
      })
    )

  /**
   * `mlx5_unload()` (reload, recovery, firmware reset, remove): `mlx5_eswitch_disable` first (FDB
   * torn down, reps unloaded, mode reset to LEGACY), then `mlx5_sriov_detach`
   * → `mlx5_device_disable_sriov(dev, num_vfs, clear_vf=false)` →
   * `mlx5_eswitch_disable_sriov` (the FDB is already gone: nothing to do), then
   * `mlx5_lag_remove_mdev` (the PF leaves its ldev; it may sleep until no mode change is in
   * progress on the ldev); the rest (steering, EQs, IRQs) is one firmware step. A reload does not
   * call `mlx5_cleanup_once`: the E-Switch, its generation and its work queue survive.
   */
  const mlx5Unload = (dev: Dev) =>
    fn(
      "mlx5_unload",
      Effect.gen(function* () {
        yield* eswitch.mlx5EswitchDisable(dev.esw)
        yield* fn("mlx5_sriov_detach", fn("mlx5_device_disable_sriov", eswitch.mlx5EswitchDisableSriov(dev.esw, false)))
        yield* lag.mlx5LagRemoveMdev(dev)
        yield* step(w, "mlx5_cmd_exec", "mlx5_fs_core_cleanup, mlx5_eq_table_destroy")
      })
    )

  /**
   * `mlx5_load()` as a reload reaches it: firmware-side setup as one step, then
   * `mlx5_lag_add_mdev` (the PF joins its NIC's ldev, or allocates one; it retries every 100 ms
   * while a mode change is in progress on the ldev, and its PAIR event marks the master), then
   * `mlx5_sriov_attach`: VFs still enabled at the PCI level are enabled again
   * in the device (`mlx5_device_enable_sriov` → `mlx5_eswitch_enable(esw,
   * num_vfs)`, in LEGACY since the unload reset the mode).
   */
  const mlx5Load = (dev: Dev) =>
    fn(
      "mlx5_load",
      Effect.gen(function* () {
        yield* step(w, "mlx5_cmd_exec", "mlx5_eq_table_create, mlx5_fs_core_init")
        yield* lag.mlx5LagAddMdev(dev)
        // mlx5_sriov_attach reads dev->priv.sriov.num_vfs [devlink lock, held by the reload].
        const numVfs = yield* dev.sriovNumVfsDev.get
        if (numVfs === 0) return 0
        return yield* fn("mlx5_sriov_attach", fn("mlx5_device_enable_sriov", eswitch.mlx5EswitchEnable(dev.esw, numVfs)))
      })
    )

  /**
   * `mlx5_unload_one_devl_locked(dev, suspend=false)` [devlink asserted]:
   * intf_state_mutex; `mlx5_detach_device` (every aux device deleted: mlx5_ib
   * and mlx5e unregister their reps); clear INTERFACE_STATE_UP; `mlx5_unload`;
   * `mlx5_function_teardown`.
   */
  const mlx5UnloadOneDevlLocked = (dev: Dev) =>
    locked(
      w,
      "mlx5_core",
      "mlx5_unload_one_devl_locked",
      DevlinkLock,
      dev.devlink.id,
      Effect.gen(function* () {
        yield* fn("devl_assert_locked", dev.devlink.assertHeld)
        yield* dev.intfStateMutex.lock
        yield* aux.mlx5DetachDevice(dev)
        yield* mlx5Unload(dev)
        yield* step(w, "mlx5_cmd_exec", "mlx5_function_teardown")
        yield* dev.intfStateMutex.unlock
      })
    )

  /**
   * `mlx5_load_one_devl_locked(dev, recovery)` [devlink asserted]:
   * intf_state_mutex; `mlx5_function_setup` (with the recovery timeout when
   * `recovery`: health recovery's `mlx5_recover_device`; the devlink reload
   * passes false); `mlx5_load`; set INTERFACE_STATE_UP; `mlx5_attach_device`
   * (aux devices of the current mode: LEGACY, so no rep devices); release the
   * mutex; then V1 patch 7, with the profile bit, `mlx5_set_default_switchdev`
   * — whatever mode the user had chosen before the reload or the recovery.
   * [inferred] the INTERFACE_STATE_UP "interface is up, NOP" check is not
   * modelled: every caller here unloads first under the same devlink lock.
   */
  const mlx5LoadOneDevlLocked = (dev: Dev, recovery = false): Effect.Effect<number, never, DevlinkHeld> =>
    locked(
      w,
      "mlx5_core",
      "mlx5_load_one_devl_locked",
      DevlinkLock,
      dev.devlink.id,
      Effect.gen(function* () {
        yield* fn("devl_assert_locked", dev.devlink.assertHeld)
        yield* dev.intfStateMutex.lock
        // dev->state = MLX5_DEVICE_STATE_UP ("remove any previous indication of internal error").
        yield* step(w, "mlx5_cmd_exec", recovery ? "mlx5_function_setup(FW_PRE_INIT_ON_RECOVERY_TIMEOUT)" : "mlx5_function_setup")
        const err = yield* mlx5Load(dev)
        if (err !== 0) {
          // err_load: mlx5_function_teardown; dev->state = INTERNAL_ERROR. [inferred] not reached in the model.
          yield* dev.intfStateMutex.unlock
          return err
        }
        yield* aux.mlx5AttachDevice(dev)
        yield* dev.intfStateMutex.unlock
        if (yield* dev.profileDefSwitchdev.get) yield* mlx5SetDefaultSwitchdev(dev)
        return 0
      })
    )
  /**
   * `mlx5_recover_device()` [devlink held by health recovery]: for a PCI
   * function (not an SF) `mlx5_pci_disable_device` and `mlx5_pci_slot_reset`
   * (enable, restore state, `wait_vital`: one step [inferred: the slot comes
   * back RECOVERED]), then `mlx5_load_one_devl_locked(dev, true)`.
   */
  const mlx5RecoverDevice = (dev: Dev): Effect.Effect<number, never, DevlinkHeld> =>
    fn(
      "mlx5_recover_device",
      Effect.gen(function* () {
        yield* step(w, "pci", "mlx5_pci_disable_device")
        yield* fn("mlx5_pci_slot_reset", step(w, "pci", "mlx5_pci_enable_device, pci_restore_state, wait_vital"))
        return yield* mlx5LoadOneDevlLocked(dev, true)
      })
    )
  return {
    sriovNumvfsStore,
    probeOne,
    removeOne,
    mlx5UnloadOneDevlLocked,
    mlx5LoadOneDevlLocked,
    mlx5RecoverDevice
  }
})

/**
 * The PCI function's lifecycle in mlx5_core (main.c, sriov.c) as a component:
 * probe, remove, SR-IOV configuration, and the unload / load of a reload.
 *
 * @example
 * ```ts
 * // const core = yield* Mlx5Core
 * // yield* core.probeOne(dev, false)
 * ```
 * @category components
 * @since 0.4.0
 */
export class Mlx5Core extends Context.Service<Mlx5Core>()("@drvmodel/mlx5/Mlx5Core", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(Mlx5Core, make)
}
