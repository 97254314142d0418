/**
 * The objects of one run: PCI functions (`struct mlx5_core_dev`) with their
 * devlink instance, E-Switch, representor registry and auxiliary devices, the
 * mlx5_ib / mlx5e representor drivers, and the LAG. Built fresh inside each
 * scenario program from core primitives. Every member that tasks share is a
 * kernel object: an `Atomic` where the C has `atomic_t`, a `Cell` for a plain
 * struct member (accesses recorded: step footprints for DPOR, the KCSAN-style
 * race check; the lock the kernel holds for it is noted per field), a ghost
 * `Cell` for the model's own bookkeeping that invariants read. What stays a
 * plain JS field is written only while the scenario is built, before any task
 * runs (`Dev.hcaComp`, the drivers, `selfInPeerWalk`).
 *
 * @since 0.1.0
 */
import {
  type Atomic,
  Cell,
  type Component,
  Kernel,
  Mutex,
  type Rcu,
  type RwSemaphore,
  Sched,
  type Slab,
  Spinlock,
  type WaitQueue,
  Workqueue
} from "@drvmodel/core"
import { Context, Effect } from "effect"
import type { Variant } from "./variant.ts"

/** `enum mlx5_eswitch_mode` (NONE is not a mode: see `Esw.fdbCreated`). */
export type Mode = "LEGACY" | "OFFLOADS"
/** Representor types, in load order (`REP_ETH` before `REP_IB`). */
export type RepType = "ETH" | "IB"
export const REP_TYPES: ReadonlyArray<RepType> = ["ETH", "IB"]
/** Per-(vport, type) representor state. */
export type RepState = "UNREGISTERED" | "REGISTERED" | "LOADED"
/** Vports of the model: the uplink, two VFs and one SF. */
export type VportId = "uplink" | "vf1" | "vf2" | "sf1"
export const VPORTS: ReadonlyArray<VportId> = ["uplink", "vf1", "vf2", "sf1"]
export const VF_VPORTS: ReadonlyArray<VportId> = ["vf1", "vf2"]
/** `mlx5_esw_for_each_rep` order: xarray by vport number, so the uplink (0xffff) comes last. */
export const XA_ORDER: ReadonlyArray<VportId> = ["vf1", "vf2", "sf1", "uplink"]
/** V1 `enum mlx5_esw_offloads_rep_type_state`. */
export type GuardState = "UNBLOCKED" | "BLOCKED"

/** An IB device created by `mlx5_ib_vport_rep_load` on an uplink (ghost identity for invariants). */
export interface IbDev {
  readonly id: string
  /** Ghost: not yet removed (`__mlx5_ib_remove`). */
  readonly alive: Cell.Cell<boolean>
}

/**
 * mlx5e's `struct mlx5e_rep_priv` (the REP_ETH `priv`): a slab object
 * (`kvzalloc` in `mlx5e_vport_rep_load`, `kvfree` in `mlx5e_vport_rep_unload`),
 * so an access after the free, or unordered with it, is KASAN's use-after-free.
 */
export type RepPriv = Slab.Obj<{ readonly netdev: string | undefined }>

/** What `->get_proto_dev` returns: the IB device (REP_IB) or the netdev (REP_ETH, by name). */
export type ProtoDev = IbDev | string

/** `struct mlx5_eswitch_rep_ops`. */
export interface RepOps {
  readonly name: string
  readonly load: (esw: Esw, rep: Rep) => Effect.Effect<number>
  readonly unload: (rep: Rep) => Effect.Effect<void>
  /** `->get_proto_dev(rep)`: mlx5_ib `mlx5_ib_rep_to_dev`, mlx5e `mlx5e_vport_rep_get_proto_dev` (lockless callers). */
  readonly get_proto_dev: (rep: Rep) => Effect.Effect<ProtoDev | undefined>
  /**
   * `->event(esw, rep, MLX5_SWITCHDEV_EVENT_PAIR / _UNPAIR, peer_esw)`, called by the devcom
   * ESW_OFFLOADS handler on every LOADED rep of a type whose ops have it: mlx5e's
   * `mlx5e_vport_rep_event`; mlx5_ib's REP_IB ops have none.
   */
  readonly event?: (esw: Esw, rep: Rep, event: SwitchdevEvent, peer: Esw) => Effect.Effect<number>
}

/** `enum mlx5_switchdev_event` (include/linux/mlx5/eswitch.h). */
export type SwitchdevEvent = "PAIR" | "UNPAIR"

/**
 * The `MLX5_DEVCOM_ESW_OFFLOADS` component of one NIC (lib/devcom.c `struct mlx5_devcom_comp`),
 * shared by the PFs whose E-Switches match its key (same system image GUID and net namespace):
 * `comp->sem`, a lockdep class of its own (`mlx5_devcom_comp_alloc`'s dynamic key, distinct from
 * the HCA component's), and the registered E-Switches (`comp->comp_dev_list_head`, each entry's
 * `data` an E-Switch). Made only for a world of two PFs on one LAG-capable NIC: a single-port
 * device returns from `mlx5_esw_offloads_devcom_init` before registering (`!mlx5_lag_is_supported`).
 */
export interface DevcomEsw {
  readonly sem: RwSemaphore.RwSemaphore
  /** `comp->comp_dev_list_head` [comp->sem]: the registered E-Switches, in registration order. */
  readonly members: Cell.Cell<ReadonlyArray<Esw>>
}

