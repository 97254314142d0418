/**
 * Auxiliary devices and the representor drivers: mlx5_core's rescan
 * (`mlx5_rescan_drivers_locked`) that adds / deletes the `.eth-rep` and
 * `.rdma-rep` devices, the driver core's bind / unbind under the device lock,
 * mlx5e's ETH representor driver and mlx5_ib's `mlx5r_rep_driver` with its
 * REP_IB ops (ib_rep.c), including the shared-FDB peer (un)registration.
 *
 * @since 0.1.0
 */
import { Atomic, Cell, Kernel, Slab } from "@drvmodel/core"
import { Effect } from "effect"
import { mlx5LagAddNetdev, mlx5LagRemoveNetdev } from "./lag_netdev.ts"
import { type DevlinkHeld, DevlinkLock, locked } from "./locks.ts"
import {
  mlx5EswitchGetProtoDev,
  mlx5EswitchRegisterVportReps,
  mlx5EswitchUnregisterVportReps,
  mlx5EswitchUplinkGetProtoDev
} from "./registry.ts"
import type { Adev, AdevKind, AuxDriver, Dev, Esw, IbDev, Rep, RepOps, RepPriv, World } from "./world.ts"
import { call, injectFault, isIbDev, step } from "./world.ts"

const ADD_ORDER: ReadonlyArray<AdevKind> = ["eth-rep", "rdma-rep"]

/** `is_eth_rep_supported()` / `is_ib_rep_supported()`: reads the E-Switch mode (lockless on LAG paths). */
const isSupported = (dev: Dev, kind: AdevKind): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    if (yield* dev.flags.disableAllAdev.get) return false
    if (kind === "rdma-rep" && (yield* dev.flags.disableIbAdev.get)) return false
    return (yield* dev.esw.mode.read) === "OFFLOADS"
  })

const driverOf = (w: World, kind: AdevKind): AuxDriver => (kind === "eth-rep" ? w.ethDriver : w.ibDriver)

/** `auxiliary_device_add()`: publish, then `bus_probe_device()` under the device lock. */
const deviceAdd = (w: World, adev: Adev) =>
  call(
    w,
    "auxiliary",
    "auxiliary_device_add",
    Effect.gen(function* () {
      yield* step(w, "device_add", `${adev.dev.name}.${adev.kind}`)
      yield* adev.exists.writeOnce(true)
      yield* deviceAttach(w, adev, driverOf(w, adev.kind))
    })
  )

/** `__device_attach` / `__driver_attach`: bind under the device lock if live, unbound and the driver is registered. */
const deviceAttach = (w: World, adev: Adev, drv: AuxDriver) =>
  Effect.gen(function* () {
    yield* adev.lock.lock
    if ((yield* adev.exists.readOnce) && !(yield* adev.bound.readOnce) && (yield* drv.registered.read)) {
      yield* adev.bound.writeOnce(true)
      yield* call(w, "driver-core", "really_probe", drv.probe(adev))
    }
    yield* adev.lock.unlock
  })

