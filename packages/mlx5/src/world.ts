/**
 * The objects of one run: PCI functions (`struct mlx5_core_dev`) with their
 * devlink instance, E-Switch, representor registry and auxiliary devices, the
 * mlx5_ib / mlx5e representor drivers, and the LAG. Built fresh inside each
 * scenario program from core primitives. Plain fields are only touched under
 * the lock the kernel holds for them (noted per field); everything read or
 * written without a common lock is an `Atomic`.
 *
 * @since 0.1.0
 */
import { Atomic, Cell, type Kernel, Mutex, RwSemaphore, WaitQueue, Workqueue } from "@drvmodel/core"
import { Effect } from "effect"
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
/** V1 `enum mlx5_esw_offloads_rep_type_state`. */
export type GuardState = "UNBLOCKED" | "BLOCKED"

/** An IB device created by `mlx5_ib_vport_rep_load` on an uplink (ghost identity for invariants). */
export interface IbDev {
  readonly id: string
  alive: boolean
}

/** `struct mlx5_eswitch_rep_ops`. */
export interface RepOps {
  readonly name: string
  readonly load: (esw: Esw, rep: Rep) => Effect.Effect<number>
  readonly unload: (rep: Rep) => Effect.Effect<void>
}

/** `rep->rep_data[type]`: the atomic state and the protocol's private pointer. */
export interface RepData {
  readonly state: Atomic.Atomic<RepState>
  /** `priv`: IB device for REP_IB, netdev name for REP_ETH; written by the ops callbacks. */
  priv: IbDev | string | undefined
}

/** `struct mlx5_eswitch_rep`. */
export interface Rep {
  readonly esw: Esw
  readonly vport: VportId
  readonly data: Record<RepType, RepData>
}

/** An atomic notifier chain with one block (EQ notifier): RCU readers and synchronize_rcu on unregister. */
export interface Notifier {
  readonly name: string
  registered: boolean
  inflight: number
  /** Ghost: the E-Switch configuration epoch in which the block was registered. */
  epoch: number
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
  /** `esw->work_queue` (ordered: create_singlethread_workqueue). */
  readonly workQueue: Workqueue.Workqueue
  /** Merged: `work_queue_wait`. */
  readonly workQueueWait: WaitQueue.WaitQueue | undefined
  /** `esw_funcs.generation` (baseline) / `esw->generation` (patch 2 on). */
  readonly generation: Atomic.Atomic<number>
  /** Function-change (VF count) EQ notifier; only on an ECPF E-Switch manager. */
  readonly funcsNb: Notifier | undefined
  /** V1 guard `offloads.reps_conf_state`. */
  readonly guard: Atomic.Atomic<GuardState> | undefined
  /** Merged guard `offloads.reps_lock`. */
  readonly repsLock: Mutex.Mutex | undefined
  /** `offloads.rep_ops[type]`: written by register/unregister without a lock. */
  readonly repOps: Record<RepType, Atomic.Atomic<RepOps | undefined>>
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
  teardownEpoch: number
}

/** An auxiliary device (`.eth-rep`, `.rdma-rep`) of one PCI function. */
export interface Adev {
  readonly kind: AdevKind
  readonly dev: Dev
  /** device_add'ed and not yet device_del'ed [device_lock]. */
  exists: boolean
  /** A driver is bound [device_lock]. */
  bound: boolean
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
  /** `ldev->lock`. */
  readonly lock: Mutex.Mutex
  /** [ldev->lock] */
  modeChangesInProgress: number
  /** LAG mode [ldev->lock + devcom]; read locklessly by mlx5_lag_is_shared_fdb()/is_master(). */
  mode: "NONE" | "SHARED_FDB" | "MPESW"
  readonly pfs: ReadonlyArray<Dev>
  /** The bonding tracker (netdev events): whether the bond wants the LAG active. */
  bonded: boolean
  /** Whether a bond work item is modelled (scenario 6). */
  bondWorkModelled: boolean
}