/** `rep->rep_data[type]`: the atomic state and the protocol's private pointer. */
export interface RepData {
  readonly state: Atomic.Atomic<RepState>
  /**
   * `priv` (a plain member, written by the ops callbacks): the IB device for REP_IB (set to NULL
   * by its unload), the `mlx5e_rep_priv` for REP_ETH (left pointing at the freed object by its
   * unload, as in en_rep.c).
   */
  readonly priv: Cell.Cell<IbDev | RepPriv | undefined>
  /** Ghost: how many `mlx5e_rep_priv` objects this rep had (names each one uniquely). */
  readonly allocs: Cell.Cell<number>
  /**
   * Ghost: the last `ops->load` of this (rep, type) returned an error (kept only in runs with
   * fault points, for the `failed-load-unwound` invariant; see `Faults`).
   */
  readonly loadFailed: Cell.Cell<boolean>
}

/** Whether a `priv` is an IB device (REP_IB) rather than an `mlx5e_rep_priv`. */
export const isIbDev = (p: IbDev | RepPriv | undefined): p is IbDev => p !== undefined && "alive" in p

/** `struct mlx5_eswitch_rep`. */
export interface Rep {
  readonly esw: Esw
  readonly vport: VportId
  readonly data: Record<RepType, RepData>
}

/** A `struct notifier_block` as the chain walk sees it. */
export interface NotifierBlock {
  /** `nb->notifier_call` */
  readonly notifierCall: string
}

/**
 * An atomic notifier chain of the EQ table (`eqt->nh[ESW_FUNCTIONS_CHANGED]`) with one block
 * (`esw->esw_funcs.nb`): the head is an RCU pointer of the run's RCU domain (`World.rcu`).
 */
export interface Notifier {
  readonly name: string
  /** `nh->head`: the block, or NULL (`rcu_assign_pointer` on (un)register, `rcu_dereference` in the walk). */
  readonly head: Rcu.Pointer<NotifierBlock>
  /**
   * `nh->lock`: the chain's writers (`atomic_notifier_chain_register/unregister`) hold it with
   * `spin_lock_irqsave` around the head update; the walk never takes it (it is RCU's reader).
   */
  readonly lock: Spinlock.Spinlock
  /**
   * The block (`esw_funcs.nb.nb`, embedded in `struct mlx5_eswitch`): a slab handle only so that the
   * walk's `nb->notifier_call` load is an access of it; the E-Switch outlives every run, it is never freed.
   */
  readonly block: Slab.Obj<NotifierBlock>
  /** Ghost: the E-Switch configuration epoch in which the block was registered. */
  readonly epoch: Cell.Cell<number>
}

/**
 * The device's async EQ (`eq_table->async_eq`, a `struct mlx5_eq_async`) as far as its interrupt
 * needs it: the control IRQ it shares with the cmd and pages EQs (`mlx5_ctrl_irq_request`), whose
 * handler `irq_int_handler` walks the IRQ's own atomic notifier chain (`irq->nh`) to
 * `mlx5_eq_async_int`, which holds `eq->lock` (`spin_lock`, hard-irq context) around the EQE loop.
 */
export interface AsyncEq {
  /** The interrupt's name (`mlx5_async…`), the hardirq task's name in traces. */
  readonly irqName: string
  /**
   * The CPU the control IRQ is delivered on. [inferred] The model's threads are not bound to CPUs
   * (each runs on one of its own), so the interrupt arrives on a CPU no thread is bound to and
   * interleaves with all of them, as on an SMP machine; two interrupts of the EQ never overlap.
   */
  readonly cpu: number
  /** `eq->lock` (`struct mlx5_eq_async`): `spin_lock` in `mlx5_eq_async_int` (irqsave only on the cmd EQ's recovery path). */
  readonly lock: Spinlock.Spinlock
}

/** A host work item's ghost record, for the work-queue invariants. */
export interface HostWork {
  readonly func: string
  readonly workGen: number
  /** The configuration the item belongs to: `esw.teardownEpoch` when queued, or when its notifier was registered. */
  readonly epoch: number
  /** A registration's load (patch 6): the fate cell to update, and the record this item wrote there. */
  readonly fate?: { readonly cell: Cell.Cell<LoadFate | undefined>; readonly queued: LoadFate }
}

/**
 * Ghost: what became of the load asked for by the last registration of a rep
 * type (notes §6), so that a completeness report names the mechanism it saw:
 * no loader at all, or a queued load that was dropped as stale (and which
 * bump made it stale), or one that ran.
 */
export type LoadFate =
  | { readonly kind: "no-loader"; readonly by: string }
  | { readonly kind: "alloc-failed"; readonly by: string; readonly gfp: string }
  | { readonly kind: "queued" | "ran"; readonly by: string; readonly workGen: number }
  | {
      readonly kind: "dropped-stale"
      readonly by: string
      readonly workGen: number
      readonly seenGen: number
      readonly where: "before devl_trylock" | "under the devlink lock"
      readonly bump: string | undefined
    }