/** `auxiliary_device_delete()`: mark dead and release the driver under the device lock. */
const deviceDel = (w: World, adev: Adev) =>
  call(
    w,
    "auxiliary",
    "auxiliary_device_delete",
    Effect.gen(function* () {
      yield* adev.lock.lock
      yield* adev.exists.writeOnce(false)
      if (yield* adev.bound.readOnce) {
        yield* call(w, "driver-core", "device_release_driver", driverOf(w, adev.kind).remove(adev))
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
export const mlx5RescanDriversLocked = (w: World, dev: Dev): Effect.Effect<void> =>
  call(
    w,
    "mlx5_core",
    "mlx5_rescan_drivers_locked",
    Effect.gen(function* () {
      if (yield* dev.flags.detach.get) return
      for (const kind of [...ADD_ORDER].reverse()) {
        const adev = dev.adevs[kind]
        if ((yield* adev.exists.readOnce) && !(yield* isSupported(dev, kind))) yield* deviceDel(w, adev)
      }
      if (yield* dev.flags.disableAllAdev.get) return
      for (const kind of ADD_ORDER) {
        const adev = dev.adevs[kind]
        if (!(yield* adev.exists.readOnce) && (yield* isSupported(dev, kind))) yield* deviceAdd(w, adev)
      }
    })
  )

/**
 * `mlx5_detach_device(dev, suspend=false)` [devlink asserted] (dev.c): under
 * the devcom comp lock, delete every aux device in reverse order (with
 * `suspend` false no driver is suspended: `del_adev` unbinds it, so the rep
 * drivers unregister their reps), then set DETACH.
 */
export const mlx5DetachDevice = (w: World, dev: Dev): Effect.Effect<void, never, DevlinkHeld> =>
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
        if (yield* adev.exists.readOnce) yield* deviceDel(w, adev)
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
export const mlx5AttachDevice = (w: World, dev: Dev): Effect.Effect<number, never, DevlinkHeld> =>
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
        if (!(yield* adev.exists.readOnce) && (yield* isSupported(dev, kind))) yield* deviceAdd(w, adev)
      }
      yield* call(w, "devcom", "mlx5_devcom_comp_unlock", dev.devcom.upWrite)
      return 0
    })
  )

/** `auxiliary_driver_register()`: on the bus's driver list, then attach to every live device. */
export const auxiliaryDriverRegister = (w: World, drv: AuxDriver): Effect.Effect<void> =>
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
        if (yield* adev.exists.readOnce) yield* deviceAttach(w, adev, drv)
      }
    })
  )

/** `auxiliary_driver_unregister()`: off the driver list, then detach from every bound device. */
export const auxiliaryDriverUnregister = (w: World, drv: AuxDriver): Effect.Effect<void> =>
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
        if (!(yield* adev.bound.readOnce)) continue
        yield* adev.lock.lock
        if (yield* adev.bound.readOnce) {
          yield* call(w, "driver-core", "device_release_driver", drv.remove(adev))
          yield* adev.bound.writeOnce(false)
        }
        yield* adev.lock.unlock
      }
    })
  )

// ---------------------------------------------------------------------------
// mlx5e ETH representors

/** `mlx5e_rep_to_rep_priv(rep)`: the plain load of `rep->rep_data[REP_ETH].priv`. */
const mlx5eRepToRepPriv = (rep: Rep): Effect.Effect<RepPriv | undefined> =>
  Effect.map(rep.data.ETH.priv.get, (p) => (p === undefined || isIbDev(p) ? undefined : p))

/**
 * `rtnl_lock(); netdev_lock(netdev); … netdev_unlock(netdev); rtnl_unlock();` around the open/close
 * of the uplink netdev in the mlx5e profiles' enable and disable (the open/close and
 * `netif_device_attach/detach` in between touch nothing the model has).
 */
const rtnlNetdevSection = (w: World, dev: Dev) =>
  Effect.gen(function* () {
    yield* call(w, "net", "rtnl_lock", w.rtnl.lock)
    yield* call(w, "net", "netdev_lock", dev.netdevLock.lock)
    yield* dev.netdevLock.unlock
    yield* w.rtnl.unlock
  })

/** `mlx5e_nic_disable()` (en_main.c): the rtnl + netdev-lock section (close, detach), then `mlx5_lag_remove_netdev`. */
const mlx5eNicDisable = (w: World, dev: Dev) =>
  call(w, "mlx5e", "mlx5e_nic_disable", Effect.andThen(rtnlNetdevSection(w, dev), mlx5LagRemoveNetdev(w, dev)))

/**
 * `mlx5e_nic_enable()` (en_main.c): `mlx5_lag_add_netdev`, then, the netdev being registered, the
 * rtnl + netdev-lock section (open, attach). [inferred: en_main.c's body recalled, not re-read for
 * this model; the uplink unload of a mode set to legacy keeps the netdev registered, so the section
 * runs — after an `unregister_netdev` (driver unload, reload) it would not.]
 */
const mlx5eNicEnable = (w: World, dev: Dev) =>
  call(w, "mlx5e", "mlx5e_nic_enable", Effect.andThen(mlx5LagAddNetdev(w, dev), rtnlNetdevSection(w, dev)))

