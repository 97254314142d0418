/**
 * Entry points of user and driver-core threads: devlink commands (taken under
 * the instance lock as devlink_nl_pre_doit does), SR-IOV configuration, SF
 * port add / del, device probe / remove (main.c) with the V1 patch 7 profile.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { mlx5RescanDriversLocked } from "./aux.ts"
import {
  mlx5DevlinkEswitchModeSet,
  mlx5EswitchCleanup,
  mlx5EswitchDisable,
  mlx5EswitchDisableSriov,
  mlx5EswitchEnable,
  mlx5EswitchLoadVport,
  mlx5EswitchUnloadVport
} from "./eswitch.ts"
import { repsBlock, repsUnblock } from "./registry.ts"
import type { Dev, Mode, World } from "./world.ts"
import { call, step } from "./world.ts"

const fn = <A, E, R>(w: World, name: string, body: Effect.Effect<A, E, R>) => call(w, "mlx5_core", name, body)

/** A devlink netlink command: `devlink_nl_pre_doit` takes the instance lock around the op. */
const devlinkCmd = <A>(w: World, dev: Dev, name: string, body: Effect.Effect<A>): Effect.Effect<A> =>
  call(
    w,
    "devlink",
    name,
    Effect.gen(function* () {
      yield* fn(w, "devl_lock", dev.devlink.lock)
      const a = yield* body
      yield* fn(w, "devl_unlock", dev.devlink.unlock)
      return a
    })
  )

/** `devlink dev eswitch set … mode legacy|switchdev`. */
export const devlinkEswitchSet = (w: World, dev: Dev, mode: Mode): Effect.Effect<number> =>
  devlinkCmd(w, dev, "devlink_nl_eswitch_set_doit", mlx5DevlinkEswitchModeSet(w, dev.esw, mode))

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
      if (n > 0 && dev.sriovNumVfs > 0) err = -16
      else if (n !== dev.sriovNumVfs) {
        yield* fn(w, "devl_lock", dev.devlink.lock)
        if (n > 0) err = yield* fn(w, "mlx5_device_enable_sriov", mlx5EswitchEnable(w, dev.esw, n))
        else yield* fn(w, "mlx5_device_disable_sriov", mlx5EswitchDisableSriov(w, dev.esw, true))
        yield* fn(w, "devl_unlock", dev.devlink.unlock)
        if (err === 0) dev.sriovNumVfs = n
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
      if (dev.sfExists || (yield* dev.esw.mode.read) !== "OFFLOADS") return -95
      return yield* fn(
        w,
        "mlx5_sf_add",
        Effect.gen(function* () {
          yield* step(w, "mlx5_cmd_exec", "ALLOC_SF")
          yield* repsBlock(w, dev.esw)
          const err = yield* mlx5EswitchLoadVport(w, dev.esw, "sf1")
          yield* repsUnblock(w, dev.esw)
          if (err === 0) dev.sfExists = true
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
      if (!dev.sfExists) return -2
      yield* repsBlock(w, dev.esw)
      yield* fn(
        w,
        "mlx5_sf_del",
        Effect.gen(function* () {
          yield* mlx5EswitchUnloadVport(w, dev.esw, "sf1")
          yield* step(w, "mlx5_cmd_exec", "DEALLOC_SF")
          dev.sfExists = false
        })
      )
      yield* repsUnblock(w, dev.esw)
      return 0
    })
  )

/** `mlx5_register_device()`: publish the aux devices supported in the current mode. */
const mlx5RegisterDevice = (w: World, dev: Dev) =>
  fn(
    w,
    "mlx5_register_device",
    Effect.gen(function* () {
      dev.flags.disableAllAdev = false
      dev.registered = true
      yield* mlx5RescanDriversLocked(w, dev)
    })
  )

/** `mlx5_unregister_device()`: DISABLE_ALL_ADEV and rescan (every aux device removed). */
const mlx5UnregisterDevice = (w: World, dev: Dev) =>
  fn(
    w,
    "mlx5_unregister_device",
    Effect.gen(function* () {
      dev.flags.disableAllAdev = true
      dev.registered = false
      yield* mlx5RescanDriversLocked(w, dev)
    })
  )

/**
 * `probe_one` → `mlx5_init_one`: devl_lock; `mlx5_init_one_devl_locked`
 * (intf_state_mutex: setup, init_once, load, register_device); then with
 * patch 7 and the profile bit, `mlx5_set_default_switchdev` (devlink held);
 * devl_unlock. `profileSwitchdev` is prof_sel=4; without patch 7 that index
 * is out of range and the default profile is used.
 */
export const probeOne = (w: World, dev: Dev, profileSwitchdev: boolean): Effect.Effect<void> =>
  call(
    w,
    "pci",
    "probe_one",
    Effect.gen(function* () {
      yield* dev.pdevLock.lock
      yield* fn(
        w,
        "mlx5_init_one",
        Effect.gen(function* () {
          yield* fn(w, "devl_lock", dev.devlink.lock)
          yield* fn(
            w,
            "mlx5_init_one_devl_locked",
            Effect.gen(function* () {
              yield* dev.intfStateMutex.lock
              yield* step(w, "mlx5_cmd_exec", "mlx5_function_setup")
              yield* step(w, "mlx5_load", dev.name)
              yield* mlx5RegisterDevice(w, dev)
              yield* dev.intfStateMutex.unlock
            })
          )
          if (profileSwitchdev && w.v.switchdevProfile) {
            yield* fn(w, "mlx5_set_default_switchdev", mlx5DevlinkEswitchModeSet(w, dev.esw, "OFFLOADS"))
          }
          yield* fn(w, "devl_unlock", dev.devlink.unlock)
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
          yield* fn(w, "devl_lock", dev.devlink.lock)
          yield* dev.intfStateMutex.lock
          yield* mlx5UnregisterDevice(w, dev)
          yield* fn(w, "mlx5_unload", mlx5EswitchDisable(w, dev.esw))
          yield* fn(w, "mlx5_cleanup_once", mlx5EswitchCleanup(w, dev.esw))
          yield* dev.intfStateMutex.unlock
          yield* fn(w, "devl_unlock", dev.devlink.unlock)
        })
      )
      yield* dev.pdevLock.unlock
    })
  )