/** `struct mlx5_eswitch`. */
export interface Esw {
  readonly name: string
  readonly dev: Dev
  /** `esw->mode`: written under the devlink lock, read locklessly by mlx5_ib paths. */
  readonly mode: Atomic.Atomic<Mode>
  /** `fdb_table.flags & MLX5_ESW_FDB_CREATED` [devlink lock] (a plain member: a kernel cell). */
  readonly fdbCreated: Cell.Cell<boolean>
  /** `esw_funcs.num_vfs` [devlink lock]. */
  readonly numVfs: Cell.Cell<number>
  /** `vport->enabled` [devlink lock]. */
  readonly enabled: Record<VportId, Cell.Cell<boolean>>
  /** `mode_lock` and `eswitch_operation_in_progress` [mode_lock]. */
  readonly modeLock: RwSemaphore.RwSemaphore
  readonly operationInProgress: Cell.Cell<boolean>
  /**
   * The object's lifetime, `mlx5_eswitch_init` … `mlx5_eswitch_cleanup`: it owns `work_queue`,
   * whose worker starts when the E-Switch is made and whose `destroy_workqueue` is the finaliser
   * that `mlx5_eswitch_cleanup` runs by closing it.
   */
  readonly life: Component.Instance
  /** `esw->work_queue` (ordered: create_singlethread_workqueue), owned by `life`. */
  readonly workQueue: Workqueue.Workqueue
  /** Merged: `work_queue_wait`. */
  readonly workQueueWait: WaitQueue.WaitQueue | undefined
  /** `esw_funcs.generation` (baseline) / `esw->generation` (patch 2 on). */
  readonly generation: Atomic.Atomic<number>
  /** Function-change (VF count) EQ notifier; only on an ECPF E-Switch manager. */
  readonly funcsNb: Notifier | undefined
  /**
   * The vport-change notifier `esw->nb`, `esw->state_lock` and the vport state its work touches
   * (notes §5.6); only in a world with vport events (`WorldOptions.vportEvents`), see `VportChange`.
   */
  readonly vportChange: VportChange | undefined
  /** V1 guard `offloads.reps_conf_state`. */
  readonly guard: Atomic.Atomic<GuardState> | undefined
  /** Merged guard `offloads.reps_lock`. */
  readonly repsLock: Mutex.Mutex | undefined
  /**
   * `offloads.rep_ops[type]`: a plain pointer member (a kernel cell), stored by register (and, from
   * reps V2 4/7, cleared by unregister) under whatever the caller holds (the guard / `reps_lock`
   * from V1 5/7 on, nothing of its own before); loaded plainly by the load/unload paths and,
   * with no lock and no READ_ONCE, twice by `mlx5_eswitch_get_proto_dev`.
   */
  readonly repOps: Record<RepType, Cell.Cell<RepOps | undefined>>
  readonly reps: Record<VportId, Rep>
  /** Ghost: the fate of the load the last registration of each type asked for (`LoadFate`). */
  readonly loadFate: Record<RepType, Cell.Cell<LoadFate | undefined>>
  /** Ghost: the last generation bump, `g→g+1 by <function> (task <task>)`. */
  readonly lastBump: Cell.Cell<string | undefined>
  /**
   * Ghost configuration epoch: incremented when a teardown (disable_locked,
   * disable_sriov, cleanup) begins. Work from the function-change notifier
   * belongs to the configuration that registered the notifier.
   */
  readonly teardownEpoch: Cell.Cell<number>
  /**
   * `esw->devcom` registered (the pointer non-NULL) [devlink lock]: set by
   * `mlx5_esw_offloads_devcom_init`, cleared by `_cleanup`. Only where the device has an ESW_OFFLOADS
   * component (`Dev.devcomEsw`).
   */
  readonly devcom: Cell.Cell<boolean> | undefined
  /** `esw->paired` (xarray of peer E-Switches, by name here) [devcom(ESW) write]; with `devcom`. */
  readonly paired: Cell.Cell<ReadonlyArray<string>> | undefined
}

/**
 * The NIC_VPORT_CHANGE side of an E-Switch (eswitch.c, esw/legacy.c; notes §5.6): the notifier
 * `esw->nb` (`eswitch_vport_event`, registered by `mlx5_eswitch_enable_locked` in every mode), the
 * `esw->state_lock` mutex, the legacy FDB the address rules go into, and per VF vport the state
 * `esw_vport_change_handle_locked` reads and writes.
 *
 * [reduction] Made only in worlds with vport events: elsewhere no NIC_VPORT_CHANGE EQE is ever
 * raised, so the notifier delivers nothing, and `state_lock` is taken only by
 * `mlx5_esw_vport_enable/disable`, whose callers all hold the devlink lock — uncontended, it
 * blocks no one and adds no lock-order cycle (devlink → state_lock only).
 */
export interface VportChange {
  /** `eqt->nh[MLX5_EVENT_TYPE_NIC_VPORT_CHANGE]` with the block `esw->nb` (`eswitch_vport_event`). */
  readonly nb: Notifier
  /** `esw->state_lock` (`mutex_init` in `mlx5_eswitch_init`). */
  readonly stateLock: Mutex.Mutex
  /**
   * `esw->fdb_table.legacy.fdb` [devlink lock]: the legacy FDB flow table (its ghost serial number
   * names it), or NULL; created by `esw_legacy_enable` before the vports are enabled, destroyed by
   * `esw_legacy_disable` after they are disabled. Read under `state_lock` by `esw_add_uc_addr`.
   */
  readonly legacyFdb: Cell.Cell<number | undefined>
  /** Ghost: legacy FDBs created so far (the next one's serial number). */
  readonly fdbSeq: Cell.Cell<number>
  /** Per vport (the firmware actor changes only VF vports' contexts). */
  readonly vports: Record<VportId, VportChangeState>
}

