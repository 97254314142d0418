/**
 * The auxiliary bus as mlx5_core drives it: `mlx5_rescan_drivers_locked`
 * adds / deletes the `.eth-rep` and `.rdma-rep` devices, `mlx5_attach_device`
 * / `mlx5_detach_device`, and the driver core's bind / unbind under the device
 * lock. The representor drivers are components of their own (en_rep.ts,
 * ib_rep.ts); the bus reaches them through its driver list, as the driver
 * core does.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { type DevlinkHeld, DevlinkLock, locked } from "./locks.ts"
import type { Adev, AdevKind, AuxDriver, Dev } from "./world.ts"
import { call, Run, step } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run

  const ADD_ORDER: ReadonlyArray<AdevKind> = ["eth-rep", "rdma-rep"]

  /** `is_eth_rep_supported()` / `is_ib_rep_supported()`: reads the E-Switch mode (lockless on LAG paths). */
  const isSupported = (dev: Dev, kind: AdevKind): Effect.Effect<boolean> =>
    Effect.gen(function* () {
      if (yield* dev.flags.disableAllAdev.get) return false
      if (kind === "rdma-rep" && (yield* dev.flags.disableIbAdev.get)) return false
      return (yield* dev.esw.mode.read) === "OFFLOADS"
    })

  const driverOf = (kind: AdevKind): AuxDriver => (kind === "eth-rep" ? w.ethDriver : w.ibDriver)

  /** `auxiliary_device_add()`: publish, then `bus_probe_device()` under the device lock. */
  const deviceAdd = (adev: Adev) =>
    call(
      w,
      "auxiliary",
      "auxiliary_device_add",
      Effect.gen(function* () {
        yield* step(w, "device_add", `${adev.dev.name}.${adev.kind}`)
        yield* adev.exists.writeOnce(true)
        yield* deviceAttach(adev, driverOf(adev.kind))
      })
    )

  /** `__device_attach` / `__driver_attach`: bind under the device lock if live, unbound and the driver is registered. */
  const deviceAttach = (adev: Adev, drv: AuxDriver) =>
    Effect.gen(function* () {
      yield* adev.lock.lock
      if ((yield* adev.exists.readOnce) && !(yield* adev.bound.readOnce) && (yield* drv.registered.read)) {
        yield* adev.bound.writeOnce(true)
        yield* call(w, "driver-core", "really_probe", drv.probe(adev))
      }
      yield* adev.lock.unlock
    })

  /** `auxiliary_device_delete()`: mark dead and release the driver under the device lock. */
  const deviceDel = (adev: Adev) =>
    call(
      w,
      "auxiliary",
      "auxiliary_device_delete",
      Effect.gen(function* () {
        yield* adev.lock.lock
        yield* adev.exists.writeOnce(false)
        if (yield* adev.bound.readOnce) {
          yield* call(w, "driver-core", "device_release_driver", driverOf(adev.kind).remove(adev))
          yield* adev.bound.writeOnce(false)
        }
        yield* adev.lock.unlock
      })
    )

  /**
   * `mlx5_rescan_drivers_locked()`: nothing while DETACH is set; otherwise delete
   * devices no longer supported (reverse order), then, unless DISABLE_ALL_ADEV,
   * add the supported missing ones.
   */
  const mlx5RescanDriversLocked = (dev: Dev): Effect.Effect<void> =>
    call(
      w,
      "mlx5_core",
      "mlx5_rescan_drivers_locked",
      Effect.gen(function* () {
        if (yield* dev.flags.detach.get) return
        for (const kind of [...ADD_ORDER].reverse()) {
          const adev = dev.adevs[kind]
          if ((yield* adev.exists.readOnce) && !(yield* isSupported(dev, kind))) yield* deviceDel(adev)
        }
        if (yield* dev.flags.disableAllAdev.get) return
        for (const kind of ADD_ORDER) {
          const adev = dev.adevs[kind]
          if (!(yield* adev.exists.readOnce) && (yield* isSupported(dev, kind))) yield* deviceAdd(adev)
        }
      })
    )

  /**
   * `mlx5_detach_device(dev, suspend=false)` [devlink asserted] (dev.c): under
   * the devcom comp lock, delete every aux device in reverse order (with
   * `suspend` false no driver is suspended: `del_adev` unbinds it, so the rep
   * drivers unregister their reps), then set DETACH.
   */
  const mlx5DetachDevice = (dev: Dev): Effect.Effect<void, never, DevlinkHeld> =>
    locked(
      w,
      "mlx5_core",
      "mlx5_detach_device",
      DevlinkLock,
      dev.devlink.id,
      Effect.gen(function* () {
        yield* call(w, "mlx5_core", "devl_assert_locked", dev.devlink.assertHeld)
        yield* call(w, "devcom", "mlx5_devcom_comp_lock", dev.devcom.downWrite)
        for (const kind of [...ADD_ORDER].reverse()) {
          const adev = dev.adevs[kind]
          if (yield* adev.exists.readOnce) yield* deviceDel(adev)
        }
        yield* dev.flags.detach.set(true)
        yield* call(w, "devcom", "mlx5_devcom_comp_unlock", dev.devcom.upWrite)
      })
    )

  /**
   * `mlx5_attach_device()` [devlink asserted] (dev.c): under the devcom comp
   * lock, clear DETACH and add every supported missing aux device (a device that
   * survived a suspend would be resumed; with `suspend` false none survives).
   */
  const mlx5AttachDevice = (dev: Dev): Effect.Effect<number, never, DevlinkHeld> =>
    locked(
      w,
      "mlx5_core",
      "mlx5_attach_device",
      DevlinkLock,
      dev.devlink.id,
      Effect.gen(function* () {
        yield* call(w, "mlx5_core", "devl_assert_locked", dev.devlink.assertHeld)
        yield* call(w, "devcom", "mlx5_devcom_comp_lock", dev.devcom.downWrite)
        yield* dev.flags.detach.set(false)
        for (const kind of ADD_ORDER) {
          const adev = dev.adevs[kind]
          if (!(yield* adev.exists.readOnce) && (yield* isSupported(dev, kind))) yield* deviceAdd(adev)
        }
        yield* call(w, "devcom", "mlx5_devcom_comp_unlock", dev.devcom.upWrite)
        return 0
      })
    )

  /** `auxiliary_driver_register()`: on the bus's driver list, then attach to every live device. */
  const auxiliaryDriverRegister = (drv: AuxDriver): Effect.Effect<void> =>
    call(
      w,
      "driver-core",
      "auxiliary_driver_register",
      Effect.gen(function* () {
        yield* drv.registered.set(true)
        for (const dev of w.devs) {
          const adev = dev.adevs[drv.kind]
          // klist walk of the bus's devices: only published ones. The klist's own lock orders the
          // walk against device_add/del (not modelled): a marked read [inferred].
          if (yield* adev.exists.readOnce) yield* deviceAttach(adev, drv)
        }
      })
    )

  /**
   * `device_release_driver_internal()` as `driver_detach` and `device_driver_detach` reach it: under
   * the device lock, re-check that a driver is bound and release it (its `remove`).
   */
  const releaseDriver = (adev: Adev, drv: AuxDriver) =>
    Effect.gen(function* () {
      yield* adev.lock.lock
      if (yield* adev.bound.readOnce) {
        yield* call(w, "driver-core", "device_release_driver", drv.remove(adev))
        yield* adev.bound.writeOnce(false)
      }
      yield* adev.lock.unlock
    })

  /** `auxiliary_driver_unregister()`: off the driver list, then detach from every bound device. */
  const auxiliaryDriverUnregister = (drv: AuxDriver): Effect.Effect<void> =>
    call(
      w,
      "driver-core",
      "auxiliary_driver_unregister",
      Effect.gen(function* () {
        yield* drv.registered.set(false)
        for (const dev of w.devs) {
          const adev = dev.adevs[drv.kind]
          // driver_detach walks the driver's klist of bound devices (its own lock orders the walk
          // against binding, not modelled: a marked read [inferred]), then re-checks under the lock.
          if (yield* adev.bound.readOnce) yield* releaseDriver(adev, drv)
        }
      })
    )
  /**
   * `unbind_store()` (drivers/base/bus.c, `echo <adev> > /sys/bus/auxiliary/drivers/<drv>/unbind`):
   * if the device is bound to the driver (`dev->driver == drv`, read before the lock),
   * `device_driver_detach` → `device_release_driver_internal`: under the device lock, re-check
   * and release the driver. No devlink lock, no devcom: the driver core's own path.
   */
  const unbindStore = (adev: Adev): Effect.Effect<void> =>
    call(
      w,
      "driver-core",
      "unbind_store",
      Effect.gen(function* () {
        if (yield* adev.bound.readOnce) yield* releaseDriver(adev, driverOf(adev.kind))
      })
    )

  /**
   * `bind_store()` (drivers/base/bus.c, `echo <adev> > …/bind`): the device found by name on the
   * bus (`bus_find_device_by_name`: only a live one), `device_driver_attach` → under the device
   * lock probe unless a driver is bound (`__device_attach` here: the same checks).
   */
  const bindStore = (adev: Adev): Effect.Effect<void> =>
    call(
      w,
      "driver-core",
      "bind_store",
      Effect.gen(function* () {
        if (!(yield* adev.exists.readOnce)) return
        yield* deviceAttach(adev, driverOf(adev.kind))
      })
    )
  return {
    mlx5RescanDriversLocked,
    mlx5DetachDevice,
    mlx5AttachDevice,
    auxiliaryDriverRegister,
    auxiliaryDriverUnregister,
    unbindStore,
    bindStore
  }
})

/**
 * The auxiliary bus as mlx5_core uses it: adding and deleting the `.eth-rep` and
 * `.rdma-rep` devices, binding drivers under the device lock, the drivers on
 * the bus's list (`World.ethDriver`, `World.ibDriver`). Calls no other component:
 * a driver is reached through the bus's list, as in the driver core.
 *
 * @example
 * ```ts
 * // const aux = yield* AuxBus
 * // yield* aux.mlx5RescanDriversLocked(dev)
 * ```
 * @category components
 * @since 0.4.0
 */
export class AuxBus extends Context.Service<AuxBus>()("@drvmodel/mlx5/AuxBus", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(AuxBus, make)
}
