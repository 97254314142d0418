/**
 * mlx5e's ETH representors (en_rep.c, en_main.c's profiles): the REP_ETH ops
 * (`mlx5e_vport_rep_load` / `_unload` / `_get_proto_dev`), the uplink's
 * profile change with its rtnl + netdev instance lock sections and LAG
 * netdev add / remove, and the `.eth-rep` auxiliary driver.
 *
 * @since 0.4.0
 */
import { Atomic, Kernel, Slab } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { LagNetdev } from "./lag_netdev.ts"
import { RepRegistry } from "./registry.ts"
import type { Adev, AuxDriver, Dev, Rep, RepOps, RepPriv } from "./world.ts"
import { call, injectFault, isIbDev, Run, step } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run
  const registry = yield* RepRegistry
  const lagNetdev = yield* LagNetdev
  /** `mlx5e_rep_to_rep_priv(rep)`: the plain load of `rep->rep_data[REP_ETH].priv`. */
  const mlx5eRepToRepPriv = (rep: Rep): Effect.Effect<RepPriv | undefined> =>
    Effect.map(rep.data.ETH.priv.get, (p) => (p === undefined || isIbDev(p) ? undefined : p))

  /**
   * `rtnl_lock(); netdev_lock(netdev); … netdev_unlock(netdev); rtnl_unlock();` around the open/close
   * of the uplink netdev in the mlx5e profiles' enable and disable (the open/close and
   * `netif_device_attach/detach` in between touch nothing the model has).
   */
  const rtnlNetdevSection = (dev: Dev) =>
    Effect.gen(function* () {
      yield* call(w, "net", "rtnl_lock", w.rtnl.lock)
      yield* call(w, "net", "netdev_lock", dev.netdevLock.lock)
      yield* dev.netdevLock.unlock
      yield* w.rtnl.unlock
    })

  /** `mlx5e_nic_disable()` (en_main.c): the rtnl + netdev-lock section (close, detach), then `mlx5_lag_remove_netdev`. */
  const mlx5eNicDisable = (dev: Dev) =>
    call(w, "mlx5e", "mlx5e_nic_disable", Effect.andThen(rtnlNetdevSection(dev), lagNetdev.mlx5LagRemoveNetdev(dev)))

  /**
   * `mlx5e_nic_enable()` (en_main.c): `mlx5_lag_add_netdev`, then, the netdev being registered, the
   * rtnl + netdev-lock section (open, attach). [inferred: en_main.c's body recalled, not re-read for
   * this model; the uplink unload of a mode set to legacy keeps the netdev registered, so the section
   * runs — after an `unregister_netdev` (driver unload, reload) it would not.]
   */
  const mlx5eNicEnable = (dev: Dev) =>
    call(w, "mlx5e", "mlx5e_nic_enable", Effect.andThen(lagNetdev.mlx5LagAddNetdev(dev), rtnlNetdevSection(dev)))

  /** `mlx5e_uplink_rep_enable()` (en_rep.c): `mlx5_lag_add_netdev`, then the rtnl + netdev-lock section (open, attach). */
  const mlx5eUplinkRepEnable = (dev: Dev) =>
    call(w, "mlx5e", "mlx5e_uplink_rep_enable", Effect.andThen(lagNetdev.mlx5LagAddNetdev(dev), rtnlNetdevSection(dev)))

  /** `mlx5e_uplink_rep_disable()` (en_rep.c): the rtnl + netdev-lock section (close, detach), then `mlx5_lag_remove_netdev`. */
  const mlx5eUplinkRepDisable = (dev: Dev) =>
    call(w, "mlx5e", "mlx5e_uplink_rep_disable", Effect.andThen(rtnlNetdevSection(dev), lagNetdev.mlx5LagRemoveNetdev(dev)))

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
  const mlx5eNetdevChangeProfile = (dev: Dev, toRep: boolean) =>
    call(
      w,
      "mlx5e",
      "mlx5e_netdev_change_profile",
      toRep
        ? Effect.andThen(mlx5eNicDisable(dev), mlx5eUplinkRepEnable(dev))
        : Effect.andThen(mlx5eUplinkRepDisable(dev), mlx5eNicEnable(dev))
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
   * `mlx5e_vport_rep_get_proto_dev` (`rpriv->netdev`, no lock), `mlx5e_vport_rep_event` (devcom
   * PAIR / UNPAIR: `mlx5e_vport_rep_event_pair` / `_unpair` walk `rpriv->vport_sqs_list`, no lock).
   */
  const ops: RepOps = {
    name: "mlx5e_rep_ops",
    load: (_esw, rep) =>
      call(
        w,
        "mlx5e",
        "mlx5e_vport_rep_load",
        Effect.gen(function* () {
          // rpriv = kvzalloc(sizeof(*rpriv), GFP_KERNEL); if (!rpriv) return -ENOMEM; — before anything is published
          if (
            yield* injectFault(w, "rep-load", `${rep.esw.name}:${rep.vport} mlx5e_vport_rep_load: kvzalloc(mlx5e_rep_priv) fails (-ENOMEM)`)
          )
            return -12
          const n = yield* rep.data.ETH.allocs.update((k) => k + 1)
          const netdev = `${rep.esw.name}:${rep.vport}`
          const rpriv = yield* Effect.provideService(
            Slab.kmalloc<{ readonly netdev: string | undefined }>(`mlx5e_rep_priv(${netdev})#${n}`, { netdev: undefined }),
            Kernel,
            w.kernel
          )
          yield* rep.data.ETH.priv.set(rpriv)
          yield* rpriv.write({ netdev })
          if (rep.vport === "uplink") yield* call(w, "mlx5e", "mlx5e_vport_uplink_rep_load", mlx5eNetdevChangeProfile(rep.esw.dev, true))
          else yield* step(w, "register_netdev", netdev)
          return 0
        })
      ),
    unload: (rep) =>
      call(
        w,
        "mlx5e",
        "mlx5e_vport_rep_unload",
        Effect.gen(function* () {
          const rpriv = yield* mlx5eRepToRepPriv(rep)
          if (rpriv === undefined) return yield* w.kernel.warn(`BUG: kernel NULL pointer dereference: rpriv in mlx5e_vport_rep_unload`)
          const { netdev } = yield* rpriv.read
          if (rep.vport === "uplink")
            yield* call(
              w,
              "mlx5e",
              "mlx5e_vport_uplink_rep_unload",
              call(w, "mlx5e", "mlx5e_netdev_attach_nic_profile", mlx5eNetdevChangeProfile(rep.esw.dev, false))
            )
          else yield* step(w, "unregister_netdev", netdev ?? "NULL")
          yield* Effect.provideService(Slab.kfree(rpriv), Kernel, w.kernel) // kvfree(ppriv)
        })
      ),
    event: (_esw, rep, event, _peer) => {
      const name = event === "PAIR" ? "mlx5e_vport_rep_event_pair" : "mlx5e_vport_rep_event_unpair"
      return call(
        w,
        "mlx5e",
        "mlx5e_vport_rep_event",
        call(
          w,
          "mlx5e",
          name,
          Effect.gen(function* () {
            const rpriv = yield* mlx5eRepToRepPriv(rep)
            if (rpriv === undefined) return yield* Effect.as(w.kernel.warn(`BUG: kernel NULL pointer dereference: rpriv in ${name}`), 0)
            // list_for_each_entry(rep_sq, &rpriv->vport_sqs_list, list): the list head lives in the
            // mlx5e_rep_priv. [inferred] the list is empty: no rep netdev is opened in the model, so
            // no SQ exists, no send-to-vport rule is added or deleted on the peer, and PAIR cannot fail.
            yield* rpriv.read
            return 0
          })
        )
      )
    },
    get_proto_dev: (rep) =>
      call(
        w,
        "mlx5e",
        "mlx5e_vport_rep_get_proto_dev",
        Effect.gen(function* () {
          const rpriv = yield* mlx5eRepToRepPriv(rep)
          if (rpriv === undefined)
            return yield* Effect.as(
              w.kernel.warn(`BUG: kernel NULL pointer dereference: rpriv in mlx5e_vport_rep_get_proto_dev`),
              undefined
            )
          return (yield* rpriv.read).netdev
        })
      )
  }

  /** mlx5e's `.eth-rep` auxiliary driver: probe registers REP_ETH, remove unregisters it. */
  const driver: AuxDriver = {
    name: "mlx5e_rep",
    kind: "eth-rep",
    registered: yield* Atomic.make("mlx5e_rep_driver.registered", true),
    probe: (adev: Adev) => call(w, "mlx5e", "mlx5e_rep_probe", registry.mlx5EswitchRegisterVportReps(adev.dev.esw, ops, "ETH")),
    remove: (adev: Adev) => call(w, "mlx5e", "mlx5e_rep_remove", registry.mlx5EswitchUnregisterVportReps(adev.dev.esw, "ETH"))
  }
  // On the bus's driver list from the start (mlx5e is part of mlx5_core).
  w.ethDriver = driver
  return {
    /** mlx5e's REP_ETH ops (`mlx5e_rep_ops`). */
    ops,
    driver
  }
})

/**
 * mlx5e's representor driver as a component: its REP_ETH ops and its
 * `.eth-rep` auxiliary driver, put on the bus when the component is built
 * (mlx5e is part of mlx5_core: always registered).
 *
 * @example
 * ```ts
 * // const mlx5e = yield* Mlx5eRep
 * // yield* registry.mlx5EswitchRegisterVportReps(esw, mlx5e.ops, "ETH")
 * ```
 * @category components
 * @since 0.4.0
 */
export class Mlx5eRep extends Context.Service<Mlx5eRep>()("@drvmodel/mlx5/Mlx5eRep", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(Mlx5eRep, make)
}