/** `enum mlx5_eswitch_vport_event` as the model needs it (the names, not the bit values). */
export type VportEvent = "UC_ADDR_CHANGE" | "MC_ADDR_CHANGE" | "PROMISC_CHANGE"

/** One entry of `vport->uc_list` (`struct vport_addr`): its MAC, `action`, `mpfs`, and `flow_rule` (the legacy FDB it is in). */
export interface VportAddr {
  readonly mac: number
  readonly action: "NONE" | "ADD" | "DEL"
  readonly mpfs: boolean
  /** The FDB rule's table (a legacy FDB's serial number), or none. */
  readonly flowRule: number | undefined
}

/** What `esw_vport_change_handle_locked` reads and writes of one vport. */
export interface VportChangeState {
  /** `vport->enabled_events` [state_lock]. */
  readonly enabledEvents: Cell.Cell<ReadonlyArray<VportEvent>>
  /** `vport->uc_list` (the synced UC addresses and their rules) [state_lock]. */
  readonly ucList: Cell.Cell<ReadonlyArray<VportAddr>>
  /** Firmware: the vport's NIC vport context UC address list (device memory, marked accesses). */
  readonly fwUcList: Cell.Cell<ReadonlyArray<number>>
  /** Ghost: `queue_work` of this vport's `vport_change_handler` returned false (coalesced). */
  readonly coalesced: Cell.Cell<number>
  /** Ghost: how many times `esw_vport_change_handler` ran for this vport. */
  readonly handled: Cell.Cell<number>
}

/** An auxiliary device (`.eth-rep`, `.rdma-rep`) of one PCI function. */
export interface Adev {
  readonly kind: AdevKind
  readonly dev: Dev
  /**
   * device_add'ed and not yet device_del'ed: membership of the bus's klist, which the driver
   * core walks under the klist's own spinlock (not modelled). Every access is marked, so the
   * race check stays on the driver's state, not the driver core's [inferred].
   */
  readonly exists: Cell.Cell<boolean>
  /** A driver is bound (`dev->driver`, the driver's klist) [device_lock + klist lock]; marked as `exists`. */
  readonly bound: Cell.Cell<boolean>
  /** `device_lock(&adev->dev)`: driver core holds it across probe and remove. */
  readonly lock: Mutex.Mutex
}
export type AdevKind = "eth-rep" | "rdma-rep"

/** An auxiliary driver (mlx5e's `.eth-rep` driver, mlx5_ib's `mlx5r_rep_driver`). */
export interface AuxDriver {
  readonly name: string
  readonly kind: AdevKind
  /** On the bus's driver list (driver_register … driver_unregister). */
  readonly registered: Atomic.Atomic<boolean>
  readonly probe: (adev: Adev) => Effect.Effect<void>
  readonly remove: (adev: Adev) => Effect.Effect<void>
}

/** `struct mlx5_lag` (ldev). */
export interface Lag {
  /** The ldev's name in traces (`ldev`, `ldev#2` for one allocated later in the run). */
  readonly name: string
  /** `ldev->lock`. */
  readonly lock: Mutex.Mutex
  /** `ldev->mode_changes_in_progress` [ldev->lock] */
  readonly modeChangesInProgress: Cell.Cell<number>
  /**
   * LAG mode and flags (`ldev->mode`, `ldev->mode_flags`) [ldev->lock + devcom]; read by the
   * `mlx5_lag_is_*` queries under `lag_lock` (which the writers do not take) or, `mlx5_lag_is_mpesw`, with no lock.
   */
  readonly mode: Cell.Cell<LagMode>
  /**
   * `ldev->pfs` (an allocating xarray of `struct lag_func`, `XA_LIMIT(0, MLX5_MAX_PORTS - 1)`): slot i
   * holds the PF at xarray index i, `undefined` a free index (`xa_alloc` takes the lowest). Written
   * by `mlx5_ldev_add_mdev` / `mlx5_ldev_remove_mdev` under `ldev->lock` (the first PF's add: on a
   * fresh ldev no one else sees yet); read under `ldev->lock`, under `lag_lock` (queries, the peer
   * walk) and under the devcom lock. Marked accesses: the xarray's own `xa_lock` orders its stores,
   * and its loads are RCU-safe [inferred: `pf->dev`, stored plainly, is folded into the slot].
   */
  readonly pfs: Cell.Cell<ReadonlyArray<Dev | undefined>>
  /** `MLX5_LAG_XA_MARK_MASTER` on `ldev->pfs`: the marked index, if any (`xa_set_mark` / `xa_clear_mark` under `ldev->lock`; marked, as `pfs`). */
  readonly master: Cell.Cell<number | undefined>
  /** `ldev->ports` = `MLX5_CAP_GEN(dev, num_lag_ports)`: 2 (constant). */
  readonly ports: number
  /** `ldev->ref` (`struct kref`: atomic, so marked). */
  readonly ref: Cell.Cell<number>
  /** Ghost: `mlx5_ldev_free` ran (the ldev's memory is gone). */
  readonly freed: Cell.Cell<boolean>
  /** The bonding tracker (netdev events): whether the bond wants the LAG active. */
  readonly bonded: Cell.Cell<boolean>
  /** Whether a bond work item is modelled (scenario 6). */
  bondWorkModelled: boolean
  /**
   * `ldev->wq` (`mlx5_lag_dev_alloc`: `create_singlethread_workqueue("mlx5_lag")`, ordered): the MPESW
   * work items run on it. The C also queues `bond_work` and `speed_update_work` there; the model runs
   * the bond work as its own thread (`mlx5DoBondWork`) and has no speed work, so no scenario puts a
   * bond item and an MPESW item on it at once [modelling choice: the MPESW scenario has no bond].
   */
  readonly wq: Workqueue.Workqueue
}

