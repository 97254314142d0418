/**
 * The E-Switch (eswitch.c, eswitch_offloads.c): mode, enable / disable /
 * disable_sriov / cleanup, the devlink mode-set command and esw_mode_change,
 * vport load/unload and the function-change (VF count) event. Each function is
 * named after its kernel counterpart; variant flags are consulted where
 * domain.md §4 puts each rule. The work queue (esw_wq.ts), the EQ (eq.ts), the
 * representor registry, the aux bus and the LAG are the components it calls.
 *
 * @since 0.1.0
 */
import {
  Atomic,
  Cell,
  Component,
  type Kernel,
  LockContract,
  Mutex,
  type Rcu,
  RwSemaphore,
  Slab,
  Spinlock,
  WaitQueue,
  Workqueue
} from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { AuxBus } from "./aux.ts"
import { EqTable } from "./eq.ts"
import { EswWorkQueue } from "./esw_wq.ts"
import { Lag } from "./lag.ts"
import { type DevlinkHeld, DevlinkLock, locked, type RepsHeld } from "./locks.ts"
import { RepRegistry } from "./registry.ts"
import type { Variant } from "./variant.ts"
import type {
  Dev,
  Esw,
  GuardState,
  HostWork,
  IbDev,
  LoadFate,
  Mode,
  NotifierBlock,
  Rep,
  RepData,
  RepOps,
  RepPriv,
  RepState,
  RepType,
  SwitchdevEvent,
  VportAddr,
  VportChange,
  VportChangeState,
  VportEvent,
  VportId
} from "./world.ts"
import { call, injectFault, REP_TYPES, Run, step, VF_VPORTS, VPORTS, XA_ORDER } from "./world.ts"

const hidden = { hidden: true } as const
const ghostHidden = { hidden: true, ghost: true } as const

/**
 * `mlx5_eswitch_init()` (eswitch.c, from `mlx5_init_once`): the E-Switch struct of one PCI function
 * — work queue created (its worker started, `destroy_workqueue` its lifetime's finaliser), generation
 * 0, mode LEGACY, FDB not created, every representor UNREGISTERED — and `esw->nb`'s notifier block
 * for an ECPF. The E-Switch component runs it for each device when it is built: the scenarios start
 * at `mlx5_init_once` state. Which members exist depends on the variant (the guard's kind, the merged
 * `work_queue_wait`, where the generation lives).
 *
 * @example
 * ```ts
 * // dev.esw = yield* mlx5EswitchInit(w.v, dev, w.rcu)
 * ```
 * @category constructors
 * @since 0.4.0
 */
export const mlx5EswitchInit = (v: Variant, dev: Dev, rcu: Rcu.Rcu): Effect.Effect<Esw, never, Kernel> =>
  Effect.gen(function* () {
    const p = dev.prefix
    const mode = yield* Atomic.make<Mode>(`${p}esw->mode`, "LEGACY")
    const modeLock = yield* RwSemaphore.make(`${p}esw->mode_lock`, { lockClass: "&esw->mode_lock" })
    const life = yield* Component.instance(`${p}esw`)
    const workQueue = yield* Component.workqueue(life, `${p}esw_wq`, { lockClass: "(wq_completion)mlx5_esw_wq" })
    const workQueueWait = v.wqTrylock === "waitqueue" ? yield* WaitQueue.make(`${p}esw->work_queue_wait`) : undefined
    const generation = yield* Atomic.make(v.generationInEswitch ? `${p}esw->generation` : `${p}esw_funcs.generation`, 0)
    const guard =
      v.guard === "atomic"
        ? yield* Atomic.make<GuardState>(`${p}reps_conf_state`, "UNBLOCKED", {
            lockLike: { held: (s) => s === "BLOCKED", lockClass: "reps_conf_state" }
          })
        : undefined
    const repsLock = v.guard === "mutex" ? yield* Mutex.make(`${p}reps_lock`, { lockClass: "&esw->offloads.reps_lock" }) : undefined
    const showOps = (o: RepOps | undefined) => o?.name ?? "NULL"
    const repOps: Record<RepType, Cell.Cell<RepOps | undefined>> = {
      ETH: yield* Cell.make<RepOps | undefined>(`${p}esw->offloads.rep_ops[ETH]`, undefined, { show: showOps }),
      IB: yield* Cell.make<RepOps | undefined>(`${p}esw->offloads.rep_ops[IB]`, undefined, { show: showOps })
    }
    const esw = {
      name: `${p}esw`,
      dev,
      mode,
      fdbCreated: yield* Cell.make(`${p}esw->fdb_table.flags.FDB_CREATED`, false, hidden),
      numVfs: yield* Cell.make(`${p}esw->esw_funcs.num_vfs`, 0, hidden),
      enabled: {
        uplink: yield* Cell.make(`${p}vport[uplink]->enabled`, false, hidden),
        vf1: yield* Cell.make(`${p}vport[vf1]->enabled`, false, hidden),
        vf2: yield* Cell.make(`${p}vport[vf2]->enabled`, false, hidden),
        sf1: yield* Cell.make(`${p}vport[sf1]->enabled`, false, hidden)
      },
      modeLock,
      life,
      operationInProgress: yield* Cell.make(`${p}esw->eswitch_operation_in_progress`, false, hidden),
      workQueue,
      workQueueWait,
      generation,
      funcsNb: dev.isEcpf
        ? {
            name: `${p}esw_funcs.nb`,
            head: yield* rcu.pointer<NotifierBlock>(`${p}eqt->nh[ESW_FUNCTIONS_CHANGED]`, null),
            // mlx5_eq_table_init(): ATOMIC_INIT_NOTIFIER_HEAD(&eq_table->nh[i]) = spin_lock_init(&(name)->lock),
            // whose lockdep name is the stringified argument (one class for every chain of the table).
            lock: yield* Spinlock.make(`${p}eqt->nh[ESW_FUNCTIONS_CHANGED].lock`, { lockClass: "&(&eq_table->nh[i])->lock" }),
            block: yield* Slab.kmalloc<NotifierBlock>(`${p}esw_funcs.nb`, { notifierCall: "mlx5_esw_funcs_changed_handler" }),
            epoch: yield* Cell.make(`${p}esw_funcs.nb.epoch`, 0, { ...hidden, ghost: true })
          }
        : undefined,
      vportChange: dev.vportEvents
        ? {
            nb: {
              name: `${p}esw->nb`,
              head: yield* rcu.pointer<NotifierBlock>(`${p}eqt->nh[NIC_VPORT_CHANGE]`, null),
              lock: yield* Spinlock.make(`${p}eqt->nh[NIC_VPORT_CHANGE].lock`, { lockClass: "&(&eq_table->nh[i])->lock" }),
              block: yield* Slab.kmalloc<NotifierBlock>(`${p}esw->nb`, { notifierCall: "eswitch_vport_event" }),
              epoch: yield* Cell.make(`${p}esw->nb.epoch`, 0, { ...hidden, ghost: true })
            },
            // mlx5_eswitch_init(): mutex_init(&esw->state_lock)
            stateLock: yield* Mutex.make(`${p}esw->state_lock`, { lockClass: "&esw->state_lock" }),
            legacyFdb: yield* Cell.make<number | undefined>(`${p}esw->fdb_table.legacy.fdb`, undefined, {
              ...hidden,
              show: (f) => (f === undefined ? "NULL" : `fdb#${f}`)
            }),
            fdbSeq: yield* Cell.make(`${p}ghost:legacy-fdb-seq`, 0, ghostHidden),
            vports: yield* vportChangeStates(p)
          }
        : undefined,
      guard,
      repsLock,
      repOps,
      reps: {} as Record<VportId, Rep>,
      loadFate: {
        ETH: yield* Cell.make<LoadFate | undefined>(`${p}ghost:load-fate[ETH]`, undefined, ghostHidden),
        IB: yield* Cell.make<LoadFate | undefined>(`${p}ghost:load-fate[IB]`, undefined, ghostHidden)
      },
      lastBump: yield* Cell.make<string | undefined>(`${p}ghost:last-generation-bump`, undefined, ghostHidden),
      teardownEpoch: yield* Cell.make(`${p}ghost.teardownEpoch`, 0, { ...hidden, ghost: true }),
      // Only where the NIC has an ESW_OFFLOADS devcom component: elsewhere no kernel object is added.
      devcom: dev.devcomEsw ? yield* Cell.make(`${p}esw->devcom`, false, hidden) : undefined,
      paired: dev.devcomEsw
        ? yield* Cell.make<ReadonlyArray<string>>(`${p}esw->paired`, [], { ...hidden, show: (l) => `[${l.join(" ")}]` })
        : undefined
    } satisfies Esw
    for (const vp of VPORTS) {
      const data = {} as Record<RepType, RepData>
      for (const t of REP_TYPES) {
        data[t] = {
          state: yield* Atomic.make<RepState>(`${p}rep[${vp}].${t}`, "UNREGISTERED"),
          priv: yield* Cell.make<IbDev | RepPriv | undefined>(`${p}rep[${vp}].${t}.priv`, undefined, hidden),
          allocs: yield* Cell.make(`${p}ghost:rep[${vp}].${t}.allocs`, 0, ghostHidden),
          loadFailed: yield* Cell.make(`${p}ghost:rep[${vp}].${t}.load-failed`, false, ghostHidden)
        }
      }
      esw.reps[vp] = { esw, vport: vp, data }
    }
    return esw
  })