/** `mlx5e_uplink_rep_enable()` (en_rep.c): `mlx5_lag_add_netdev`, then the rtnl + netdev-lock section (open, attach). */
const mlx5eUplinkRepEnable = (w: World, dev: Dev) =>
  call(w, "mlx5e", "mlx5e_uplink_rep_enable", Effect.andThen(mlx5LagAddNetdev(w, dev), rtnlNetdevSection(w, dev)))

/** `mlx5e_uplink_rep_disable()` (en_rep.c): the rtnl + netdev-lock section (close, detach), then `mlx5_lag_remove_netdev`. */
const mlx5eUplinkRepDisable = (w: World, dev: Dev) =>
  call(w, "mlx5e", "mlx5e_uplink_rep_disable", Effect.andThen(rtnlNetdevSection(w, dev), mlx5LagRemoveNetdev(w, dev)))

/**
 * `mlx5e_netdev_change_profile(netdev, mdev, new_profile, …)` on the uplink netdev: the old
 * profile's `disable` (in `mlx5e_detach_netdev`), then the new one's `enable` (in
 * `mlx5e_attach_netdev`); the profiles' init/cleanup and the rollback touch no modelled lock.
 * `toRep`: NIC → uplink representor (`mlx5e_vport_uplink_rep_load`), else back to NIC
 * (`mlx5e_netdev_attach_nic_profile` in `mlx5e_vport_uplink_rep_unload`). The uplink netdev always
 * exists here (`mlx5_uplink_netdev_get` never NULL: the mlx5e `.eth` driver is bound [inferred]);
 * the `unregister_netdev` the unload does outside a mode set to legacy (rtnl + netdev lock
 * again) is not modelled.
 */
const mlx5eNetdevChangeProfile = (w: World, dev: Dev, toRep: boolean) =>
  call(
    w,
    "mlx5e",
    "mlx5e_netdev_change_profile",
    toRep
      ? Effect.andThen(mlx5eNicDisable(w, dev), mlx5eUplinkRepEnable(w, dev))
      : Effect.andThen(mlx5eUplinkRepDisable(w, dev), mlx5eNicEnable(w, dev))
  )

/**
 * mlx5e's REP_ETH ops (en_rep.c): `mlx5e_vport_rep_load` (`kvzalloc` the
 * `mlx5e_rep_priv`, publish it in `rep_data[REP_ETH].priv`, set its netdev,
 * then the netdev work: `register_netdev` for a VF/SF as one step (its rtnl is
 * not modelled), `mlx5e_vport_uplink_rep_load` → `mlx5e_netdev_change_profile`
 * for the uplink, with the profiles' rtnl, netdev instance lock and LAG
 * netdev add/remove (`ldev->lock`)), `mlx5e_vport_rep_unload` (the netdev
 * work — the uplink's `mlx5e_vport_uplink_rep_unload` changes back to the NIC
 * profile — then `kvfree` of the `mlx5e_rep_priv`; `priv` is not cleared),
 * `mlx5e_vport_rep_get_proto_dev` (`rpriv->netdev`, no lock).
 */