/** The PFs of an ldev (`mlx5_ldev_for_each`: xarray order), from a `Lag.pfs` value. */
export const lagMembers = (slots: ReadonlyArray<Dev | undefined>): ReadonlyArray<Dev> => slots.filter((d): d is Dev => d !== undefined)

/**
 * The NIC's `MLX5_DEVCOM_HCA_PORTS` component (lib/devcom.c), shared by its PFs: `comp->sem` is
 * `Dev.devcom`; here its member list (`comp->comp_dev_list_head`, each entry's `data` the PF's
 * `mlx5_core_dev`) [comp->sem write]. A PF registers in `mlx5_lag_add_mdev` and unregisters in
 * `mlx5_lag_remove_mdev`. Only on a LAG-capable device (`mlx5_lag_is_supported`).
 */
export interface HcaComp {
  readonly members: Cell.Cell<ReadonlyArray<Dev>>
}

/** `struct mlx5_core_dev` of one PCI function. */
export interface Dev {
  readonly name: string
  readonly index: number
  /** The prefix of its objects' names ("pf0." when a run has several devices, else ""). */
  readonly prefix: string
  /** ECPF E-Switch manager (BlueField): receives host VF-count events. */
  readonly isEcpf: boolean
  /** `devlink->lock`. */
  readonly devlink: Mutex.Mutex
  /** `device_lock(&pdev->dev)`: probe/remove and sriov_numvfs_store. */
  readonly pdevLock: Mutex.Mutex
  /** `dev->intf_state_mutex`. */
  readonly intfStateMutex: Mutex.Mutex
  /**
   * The uplink netdev's instance lock (`netdev_lock()`: `netdev->lock`), taken under rtnl by the
   * mlx5e profiles' enable/disable (en_rep.c, en_main.c). Lockdep class `&dev->lock` [inferred: the
   * class name of the mutex `alloc_netdev_mqs` initialises].
   */
  readonly netdevLock: Mutex.Mutex
  /** `dev->priv.hca_devcom_comp` (shared by the PFs of one NIC). */
  readonly devcom: RwSemaphore.RwSemaphore
  /**
   * `MLX5_PRIV_FLAGS_DISABLE_IB_ADEV` / `DISABLE_ALL_ADEV` / `DETACH` [devcom or devlink].
   * DETACH is set by `mlx5_detach_device` (reload, recovery) and cleared by
   * `mlx5_attach_device`; while it is set `mlx5_rescan_drivers_locked` does nothing.
   */
  readonly flags: {
    readonly disableIbAdev: Cell.Cell<boolean>
    readonly disableAllAdev: Cell.Cell<boolean>
    readonly detach: Cell.Cell<boolean>
  }
  esw: Esw
  /** `eq_table->async_eq` and its interrupt; only where events are modelled: an ECPF E-Switch manager, or a world with vport events. */
  readonly asyncEq: AsyncEq | undefined
  /** NIC_VPORT_CHANGE is modelled on this device (`DevOptions.vportEvents`): its E-Switch gets `vportChange`. */
  readonly vportEvents: boolean
  readonly adevs: Record<AdevKind, Adev>
  /**
   * Firmware's view of the host: `host_num_of_vfs`, set by the scenario's firmware task and read
   * by a firmware command (marked accesses: device memory, not a C variable).
   */
  readonly fw: { readonly hostNumVfs: Cell.Cell<number> }
  /** PCI core's `num_VFs` [pdev device_lock]. */
  readonly sriovNumVfs: Cell.Cell<number>
  /** mlx5's own count `dev->priv.sriov.num_vfs` [devlink lock] (set by mlx5_core_sriov_configure, read by mlx5_sriov_attach). */
  readonly sriovNumVfsDev: Cell.Cell<number>
  /** The SF port exists [devlink lock]. */
  readonly sfExists: Cell.Cell<boolean>
  /**
   * `dev->priv.lag` (a plain pointer): written by `mlx5_ldev_add_mdev` / `mlx5_ldev_remove_mdev`
   * (`mlx5_lag_add_mdev` / `_remove_mdev` from `mlx5_load` / `mlx5_unload`, under `ldev->lock` but
   * for a fresh ldev's first PF); read by `mlx5_lag_dev()` everywhere, under `lag_lock` in the
   * queries, under the devcom lock in `__mlx5_lag_dev_add_mdev`, with no lock elsewhere.
   */
  readonly lag: Cell.Cell<Lag | undefined>
  /**
   * The HCA devcom component's members (`HcaComp`), on a LAG-capable device only (`mlx5_lag_is_supported`:
   * a world built with `lag`); `undefined`: `mlx5_lag_add_mdev` / `_remove_mdev` return at once.
   */
  hcaComp: HcaComp | undefined
  /** The NIC's ESW_OFFLOADS devcom component (`DevcomEsw`), or none (single-port device); set while the scenario is built. */
  devcomEsw: DevcomEsw | undefined
  /** Device registered (`mlx5_register_device` done, not yet unregistered). */
  readonly registered: Cell.Cell<boolean>
  /** `dev->profile.mask & MLX5_PROF_MASK_DEF_SWITCHDEV` (V1 patch 7; copied from `profile[prof_sel]` at probe). */
  readonly profileDefSwitchdev: Cell.Cell<boolean>
  /**
   * `fw_reset->reset_flags` bit `MLX5_FW_RESET_FLAGS_RESET_IN_PROGRESS` (fw_reset.c): set when the
   * driver ACKs a sync reset request, cleared at the end of the reset's reload; atomic bitops
   * (`set_bit`, `clear_bit`, `test_bit` in `mlx5_fw_reset_in_progress`): marked accesses of a cell,
   * each inside the step that makes it (as `ldev->mode`), so the mode set's test adds no scheduling
   * point of its own.
   */
  readonly fwResetInProgress: Cell.Cell<boolean>
  /** Ghost: the last E-Switch mode a devlink user set successfully (`devlink dev eswitch set`). */
  readonly userMode: Cell.Cell<Mode | undefined>
  /** Ghost: a `devlink dev reload` or a health recovery completed after the user's last mode set. */
  readonly reloadedSinceUserMode: Cell.Cell<boolean>
}