/** Per vport: the state `esw_vport_change_handle_locked` touches (`VportChangeState`), as at `mlx5_esw_vport_alloc`. */
const vportChangeStates = (p: string): Effect.Effect<Record<VportId, VportChangeState>, never, Kernel> =>
  Effect.gen(function* () {
    const out = {} as Record<VportId, VportChangeState>
    const showList = (l: ReadonlyArray<VportAddr>) =>
      `[${l.map((a) => `mac${a.mac}${a.action === "NONE" ? "" : `:${a.action}`}${a.flowRule === undefined ? "" : `→fdb#${a.flowRule}`}`).join(" ")}]`
    for (const vp of VPORTS) {
      out[vp] = {
        enabledEvents: yield* Cell.make<ReadonlyArray<VportEvent>>(`${p}vport[${vp}]->enabled_events`, [], hidden),
        ucList: yield* Cell.make<ReadonlyArray<VportAddr>>(`${p}vport[${vp}]->uc_list`, [], { ...hidden, show: showList }),
        fwUcList: yield* Cell.make<ReadonlyArray<number>>(`${p}fw.vport[${vp}].uc_list`, [], hidden),
        coalesced: yield* Cell.make(`${p}ghost:vport[${vp}].coalesced`, 0, ghostHidden),
        handled: yield* Cell.make(`${p}ghost:vport[${vp}].handled`, 0, ghostHidden)
      }
    }
    return out
  })