export const makeEthOps = (w: () => World): RepOps => ({
  name: "mlx5e_rep_ops",
  load: (_esw, rep) =>
    call(
      w(),
      "mlx5e",
      "mlx5e_vport_rep_load",
      Effect.gen(function* () {
        // rpriv = kvzalloc(sizeof(*rpriv), GFP_KERNEL); if (!rpriv) return -ENOMEM; — before anything is published
        if (
          yield* injectFault(w(), "rep-load", `${rep.esw.name}:${rep.vport} mlx5e_vport_rep_load: kvzalloc(mlx5e_rep_priv) fails (-ENOMEM)`)
        )
          return -12
        const n = yield* rep.data.ETH.allocs.update((k) => k + 1)
        const netdev = `${rep.esw.name}:${rep.vport}`
        const rpriv = yield* Effect.provideService(
          Slab.kmalloc<{ readonly netdev: string | undefined }>(`mlx5e_rep_priv(${netdev})#${n}`, { netdev: undefined }),
          Kernel,
          w().kernel
        )
        yield* rep.data.ETH.priv.set(rpriv)
        yield* rpriv.write({ netdev })
        if (rep.vport === "uplink")
          yield* call(w(), "mlx5e", "mlx5e_vport_uplink_rep_load", mlx5eNetdevChangeProfile(w(), rep.esw.dev, true))
        else yield* step(w(), "register_netdev", netdev)
        return 0
      })
    ),
  unload: (rep) =>
    call(
      w(),
      "mlx5e",
      "mlx5e_vport_rep_unload",
      Effect.gen(function* () {
        const rpriv = yield* mlx5eRepToRepPriv(rep)
        if (rpriv === undefined) return yield* w().kernel.warn(`BUG: kernel NULL pointer dereference: rpriv in mlx5e_vport_rep_unload`)
        const { netdev } = yield* rpriv.read
        if (rep.vport === "uplink")
          yield* call(
            w(),
            "mlx5e",
            "mlx5e_vport_uplink_rep_unload",
            call(w(), "mlx5e", "mlx5e_netdev_attach_nic_profile", mlx5eNetdevChangeProfile(w(), rep.esw.dev, false))
          )
        else yield* step(w(), "unregister_netdev", netdev ?? "NULL")
        yield* Effect.provideService(Slab.kfree(rpriv), Kernel, w().kernel) // kvfree(ppriv)
      })
    ),
  get_proto_dev: (rep) =>
    call(
      w(),
      "mlx5e",
      "mlx5e_vport_rep_get_proto_dev",
      Effect.gen(function* () {
        const rpriv = yield* mlx5eRepToRepPriv(rep)
        if (rpriv === undefined)
          return yield* Effect.as(
            w().kernel.warn(`BUG: kernel NULL pointer dereference: rpriv in mlx5e_vport_rep_get_proto_dev`),
            undefined
          )
        return (yield* rpriv.read).netdev
      })
    )
})

/** mlx5e's `.eth-rep` auxiliary driver: probe registers REP_ETH, remove unregisters it. */
export const makeEthDriver = (w: World): Effect.Effect<AuxDriver, never, import("@drvmodel/core").Kernel> =>
  Effect.map(Atomic.make("mlx5e_rep_driver.registered", true), (registered) => ({
    name: "mlx5e_rep",
    kind: "eth-rep" as const,
    registered,
    probe: (adev: Adev) => call(w, "mlx5e", "mlx5e_rep_probe", mlx5EswitchRegisterVportReps(w, adev.dev.esw, w.ethOps, "ETH")),
    remove: (adev: Adev) => call(w, "mlx5e", "mlx5e_rep_remove", mlx5EswitchUnregisterVportReps(w, adev.dev.esw, "ETH"))
  }))

// ---------------------------------------------------------------------------
// mlx5_ib IB representors (ib_rep.c)

const lagOf = (dev: Dev) => dev.lag
/**
 * `mlx5_lag_is_shared_fdb()`: reads the LAG mode under the global `lag_lock` spinlock, which
 * the model does not have yet: a marked read (the writers write it marked too) [inferred].
 */
const isSharedFdb = (dev: Dev): Effect.Effect<boolean> => {
  const lag = lagOf(dev)
  return lag === undefined ? Effect.succeed(false) : Effect.map(lag.mode.readOnce, (m) => m !== "NONE")
}
const isMaster = (dev: Dev) => lagOf(dev)?.pfs[0] === dev
/** `mlx5_lag_is_mpesw()`: as `isSharedFdb`. */
const isMpesw = (dev: Dev): Effect.Effect<boolean> => {
  const lag = lagOf(dev)
  return lag === undefined ? Effect.succeed(false) : Effect.map(lag.mode.readOnce, (m) => m === "MPESW")
}
const peersOf = (dev: Dev) => (lagOf(dev)?.pfs ?? []).filter((p) => p !== dev)
/** The peer walk of the master's uplink unload; `selfInPeerWalk` is scenario 7's what-if (see scenarios.ts). */
const unloadPeersOf = (w: World, dev: Dev) => (w.selfInPeerWalk ? (lagOf(dev)?.pfs ?? []) : peersOf(dev))