/**
 * Ghost bookkeeping for invariants: ghost cells, so that the steps that write
 * them and the invariants that read them are in the footprints (DPOR orders
 * them) but never in the race check.
 */
export interface Ghost {
  /** Violations of the registry transition rules, first first. */
  readonly registry: Cell.Cell<ReadonlyArray<string>>
  /** Work items that ran a stale or post-teardown function. */
  readonly stale: Cell.Cell<ReadonlyArray<string>>
  readonly postTeardown: Cell.Cell<ReadonlyArray<string>>
  /** Numbering of IB devices (ghost identity). */
  readonly ibdevSeq: Cell.Cell<number>
}

/** Appends a violation to a ghost log. */
export const record = (log: Cell.Cell<ReadonlyArray<string>>, message: string): Effect.Effect<void> =>
  Effect.asVoid(log.update((l) => [...l, message]))

/** `enum mlx5_lag_mode` as the model needs it. */
export type LagMode = "NONE" | "SHARED_FDB" | "MPESW"

/** Everything one run works on. */
export interface World {
  readonly kernel: Kernel["Service"]
  /** The kernel's RCU domain (one per run): the EQ notifier chains' read side and grace periods. */
  readonly rcu: Rcu.Rcu
  /**
   * lag/lag.c's global `lag_lock` (`DEFINE_SPINLOCK`): the `mlx5_lag_is_*` queries and the peer walk
   * (`mlx5_lag_get_next_peer_mdev`) take it with `spin_lock_irqsave`; the ldev's mode writers do not.
   */
  readonly lagLock: Spinlock.Spinlock
  readonly v: Variant
  readonly devs: Array<Dev>
  readonly ghost: Ghost
  /**
   * The auxiliary bus's driver list as far as the model has drivers: mlx5e's `.eth-rep` driver
   * (part of mlx5_core: always registered) and mlx5_ib's `mlx5r_rep_driver`. Each driver component
   * puts its driver here when it is built (`Mlx5eRep`, `Mlx5Ib`), before any task runs.
   */
  ethDriver: AuxDriver
  ibDriver: AuxDriver
  /** mlx5_ib was loaded (its rep driver registered) before the run started. */
  readonly ibLoadedAtStart: boolean
  /** `rtnl_mutex` (one per kernel): `rtnl_lock()` in the mlx5e profiles' enable/disable. */
  readonly rtnl: Mutex.Mutex
  /** Scenario 7's what-if: the master's uplink unload walks every LAG member, itself included. */
  selfInPeerWalk: boolean
  /** The fault points this run may take (none outside the `…-faults` scenarios). */
  readonly faults: Faults
}

/**
 * The objects of one run as a service: what every component's Layer is built
 * from (each component reaches the others only through their services).
 *
 * @example
 * ```ts
 * // const w = yield* Run
 * // yield* Effect.forEach(w.devs, (d) => d.esw.workQueue.flush)
 * ```
 * @category components
 * @since 0.4.0
 */
export class Run extends Context.Service<Run, World>()("@drvmodel/mlx5/Run") {}