/** `struct mlx5_core_dev` of one PCI function. */
export interface Dev {
  readonly name: string
  readonly index: number
  /** ECPF E-Switch manager (BlueField): receives host VF-count events. */
  readonly isEcpf: boolean
  /** `devlink->lock`. */
  readonly devlink: Mutex.Mutex
  /** `device_lock(&pdev->dev)`: probe/remove and sriov_numvfs_store. */
  readonly pdevLock: Mutex.Mutex
  /** `dev->intf_state_mutex`. */
  readonly intfStateMutex: Mutex.Mutex
  /** `dev->priv.hca_devcom_comp` (shared by the PFs of one NIC). */
  readonly devcom: RwSemaphore.RwSemaphore
  /**
   * `MLX5_PRIV_FLAGS_DISABLE_IB_ADEV` / `DISABLE_ALL_ADEV` / `DETACH` [devcom or devlink].
   * DETACH is set by `mlx5_detach_device` (reload, recovery) and cleared by
   * `mlx5_attach_device`; while it is set `mlx5_rescan_drivers_locked` does nothing.
   */
  readonly flags: { disableIbAdev: boolean; disableAllAdev: boolean; detach: boolean }
  esw: Esw
  readonly adevs: Record<AdevKind, Adev>
  /** Firmware's view of the host: `host_num_of_vfs` (set by the scenario's firmware task). */
  readonly fw: { hostNumVfs: number }
  /** PCI core's `num_VFs` [pdev device_lock]. */
  sriovNumVfs: number
  /** The SF port exists [devlink lock]. */
  sfExists: boolean
  lag: Lag | undefined
  /** Device registered (`mlx5_register_device` done, not yet unregistered). */
  registered: boolean
  /** `dev->profile.mask & MLX5_PROF_MASK_DEF_SWITCHDEV` (V1 patch 7; copied from `profile[prof_sel]` at probe). */
  profileDefSwitchdev: boolean
  /** Ghost: the last E-Switch mode a devlink user set successfully (`devlink dev eswitch set`). */
  userMode: Mode | undefined
  /** Ghost: a `devlink dev reload` completed after the user's last mode set. */
  reloadedSinceUserMode: boolean
}

/** Ghost bookkeeping for invariants. */
export interface Ghost {
  /** First violation of the registry transition rules, if any. */
  registry: Array<string>
  /** Work items that ran a stale or post-teardown function. */
  stale: Array<string>
  postTeardown: Array<string>
  ibdevSeq: number
}

/** Everything one run works on. */
export interface World {
  readonly kernel: Kernel["Service"]
  readonly v: Variant
  readonly devs: Array<Dev>
  readonly ghost: Ghost
  /** mlx5e's `.eth-rep` driver (part of mlx5_core: always registered). */
  ethDriver: AuxDriver
  /** mlx5_ib's `mlx5r_rep_driver`. */
  ibDriver: AuxDriver
  readonly ethOps: RepOps
  readonly ibOps: RepOps
  /** Scenario 7's what-if: the master's uplink unload walks every LAG member, itself included. */
  selfInPeerWalk: boolean
}

/** Options for building a PCI function. */
export interface DevSpec {
  readonly name: string
  readonly isEcpf: boolean
}

/**
 * Builds the primitives of one PCI function at `mlx5_init_once` state: the
 * E-Switch exists (work queue created, generation 0, mode LEGACY, FDB not
 * created), every representor UNREGISTERED.
 */