const make = Effect.gen(function* () {
  const w = yield* Run
  for (const dev of w.devs) dev.esw = yield* mlx5EswitchInit(w.v, dev, w.rcu)
  const aux = yield* AuxBus
  const eqTable = yield* EqTable
  const wq = yield* EswWorkQueue
  const lag = yield* Lag
  const registry = yield* RepRegistry
  const fn = <A, E, R>(name: string, body: Effect.Effect<A, E, R>) => call(w, "eswitch", name, body)
  /** `mlx5_esw_query_functions()`: a firmware command returning the host VF count. */
  const mlx5EswQueryFunctions = (esw: Esw) =>
    Effect.andThen(
      w.kernel.point<void>({
        name: "mlx5_cmd_exec",
        label: "mlx5_cmd_exec(QUERY_ESW_FUNCTIONS)",
        apply: () => undefined
      }),
      esw.dev.fw.hostNumVfs.readOnce
    )

  /** The VF-count change itself, with the devlink lock held (both generations of the code). */
  const vfsChanged = (esw: Esw, newNumVfs: number) =>
    Effect.gen(function* () {
      if (newNumVfs === (yield* esw.numVfs.get)) return
      yield* registry.repsBlock(esw)
      // Number of VFs can only change from "0 to x" or "x to 0". (The C reads num_vfs again here.)
      const numVfs = yield* esw.numVfs.get
      if (numVfs > 0) yield* mlx5EswitchUnloadVfVports(esw, numVfs)
      else {
        const err = yield* mlx5EswitchLoadVfVports(esw, newNumVfs)
        if (err !== 0) {
          yield* registry.repsUnblock(esw)
          return
        }
      }
      yield* esw.numVfs.set(newNumVfs)
      yield* registry.repsUnblock(esw)
    })

  /** Patch 3+ `esw_vfs_changed_event_handler(esw)`: runs from esw_wq_handler with the devlink lock held. */
  const eswVfsChangedEventHandler = (esw: Esw) =>
    fn(
      "esw_vfs_changed_event_handler",
      Effect.gen(function* () {
        const n = yield* mlx5EswQueryFunctions(esw)
        yield* vfsChanged(esw, n)
      })
    )

  /** Baseline `esw_functions_changed_event_handler()` work: query FW, then `esw_vfs_changed_event_handler(esw, work_gen, out)`. */
  const eswFunctionsChangedEventHandler = (esw: Esw, item: HostWork) =>
    fn(
      "esw_functions_changed_event_handler",
      Effect.gen(function* () {
        const n = yield* mlx5EswQueryFunctions(esw)
        yield* fn(
          "esw_vfs_changed_event_handler",
          Effect.gen(function* () {
            yield* esw.dev.devlink.lock // blocking devl_lock: the staleness check is after it (defect a)
            if (yield* wq.currentUnderLock(esw, item)) yield* vfsChanged(esw, n)
            yield* esw.dev.devlink.unlock
          })
        )
      })
    )

  /**
   * `mlx5_esw_funcs_changed_handler()`: the ESW_FUNCTIONS_CHANGED EQ notifier (atomic context).
   * `epoch` (ghost state, for the invariants only) is the registration that delivered the event.
   */
  const mlx5EswFuncsChangedHandler = (esw: Esw, epoch: number): Effect.Effect<void> =>
    fn(
      "mlx5_esw_funcs_changed_handler",
      w.v.wqDispatch
        ? // if (mlx5_esw_add_work(esw, esw_changed_event_handler, GFP_ATOMIC)) return NOTIFY_DONE: the event is lost
          Effect.asVoid(wq.mlx5EswAddWork(esw, "esw_vfs_changed_event_handler", eswVfsChangedEventHandler(esw), "GFP_ATOMIC", epoch))
        : Effect.gen(function* () {
            // host_work = kzalloc(sizeof(*host_work), GFP_ATOMIC); if (!host_work) return NOTIFY_DONE;
            if (
              yield* injectFault(
                w,
                "kzalloc-host-work",
                "kzalloc(mlx5_host_work, GFP_ATOMIC) in mlx5_esw_funcs_changed_handler fails (-ENOMEM)"
              )
            )
              return
            const workGen = yield* esw.generation.read
            const item: HostWork = { func: "esw_functions_changed_event_handler", workGen, epoch }
            yield* esw.workQueue.queueWork(
              Workqueue.work("esw_functions_changed_event_handler", eswFunctionsChangedEventHandler(esw, item))
            )
          })
    )

  /** The firmware raising ESW_FUNCTIONS_CHANGED after the host changed its VF count. */
  const firmwareHostVfsChanged = (esw: Esw, hostNumVfs: number): Effect.Effect<void> =>
    call(
      w,
      "firmware",
      "ESW_FUNCTIONS_CHANGED",
      Effect.gen(function* () {
        yield* step(w, "fw_host_sriov", `host_num_of_vfs=${hostNumVfs}`)
        yield* esw.dev.fw.hostNumVfs.writeOnce(hostNumVfs)
        const eq = esw.dev.asyncEq
        if (esw.funcsNb && eq) {
          // The EQE raises the control IRQ; the firmware does not wait for the handler, so the
          // interrupt may arrive at any later point. [inferred] Two pending interrupts of the EQ run one
          // after the other in either order (the C's handler takes the EQEs in order, but the
          // function-change handler reads nothing from its EQE: the work queries the firmware).
          yield* eqTable.eqInterrupt(eq, esw.funcsNb, (epoch) => mlx5EswFuncsChangedHandler(esw, epoch))
        }
      })
    )

  // ---------------------------------------------------------------------------
  // Vports

  // ---------------------------------------------------------------------------
  // NIC_VPORT_CHANGE: esw->nb, the per-vport vport_change_handler work and state_lock (notes §5.6;
  // eswitch.c). Only where the world models vport events (`Esw.vportChange`).

  /**
   * `esw_add_uc_addr()`: the L2 table entry (`mlx5_mpfs_add_mac`, not for the manager vport), then,
   * `if (esw->fdb_table.legacy.fdb && esw->mode == MLX5_ESWITCH_LEGACY)`, the FDB rule
   * (`esw_fdb_set_vport_rule` → `mlx5_add_flow_rules(esw->fdb_table.legacy.fdb, …)`, which loads the
   * pointer again). [reduction] `mlx5_mpfs_add_mac`'s own `mpfs->lock` is left out: no other
   * modelled task touches the L2 table (mlx5e's NIC rx mode is not modelled).
   */
  const eswAddUcAddr = (esw: Esw, vc: VportChange, vp: VportId, a: VportAddr): Effect.Effect<VportAddr> =>
    fn(
      "esw_add_uc_addr",
      Effect.gen(function* () {
        // Not the manager vport (mlx5_esw_is_manager_vport: only the PF's own vport, which the model's
        // vports are not): the L2 table entry first.
        yield* fn("mlx5_mpfs_add_mac", step(w, "mlx5_cmd_exec", `SET_L2_TABLE_ENTRY(mac${a.mac})`))
        let flowRule = a.flowRule
        if ((yield* vc.legacyFdb.get) !== undefined && (yield* esw.mode.read) === "LEGACY") {
          flowRule = yield* fn(
            "esw_fdb_set_vport_rule",
            Effect.gen(function* () {
              yield* step(w, "mlx5_add_flow_rules", `legacy.fdb, dmac mac${a.mac} → ${vp}`)
              const fdb = yield* vc.legacyFdb.get
              if (fdb === undefined) yield* nullDeref("mlx5_add_flow_rules(esw->fdb_table.legacy.fdb = NULL)", "esw_fdb_set_vport_rule")
              return fdb
            })
          )
        }
        return { ...a, action: "NONE", mpfs: true, flowRule }
      })
    )

  /** `esw_del_uc_addr()`: the L2 table entry (if added), then the FDB rule, if any (`mlx5_del_flow_rules`). */
  const eswDelUcAddr = (vp: VportId, a: VportAddr): Effect.Effect<void> =>
    fn(
      "esw_del_uc_addr",
      Effect.gen(function* () {
        if (a.mpfs) yield* fn("mlx5_mpfs_del_mac", step(w, "mlx5_cmd_exec", `DELETE_L2_TABLE_ENTRY(mac${a.mac})`))
        if (a.flowRule !== undefined) yield* step(w, "mlx5_del_flow_rules", `fdb#${a.flowRule}, dmac mac${a.mac} → ${vp}`)
      })
    )

  /**
   * `esw_vport_change_handle_locked()` [state_lock]: query the vport's MAC, sync and apply its UC
   * list (`esw_update_vport_addr_list` marks every entry DEL, and, only if `vport->enabled`, queries
   * the firmware's list: kept entries NONE, new ones ADD; `esw_apply_vport_addr_list` adds and
   * deletes), then the MC list and rx mode when those events are enabled, then re-arm the vport's
   * change event if `vport->enabled`. [reduction] The model's VFs set no MC address and no promisc
   * mode: the MC and rx-mode branches are their firmware queries only (their lists and rules stay
   * empty, so they read no FDB state).
   */
  const eswVportChangeHandleLocked = (esw: Esw, vc: VportChange, vp: VportId): Effect.Effect<void> =>
    fn(
      "esw_vport_change_handle_locked",
      Effect.gen(function* () {
        const vs = vc.vports[vp]
        yield* fn("mlx5_query_nic_vport_mac_address", step(w, "mlx5_cmd_exec", `QUERY_NIC_VPORT_CONTEXT(${vp}, permanent mac)`))
        const events = yield* vs.enabledEvents.get
        if (events.includes("UC_ADDR_CHANGE")) {
          yield* fn(
            "esw_update_vport_addr_list",
            Effect.gen(function* () {
              const marked = (yield* vs.ucList.get).map((a): VportAddr => ({ ...a, action: "DEL" }))
              if (!(yield* esw.enabled[vp].get)) return yield* vs.ucList.set(marked)
              yield* fn("mlx5_query_nic_vport_mac_list", step(w, "mlx5_cmd_exec", `QUERY_NIC_VPORT_CONTEXT(${vp}, uc list)`))
              const macs = yield* vs.fwUcList.readOnce
              const kept = marked.map((a): VportAddr => (macs.includes(a.mac) ? { ...a, action: "NONE" } : a))
              const added = macs
                .filter((m) => !marked.some((a) => a.mac === m))
                .map((mac): VportAddr => ({ mac, action: "ADD", mpfs: false, flowRule: undefined }))
              yield* vs.ucList.set([...kept, ...added])
            })
          )
          yield* fn(
            "esw_apply_vport_addr_list",
            Effect.gen(function* () {
              for (const a of yield* vs.ucList.get) {
                if (a.action === "ADD") {
                  const done = yield* eswAddUcAddr(esw, vc, vp, a)
                  yield* vs.ucList.update((l) => l.map((x) => (x.mac === a.mac ? done : x)))
                } else if (a.action === "DEL") {
                  yield* eswDelUcAddr(vp, a)
                  yield* vs.ucList.update((l) => l.filter((x) => x.mac !== a.mac)) // l2addr_hash_del
                }
              }
            })
          )
        }
        if (events.includes("MC_ADDR_CHANGE") && (yield* esw.enabled[vp].get))
          yield* fn("mlx5_query_nic_vport_mac_list", step(w, "mlx5_cmd_exec", `QUERY_NIC_VPORT_CONTEXT(${vp}, mc list)`))
        if (events.includes("PROMISC_CHANGE"))
          yield* fn("mlx5_query_nic_vport_promisc", step(w, "mlx5_cmd_exec", `QUERY_NIC_VPORT_CONTEXT(${vp}, promisc)`))
        if (yield* esw.enabled[vp].get)
          yield* fn("arm_vport_context_events_cmd", step(w, "mlx5_cmd_exec", `MODIFY_NIC_VPORT_CONTEXT(${vp}, arm [${events.join(" ")}])`))
      })
    )

  /** `esw_vport_change_handler()`: the vport's `vport_change_handler` work: `state_lock` around `esw_vport_change_handle_locked`. */
  const eswVportChangeHandler = (esw: Esw, vc: VportChange, vp: VportId): Effect.Effect<void> =>
    fn(
      "esw_vport_change_handler",
      Effect.gen(function* () {
        yield* vc.vports[vp].handled.update((n) => n + 1)
        yield* vc.stateLock.lock
        yield* eswVportChangeHandleLocked(esw, vc, vp)
        yield* vc.stateLock.unlock
      })
    )

  // INIT_WORK(&vport->vport_change_handler, esw_vport_change_handler) in mlx5_esw_vport_alloc: one
  // work_struct per vport, so a second queue_work while it is pending returns false (coalesced).
  const vportChangeWork = new Map<Esw, Record<VportId, Workqueue.Work>>()
  for (const dev of w.devs) {
    const vc = dev.esw.vportChange
    if (vc === undefined) continue
    const works = {} as Record<VportId, Workqueue.Work>
    for (const vp of VPORTS) works[vp] = Workqueue.work(`esw_vport_change_handler(${vp})`, eswVportChangeHandler(dev.esw, vc, vp))
    vportChangeWork.set(dev.esw, works)
  }

  /**
   * `eswitch_vport_event()`: `esw->nb`'s notifier call (EQ, atomic context): `mlx5_eswitch_get_vport`
   * (an `xa_load`: the vport structs live as long as the E-Switch), then
   * `queue_work(esw->work_queue, &vport->vport_change_handler)`. No generation, no devlink lock.
   */
  const eswitchVportEvent = (esw: Esw, vp: VportId): Effect.Effect<void> =>
    fn(
      "eswitch_vport_event",
      Effect.gen(function* () {
        const queued = yield* esw.workQueue.queueWork(vportChangeWork.get(esw)![vp])
        if (!queued) yield* esw.vportChange!.vports[vp].coalesced.update((n) => n + 1)
      })
    )

  /**
   * The firmware: a VF changed its UC address list (the VF driver's `SET_NIC_VPORT_CONTEXT`), and
   * the device raises NIC_VPORT_CHANGE for the vport on the async EQ; the firmware does not wait
   * for the handler. [inferred] The event's one-shot arming (`arm_change_event`) is not modelled:
   * the firmware raises an event for every change, a superset of the events the device sends.
   */
  const firmwareVportChange = (esw: Esw, vp: VportId, macs: ReadonlyArray<number>): Effect.Effect<void> =>
    call(
      w,
      "firmware",
      "NIC_VPORT_CHANGE",
      Effect.gen(function* () {
        const vc = esw.vportChange
        const eq = esw.dev.asyncEq
        if (vc === undefined || eq === undefined) return yield* w.kernel.warn(`${esw.name}: vport events are not modelled in this world`)
        yield* step(w, "fw_vport_context", `${vp} uc_list=[${macs.map((m) => `mac${m}`).join(" ")}]`)
        yield* vc.vports[vp].fwUcList.writeOnce(macs)
        yield* eqTable.eqInterrupt(eq, vc.nb, () => eswitchVportEvent(esw, vp))
      })
    )

  // ---------------------------------------------------------------------------
  // Vports

  /**
   * `mlx5_esw_vport_enable()`: with vport events modelled, the C's body under `state_lock`
   * (`WARN_ON(vport->enabled)`, `esw_vport_setup`, `enabled_events`, `enabled = true`,
   * `esw_vport_change_handle_locked`); otherwise only `esw_vport_setup` and the flag (the
   * reduction at `VportChange`). The caller's `enabled_events`: MLX5_LEGACY_SRIOV_VPORT_EVENTS in
   * legacy, MLX5_VPORT_UC_ADDR_CHANGE in switchdev (every caller derives it from `esw->mode`).
   */
  const vportEnable = (esw: Esw, vp: VportId) =>
    fn(
      "mlx5_esw_vport_enable",
      Effect.gen(function* () {
        const vc = esw.vportChange
        if (vc === undefined) {
          yield* step(w, "mlx5_cmd_exec", `MODIFY_VPORT(${vp}, enable)`)
          return yield* esw.enabled[vp].set(true)
        }
        const events: ReadonlyArray<VportEvent> =
          (yield* esw.mode.read) === "LEGACY" ? ["UC_ADDR_CHANGE", "MC_ADDR_CHANGE", "PROMISC_CHANGE"] : ["UC_ADDR_CHANGE"]
        yield* vc.stateLock.lock
        if (yield* esw.enabled[vp].get) yield* w.kernel.warn(`WARN_ON(vport->enabled): mlx5_esw_vport_enable(${vp}) on an enabled vport`)
        yield* fn("esw_vport_setup", step(w, "mlx5_cmd_exec", `MODIFY_VPORT(${vp}, enable)`))
        yield* vc.vports[vp].enabledEvents.set(events)
        yield* esw.enabled[vp].set(true)
        yield* eswVportChangeHandleLocked(esw, vc, vp)
        yield* vc.stateLock.unlock
      })
    )

  /**
   * `mlx5_esw_vport_disable()`: with vport events modelled, under `state_lock`: `enabled = false`
   * ("to discard new events"), disarm the vport's events, `esw_apply_vport_rx_mode(false, false)`
   * (no rx-mode rules in the model), `esw_vport_change_handle_locked` (with the vport disabled it
   * deletes every address and its FDB rule), `enabled_events = 0`, `esw_vport_cleanup`.
   */
  const vportDisable = (esw: Esw, vp: VportId) =>
    fn(
      "mlx5_esw_vport_disable",
      Effect.gen(function* () {
        const vc = esw.vportChange
        if (vc === undefined) {
          yield* step(w, "mlx5_cmd_exec", `MODIFY_VPORT(${vp}, disable)`)
          return yield* esw.enabled[vp].set(false)
        }
        yield* vc.stateLock.lock
        if (yield* esw.enabled[vp].get) {
          yield* esw.enabled[vp].set(false)
          yield* fn("arm_vport_context_events_cmd", step(w, "mlx5_cmd_exec", `MODIFY_NIC_VPORT_CONTEXT(${vp}, events off)`))
          yield* eswVportChangeHandleLocked(esw, vc, vp)
          yield* vc.vports[vp].enabledEvents.set([])
          yield* fn("esw_vport_cleanup", step(w, "mlx5_cmd_exec", `MODIFY_VPORT(${vp}, disable)`))
        }
        yield* vc.stateLock.unlock
      })
    )

  /** `mlx5_eswitch_load_pf_vf_vport()` / `mlx5_eswitch_load_sf_vport()`: enable, then (OFFLOADS) load its reps. */
  const mlx5EswitchLoadVport = (esw: Esw, vp: VportId): Effect.Effect<number> =>
    fn(
      vp === "sf1" ? "mlx5_eswitch_load_sf_vport" : "mlx5_eswitch_load_pf_vf_vport",
      Effect.gen(function* () {
        yield* vportEnable(esw, vp)
        if ((yield* esw.mode.read) !== "OFFLOADS") return 0
        const err = yield* registry.mlx5EswOffloadsRepLoad(esw, vp)
        if (err !== 0) yield* vportDisable(esw, vp)
        return err
      })
    )

  /** `mlx5_eswitch_unload_pf_vf_vport()` / `mlx5_eswitch_unload_sf_vport()`. */
  const mlx5EswitchUnloadVport = (esw: Esw, vp: VportId): Effect.Effect<void> =>
    fn(
      vp === "sf1" ? "mlx5_eswitch_unload_sf_vport" : "mlx5_eswitch_unload_pf_vf_vport",
      Effect.gen(function* () {
        if (!(yield* esw.enabled[vp].get)) return
        if ((yield* esw.mode.read) === "OFFLOADS") yield* registry.mlx5EswOffloadsRepUnload(esw, vp)
        yield* vportDisable(esw, vp)
      })
    )

  /** `mlx5_eswitch_load_vf_vports()`: on a failure, unload the VF vports again. */
  const mlx5EswitchLoadVfVports = (esw: Esw, n: number): Effect.Effect<number> =>
    fn(
      "mlx5_eswitch_load_vf_vports",
      Effect.gen(function* () {
        for (const vp of VF_VPORTS.slice(0, n)) {
          const err = yield* mlx5EswitchLoadVport(esw, vp)
          if (err !== 0) {
            yield* mlx5EswitchUnloadVfVports(esw, n)
            return err
          }
        }
        return 0
      })
    )

  /** `mlx5_eswitch_unload_vf_vports()`. */
  const mlx5EswitchUnloadVfVports = (esw: Esw, n: number): Effect.Effect<void> =>
    fn(
      "mlx5_eswitch_unload_vf_vports",
      Effect.forEach([...VF_VPORTS.slice(0, n)].reverse(), (vp) => mlx5EswitchUnloadVport(esw, vp), { discard: true })
    )

  // ---------------------------------------------------------------------------
  // devcom ESW_OFFLOADS: PAIR / UNPAIR (eswitch_offloads.c, lib/devcom.c; notes §1.2)

  /** A kernel oops (NULL pointer dereference) on the running task, as a WARN-level finding. */
  const nullDeref = (what: string, where: string) =>
    w.kernel.warn(`BUG: kernel NULL pointer dereference: ${what} in ${where} (task ${w.kernel.running() ?? "?"})`)

  /**
   * One pass of the PAIR / UNPAIR loops over `esw`'s reps (`mlx5_esw_for_each_rep`, xarray order;
   * types ETH then IB for PAIR, IB then ETH for UNPAIR): `ops = esw->offloads.rep_ops[t]` (a plain
   * load, first), then `atomic_read(&rep->rep_data[t].state) == REP_LOADED && ops->event` (NULL
   * `ops` with a LOADED state: an oops), then `ops->event(esw, rep, event, peer_esw)`. None of
   * `esw`'s locks is taken here: when `esw` is the receiving peer, its owner's devlink lock and reps
   * guard are not held. Returns the first error (PAIR stops there).
   */
  const repEvents = (esw: Esw, peer: Esw, event: SwitchdevEvent, where: string): Effect.Effect<number> =>
    Effect.gen(function* () {
      const types = event === "PAIR" ? REP_TYPES : [...REP_TYPES].reverse()
      for (const vp of XA_ORDER) {
        const rep = esw.reps[vp]
        for (const t of types) {
          const ops = yield* esw.repOps[t].get
          if ((yield* rep.data[t].state.read) !== "LOADED") continue
          if (ops === undefined) {
            yield* nullDeref(`${esw.name} rep_ops[${t}]->event`, where)
            continue
          }
          if (ops.event === undefined) continue
          const err = yield* ops.event(esw, rep, event, peer)
          if (err !== 0 && event === "PAIR") return err
        }
      }
      return 0
    })

  /**
   * `mlx5_esw_offloads_unpair(esw, peer_esw)`: `mlx5e_tc_clean_fdb_peer_flows` (no TC flow in the
   * model: nothing to clean), `mlx5_esw_offloads_rep_event_unpair`, `esw_del_fdb_peer_miss_rules`.
   */
  const mlx5EswOffloadsUnpair = (esw: Esw, peer: Esw): Effect.Effect<void> =>
    fn(
      "mlx5_esw_offloads_unpair",
      Effect.gen(function* () {
        yield* fn("mlx5_esw_offloads_rep_event_unpair", repEvents(esw, peer, "UNPAIR", "mlx5_esw_offloads_rep_event_unpair"))
        yield* step(w, "mlx5_cmd_exec", `esw_del_fdb_peer_miss_rules(${esw.name}, ${peer.name})`)
      })
    )

  /** `mlx5_esw_offloads_pair(esw, peer_esw)`: `esw_add_fdb_peer_miss_rules`, then PAIR to every LOADED rep; on an error, unpair. */
  const mlx5EswOffloadsPair = (esw: Esw, peer: Esw): Effect.Effect<number> =>
    fn(
      "mlx5_esw_offloads_pair",
      Effect.gen(function* () {
        yield* step(w, "mlx5_cmd_exec", `esw_add_fdb_peer_miss_rules(${esw.name}, ${peer.name})`)
        const err = yield* repEvents(esw, peer, "PAIR", "mlx5_esw_offloads_pair")
        if (err !== 0) yield* mlx5EswOffloadsUnpair(esw, peer)
        return err
      })
    )

  /**
   * `mlx5_esw_offloads_devcom_event(event, my_data = esw, event_data = peer_esw)` [devcom(ESW)
   * write, held by the sender]: `esw` is a registered peer, `peer` the sender. PAIR (unless already
   * paired): `mlx5_esw_offloads_set_ns_peer(true)`, `mlx5_esw_offloads_pair(esw, peer)`, then
   * `(peer, esw)`, both `paired`; UNPAIR (if paired): both unpaired, `unpair(peer, esw)`,
   * `unpair(esw, peer)`, `set_ns_peer(false)`. [inferred] both E-Switches have the same
   * vport-metadata setting (the first check passes); `num_peers` and `mlx5_devcom_comp_set_ready`
   * are not modelled (their readers — LAG's shared-FDB check, `mlx5e_sqs2vport_start` — are not).
   */
  const mlx5EswOffloadsDevcomEvent = (event: SwitchdevEvent, esw: Esw, peer: Esw): Effect.Effect<number> =>
    fn(
      "mlx5_esw_offloads_devcom_event",
      Effect.gen(function* () {
        const paired = (yield* esw.paired!.get).includes(peer.name)
        if (event === "PAIR") {
          if (paired) return 0
          yield* step(w, "mlx5_cmd_exec", `mlx5_esw_offloads_set_ns_peer(${esw.name}, ${peer.name}, true)`)
          let err = yield* mlx5EswOffloadsPair(esw, peer)
          if (err === 0) {
            err = yield* mlx5EswOffloadsPair(peer, esw)
            if (err !== 0) yield* mlx5EswOffloadsUnpair(esw, peer) // err_pair
          }
          if (err !== 0) {
            yield* step(w, "mlx5_cmd_exec", `mlx5_esw_offloads_set_ns_peer(${esw.name}, ${peer.name}, false)`) // err_peer
            return err
          }
          yield* esw.paired!.update((l) => [...l, peer.name])
          yield* peer.paired!.update((l) => [...l, esw.name])
          return 0
        }
        if (!paired) return 0
        yield* peer.paired!.update((l) => l.filter((n) => n !== esw.name))
        yield* esw.paired!.update((l) => l.filter((n) => n !== peer.name))
        yield* mlx5EswOffloadsUnpair(peer, esw)
        yield* mlx5EswOffloadsUnpair(esw, peer)
        yield* step(w, "mlx5_cmd_exec", `mlx5_esw_offloads_set_ns_peer(${esw.name}, ${peer.name}, false)`)
        return 0
      })
    )

  /**
   * `mlx5_devcom_send_event(esw->devcom, event, rollback_event, esw)` (lib/devcom.c):
   * `down_write(&comp->sem)`, the handler for every other registered E-Switch, `up_write`. [inferred]
   * the rollback walk is left out: with two PFs there is one peer, so a failing handler has no
   * earlier peer to roll back (and the model's handlers do not fail).
   */
  const mlx5DevcomSendEvent = (esw: Esw, event: SwitchdevEvent): Effect.Effect<void> =>
    fn(
      "mlx5_devcom_send_event",
      Effect.gen(function* () {
        const comp = esw.dev.devcomEsw!
        yield* comp.sem.downWrite
        for (const pos of yield* comp.members.get) if (pos !== esw) yield* mlx5EswOffloadsDevcomEvent(event, pos, esw)
        yield* comp.sem.upWrite
      })
    )

  /**
   * `mlx5_esw_offloads_devcom_init(esw, attr)` at the end of `esw_offloads_enable`: on a NIC without
   * an ESW_OFFLOADS component (single port: `!mlx5_lag_is_supported`) it returns before registering;
   * else `mlx5_devcom_register_component` (`devcom_alloc_comp_dev`: `down_write(&comp->sem)`,
   * `list_add_tail`, `up_write`; the global `comp_list_lock` around the component lookup is not
   * modelled) and `mlx5_devcom_send_event(PAIR, UNPAIR)`.
   */
  const mlx5EswOffloadsDevcomInit = (esw: Esw): Effect.Effect<void> =>
    fn(
      "mlx5_esw_offloads_devcom_init",
      Effect.gen(function* () {
        const comp = esw.dev.devcomEsw
        if (comp === undefined) return
        yield* fn(
          "mlx5_devcom_register_component",
          Effect.gen(function* () {
            yield* comp.sem.downWrite
            yield* comp.members.update((l) => [...l, esw])
            yield* comp.sem.upWrite
          })
        )
        yield* esw.devcom!.set(true)
        yield* mlx5DevcomSendEvent(esw, "PAIR")
      })
    )

  /**
   * `mlx5_esw_offloads_devcom_cleanup(esw)` at the start of `esw_offloads_disable`: if registered,
   * `mlx5_devcom_send_event(UNPAIR, UNPAIR)`, then `mlx5_devcom_unregister_component`
   * (`devcom_free_comp_dev`: `down_write(&comp->sem)`, `list_del`, `up_write`), `esw->devcom = NULL`.
   */
  const mlx5EswOffloadsDevcomCleanup = (esw: Esw): Effect.Effect<void> =>
    fn(
      "mlx5_esw_offloads_devcom_cleanup",
      Effect.gen(function* () {
        const comp = esw.dev.devcomEsw
        if (comp === undefined || !(yield* esw.devcom!.get)) return
        yield* mlx5DevcomSendEvent(esw, "UNPAIR")
        yield* fn(
          "mlx5_devcom_unregister_component",
          Effect.gen(function* () {
            yield* comp.sem.downWrite
            yield* comp.members.update((l) => l.filter((e) => e !== esw))
            yield* comp.sem.upWrite
          })
        )
        yield* esw.devcom!.set(false)
      })
    )

  // ---------------------------------------------------------------------------
  // Enable / disable

  /** `esw_offloads_enable()`: steering, uplink rep first, then PF/VF vports; on success, last, `mlx5_esw_offloads_devcom_init` (PAIR). */
  const eswOffloadsEnable = (esw: Esw) =>
    fn(
      "esw_offloads_enable",
      Effect.gen(function* () {
        yield* step(w, "mlx5_cmd_exec", "esw_offloads_steering_init")
        // err = esw_offloads_steering_init(esw); if (err) goto err_steering_init; — nothing of the
        // representors is touched yet; the labels below it only undo steering state (not modelled).
        // [inferred] -EIO stands for whatever status the firmware returned.
        if (yield* injectFault(w, "fw-cmd", `${esw.name}: mlx5_cmd_exec(esw_offloads_steering_init) fails (-EIO)`)) return -5
        let err = yield* registry.mlx5EswOffloadsRepLoad(esw, "uplink")
        if (err !== 0) return err
        yield* esw.enabled.uplink.set(true)
        err = yield* fn("mlx5_eswitch_enable_pf_vf_vports", mlx5EswitchLoadVfVports(esw, yield* esw.numVfs.get))
        if (err !== 0) {
          yield* esw.enabled.uplink.set(false)
          yield* registry.mlx5EswOffloadsRepUnload(esw, "uplink")
          return err
        }
        yield* mlx5EswOffloadsDevcomInit(esw)
        return 0
      })
    )

  /**
   * `esw_offloads_disable()`: first `mlx5_esw_offloads_devcom_cleanup` (UNPAIR), then disable
   * PF/VF vports (their reps unloaded), then
   * the uplink rep. [inferred] an SF vport still enabled is unloaded here too.
   */
  const eswOffloadsDisable = (esw: Esw) =>
    fn(
      "esw_offloads_disable",
      Effect.gen(function* () {
        yield* mlx5EswOffloadsDevcomCleanup(esw)
        yield* fn("mlx5_eswitch_disable_pf_vf_vports", mlx5EswitchUnloadVfVports(esw, VF_VPORTS.length))
        yield* mlx5EswitchUnloadVport(esw, "sf1")
        yield* registry.mlx5EswOffloadsRepUnload(esw, "uplink")
        yield* esw.enabled.uplink.set(false)
        yield* step(w, "mlx5_cmd_exec", "esw_offloads_steering_cleanup")
      })
    )

  /**
   * `esw_legacy_enable()` (esw/legacy.c): `esw_create_legacy_table` (the legacy FDB), then the VF
   * vports (`mlx5_eswitch_enable_pf_vf_vports` with MLX5_LEGACY_SRIOV_VPORT_EVENTS); on an error
   * the table is destroyed again. The FDB pointer is modelled only with vport events (`VportChange`).
   */
  const eswLegacyEnable = (esw: Esw): Effect.Effect<number> =>
    fn(
      "esw_legacy_enable",
      Effect.gen(function* () {
        const vc = esw.vportChange
        if (vc) {
          yield* fn("esw_create_legacy_table", step(w, "mlx5_cmd_exec", "CREATE_FLOW_TABLE(legacy fdb)"))
          yield* vc.legacyFdb.set(yield* vc.fdbSeq.update((n) => n + 1))
        }
        const err = yield* mlx5EswitchLoadVfVports(esw, yield* esw.numVfs.get)
        if (err !== 0 && vc) yield* eswDestroyLegacyTable(vc)
        return err
      })
    )

  /** `esw_destroy_legacy_table()`: `mlx5_destroy_flow_table(esw->fdb_table.legacy.fdb)`, the pointer NULL. */
  const eswDestroyLegacyTable = (vc: VportChange): Effect.Effect<void> =>
    fn(
      "esw_destroy_legacy_table",
      Effect.gen(function* () {
        yield* step(w, "mlx5_cmd_exec", `DESTROY_FLOW_TABLE(legacy fdb)`)
        yield* vc.legacyFdb.set(undefined)
      })
    )

  /** `esw_legacy_disable()`: the VF vports (`mlx5_eswitch_disable_pf_vf_vports`), then the legacy table. */
  const eswLegacyDisable = (esw: Esw): Effect.Effect<void> =>
    fn(
      "esw_legacy_disable",
      Effect.gen(function* () {
        yield* mlx5EswitchUnloadVfVports(esw, VF_VPORTS.length)
        if (esw.vportChange) yield* eswDestroyLegacyTable(esw.vportChange)
      })
    )

  /** `mlx5_eswitch_enable_locked()` [devlink]: create the FDB for the current mode, register the functions notifier (ECPF, OFFLOADS). */
  const mlx5EswitchEnableLocked = (esw: Esw, numVfs: number | "IGNORE"): Effect.Effect<number, never, DevlinkHeld> =>
    locked(
      w,
      "eswitch",
      "mlx5_eswitch_enable_locked",
      DevlinkLock,
      esw.dev.devlink.id,
      Effect.gen(function* () {
        yield* step(w, "mlx5_cmd_exec", "esw_acl_ns_init")
        if (numVfs !== "IGNORE") yield* esw.numVfs.set(numVfs)
        // MLX5_NB_INIT(&esw->nb, eswitch_vport_event, NIC_VPORT_CHANGE); mlx5_eq_notifier_register(): every mode
        const vc = esw.vportChange
        if (vc) yield* eqTable.eqNotifierRegister(vc.nb, yield* esw.teardownEpoch.get)
        const mode = yield* esw.mode.read
        const err = mode === "OFFLOADS" ? yield* eswOffloadsEnable(esw) : yield* eswLegacyEnable(esw)
        if (err !== 0) {
          // err_esw_init: mlx5_eq_notifier_unregister(esw->dev, &esw->nb); (ACL namespaces: not modelled)
          if (vc) yield* eqTable.eqNotifierUnregister(vc.nb)
          return err
        }
        yield* esw.fdbCreated.set(true)
        if (mode === "OFFLOADS" && esw.funcsNb)
          yield* fn("mlx5_eswitch_event_handler_register", eqTable.eqNotifierRegister(esw.funcsNb, yield* esw.teardownEpoch.get))
        return 0
      })
    )

  /** `mlx5_eswitch_event_handler_unregister()`: baseline bumps `esw_funcs.generation` after unregistering. */
  const eventHandlerUnregister = (esw: Esw) =>
    fn(
      "mlx5_eswitch_event_handler_unregister",
      Effect.gen(function* () {
        if (esw.funcsNb === undefined || (yield* esw.mode.read) !== "OFFLOADS") return
        yield* eqTable.eqNotifierUnregister(esw.funcsNb)
        if (w.v.generationBumps === "baseline") yield* wq.bumpGeneration(esw, "mlx5_eswitch_event_handler_unregister")
      })
    )

  /** `mlx5_eswitch_disable_locked()` [devlink]: notifiers off, then tear down the FDB. */
  const mlx5EswitchDisableLocked = (esw: Esw): Effect.Effect<void, never, DevlinkHeld> =>
    locked(
      w,
      "eswitch",
      "mlx5_eswitch_disable_locked",
      DevlinkLock,
      esw.dev.devlink.id,
      Effect.gen(function* () {
        yield* esw.teardownEpoch.update((n) => n + 1) // ghost: the configuration's teardown begins
        // (mlx5_esw_mode_change_notify(esw, LEGACY): see eswOffloadsDisable's SF note.) Then
        // mlx5_eq_notifier_unregister(esw->dev, &esw->nb), before the functions notifier.
        if (esw.vportChange) yield* eqTable.eqNotifierUnregister(esw.vportChange.nb)
        yield* eventHandlerUnregister(esw)
        yield* wq.mergedInvalidate(esw) // merged: after the notifiers are unregistered
        if (yield* esw.fdbCreated.get) {
          yield* esw.fdbCreated.set(false)
          if ((yield* esw.mode.read) === "OFFLOADS") yield* eswOffloadsDisable(esw)
          else yield* eswLegacyDisable(esw)
        }
      })
    )

  /** `mlx5_eswitch_enable()` [devlink asserted]: SR-IOV enable and load paths. */
  const mlx5EswitchEnable = (esw: Esw, numVfs: number): Effect.Effect<number, never, DevlinkHeld> =>
    locked(
      w,
      "eswitch",
      "mlx5_eswitch_enable",
      DevlinkLock,
      esw.dev.devlink.id,
      Effect.gen(function* () {
        yield* fn("devl_assert_locked", esw.dev.devlink.assertHeld)
        const toggleLag = !(yield* esw.fdbCreated.get)
        if (toggleLag) yield* lag.mlx5LagDisableChange(esw.dev)
        yield* wq.v1Bump(esw)
        yield* wq.mergedInvalidate(esw)
        yield* registry.repsBlock(esw)
        let ret = 0
        if (!(yield* esw.fdbCreated.get)) ret = yield* mlx5EswitchEnableLocked(esw, numVfs)
        else if (!esw.dev.isEcpf) {
          ret = yield* mlx5EswitchLoadVfVports(esw, numVfs)
          if (ret === 0) yield* esw.numVfs.set(numVfs)
        } // ECPF: num_vfs would be EC VFs, not modelled
        yield* registry.repsUnblock(esw)
        if (toggleLag) yield* lag.mlx5LagEnableChange(esw.dev)
        return ret
      })
    )

  /** `mlx5_eswitch_disable_sriov()` [devlink asserted]. */
  const mlx5EswitchDisableSriov = (esw: Esw, clearVf: boolean): Effect.Effect<void, never, DevlinkHeld> =>
    locked(
      w,
      "eswitch",
      "mlx5_eswitch_disable_sriov",
      DevlinkLock,
      esw.dev.devlink.id,
      Effect.gen(function* () {
        yield* fn("devl_assert_locked", esw.dev.devlink.assertHeld)
        // "If driver is unloaded, this function is called twice by remove_one() and
        // mlx5_unload(). Prevent the second call." (num_ec_vfs: EC VFs are not modelled)
        if ((yield* esw.numVfs.get) === 0 && !clearVf) return
        yield* esw.teardownEpoch.update((n) => n + 1)
        yield* wq.v1Bump(esw)
        yield* wq.mergedInvalidate(esw)
        yield* registry.repsBlock(esw)
        if (!esw.dev.isEcpf) yield* mlx5EswitchUnloadVfVports(esw, yield* esw.numVfs.get)
        yield* registry.repsUnblock(esw)
        if ((yield* esw.mode.read) === "LEGACY") yield* mlx5EswitchDisableLocked(esw)
        if (!esw.dev.isEcpf) yield* esw.numVfs.set(0)
      })
    )

  /** `mlx5_eswitch_disable()` [devlink asserted]: from mlx5_unload (remove, reload, recovery). */
  const mlx5EswitchDisable = (esw: Esw): Effect.Effect<void, never, DevlinkHeld> =>
    locked(
      w,
      "eswitch",
      "mlx5_eswitch_disable",
      DevlinkLock,
      esw.dev.devlink.id,
      Effect.gen(function* () {
        yield* fn("devl_assert_locked", esw.dev.devlink.assertHeld)
        yield* wq.v1Bump(esw)
        yield* lag.mlx5LagDisableChange(esw.dev)
        yield* registry.repsBlock(esw)
        yield* mlx5EswitchDisableLocked(esw)
        yield* registry.repsUnblock(esw)
        yield* esw.mode.set("LEGACY")
        yield* lag.mlx5LagEnableChange(esw.dev)
      })
    )

  /** `mlx5_eswitch_cleanup()` [devlink, via mlx5_cleanup_once]: drain (destroy) the work queue. */
  const mlx5EswitchCleanup = (esw: Esw): Effect.Effect<void> =>
    fn(
      "mlx5_eswitch_cleanup",
      Effect.gen(function* () {
        yield* esw.teardownEpoch.update((n) => n + 1)
        if (w.v.generationBumps === "baseline") yield* step(w, "mlx5_esw_qos_cleanup", esw.name)
        yield* wq.v1Bump(esw)
        yield* wq.mergedInvalidate(esw)
        // destroy_workqueue(esw->work_queue): the finaliser the queue registered with the
        // E-Switch's lifetime when mlx5_eswitch_init made it.
        yield* esw.life.close
        if (w.v.generationBumps !== "baseline") yield* step(w, "mlx5_esw_qos_cleanup", esw.name)
      })
    )

  // ---------------------------------------------------------------------------
  // Mode set

  /**
   * `esw_mode_change()` [devlink]: under the devcom lock, hide the IB aux
   * devices, rescan, store the mode, unhide, rescan. V1/merged hand the guard
   * off around it (unblock at entry, block at exit) so that mlx5_ib's probe /
   * remove on this thread can register / unregister.
   */
  const eswModeChange = (esw: Esw, mode: Mode): Effect.Effect<void, never, DevlinkHeld | RepsHeld> =>
    locked(
      w,
      "eswitch",
      "esw_mode_change",
      DevlinkLock,
      esw.dev.devlink.id,
      // The hand-over: the caller holds the guard; it is released here so that mlx5_ib's
      // probe / remove, run by the rescans on this thread, can register / unregister, and
      // taken again before returning. The rescans' type may not ask for the guard.
      LockContract.handOver(
        registry.repsGuard(esw),
        Effect.gen(function* () {
          const dev = esw.dev
          yield* fn("mlx5_devcom_comp_lock", dev.devcom.downWrite)
          if (yield* dev.flags.disableIbAdev.get) {
            yield* esw.mode.set(mode)
            yield* aux.mlx5RescanDriversLocked(dev)
          } else {
            yield* dev.flags.disableIbAdev.set(true)
            yield* aux.mlx5RescanDriversLocked(dev)
            yield* esw.mode.set(mode)
            yield* dev.flags.disableIbAdev.set(false)
            yield* aux.mlx5RescanDriversLocked(dev)
          }
          yield* fn("mlx5_devcom_comp_unlock", dev.devcom.upWrite)
        })
      )
    )

  /**
   * `mlx5_devlink_eswitch_mode_set()` [devlink held by devlink_nl_pre_doit or
   * by the caller]. Returns 0 or a negative errno.
   */
  const mlx5DevlinkEswitchModeSet = (esw: Esw, target: Mode): Effect.Effect<number, never, DevlinkHeld> =>
    locked(
      w,
      "eswitch",
      "mlx5_devlink_eswitch_mode_set",
      DevlinkLock,
      esw.dev.devlink.id,
      Effect.gen(function* () {
        const dev = esw.dev
        // mlx5_fw_reset_in_progress(): test_bit(RESET_IN_PROGRESS) → -EBUSY, before anything else
        if (yield* dev.fwResetInProgress.readOnce) return -16
        yield* lag.mlx5LagDisableChange(dev)
        let err = 0
        // mlx5_esw_try_lock(esw, true)
        if (!(yield* fn("mlx5_esw_try_lock", esw.modeLock.downWriteTrylock))) err = -22
        else if (yield* esw.operationInProgress.get) {
          yield* esw.modeLock.upWrite
          err = -16
        }
        if (err === 0) {
          if ((yield* esw.mode.read) === target)
            yield* esw.modeLock.upWrite // same mode: nothing to do
          else {
            if (w.v.modeSetGuardOrder === "underModeLock") yield* registry.repsBlock(esw) // V1: while still holding mode_lock
            yield* esw.operationInProgress.set(true)
            yield* esw.modeLock.upWrite
            if (w.v.modeSetGuardOrder === "unnested") yield* registry.repsBlock(esw) // V2, merged: keep mode_lock and reps_lock unnested
            // From here to the merged unblock the guard is held (V1 took it above, under mode_lock).
            err = yield* LockContract.assume(
              registry.repsGuard(esw),
              Effect.gen(function* () {
                yield* wq.v1Bump(esw)
                yield* mlx5EswitchDisableLocked(esw)
                if (target === "OFFLOADS") {
                  err = yield* fn(
                    "esw_offloads_start",
                    Effect.gen(function* () {
                      yield* eswModeChange(esw, "OFFLOADS")
                      const e = yield* mlx5EswitchEnableLocked(esw, "IGNORE")
                      // if (err) { NL_SET_ERR_MSG_MOD(…"Failed setting eswitch to offloads"); esw_mode_change(esw, LEGACY); return err; }
                      // Only the mode goes back: the legacy FDB is not re-created (its re-enable,
                      // "Failed setting eswitch back to legacy", was removed long before the series;
                      // every variant has this path; kernel-patches/bpf @5341be75).
                      if (e !== 0) yield* eswModeChange(esw, "LEGACY")
                      return e
                    })
                  )
                } else {
                  err = yield* fn(
                    "esw_offloads_stop",
                    Effect.gen(function* () {
                      yield* eswModeChange(esw, "LEGACY")
                      if ((yield* esw.numVfs.get) > 0 && !dev.isEcpf) return yield* mlx5EswitchEnableLocked(esw, "IGNORE")
                      return 0
                    })
                  )
                }
                return err
              })
            )
            if (w.v.modeSetGuardOrder === "unnested") yield* registry.repsUnblock(esw)
            yield* esw.modeLock.downWrite
            yield* esw.operationInProgress.set(false)
            if (w.v.modeSetGuardOrder === "underModeLock") yield* registry.repsUnblock(esw)
            yield* fn("mlx5_esw_unlock", esw.modeLock.upWrite)
          }
        }
        yield* lag.mlx5LagEnableChange(dev)
        return err
      })
    )
  /**
   * `mlx5_devlink_esw_multiport_set()` (eswitch.c; devlink param `esw_multiport`, registered on every
   * E-Switch manager PF by `mlx5_eswitch_init`) [devlink]: true → `mlx5_lag_mpesw_enable`, false →
   * `mlx5_lag_mpesw_disable` (void: 0). Both wait for the MPESW work with this PF's devlink lock held.
   */
  const mlx5DevlinkEswMultiportSet = (esw: Esw, enable: boolean): Effect.Effect<number, never, DevlinkHeld> =>
    locked(
      w,
      "eswitch",
      "mlx5_devlink_esw_multiport_set",
      DevlinkLock,
      esw.dev.devlink.id,
      enable ? lag.mlx5LagMpeswEnable(esw.dev) : Effect.as(lag.mlx5LagMpeswDisable(esw.dev), 0)
    )
  return {
    mlx5DevlinkEswMultiportSet,
    mlx5EswFuncsChangedHandler,
    firmwareHostVfsChanged,
    eswitchVportEvent,
    firmwareVportChange,
    mlx5EswitchLoadVport,
    mlx5EswitchUnloadVport,
    mlx5EswitchLoadVfVports,
    mlx5EswitchUnloadVfVports,
    mlx5EswitchEnableLocked,
    mlx5EswitchDisableLocked,
    mlx5EswitchEnable,
    mlx5EswitchDisableSriov,
    mlx5EswitchDisable,
    mlx5EswitchCleanup,
    eswModeChange,
    mlx5DevlinkEswitchModeSet
  }
})

/**
 * The E-Switch as a component (eswitch.c, eswitch_offloads.c).
 *
 * @example
 * ```ts
 * // const eswitch = yield* Eswitch
 * // yield* LockContract.withLock(devl(w, dev), eswitch.mlx5EswitchEnable(dev.esw, 2))
 * ```
 * @category components
 * @since 0.4.0
 */
export class Eswitch extends Context.Service<Eswitch>()("@drvmodel/mlx5/Eswitch", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(Eswitch, make)
}