/**
 * The faults the kernel can hit on the modelled paths (issue 13 item 4), each an explored data
 * choice at the C's failure site (`Kernel.choose`: the explorer takes both the success and the
 * failure branch, and a failure shows in the trace as `choose(fault: <what fails>) = 1` followed by
 * the call frame `<what fails> [injected]`):
 * - `kzalloc-host-work`: `kzalloc(mlx5_host_work)` in `mlx5_esw_add_work` (V1 3/7 on) or in the
 *   baseline `mlx5_esw_funcs_changed_handler`, -ENOMEM;
 * - `rep-load`: a representor `load` callback fails at its first allocation: mlx5e's
 *   `kvzalloc(mlx5e_rep_priv)` (REP_ETH, any vport) or mlx5_ib's `ib_alloc_device` (REP_IB, the
 *   uplink that creates the IB device), -ENOMEM, before the callback has published anything;
 * - `fw-cmd`: the firmware commands of `esw_offloads_steering_init` in `esw_offloads_enable` fail
 *   (the mode set to switchdev, or any enable in OFFLOADS).
 * A scenario enables some points; `left` is fault injection's `times`: how many more faults this
 * run may inject (0 until the scenario arms them after its setup, then 1: each unwind is explored
 * on its own, combinations of two are not).
 */
export interface Faults {
  readonly enabled: ReadonlySet<FaultPoint>
  /** Ghost: how many more faults this run may inject. */
  readonly left: Cell.Cell<number>
}

/** A fault point (see `Faults`). */
export type FaultPoint = "kzalloc-host-work" | "rep-load" | "fw-cmd"

/**
 * A fault point reached: if the scenario enables `point` and the run has a fault left, the
 * explorer chooses between success (0) and failure (1) under the label `fault: <what>`; a failure
 * is also a traced call `<what> [injected]`. No scheduling point, and no choice at all where the
 * point is disabled, so scenarios without faults explore exactly what they did before.
 *
 * @example
 * ```ts
 * // if (yield* injectFault(w, "kzalloc-host-work", "kzalloc(mlx5_host_work, GFP_ATOMIC) fails (-ENOMEM)")) return -12
 * ```
 * @category kernel functions
 * @since 0.3.0
 */
export const injectFault = (w: World, point: FaultPoint, what: string): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    if (!w.faults.enabled.has(point)) return false
    if ((yield* w.faults.left.get) <= 0) return false
    if ((yield* w.kernel.choose(`fault: ${what}`, 2)) === 0) return false
    yield* w.faults.left.update((n) => n - 1)
    yield* w.kernel.call("fault-injection", `${what} [injected]`, Effect.void)
    return true
  })

/** Options for building a PCI function. */
export interface DevSpec {
  readonly name: string
  readonly isEcpf: boolean
}

/** Whether a world models NIC_VPORT_CHANGE (`WorldOptions.vportEvents`): its devices get an async EQ and `Esw.vportChange`. */
export interface DevOptions {
  readonly vportEvents: boolean
}

// Shown through the E-Switch's own probe (describeEsw), not one probe per member.
const hidden = { hidden: true } as const

/**
 * Builds the primitives of one PCI function at `mlx5_init_once` state but for
 * its E-Switch, which the E-Switch component makes (`mlx5_eswitch_init`, eswitch.ts)
 * when it is built.
 */
export const makeDev = (
  spec: DevSpec,
  index: number,
  prefix: string,
  devcom: RwSemaphore.RwSemaphore,
  options: DevOptions = { vportEvents: false }
): Effect.Effect<Dev, never, Kernel> =>
  Effect.gen(function* () {
    const p = prefix
    const devlink = yield* Mutex.make(`${p}devlink`, { lockClass: "&devlink->lock" })
    const pdevLock = yield* Mutex.make(`${p}pdev`, { lockClass: "&dev->mutex(pci)" })
    const intfStateMutex = yield* Mutex.make(`${p}intf_state_mutex`, { lockClass: "&dev->intf_state_mutex" })
    const netdevLock = yield* Mutex.make(`${p}netdev->lock`, { lockClass: "&dev->lock" })
    const adevLock = (k: AdevKind) => Mutex.make(`${p}${k}`, { lockClass: "&dev->mutex(aux)" })
    const ethLock = yield* adevLock("eth-rep")
    const rdmaLock = yield* adevLock("rdma-rep")
    const cell = <A>(name: string, initial: A, options?: Cell.CellOptions<A>) =>
      Cell.make(`${p}${name}`, initial, { ...hidden, ...options })
    const ghost = { ghost: true } as const
    const dev = {
      name: spec.name,
      index,
      prefix,
      isEcpf: spec.isEcpf,
      devlink,
      pdevLock,
      intfStateMutex,
      netdevLock,
      devcom,
      flags: {
        disableIbAdev: yield* cell("priv.flags.DISABLE_IB_ADEV", false),
        disableAllAdev: yield* cell("priv.flags.DISABLE_ALL_ADEV", false),
        detach: yield* cell("priv.flags.DETACH", false)
      },
      fw: { hostNumVfs: yield* cell("fw.host_num_of_vfs", 0) },
      sriovNumVfs: yield* cell("pdev->sriov->num_VFs", 0),
      sriovNumVfsDev: yield* cell("priv.sriov.num_vfs", 0),
      sfExists: yield* cell("sf1.exists", false),
      asyncEq:
        spec.isEcpf || options.vportEvents
          ? {
              irqName: `${p}mlx5_async`,
              cpu: index,
              // setup_async_eq(): spin_lock_init(&eq->lock) (one class for every async EQ)
              lock: yield* Spinlock.make(`${p}async_eq->lock`, { lockClass: "&eq->lock" })
            }
          : undefined,
      vportEvents: options.vportEvents,
      // `lag` (priv.lag) is made by buildWorld once the world's ldev exists (its initial value).
      hcaComp: undefined,
      devcomEsw: undefined,
      registered: yield* cell("registered", false),
      profileDefSwitchdev: yield* cell("profile.mask.DEF_SWITCHDEV", false),
      fwResetInProgress: yield* cell("fw_reset->reset_flags.RESET_IN_PROGRESS", false),
      userMode: yield* cell<Mode | undefined>("ghost.userMode", undefined, ghost),
      reloadedSinceUserMode: yield* cell("ghost.reloadedSinceUserMode", false, ghost)
    } as unknown as Dev
    const adev = (k: AdevKind, lock: Mutex.Mutex): Effect.Effect<Adev, never, Kernel> =>
      Effect.gen(function* () {
        return { kind: k, dev, exists: yield* cell(`${k}.exists`, false), bound: yield* cell(`${k}.driver`, false), lock }
      })
    const adevs: Record<AdevKind, Adev> = { "eth-rep": yield* adev("eth-rep", ethLock), "rdma-rep": yield* adev("rdma-rep", rdmaLock) }
    ;(dev as { adevs: Record<AdevKind, Adev> }).adevs = adevs
    return dev
  })

