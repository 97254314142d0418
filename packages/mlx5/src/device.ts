/**
 * Entry points of user and driver-core threads: devlink commands (taken under
 * the instance lock as devlink_nl_pre_doit does: eswitch mode set, SF port
 * add / del, `devlink dev reload`), SR-IOV configuration, device probe /
 * remove and the reload's unload / load (main.c) with the V1 patch 7 profile.
 *
 * @since 0.1.0
 */
import { LockContract } from "@drvmodel/core"
import { Effect } from "effect"
import { mlx5AttachDevice, mlx5DetachDevice, mlx5RescanDriversLocked } from "./aux.ts"
import {
  mlx5DevlinkEswitchModeSet,
  mlx5EswitchCleanup,
  mlx5EswitchDisable,
  mlx5EswitchDisableSriov,
  mlx5EswitchEnable,
  mlx5EswitchLoadVport,
  mlx5EswitchUnloadVport
} from "./eswitch.ts"
import { type DevlinkHeld, DevlinkLock, devl, locked } from "./locks.ts"
import { repsBlock, repsUnblock } from "./registry.ts"
import type { Dev, Mode, World } from "./world.ts"
import { call, step } from "./world.ts"

const fn = <A, E, R>(w: World, name: string, body: Effect.Effect<A, E, R>) => call(w, "mlx5_core", name, body)

/** A devlink netlink command: `devlink_nl_pre_doit` takes the instance lock around the op. */
const devlinkCmd = <A>(w: World, dev: Dev, name: string, body: Effect.Effect<A, never, DevlinkHeld>): Effect.Effect<A> =>
  call(w, "devlink", name, LockContract.withLock(devl(w, dev), body))

/**
 * `devlink dev eswitch set … mode legacy|switchdev`. On success the user's
 * choice is recorded (ghost `dev.userMode`) for the `user-mode-preserved`
 * invariant.
 */
export const devlinkEswitchSet = (w: World, dev: Dev, mode: Mode): Effect.Effect<number> =>
  devlinkCmd(
    w,
    dev,
    "devlink_nl_eswitch_set_doit",
    Effect.tap(mlx5DevlinkEswitchModeSet(w, dev.esw, mode), (err) =>
      err !== 0 ? Effect.void : Effect.andThen(dev.userMode.set(mode), dev.reloadedSinceUserMode.set(false))
    )
  )

/**
 * `echo n > sriov_numvfs`: `sriov_numvfs_store` (pdev device_lock) →
 * `mlx5_core_sriov_configure` → enable (`mlx5_eswitch_enable`) or disable
 * (`mlx5_eswitch_disable_sriov`) under the devlink lock. Only 0→n and n→0.
 */
export const sriovNumvfsStore = (w: World, dev: Dev, n: number): Effect.Effect<number> =>
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
                ? yield* fn(w, "mlx5_device_enable_sriov", mlx5EswitchEnable(w, dev.esw, n))
                : yield* Effect.as(fn(w, "mlx5_device_disable_sriov", mlx5EswitchDisableSriov(w, dev.esw, true)), 0)
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

/** `devlink port add … flavour pcisf`: `mlx5_devlink_sf_port_new` → `mlx5_sf_add` (guard around the vport load from patch 5). */
export const devlinkSfPortNew = (w: World, dev: Dev): Effect.Effect<number> =>
  devlinkCmd(
    w,
    dev,
    "mlx5_devlink_sf_port_new",
    Effect.gen(function* () {
      // [inferred] SF ports require switchdev; a second SF in this model is refused.
      if ((yield* dev.sfExists.get) || (yield* dev.esw.mode.read) !== "OFFLOADS") return -95
      return yield* fn(
        w,
        "mlx5_sf_add",
        Effect.gen(function* () {
          yield* step(w, "mlx5_cmd_exec", "ALLOC_SF")
          yield* repsBlock(w, dev.esw)
          const err = yield* mlx5EswitchLoadVport(w, dev.esw, "sf1")
          yield* repsUnblock(w, dev.esw)
          if (err === 0) yield* dev.sfExists.set(true)
          return err
        })
      )
    })
  )

/** `devlink port del`: `mlx5_devlink_sf_port_del` → `mlx5_sf_del` (guard around it from patch 5). */
export const devlinkSfPortDel = (w: World, dev: Dev): Effect.Effect<number> =>
  devlinkCmd(
    w,
    dev,
    "mlx5_devlink_sf_port_del",
    Effect.gen(function* () {
      if (!(yield* dev.sfExists.get)) return -2
      yield* repsBlock(w, dev.esw)
      yield* fn(
        w,
        "mlx5_sf_del",
        Effect.gen(function* () {
          yield* mlx5EswitchUnloadVport(w, dev.esw, "sf1")
          yield* step(w, "mlx5_cmd_exec", "DEALLOC_SF")
          yield* dev.sfExists.set(false)
        })
      )
      yield* repsUnblock(w, dev.esw)
      return 0
    })
  )