/** `mlx5_ib_get_rep_netdev(esw, vport)` = `mlx5_eswitch_get_proto_dev(esw, vport, REP_ETH)`. */
const mlx5IbGetRepNetdev = (w: World, esw: Esw, rep: Rep) =>
  call(
    w,
    "mlx5_ib",
    "mlx5_ib_get_rep_netdev",
    Effect.map(mlx5EswitchGetProtoDev(w, esw, rep.vport, "ETH"), (d) => (typeof d === "string" ? d : undefined))
  )

/**
 * `mlx5_ib_set_vport_rep()`: the (LAG master's) uplink IB device through
 * `mlx5_eswitch_uplink_get_proto_dev` (-EINVAL if absent), `priv = ibdev`,
 * the rep's own netdev through `mlx5_ib_get_rep_netdev`, `ib_device_set_netdev`.
 */
const mlx5IbSetVportRep = (w: World, lagMaster: Dev, rep: Rep) =>
  call(
    w,
    "mlx5_ib",
    "mlx5_ib_set_vport_rep",
    Effect.gen(function* () {
      const ibdev = yield* mlx5EswitchUplinkGetProtoDev(w, lagMaster.esw, "IB")
      if (ibdev === undefined || typeof ibdev === "string") return -22
      yield* rep.data.IB.priv.set(ibdev)
      const ndev = yield* mlx5IbGetRepNetdev(w, rep.esw, rep)
      yield* step(w, "ib_device_set_netdev", `${ibdev.id}, ${ndev ?? "NULL"}`)
      return 0
    })
  )

/** `mlx5_ib_register_peer_vport_reps()`: register REP_IB on each peer E-Switch (merged: `_nested`). */
const mlx5IbRegisterPeerVportReps = (w: World, master: Dev) =>
  call(
    w,
    "mlx5_ib",
    "mlx5_ib_register_peer_vport_reps",
    Effect.forEach(peersOf(master), (peer) => mlx5EswitchRegisterVportReps(w, peer.esw, w.ibOps, "IB", w.v.guard === "mutex"), {
      discard: true
    })
  )

/** `mlx5_ib_vport_rep_load()`. */
const mlx5IbVportRepLoad = (w: World, esw: Esw, rep: Rep): Effect.Effect<number> =>
  call(
    w,
    "mlx5_ib",
    "mlx5_ib_vport_rep_load",
    Effect.gen(function* () {
      const dev = esw.dev
      let lagMaster = dev
      let newUplink = false
      if ((yield* isSharedFdb(dev)) && !isMaster(dev)) {
        if (rep.vport === "uplink") {
          if (!(yield* isMpesw(dev))) return 0 // non-master uplink shares the master's IB device
          newUplink = true
        }
        lagMaster = lagOf(dev)!.pfs[0]!
      }
      if (!(rep.vport === "uplink" && !newUplink)) return yield* mlx5IbSetVportRep(w, lagMaster, rep)
      // ibdev = ib_alloc_device(mlx5_ib_dev, ib_dev); if (!ibdev) return -ENOMEM; — the uplink's IB
      // device, before anything is published (the VF path's own failure, -EINVAL without an uplink
      // IB device, needs no injection).
      if (yield* injectFault(w, "rep-load", `${esw.name}:uplink mlx5_ib_vport_rep_load: ib_alloc_device fails (-ENOMEM)`)) return -12
      const seq = yield* w.ghost.ibdevSeq.update((n) => n + 1)
      const id = `ibdev${seq}(${dev.name})`
      const ibdev: IbDev = {
        id,
        alive: yield* Effect.provideService(Cell.make(`ghost.${id}.alive`, true, { ghost: true, hidden: true }), Kernel, w.kernel)
      }
      // ib_device_set_netdev(&ibdev->ib_dev, mlx5_ib_get_rep_netdev(lag_master's esw, rep->vport), …)
      // before __mlx5_ib_add: the netdev pointer is recorded, not a step of its own here.
      yield* mlx5IbGetRepNetdev(w, lagMaster.esw, lagMaster.esw.reps[rep.vport])
      yield* step(w, "__mlx5_ib_add", ibdev.id)
      yield* rep.data.IB.priv.set(ibdev)
      if (yield* isSharedFdb(lagMaster)) yield* mlx5IbRegisterPeerVportReps(w, lagMaster)
      return 0
    })
  )

