/**
 * mlx5_ib's representors (ib_rep.c): the REP_IB ops (`mlx5_ib_vport_rep_load`
 * / `_unload`, `mlx5_ib_rep_to_dev`) with the shared-FDB peer
 * (un)registration, the `mlx5r_rep_driver` auxiliary driver, and module load
 * / unload (`mlx5r_rep_init` / `mlx5r_rep_cleanup`).
 *
 * @since 0.4.0
 */
import { Atomic, Cell, Kernel } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { AuxBus } from "./aux.ts"
import { Lag } from "./lag.ts"
import { RepRegistry } from "./registry.ts"
import type { Adev, AuxDriver, Dev, Esw, IbDev, Rep, RepOps } from "./world.ts"
import { call, injectFault, isIbDev, Run, step } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run
  const registry = yield* RepRegistry
  const aux = yield* AuxBus
  const lag = yield* Lag

  /** `mlx5_ib_get_rep_netdev(esw, vport)` = `mlx5_eswitch_get_proto_dev(esw, vport, REP_ETH)`. */
  const mlx5IbGetRepNetdev = (esw: Esw, rep: Rep) =>
    call(
      w,
      "mlx5_ib",
      "mlx5_ib_get_rep_netdev",
      Effect.map(registry.mlx5EswitchGetProtoDev(esw, rep.vport, "ETH"), (d) => (typeof d === "string" ? d : undefined))
    )

  /**
   * `mlx5_ib_set_vport_rep()`: the (LAG master's) uplink IB device through
   * `mlx5_eswitch_uplink_get_proto_dev` (-EINVAL if absent), `priv = ibdev`,
   * the rep's own netdev through `mlx5_ib_get_rep_netdev`, `ib_device_set_netdev`.
   */
  const mlx5IbSetVportRep = (lagMaster: Dev, rep: Rep) =>
    call(
      w,
      "mlx5_ib",
      "mlx5_ib_set_vport_rep",
      Effect.gen(function* () {
        const ibdev = yield* registry.mlx5EswitchUplinkGetProtoDev(lagMaster.esw, "IB")
        if (ibdev === undefined || typeof ibdev === "string") return -22
        yield* rep.data.IB.priv.set(ibdev)
        const ndev = yield* mlx5IbGetRepNetdev(rep.esw, rep)
        yield* step(w, "ib_device_set_netdev", `${ibdev.id}, ${ndev ?? "NULL"}`)
        return 0
      })
    )

  /** `mlx5_ib_register_peer_vport_reps()`: register REP_IB on each peer E-Switch (merged: `_nested`). */
  const mlx5IbRegisterPeerVportReps = (master: Dev) =>
    call(
      w,
      "mlx5_ib",
      "mlx5_ib_register_peer_vport_reps",
      // "Called while the master E-Switch reps_lock is held."
      lag.mlx5LagForEachPeerMdev(master, (peer) => registry.mlx5EswitchRegisterVportReps(peer.esw, ops, "IB", w.v.guard === "mutex"))
    )

  /** `mlx5_ib_vport_rep_load()`. */
  const mlx5IbVportRepLoad = (esw: Esw, rep: Rep): Effect.Effect<number> =>
    call(
      w,
      "mlx5_ib",
      "mlx5_ib_vport_rep_load",
      Effect.gen(function* () {
        const dev = esw.dev
        let lagMaster = dev
        let newUplink = false
        if (yield* lag.mlx5LagIsSharedFdb(dev)) {
          // The master's branch, mlx5_ib_num_ports_update(), walks the peers for the port count
          // (lag_lock per step): ports are not modelled [inferred].
          if (!(yield* lag.mlx5LagIsMaster(dev))) {
            if (rep.vport === "uplink") {
              if (!(yield* lag.mlx5LagIsMpesw(dev))) return 0 // non-master uplink shares the master's IB device
              newUplink = true
            }
            yield* lag.mlx5LagForEachPeerMdev(dev, (peer) =>
              Effect.gen(function* () {
                if (yield* lag.mlx5LagIsMaster(peer)) lagMaster = peer
                else yield* lag.mlx5LagIsMpesw(peer) // peer_n_ports-- (ports are not modelled)
              })
            )
          }
        }
        if (!(rep.vport === "uplink" && !newUplink)) return yield* mlx5IbSetVportRep(lagMaster, rep)
        // mlx5_ib_take_transport(lag_master): a peer walk; the transport ownership commands are not modelled.
        if (yield* lag.mlx5LagIsSharedFdb(dev)) yield* lag.mlx5LagForEachPeerMdev(lagMaster, () => Effect.void)
        // ibdev = ib_alloc_device(mlx5_ib_dev, ib_dev); if (!ibdev) return -ENOMEM; — the uplink's IB
        // device, before anything is published (the VF path's own failure, -EINVAL without an uplink
        // IB device, needs no injection).
        if (yield* injectFault(w, "rep-load", `${esw.name}:uplink mlx5_ib_vport_rep_load: ib_alloc_device fails (-ENOMEM)`)) {
          // release_transport: if (mlx5_lag_is_shared_fdb(lag_master)) mlx5_ib_release_transport(lag_master) (a peer walk)
          if (yield* lag.mlx5LagIsSharedFdb(lagMaster)) yield* lag.mlx5LagForEachPeerMdev(lagMaster, () => Effect.void)
          return -12
        }
        const seq = yield* w.ghost.ibdevSeq.update((n) => n + 1)
        const id = `ibdev${seq}(${dev.name})`
        const ibdev: IbDev = {
          id,
          alive: yield* Effect.provideService(Cell.make(`ghost.${id}.alive`, true, { ghost: true, hidden: true }), Kernel, w.kernel)
        }
        // ib_device_set_netdev(&ibdev->ib_dev, mlx5_ib_get_rep_netdev(lag_master's esw, rep->vport), …)
        // before __mlx5_ib_add: the netdev pointer is recorded, not a step of its own here.
        yield* mlx5IbGetRepNetdev(lagMaster.esw, lagMaster.esw.reps[rep.vport])
        yield* step(w, "__mlx5_ib_add", ibdev.id)
        yield* rep.data.IB.priv.set(ibdev)
        if (yield* lag.mlx5LagIsSharedFdb(lagMaster)) yield* mlx5IbRegisterPeerVportReps(lagMaster)
        return 0
      })
    )

  /** `mlx5_ib_vport_rep_unload()`: the master uplink unregisters REP_IB on its peers, then removes the IB device. */
  const mlx5IbVportRepUnload = (rep: Rep): Effect.Effect<void> =>
    call(
      w,
      "mlx5_ib",
      "mlx5_ib_vport_rep_unload",
      Effect.gen(function* () {
        const mdev = rep.esw.dev
        const ibdev = yield* rep.data.IB.priv.get
        if (!isIbDev(ibdev)) return
        if ((yield* lag.mlx5LagIsSharedFdb(mdev)) && !(yield* lag.mlx5LagIsMaster(mdev))) {
          if (rep.vport === "uplink" && !(yield* lag.mlx5LagIsMpesw(mdev))) return
        }
        yield* step(w, "ib_device_set_netdev", `${ibdev.id}, NULL`)
        yield* rep.data.IB.priv.set(undefined)
        if (rep.vport !== "uplink") return
        if ((yield* lag.mlx5LagIsSharedFdb(mdev)) && !(yield* lag.mlx5LagIsMaster(mdev))) return
        if (yield* lag.mlx5LagIsSharedFdb(mdev)) {
          // "Called while the master E-Switch reps_lock is held."
          // The peer walk; `selfInPeerWalk` is scenario 7's what-if (see scenarios.ts): it also reaches mdev.
          yield* lag.mlx5LagForEachPeerMdev(
            mdev,
            (peer) => registry.mlx5EswitchUnregisterVportReps(peer.esw, "IB", w.v.guard === "mutex"),
            w.selfInPeerWalk
          )
          // mlx5_ib_release_transport(): a peer walk; the transport ownership commands are not modelled.
          yield* lag.mlx5LagForEachPeerMdev(mdev, () => Effect.void)
        }
        yield* step(w, "__mlx5_ib_remove", ibdev.id)
        yield* ibdev.alive.set(false)
      })
    )

  /** mlx5_ib's REP_IB ops. */
  const ops: RepOps = {
    name: "mlx5_ib_rep_ops",
    load: (esw, rep) => mlx5IbVportRepLoad(esw, rep),
    unload: (rep) => mlx5IbVportRepUnload(rep),
    // mlx5_ib_rep_to_dev(): return rep->rep_data[REP_IB].priv (a plain load)
    get_proto_dev: (rep) =>
      call(
        w,
        "mlx5_ib",
        "mlx5_ib_rep_to_dev",
        Effect.map(rep.data.IB.priv.get, (p) => (isIbDev(p) ? p : undefined))
      )
  }

  /** mlx5_ib's `mlx5r_rep_driver`: `mlx5r_rep_probe` registers REP_IB, `mlx5r_rep_remove` unregisters it. */
  const driver: AuxDriver = {
    name: "mlx5r_rep",
    kind: "rdma-rep",
    registered: yield* Atomic.make("mlx5r_rep_driver.registered", w.ibLoadedAtStart),
    probe: (adev: Adev) => call(w, "mlx5_ib", "mlx5r_rep_probe", registry.mlx5EswitchRegisterVportReps(adev.dev.esw, ops, "IB")),
    remove: (adev: Adev) => call(w, "mlx5_ib", "mlx5r_rep_remove", registry.mlx5EswitchUnregisterVportReps(adev.dev.esw, "IB"))
  }
  // On the bus's driver list (registered there only if the module was loaded before the run).
  w.ibDriver = driver

  /** `modprobe mlx5_ib`: `mlx5r_rep_init()` → `auxiliary_driver_register()` (no devlink lock, no E-Switch lock). */
  const modprobeMlx5Ib = (): Effect.Effect<void> => call(w, "mlx5_ib", "mlx5r_rep_init", aux.auxiliaryDriverRegister(w.ibDriver))

  /** `rmmod mlx5_ib`: `mlx5r_rep_cleanup()` → `auxiliary_driver_unregister()`. */
  const rmmodMlx5Ib = (): Effect.Effect<void> => call(w, "mlx5_ib", "mlx5r_rep_cleanup", aux.auxiliaryDriverUnregister(w.ibDriver))
  return {
    /** mlx5_ib's REP_IB ops. */
    ops,
    driver,
    modprobeMlx5Ib,
    rmmodMlx5Ib
  }
})

/**
 * mlx5_ib's representor side as a component (ib_rep.c): its REP_IB ops, its
 * `mlx5r_rep_driver` (on the bus when built, registered if the module was
 * loaded before the run: `World.ibLoadedAtStart`), and module load / unload.
 *
 * @example
 * ```ts
 * // const mlx5Ib = yield* Mlx5Ib
 * // yield* mlx5Ib.modprobeMlx5Ib()
 * ```
 * @category components
 * @since 0.4.0
 */
export class Mlx5Ib extends Context.Service<Mlx5Ib>()("@drvmodel/mlx5/Mlx5Ib", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(Mlx5Ib, make)
}