/** `mlx5_register_device()`: under the devcom comp lock, publish the aux devices supported in the current mode. */
const mlx5RegisterDevice = (w: World, dev: Dev) =>
  fn(
    w,
    "mlx5_register_device",
    Effect.gen(function* () {
      yield* call(w, "devcom", "mlx5_devcom_comp_lock", dev.devcom.downWrite)
      yield* dev.flags.disableAllAdev.set(false)
      yield* dev.registered.set(true)
      yield* mlx5RescanDriversLocked(w, dev)
      yield* call(w, "devcom", "mlx5_devcom_comp_unlock", dev.devcom.upWrite)
    })
  )

/**
 * `mlx5_unregister_device()`: under the devcom comp lock, `priv.flags =
 * DISABLE_ALL_ADEV` (which also clears DETACH) and rescan (every aux device removed).
 */
const mlx5UnregisterDevice = (w: World, dev: Dev) =>
  fn(
    w,
    "mlx5_unregister_device",
    Effect.gen(function* () {
      yield* call(w, "devcom", "mlx5_devcom_comp_lock", dev.devcom.downWrite)
      yield* dev.flags.disableAllAdev.set(true)
      yield* dev.flags.disableIbAdev.set(false)
      yield* dev.flags.detach.set(false)
      yield* dev.registered.set(false)
      yield* mlx5RescanDriversLocked(w, dev)
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
const mlx5SetDefaultSwitchdev = (w: World, dev: Dev) =>
  locked(
    w,
    "mlx5_core",
    "mlx5_set_default_switchdev",
    DevlinkLock,
    dev.devlink.id,
    Effect.gen(function* () {
      const err = yield* mlx5DevlinkEswitchModeSet(w, dev.esw, "OFFLOADS")
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
export const probeOne = (w: World, dev: Dev, profileSwitchdev: boolean): Effect.Effect<void> =>
  call(
    w,
    "pci",
    "probe_one",
    Effect.gen(function* () {
      yield* dev.pdevLock.lock
      // mlx5_mdev_init(dev, prof_sel): copy profile[prof_sel] (index 4 exists only with patch 7).
      yield* dev.profileDefSwitchdev.set(profileSwitchdev && w.v.switchdevProfile)
      yield* fn(
        w,
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
                yield* mlx5RegisterDevice(w, dev)
                yield* dev.intfStateMutex.unlock
                // V1 patch 7: after intf_state_mutex is released, devlink still held.
                if (yield* dev.profileDefSwitchdev.get) yield* mlx5SetDefaultSwitchdev(w, dev)
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
 * `mlx5_unregister_device`; `mlx5_unload` (→ `mlx5_eswitch_disable`);
 * `mlx5_cleanup_once` (→ `mlx5_eswitch_cleanup`, which drains the work
 * queue); devl_unregister; devl_unlock.
 */
export const removeOne = (w: World, dev: Dev): Effect.Effect<void> =>
  call(
    w,
    "pci",
    "remove_one",
    Effect.gen(function* () {
      yield* dev.pdevLock.lock
      yield* fn(
        w,
        "mlx5_uninit_one",
        Effect.gen(function* () {
          yield* LockContract.withLock(
            devl(w, dev),
            Effect.gen(function* () {
              yield* dev.intfStateMutex.lock
              yield* mlx5UnregisterDevice(w, dev)
              yield* fn(w, "mlx5_unload", mlx5EswitchDisable(w, dev.esw))
              yield* fn(w, "mlx5_cleanup_once", mlx5EswitchCleanup(w, dev.esw))
              yield* dev.intfStateMutex.unlock
            })
          )
        })
      )
      yield* dev.pdevLock.unlock
    })
  )

/**
 * `mlx5_unload()` as a reload reaches it: `mlx5_eswitch_disable` first (FDB
 * torn down, reps unloaded, mode reset to LEGACY), then `mlx5_sriov_detach`
 * → `mlx5_device_disable_sriov(dev, num_vfs, clear_vf=false)` →
 * `mlx5_eswitch_disable_sriov` (the FDB is already gone: nothing to do); the
 * rest (steering, EQs, IRQs) is one firmware step. `mlx5_cleanup_once` is
 * not called: the E-Switch, its generation and its work queue survive.
 */
const mlx5Unload = (w: World, dev: Dev) =>
  fn(
    w,
    "mlx5_unload",
    Effect.gen(function* () {
      yield* mlx5EswitchDisable(w, dev.esw)
      yield* fn(w, "mlx5_sriov_detach", fn(w, "mlx5_device_disable_sriov", mlx5EswitchDisableSriov(w, dev.esw, false)))
      yield* step(w, "mlx5_cmd_exec", "mlx5_fs_core_cleanup, mlx5_eq_table_destroy")
    })
  )

/**
 * `mlx5_load()` as a reload reaches it: firmware-side setup as one step, then
 * `mlx5_sriov_attach`: VFs still enabled at the PCI level are enabled again
 * in the device (`mlx5_device_enable_sriov` → `mlx5_eswitch_enable(esw,
 * num_vfs)`, in LEGACY since the unload reset the mode).
 */
const mlx5Load = (w: World, dev: Dev) =>
  fn(
    w,
    "mlx5_load",
    Effect.gen(function* () {
      yield* step(w, "mlx5_cmd_exec", "mlx5_eq_table_create, mlx5_fs_core_init")
      // mlx5_sriov_attach reads dev->priv.sriov.num_vfs [devlink lock, held by the reload].
      const numVfs = yield* dev.sriovNumVfsDev.get
      if (numVfs === 0) return 0
      return yield* fn(w, "mlx5_sriov_attach", fn(w, "mlx5_device_enable_sriov", mlx5EswitchEnable(w, dev.esw, numVfs)))
    })
  )

/**
 * `mlx5_unload_one_devl_locked(dev, suspend=false)` [devlink asserted]:
 * intf_state_mutex; `mlx5_detach_device` (every aux device deleted: mlx5_ib
 * and mlx5e unregister their reps); clear INTERFACE_STATE_UP; `mlx5_unload`;
 * `mlx5_function_teardown`.
 */
const mlx5UnloadOneDevlLocked = (w: World, dev: Dev) =>
  locked(
    w,
    "mlx5_core",
    "mlx5_unload_one_devl_locked",
    DevlinkLock,
    dev.devlink.id,
    Effect.gen(function* () {
      yield* fn(w, "devl_assert_locked", dev.devlink.assertHeld)
      yield* dev.intfStateMutex.lock
      yield* mlx5DetachDevice(w, dev)
      yield* mlx5Unload(w, dev)
      yield* step(w, "mlx5_cmd_exec", "mlx5_function_teardown")
      yield* dev.intfStateMutex.unlock
    })
  )

/**
 * `mlx5_load_one_devl_locked(dev, recovery=false)` [devlink asserted]:
 * intf_state_mutex; `mlx5_function_setup`; `mlx5_load`; set
 * INTERFACE_STATE_UP; `mlx5_attach_device` (aux devices of the current
 * mode: LEGACY, so no rep devices); release the mutex; then V1 patch 7, with
 * the profile bit, `mlx5_set_default_switchdev` — whatever mode the user had
 * chosen before the reload.
 */
const mlx5LoadOneDevlLocked = (w: World, dev: Dev): Effect.Effect<number, never, DevlinkHeld> =>
  locked(
    w,
    "mlx5_core",
    "mlx5_load_one_devl_locked",
    DevlinkLock,
    dev.devlink.id,
    Effect.gen(function* () {
      yield* fn(w, "devl_assert_locked", dev.devlink.assertHeld)
      yield* dev.intfStateMutex.lock
      yield* step(w, "mlx5_cmd_exec", "mlx5_function_setup")
      const err = yield* mlx5Load(w, dev)
      if (err !== 0) {
        // err_load: mlx5_function_teardown; dev->state = INTERNAL_ERROR. [inferred] not reached in the model.
        yield* dev.intfStateMutex.unlock
        return err
      }
      yield* mlx5AttachDevice(w, dev)
      yield* dev.intfStateMutex.unlock
      if (yield* dev.profileDefSwitchdev.get) yield* mlx5SetDefaultSwitchdev(w, dev)
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
const mlx5DevlinkReloadDown = (w: World, dev: Dev): Effect.Effect<number, never, DevlinkHeld> =>
  fn(
    w,
    "mlx5_devlink_reload_down",
    Effect.gen(function* () {
      // mlx5_lag_is_active(): under lag_lock (not modelled yet: a marked read).
      if (dev.lag !== undefined && (yield* dev.lag.mode.readOnce) !== "NONE") return -95
      yield* mlx5UnloadOneDevlLocked(w, dev)
      return 0
    })
  )

/** `mlx5_devlink_reload_up()` (driver_reinit): `mlx5_load_one_devl_locked(dev, false)`. */
const mlx5DevlinkReloadUp = (w: World, dev: Dev): Effect.Effect<number, never, DevlinkHeld> =>
  fn(w, "mlx5_devlink_reload_up", mlx5LoadOneDevlLocked(w, dev))

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
 * // yield* devlinkEswitchSet(w, dev, "LEGACY")
 * // yield* devlinkDevReload(w, dev) // v1@7 + prof_sel=4: back in OFFLOADS
 * ```
 */
export const devlinkDevReload = (w: World, dev: Dev): Effect.Effect<number> =>
  devlinkCmd(
    w,
    dev,
    "devlink_nl_reload_doit",
    call(
      w,
      "devlink",
      "devlink_reload",
      Effect.gen(function* () {
        const down = yield* mlx5DevlinkReloadDown(w, dev)
        if (down !== 0) return down
        const up = yield* mlx5DevlinkReloadUp(w, dev)
        if (up === 0 && (yield* dev.userMode.get) !== undefined) yield* dev.reloadedSinceUserMode.set(true)
        return up
      })
    )
  )