/**
 * `mlx5_lag_dev_alloc()`'s objects: `ldev->lock` (`mutex_init`: one lockdep class for every ldev),
 * mode NONE, no PFs, `ldev->ports` = 2, `kref_init` (1), the ordered `ldev->wq`; or, with
 * `members`, the ldev as every member's probe left it (one reference each, the master marked once
 * all ports are in). `name` is `ldev`
 * for the world's first ldev and `ldev#n` for one allocated later in the run, so that every object
 * of a run has its own name.
 *
 * @example
 * ```ts
 * // const ldev = yield* makeLdev("ldev")
 * ```
 * @category constructors
 * @since 0.5.0
 */
export const makeLdev = (name: string, members: ReadonlyArray<Dev> = []): Effect.Effect<Lag, never, Kernel> =>
  Effect.gen(function* () {
    const hiddenCell = { hidden: true } as const
    return {
      name,
      lock: yield* Mutex.make(`${name}->lock`, { lockClass: "&ldev->lock" }),
      modeChangesInProgress: yield* Cell.make(`${name}->mode_changes_in_progress`, 0, hiddenCell),
      mode: yield* Cell.make<LagMode>(`${name}->mode`, "NONE", hiddenCell),
      pfs: yield* Cell.make<ReadonlyArray<Dev | undefined>>(`${name}->pfs`, members, {
        hidden: true,
        show: (l) => `[${l.map((d) => d?.name ?? "-").join(" ")}]`
      }),
      // The last PAIR event's mlx5_lag_mark_master once every port is in: index of the lowest mlx5_get_dev_index.
      master: yield* Cell.make<number | undefined>(
        `${name}->pfs.MARK_MASTER`,
        members.length === 2 ? members.indexOf([...members].sort((a, b) => a.index - b.index)[0]!) : undefined,
        hiddenCell
      ),
      ports: 2,
      ref: yield* Cell.make(`${name}->ref`, Math.max(1, members.length), hiddenCell),
      freed: yield* Cell.make(`ghost.${name}.freed`, false, { ghost: true, hidden: true }),
      bonded: yield* Cell.make(name === "ldev" ? "bond.tracker.is_bonded" : `${name}->tracker.is_bonded`, false, hiddenCell),
      bondWorkModelled: true,
      wq: yield* Workqueue.make(`${name}->wq`, { lockClass: "(wq_completion)mlx5_lag" })
    }
  })

/** A compact picture of an E-Switch for probes and invariant messages. */
export const describeEsw = (esw: Esw): string => {
  const reps = VPORTS.map((vp) => {
    const r = esw.reps[vp]
    const s = (t: RepType) => r.data[t].state.peek()[0]
    return `${vp}${esw.enabled[vp].peek() ? "+" : "-"}${s("ETH")}${s("IB")}`
  }).join(" ")
  return `mode=${esw.mode.peek()} fdb=${esw.fdbCreated.peek() ? 1 : 0} vfs=${esw.numVfs.peek()} gen=${esw.generation.peek()} reps[${reps}]`
}

/** Runs `body` as kernel function `fn` of `component` (trace only). */
export const call = <A, E, R>(w: World, component: string, fn: string, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  w.kernel.call(component, fn, body)

/**
 * A plain step: a firmware command or a long piece of work with no lock of
 * its own, as one scheduling point. It touches no kernel object itself
 * (footprint empty): the cells the task then reads or writes before its next
 * point are recorded by the engine as part of the step.
 */
export const step = (w: World, name: string, detail: string): Effect.Effect<void> =>
  w.kernel.point<void>({ name, label: `${name}(${detail})`, footprint: [], apply: () => undefined })

/** `cond_resched()` inside a retry loop (core's `Sched.condResched` on this run's kernel). */
export const condResched = (w: World): Effect.Effect<void> => Effect.provideService(Sched.condResched, Kernel, w.kernel)

/** `msleep(ms)` (or a delayed requeue) on the virtual clock (core's `Sched.msleep`). */
export const msleep = (w: World, ms: number): Effect.Effect<void> => Effect.provideService(Sched.msleep(ms), Kernel, w.kernel)