/** `mlx5_ib_vport_rep_unload()`: the master uplink unregisters REP_IB on its peers, then removes the IB device. */
const mlx5IbVportRepUnload = (w: World, rep: Rep): Effect.Effect<void> =>
  call(
    w,
    "mlx5_ib",
    "mlx5_ib_vport_rep_unload",
    Effect.gen(function* () {
      const mdev = rep.esw.dev
      const ibdev = yield* rep.data.IB.priv.get
      if (!isIbDev(ibdev)) return
      if ((yield* isSharedFdb(mdev)) && !isMaster(mdev) && rep.vport === "uplink" && !(yield* isMpesw(mdev))) return
      yield* step(w, "ib_device_set_netdev", `${ibdev.id}, NULL`)
      yield* rep.data.IB.priv.set(undefined)
      if (rep.vport !== "uplink") return
      if ((yield* isSharedFdb(mdev)) && !isMaster(mdev)) return
      if (yield* isSharedFdb(mdev)) {
        // "Called while the master E-Switch reps_lock is held."
        for (const peer of unloadPeersOf(w, mdev)) yield* mlx5EswitchUnregisterVportReps(w, peer.esw, "IB", w.v.guard === "mutex")
      }
      yield* step(w, "__mlx5_ib_remove", ibdev.id)
      yield* ibdev.alive.set(false)
    })
  )

/** mlx5_ib's REP_IB ops. */
export const makeIbOps = (w: () => World): RepOps => ({
  name: "mlx5_ib_rep_ops",
  load: (esw, rep) => mlx5IbVportRepLoad(w(), esw, rep),
  unload: (rep) => mlx5IbVportRepUnload(w(), rep),
  // mlx5_ib_rep_to_dev(): return rep->rep_data[REP_IB].priv (a plain load)
  get_proto_dev: (rep) =>
    call(
      w(),
      "mlx5_ib",
      "mlx5_ib_rep_to_dev",
      Effect.map(rep.data.IB.priv.get, (p) => (isIbDev(p) ? p : undefined))
    )
})

/** mlx5_ib's `mlx5r_rep_driver`: `mlx5r_rep_probe` registers REP_IB, `mlx5r_rep_remove` unregisters it. */
export const makeIbDriver = (w: World, loaded: boolean): Effect.Effect<AuxDriver, never, import("@drvmodel/core").Kernel> =>
  Effect.map(Atomic.make("mlx5r_rep_driver.registered", loaded), (registered) => ({
    name: "mlx5r_rep",
    kind: "rdma-rep" as const,
    registered,
    probe: (adev: Adev) => call(w, "mlx5_ib", "mlx5r_rep_probe", mlx5EswitchRegisterVportReps(w, adev.dev.esw, w.ibOps, "IB")),
    remove: (adev: Adev) => call(w, "mlx5_ib", "mlx5r_rep_remove", mlx5EswitchUnregisterVportReps(w, adev.dev.esw, "IB"))
  }))

/** `modprobe mlx5_ib`: `mlx5r_rep_init()` → `auxiliary_driver_register()` (no devlink lock, no E-Switch lock). */
export const modprobeMlx5Ib = (w: World): Effect.Effect<void> =>
  call(w, "mlx5_ib", "mlx5r_rep_init", auxiliaryDriverRegister(w, w.ibDriver))

/** `rmmod mlx5_ib`: `mlx5r_rep_cleanup()` → `auxiliary_driver_unregister()`. */
export const rmmodMlx5Ib = (w: World): Effect.Effect<void> =>
  call(w, "mlx5_ib", "mlx5r_rep_cleanup", auxiliaryDriverUnregister(w, w.ibDriver))