export const makeDev = (
  v: Variant,
  spec: DevSpec,
  index: number,
  prefix: string,
  devcom: RwSemaphore.RwSemaphore
): Effect.Effect<Dev, never, Kernel> =>
  Effect.gen(function* () {
    const p = prefix
    const devlink = yield* Mutex.make(`${p}devlink`, { lockClass: "&devlink->lock" })
    const pdevLock = yield* Mutex.make(`${p}pdev`, { lockClass: "&dev->mutex(pci)" })
    const intfStateMutex = yield* Mutex.make(`${p}intf_state_mutex`, { lockClass: "&dev->intf_state_mutex" })
    const adevLock = (k: AdevKind) => Mutex.make(`${p}${k}`, { lockClass: "&dev->mutex(aux)" })
    const ethLock = yield* adevLock("eth-rep")
    const rdmaLock = yield* adevLock("rdma-rep")
    const dev = {
      name: spec.name,
      index,
      isEcpf: spec.isEcpf,
      devlink,
      pdevLock,
      intfStateMutex,
      devcom,
      flags: { disableIbAdev: false, disableAllAdev: false, detach: false },
      fw: { hostNumVfs: 0 },
      sriovNumVfs: 0,
      sfExists: false,
      lag: undefined,
      registered: false,
      profileDefSwitchdev: false,
      userMode: undefined,
      reloadedSinceUserMode: false
    } as unknown as Dev
    const adevs: Record<AdevKind, Adev> = {
      "eth-rep": { kind: "eth-rep", dev, exists: false, bound: false, lock: ethLock },
      "rdma-rep": { kind: "rdma-rep", dev, exists: false, bound: false, lock: rdmaLock }
    }
    ;(dev as { adevs: Record<AdevKind, Adev> }).adevs = adevs
    dev.esw = yield* makeEsw(v, dev, p)
    return dev
  })

// Shown through the E-Switch's own probe (describeEsw), not one probe per member.
const hidden = { hidden: true } as const
const ghostHidden = { hidden: true, ghost: true } as const

const makeEsw = (v: Variant, dev: Dev, p: string): Effect.Effect<Esw, never, Kernel> =>
  Effect.gen(function* () {
    const mode = yield* Atomic.make<Mode>(`${p}esw->mode`, "LEGACY")
    const modeLock = yield* RwSemaphore.make(`${p}esw->mode_lock`, { lockClass: "&esw->mode_lock" })
    const workQueue = yield* Workqueue.make(`${p}esw_wq`, { lockClass: "(wq_completion)mlx5_esw_wq" })
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
    const repOps: Record<RepType, Atomic.Atomic<RepOps | undefined>> = {
      ETH: yield* Atomic.make<RepOps | undefined>(`${p}rep_ops[ETH]`, undefined, { show: showOps }),
      IB: yield* Atomic.make<RepOps | undefined>(`${p}rep_ops[IB]`, undefined, { show: showOps })
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
      operationInProgress: yield* Cell.make(`${p}esw->eswitch_operation_in_progress`, false, hidden),
      workQueue,
      workQueueWait,
      generation,
      funcsNb: dev.isEcpf ? { name: `${p}esw_funcs.nb`, registered: false, inflight: 0, epoch: 0 } : undefined,
      guard,
      repsLock,
      repOps,
      reps: {} as Record<VportId, Rep>,
      loadFate: {
        ETH: yield* Cell.make<LoadFate | undefined>(`${p}ghost:load-fate[ETH]`, undefined, ghostHidden),
        IB: yield* Cell.make<LoadFate | undefined>(`${p}ghost:load-fate[IB]`, undefined, ghostHidden)
      },
      lastBump: yield* Cell.make<string | undefined>(`${p}ghost:last-generation-bump`, undefined, ghostHidden),
      teardownEpoch: 0
    } satisfies Esw
    for (const vp of VPORTS) {
      const data = {} as Record<RepType, RepData>
      for (const t of REP_TYPES) {
        data[t] = { state: yield* Atomic.make<RepState>(`${p}rep[${vp}].${t}`, "UNREGISTERED"), priv: undefined }
      }
      esw.reps[vp] = { esw, vport: vp, data }
    }
    return esw
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
 * its own, as one scheduling point.
 */
export const step = (w: World, name: string, detail: string, apply: () => void = () => undefined): Effect.Effect<void> =>
  w.kernel.point<void>({ name, label: `${name}(${detail})`, apply })

/** `cond_resched()` inside a retry loop. */
export const condResched = (w: World): Effect.Effect<void> =>
  w.kernel.point<void>({ name: "cond_resched", label: "cond_resched()", spin: "yield", apply: () => undefined })

/** `msleep(ms)` (or a delayed requeue) on the virtual clock. */
export const msleep = (w: World, ms: number): Effect.Effect<void> =>
  Effect.suspend(() =>
    w.kernel.point<void>({
      name: "msleep",
      label: `msleep(${ms})`,
      waitKind: "sleep",
      deadline: w.kernel.now() + ms,
      enabled: () => false,
      apply: () => undefined
    })
  )
