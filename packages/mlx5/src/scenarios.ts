/**
 * The named scenarios: documented workloads of concurrent kernel threads,
 * each with its default budget and the invariants it checks. A scenario's
 * setup (probe, mode set, module load) runs on the `setup` task and is then
 * settled (`flush_workqueue`) so that the racing threads start from a
 * quiescent device; only the threads spawned afterwards race.
 *
 * @since 0.1.0
 */
import type { Explorer, Scenario, ScenarioInfo } from "@drvmodel/core"
import { Cell, Kernel, Mutex, Rcu, RwSemaphore, Spinlock } from "@drvmodel/core"
import { Effect } from "effect"
import { buildComponents, type Components } from "./components.ts"
import { INVARIANTS, type InvariantName, registerInvariants } from "./invariants.ts"
import type { Variant } from "./variant.ts"
import type { Dev, DevcomEsw, DevSpec, Esw, FaultPoint, HcaComp, World } from "./world.ts"
import { makeDev, makeLdev } from "./world.ts"

/** What a run's world is made of. */
export interface WorldOptions {
  readonly devs: ReadonlyArray<DevSpec>
  /** Both PFs share one devcom component and one ldev. */
  readonly lag: boolean
  /** mlx5_ib's rep driver registered before the scenario starts. */
  readonly ibLoaded: boolean
  /** The fault points this run may take (`Faults`; none by default), at most one fault per run. */
  readonly faults?: ReadonlyArray<FaultPoint>
  /**
   * NIC_VPORT_CHANGE is modelled (notes §5.6): every device gets an async EQ and its E-Switch the
   * `esw->nb` notifier, `state_lock` and the vport state (`VportChange`). Off by default (see the
   * reduction stated at `VportChange`).
   */
  readonly vportEvents?: boolean
}

/**
 * Builds the objects of one run (also used by the model's own TestClock tests).
 *
 * @example
 * ```ts
 * // const { w, m } = yield* buildRun(variantNamed("merged"), { devs: [{ name: "pf0", isEcpf: false }], lag: false, ibLoaded: true })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const buildWorld = (v: Variant, o: WorldOptions): Effect.Effect<World, never, Kernel> =>
  Effect.gen(function* () {
    const kernel = yield* Kernel
    const multi = o.devs.length > 1
    // mlx5_devcom_comp_alloc(): init_rwsem(&comp->sem); lockdep_register_key(&comp->lock_key);
    // lockdep_set_class(&comp->sem, &comp->lock_key): every component instance is a lockdep class
    // of its own (printed "&comp->lock_key", then "#2", "#3" for the next keys of that name). The
    // PFs of one NIC (a LAG) share the HCA component; separate devices have one each.
    let comps = 0
    const devcomComp = (id: string) => {
      comps++
      return RwSemaphore.make(id, { lockClass: comps === 1 ? "&comp->lock_key" : `&comp->lock_key#${comps}` })
    }
    const shared = o.lag ? yield* devcomComp("devcom") : undefined
    const rcu = yield* Rcu.make()
    const devs: Array<Dev> = []
    for (const [i, spec] of o.devs.entries()) {
      const prefix = multi ? `${spec.name}.` : ""
      const devcom = shared ?? (yield* devcomComp(`${prefix}devcom`))
      devs.push(yield* makeDev(spec, i, prefix, devcom, { vportEvents: o.vportEvents ?? false }))
    }
    // Two PFs of one LAG-capable NIC share its MLX5_DEVCOM_ESW_OFFLOADS component (its own key, so
    // its own lockdep class). A single-port device has none: mlx5_esw_offloads_devcom_init returns
    // before registering (!mlx5_lag_is_supported). [reduction] ib-load-vs-reconfig's single-PF
    // lag-reload world has none either: its send would take an rwsem no other thread can take and
    // reach no peer.
    if (o.lag && devs.length > 1) {
      const devcomEsw: DevcomEsw = {
        sem: yield* devcomComp("esw_devcom"),
        members: yield* Cell.make<ReadonlyArray<Esw>>("esw_devcom.comp_dev_list", [], {
          hidden: true,
          show: (l) => `[${l.map((e) => e.name).join(" ")}]`
        })
      }
      for (const d of devs) d.devcomEsw = devcomEsw
    }
    // lag/lag.c: static DEFINE_SPINLOCK(lag_lock), one for the module (its lockdep class is its name).
    const lagLock = yield* Spinlock.make("lag_lock")
    const w = {
      kernel,
      rcu,
      lagLock,
      v,
      devs,
      ghost: {
        registry: yield* Cell.make<ReadonlyArray<string>>("ghost.registry", [], ghostCell),
        stale: yield* Cell.make<ReadonlyArray<string>>("ghost.stale", [], ghostCell),
        postTeardown: yield* Cell.make<ReadonlyArray<string>>("ghost.postTeardown", [], ghostCell),
        ibdevSeq: yield* Cell.make("ghost.ibdevSeq", 0, ghostCell)
      },
      rtnl: yield* Mutex.make("rtnl_mutex", { lockClass: "rtnl_mutex" }),
      selfInPeerWalk: false,
      ibLoadedAtStart: o.ibLoaded,
      faults: { enabled: new Set(o.faults ?? []), left: yield* Cell.make("ghost.faults-left", 0, ghostCell) }
    } as unknown as World
    // [reduction] Probe's own mlx5_load → mlx5_lag_add_mdev is applied here, before any task runs:
    // with `lag` the world starts as after every PF's probe — each registered in the HCA devcom
    // component, one ldev with the PFs at xarray indexes 0, 1, … (one reference each), and, once all
    // ldev->ports are in, the last PAIR event's mlx5_lag_mark_master (lowest mlx5_get_dev_index).
    // The removes and adds of a reload, a health recovery, a firmware reset and a remove are
    // modelled (Lag.mlx5LagRemoveMdev / mlx5LagAddMdev from Mlx5Core's mlx5_unload / mlx5_load).
    const lag = o.lag ? yield* makeLdev("ldev", devs) : undefined
    const hcaComp: HcaComp | undefined = o.lag
      ? {
          members: yield* Cell.make<ReadonlyArray<Dev>>("devcom.comp_dev_list", devs, {
            hidden: true,
            show: (l) => `[${l.map((d) => d.name).join(" ")}]`
          })
        }
      : undefined
    for (const d of devs) {
      ;(d as { lag: Dev["lag"] }).lag = yield* Cell.make(`${d.prefix}priv.lag`, lag, { hidden: true, show: (l) => l?.name ?? "NULL" })
      d.hcaComp = hcaComp
    }
    return w
  })

const ghostCell = { ghost: true, hidden: true } as const

/**
 * A run's objects and its components built over them (`buildWorld`, then
 * `buildComponents`): what every scenario program starts with.
 *
 * @example
 * ```ts
 * // const { w, m } = yield* buildRun(variantNamed("merged"), { devs: [{ name: "pf0", isEcpf: false }], lag: false, ibLoaded: true })
 * // yield* m.core.probeOne(w.devs[0]!, false)
 * ```
 * @category constructors
 * @since 0.4.0
 */
export const buildRun = (v: Variant, o: WorldOptions): Effect.Effect<{ readonly w: World; readonly m: Components }, never, Kernel> =>
  Effect.gen(function* () {
    const w = yield* buildWorld(v, o)
    return { w, m: yield* buildComponents(w) }
  })

/**
 * Arms the run's fault points (`Faults`): from here on at most one fault may be injected. Called
 * once the scenario's setup (probe, mode set, module load) has settled, so that the faults fall on
 * the racing part of the scenario, never on its prologue.
 */
const armFaults = (w: World) => w.faults.left.set(1)

/** Let pending E-Switch work finish (the device has been up "for a while"). */
const settle = (w: World) => Effect.forEach(w.devs, (d) => d.esw.workQueue.flush, { discard: true })

/** Run `body` as a named thread and wait for it (sequential user actions). */
const run = (w: World, name: string, body: Effect.Effect<unknown>) =>
  Effect.gen(function* () {
    const t = yield* w.kernel.spawn(name, Effect.asVoid(body))
    yield* w.kernel.join(t)
  })

const spawn = (w: World, name: string, body: Effect.Effect<unknown>) => w.kernel.spawn(name, Effect.asVoid(body))

/** The invariants the racing scenarios check (ib-load-vs-reconfig's set; also the model's live tests). */
export const ALL: ReadonlyArray<InvariantName> = [
  "registry-transitions",
  "no-stale-execution",
  "no-post-teardown-execution",
  "no-loaded-outside-offloads",
  "rep-dependencies",
  "registration-completeness"
]

interface ScenarioDef {
  readonly name: string
  readonly description: string
  readonly defaults: Partial<Explorer.ExploreOptions>
  readonly invariants: ReadonlyArray<InvariantName>
  readonly program: (v: Variant) => Effect.Effect<void, unknown, Kernel>
}

const ECPF: DevSpec = { name: "ecpf", isEcpf: true }
const PF: DevSpec = { name: "pf0", isEcpf: false }

/** Two PFs, for LAG. */
const TWO_PFS = [
  { name: "pf0", isEcpf: false },
  { name: "pf1", isEcpf: false }
]

/**
 * The common prologue: probe every device, set it to switchdev, let the work queues settle.
 *
 * @example
 * ```ts
 * // yield* bootInSwitchdev(w, m)
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const bootInSwitchdev = (w: World, m: Components) =>
  Effect.gen(function* () {
    for (const d of w.devs) {
      yield* m.core.probeOne(d, false)
      yield* m.devlink.devlinkEswitchSet(d, "OFFLOADS")
    }
    yield* settle(w)
  })

// 1 -----------------------------------------------------------------------------
const teardownWithPendingWork: ScenarioDef = {
  name: "teardown-with-pending-work",
  description:
    "An ECPF E-Switch manager in switchdev receives a firmware host VF-count event (0→2) while the device is removed (mlx5_uninit_one: unregister devices → mlx5_eswitch_disable → mlx5_eswitch_cleanup, which drains esw->work_queue under the devlink lock). Threads: fw-event, remove, the esw_wq worker.",
  defaults: { strategy: "dfs", preemptions: 2, schedules: 100_000 },
  invariants: ["registry-transitions", "no-stale-execution", "no-post-teardown-execution", "no-loaded-outside-offloads"],
  program: (v) =>
    Effect.gen(function* () {
      const { w, m } = yield* buildRun(v, { devs: [ECPF], lag: false, ibLoaded: false })
      const dev = w.devs[0]!
      yield* bootInSwitchdev(w, m)
      registerInvariants(w, teardownWithPendingWork.invariants)
      yield* spawn(w, "fw-event", m.eswitch.firmwareHostVfsChanged(dev.esw, 2))
      yield* spawn(w, "remove", m.core.removeOne(dev))
    })
}

// 2 -----------------------------------------------------------------------------
const modeChangeVsVfEvents: ScenarioDef = {
  name: "mode-change-vs-vf-events",
  description:
    "An ECPF in switchdev (function-change notifier registered): a devlink user sets legacy, then switchdev again, while the firmware reports the host's VF count going 0→2 and back 2→0. Threads: devlink, fw-event, the esw_wq worker.",
  defaults: { strategy: "random", schedules: 400, seed: 2 },
  invariants: ALL,
  program: (v) =>
    Effect.gen(function* () {
      const { w, m } = yield* buildRun(v, { devs: [ECPF], lag: false, ibLoaded: false })
      const dev = w.devs[0]!
      yield* bootInSwitchdev(w, m)
      registerInvariants(w, ALL)
      yield* spawn(
        w,
        "devlink",
        Effect.gen(function* () {
          yield* m.devlink.devlinkEswitchSet(dev, "LEGACY")
          yield* m.devlink.devlinkEswitchSet(dev, "OFFLOADS")
        })
      )
      yield* spawn(
        w,
        "fw-event",
        Effect.gen(function* () {
          yield* m.eswitch.firmwareHostVfsChanged(dev.esw, 2)
          yield* m.eswitch.firmwareHostVfsChanged(dev.esw, 0)
        })
      )
    })
}

// 3 -----------------------------------------------------------------------------
const RECONFIG = ["mode-set", "sriov", "vf-events", "sf", "lag-reload", "devlink-reload"] as const
const ibLoadVsReconfig: ScenarioDef = {
  name: "ib-load-vs-reconfig",
  description:
    "A device in switchdev; mlx5_ib is loaded (modprobe) or unloaded (rmmod) — kernel.choose('mlx5_ib') — while one reconfiguration runs — kernel.choose('reconfig'): mode set switchdev→legacy→switchdev; SR-IOV 2 VFs on then off (PF); host VF-count events 0→2→0 (ECPF); SF port add then del; a LAG IB-rep reload (the transition holds devcom + ldev->lock and calls mlx5_lag_reload_ib_reps, which from reps V2 3/7 on — v2, v3, merged — drops ldev->lock itself around the per-PF guard + reload as mlx5_lag_reload_ib_reps_from_locked; single-PF ldev [inferred reduction of a LAG transition]); a devlink dev reload (driver_reinit, default profile: aux devices detached, E-Switch disabled, the device comes back in legacy).",
  defaults: { strategy: "random", schedules: 600, seed: 3 },
  invariants: ALL,
  program: (v) =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const which = RECONFIG[yield* kernel.choose("reconfig", RECONFIG.length)]!
      const ibInitially = (yield* kernel.choose("mlx5_ib", 2)) === 1
      const { w, m } = yield* buildRun(v, { devs: [which === "vf-events" ? ECPF : PF], lag: which === "lag-reload", ibLoaded: ibInitially })
      const dev = w.devs[0]!
      yield* bootInSwitchdev(w, m)
      registerInvariants(w, ALL)
      yield* spawn(w, ibInitially ? "rmmod" : "modprobe", ibInitially ? m.ib.rmmodMlx5Ib() : m.ib.modprobeMlx5Ib())
      const body: Effect.Effect<unknown> = (() => {
        switch (which) {
          case "mode-set":
            return Effect.gen(function* () {
              yield* m.devlink.devlinkEswitchSet(dev, "LEGACY")
              yield* m.devlink.devlinkEswitchSet(dev, "OFFLOADS")
            })
          case "sriov":
            return Effect.gen(function* () {
              yield* m.core.sriovNumvfsStore(dev, 2)
              yield* m.core.sriovNumvfsStore(dev, 0)
            })
          case "vf-events":
            return Effect.gen(function* () {
              yield* m.eswitch.firmwareHostVfsChanged(dev.esw, 2)
              yield* m.eswitch.firmwareHostVfsChanged(dev.esw, 0)
            })
          case "sf":
            return Effect.gen(function* () {
              yield* m.devlink.devlinkSfPortNew(dev)
              yield* m.devlink.devlinkSfPortDel(dev)
            })
          case "lag-reload":
            return Effect.gen(function* () {
              const lag = dev.lag.peek()!
              yield* dev.devcom.downWrite
              yield* lag.lock.lock
              yield* m.lag.mlx5LagReloadIbReps(lag, false, "activate")
              yield* lag.lock.unlock
              yield* dev.devcom.upWrite
            })
          case "devlink-reload":
            return m.devlink.devlinkDevReload(dev)
        }
      })()
      yield* spawn(w, which, body)
    })
}

// 4 -----------------------------------------------------------------------------
const lateIbLoad: ScenarioDef = {
  name: "late-ib-load",
  description:
    "A PF: switchdev first (mlx5_ib not loaded), then modprobe mlx5_ib, then 2 VFs created (sriov_numvfs). The three user actions are sequential threads (devlink, modprobe, sriov); the esw_wq worker runs concurrently with them.",
  defaults: { strategy: "random", schedules: 400, seed: 4 },
  invariants: ALL,
  program: (v) =>
    Effect.gen(function* () {
      const { w, m } = yield* buildRun(v, { devs: [PF], lag: false, ibLoaded: false })
      const dev = w.devs[0]!
      yield* m.core.probeOne(dev, false)
      registerInvariants(w, ALL)
      yield* run(w, "devlink", m.devlink.devlinkEswitchSet(dev, "OFFLOADS"))
      yield* run(w, "modprobe", m.ib.modprobeMlx5Ib())
      yield* run(w, "sriov", m.core.sriovNumvfsStore(dev, 2))
    })
}

// 5 -----------------------------------------------------------------------------
const BOOT_PROFILE_INVARIANTS: ReadonlyArray<InvariantName> = [...ALL, "user-mode-preserved"]
const bootWithSwitchdevProfile: ScenarioDef = {
  name: "boot-with-switchdev-profile",
  description:
    "Probe with prof_sel=4 (auto-switchdev; only V1 patch 7 knows it, elsewhere the default profile is used and the device boots legacy). kernel.choose('mlx5_ib'): 0 = mlx5_ib was loaded before the probe, 1 = modprobe mlx5_ib runs concurrently with the probe. Then, once the probe (and modprobe) returned, a devlink user sets legacy and runs `devlink dev reload` (thread 'user'): with patch 7 the reload's mlx5_load_one_devl_locked calls mlx5_set_default_switchdev and the device comes back in switchdev, overriding the user's choice — the trade-off the authors admit (domain.md §5.2), checked by the user-mode-preserved invariant (registered only here). Threads: probe, [modprobe], user, the esw_wq worker.",
  defaults: { strategy: "random", schedules: 400, seed: 5 },
  invariants: BOOT_PROFILE_INVARIANTS,
  program: (v) =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const after = (yield* kernel.choose("mlx5_ib", 2)) === 1
      const { w, m } = yield* buildRun(v, { devs: [PF], lag: false, ibLoaded: !after })
      const dev = w.devs[0]!
      registerInvariants(w, BOOT_PROFILE_INVARIANTS)
      const probe = yield* spawn(w, "probe", m.core.probeOne(dev, true))
      const modprobe = after ? yield* spawn(w, "modprobe", m.ib.modprobeMlx5Ib()) : undefined
      yield* w.kernel.join(probe)
      if (modprobe !== undefined) yield* w.kernel.join(modprobe)
      // The user's runtime choice, then a reload (driver_reinit).
      yield* spawn(
        w,
        "user",
        Effect.gen(function* () {
          yield* m.devlink.devlinkEswitchSet(dev, "LEGACY")
          yield* m.devlink.devlinkDevReload(dev)
        })
      )
    })
}

// 6 -----------------------------------------------------------------------------
const lagSharedFdb: ScenarioDef = {
  name: "lag-shared-fdb",
  description:
    "Two PFs in switchdev with mlx5_ib loaded; the bond work activates shared-FDB LAG (remove IB devices, activate, unhide dev0, reload IB reps: the master uplink IB load registers REP_IB on the peer) and later deactivates it, while a devlink user sets one PF (kernel.choose('pf')) to legacy. Threads: bond, devlink, the esw_wq workers.",
  defaults: { strategy: "random", schedules: 150, seed: 6 },
  invariants: ALL,
  program: (v) => lagSharedFdbProgram(v, [], ALL)
}

/** Scenario 6's program, with fault points (scenario 12) or without. */
const lagSharedFdbProgram = (v: Variant, faults: ReadonlyArray<FaultPoint>, invariants: ReadonlyArray<InvariantName>) =>
  Effect.gen(function* () {
    const kernel = yield* Kernel
    const { w, m } = yield* buildRun(v, {
      devs: TWO_PFS,
      lag: true,
      ibLoaded: true,
      faults
    })
    const target = w.devs[yield* kernel.choose("pf", 2)]!
    yield* bootInSwitchdev(w, m)
    registerInvariants(w, invariants)
    if (faults.length > 0) yield* armFaults(w)
    const lag = w.devs[0]!.lag.peek()!
    yield* spawn(
      w,
      "bond",
      Effect.gen(function* () {
        yield* lag.bonded.set(true)
        yield* m.lag.mlx5DoBondWork(lag)
        yield* lag.bonded.set(false)
        yield* m.lag.mlx5DoBondWork(lag)
      })
    )
    yield* spawn(w, "devlink", m.devlink.devlinkEswitchSet(target, "LEGACY"))
  })

// 7 -----------------------------------------------------------------------------
const guardReentry: ScenarioDef = {
  name: "guard-reentry",
  description:
    "Two PFs in an active shared-FDB LAG; rmmod mlx5_ib removes the master's .rdma-rep: mlx5_eswitch_unregister_vport_reps(pf0) holds pf0's guard while the master uplink IB unload unregisters REP_IB on the LAG peers. kernel.choose('peer-walk'): 0 = the real walk (mlx5_lag_for_each_peer_mdev: pf1 only; V1 audit bullet 2); 1 = WHAT-IF: the walk also reaches the master's own E-Switch — the re-entry the cover letter's audit rules out, to show what the non-reentrant guard does (V1: endless spin; merged: _nested on the same reps_lock). Threads: rmmod, the esw_wq workers.",
  defaults: { strategy: "random", schedules: 100, seed: 7 },
  invariants: ALL,
  program: (v) =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const { w, m } = yield* buildRun(v, {
        devs: TWO_PFS,
        lag: true,
        ibLoaded: true
      })
      const selfWalk = (yield* kernel.choose("peer-walk", 2)) === 1
      for (const d of w.devs) {
        yield* m.core.probeOne(d, false)
        yield* m.devlink.devlinkEswitchSet(d, "OFFLOADS")
      }
      const lag = w.devs[0]!.lag.peek()!
      yield* lag.bonded.set(true)
      yield* m.lag.mlx5DoBondWork(lag)
      yield* settle(w)
      w.selfInPeerWalk = selfWalk
      registerInvariants(w, ALL)
      yield* spawn(w, "rmmod", m.ib.rmmodMlx5Ib())
    })
}

// 8 -----------------------------------------------------------------------------
const OPS = ["mode-set", "sriov-or-vf-event", "sf-add", "sf-del", "modprobe", "rmmod", "devlink-reload"] as const
const randomWorkload: ScenarioDef = {
  name: "random-workload",
  description:
    "Seeded random workload: kernel.choose('device') picks a PF (SR-IOV) or an ECPF (host VF-count events); the device starts in legacy or switchdev with mlx5_ib loaded or not; then three threads (user-0..2) each perform two operations chosen with kernel.choose from: devlink mode set (to the other mode), SR-IOV on/off (PF) or a host VF-count event (ECPF), SF add, SF del, modprobe mlx5_ib, rmmod mlx5_ib, devlink dev reload (driver_reinit; default profile, so the device comes back in legacy).",
  defaults: { strategy: "random", schedules: 400, seed: 8 },
  invariants: ALL,
  program: (v) =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const ecpf = (yield* kernel.choose("device", 2)) === 1
      const ib = (yield* kernel.choose("mlx5_ib", 2)) === 1
      const switchdev = (yield* kernel.choose("initial-mode", 2)) === 1
      const { w, m } = yield* buildRun(v, { devs: [ecpf ? ECPF : PF], lag: false, ibLoaded: ib })
      const dev = w.devs[0]!
      yield* m.core.probeOne(dev, false)
      if (switchdev) yield* m.devlink.devlinkEswitchSet(dev, "OFFLOADS")
      yield* settle(w)
      registerInvariants(w, ALL)
      const plan: Array<Array<(typeof OPS)[number]>> = []
      for (let t = 0; t < 3; t++) {
        const ops: Array<(typeof OPS)[number]> = []
        for (let k = 0; k < 2; k++) ops.push(OPS[yield* kernel.choose(`user-${t}.op-${k}`, OPS.length)]!)
        plan.push(ops)
      }
      const perform = (op: (typeof OPS)[number]): Effect.Effect<unknown> => {
        switch (op) {
          case "mode-set":
            return Effect.suspend(() => m.devlink.devlinkEswitchSet(dev, dev.esw.mode.peek() === "OFFLOADS" ? "LEGACY" : "OFFLOADS"))
          case "sriov-or-vf-event":
            return ecpf
              ? Effect.suspend(() => m.eswitch.firmwareHostVfsChanged(dev.esw, dev.fw.hostNumVfs.peek() > 0 ? 0 : 2))
              : Effect.suspend(() => m.core.sriovNumvfsStore(dev, dev.sriovNumVfs.peek() > 0 ? 0 : 2))
          case "sf-add":
            return m.devlink.devlinkSfPortNew(dev)
          case "sf-del":
            return m.devlink.devlinkSfPortDel(dev)
          case "modprobe":
            return m.ib.modprobeMlx5Ib()
          case "rmmod":
            return m.ib.rmmodMlx5Ib()
          case "devlink-reload":
            return m.devlink.devlinkDevReload(dev)
        }
      }
      for (const [t, ops] of plan.entries()) {
        yield* spawn(w, `user-${t}`, Effect.forEach(ops, perform, { discard: true }))
      }
    })
}

// 9-12: faults (issue 13 item 4) ------------------------------------------------
//
// Fault injection is a property of these four scenarios, not of the eight above: their cells keep
// exploring exactly what they did (no fault choice is ever offered there), and each fault scenario
// says which fault points it enables. At most one fault per run (fault injection's `times` = 1):
// every unwind path is explored on its own against every interleaving the scenario has; two
// faults in one run are not explored. The faults are armed once the setup has settled: they fall on
// the racing threads, not on the prologue (a failed boot would only explore a smaller scenario).

const FAULT_INVARIANTS: ReadonlyArray<InvariantName> = [...ALL, "failed-load-unwound"]

// 9 -----------------------------------------------------------------------------
const MODE_SET_FAULT_INVARIANTS: ReadonlyArray<InvariantName> = [...FAULT_INVARIANTS, "sriov-has-fdb"]
const modeSetFaults: ScenarioDef = {
  name: "mode-set-faults",
  description:
    "Faults in the mode set (at most one per run, each an explored choice): a PF with SR-IOV on (2 VFs, legacy FDB) and mlx5_ib loaded; a devlink user sets switchdev, then legacy. Fault points: the firmware commands of esw_offloads_steering_init (mlx5_eswitch_enable_locked → esw_offloads_enable), a representor load callback (mlx5e's kvzalloc of the mlx5e_rep_priv, any vport; mlx5_ib's ib_alloc_device for the uplink IB device), and mlx5_esw_add_work's kzalloc (from V1 6/7: the load queued by the REP_IB registration in esw_mode_change's rescan). The error path is the C's: esw_offloads_start undoes a failed mlx5_eswitch_enable_locked with esw_mode_change(LEGACY) only. Threads: devlink, the esw_wq worker.",
  defaults: { strategy: "random", schedules: 400, seed: 9 },
  invariants: MODE_SET_FAULT_INVARIANTS,
  program: (v) =>
    Effect.gen(function* () {
      const { w, m } = yield* buildRun(v, { devs: [PF], lag: false, ibLoaded: true, faults: ["fw-cmd", "rep-load", "kzalloc-host-work"] })
      const dev = w.devs[0]!
      yield* m.core.probeOne(dev, false)
      yield* m.core.sriovNumvfsStore(dev, 2)
      yield* settle(w)
      registerInvariants(w, MODE_SET_FAULT_INVARIANTS)
      yield* armFaults(w)
      yield* spawn(
        w,
        "devlink",
        Effect.gen(function* () {
          yield* m.devlink.devlinkEswitchSet(dev, "OFFLOADS")
          yield* m.devlink.devlinkEswitchSet(dev, "LEGACY")
        })
      )
    })
}

// 10 ----------------------------------------------------------------------------
const lateIbLoadFaults: ScenarioDef = {
  name: "late-ib-load-faults",
  description:
    "Faults in the late representor load: a PF in switchdev with 2 VFs (their ETH reps loaded) and mlx5_ib not loaded; then modprobe mlx5_ib. Fault points (at most one per run): mlx5_esw_add_work's kzalloc for the load the REP_IB registration queues (V1 6/7 on; GFP_ATOMIC, reps V3 2/7 GFP_KERNEL: Variant.registerWorkGfp), and a representor load callback (mlx5_ib's ib_alloc_device for the uplink, mlx5e's kvzalloc). No later E-Switch operation, so the queued load is never stale (F3 cannot happen); before V1 6/7 nothing loads the IB reps at all (F2, every run). Threads: modprobe, the esw_wq worker.",
  defaults: { strategy: "random", schedules: 400, seed: 10 },
  invariants: FAULT_INVARIANTS,
  program: (v) =>
    Effect.gen(function* () {
      const { w, m } = yield* buildRun(v, { devs: [PF], lag: false, ibLoaded: false, faults: ["rep-load", "kzalloc-host-work"] })
      const dev = w.devs[0]!
      yield* m.core.probeOne(dev, false)
      yield* m.core.sriovNumvfsStore(dev, 2)
      yield* m.devlink.devlinkEswitchSet(dev, "OFFLOADS")
      yield* settle(w)
      registerInvariants(w, FAULT_INVARIANTS)
      yield* armFaults(w)
      yield* spawn(w, "modprobe", m.ib.modprobeMlx5Ib())
    })
}

// 11 ----------------------------------------------------------------------------
const VF_EVENT_FAULT_INVARIANTS: ReadonlyArray<InvariantName> = [...FAULT_INVARIANTS, "host-vfs-followed"]
const vfEventFaults: ScenarioDef = {
  name: "vf-event-faults",
  description:
    "Faults on the host VF-count path: an ECPF E-Switch manager in switchdev with mlx5_ib loaded; the firmware reports the host's VF count going 0→2. Fault points (at most one per run): the host work's kzalloc(GFP_ATOMIC) in the EQ notifier (baseline … V1 2/7: mlx5_esw_funcs_changed_handler itself; from V1 3/7: mlx5_esw_add_work), and a representor load callback while the worker loads the VF vports (mlx5e's kvzalloc; the VF IB load has no allocation of its own). Threads: fw-event, the esw_wq worker.",
  defaults: { strategy: "random", schedules: 400, seed: 11 },
  invariants: VF_EVENT_FAULT_INVARIANTS,
  program: (v) =>
    Effect.gen(function* () {
      const { w, m } = yield* buildRun(v, { devs: [ECPF], lag: false, ibLoaded: true, faults: ["kzalloc-host-work", "rep-load"] })
      const dev = w.devs[0]!
      yield* bootInSwitchdev(w, m)
      registerInvariants(w, VF_EVENT_FAULT_INVARIANTS)
      yield* armFaults(w)
      yield* spawn(w, "fw-event", m.eswitch.firmwareHostVfsChanged(dev.esw, 2))
    })
}

// 12 ----------------------------------------------------------------------------
const lagSharedFdbFaults: ScenarioDef = {
  name: "lag-shared-fdb-faults",
  description:
    "lag-shared-fdb with representor load failures (at most one per run): mlx5_ib's ib_alloc_device for an uplink IB device, or mlx5e's kvzalloc, fails wherever a load runs — in the bond work's IB reload (mlx5_lag_reload_ib_reps → mlx5_eswitch_reload_ib_reps → __esw_offloads_load_rep, whose failure before reps V3 6/7 leaves the rep LOADED) or in the devlink user's mode set. Threads: bond, devlink, the esw_wq workers.",
  defaults: { strategy: "random", schedules: 150, seed: 12 },
  invariants: FAULT_INVARIANTS,
  program: (v) => lagSharedFdbProgram(v, ["rep-load"], FAULT_INVARIANTS)
}

// 14 ----------------------------------------------------------------------------
const HEALTH_INVARIANTS: ReadonlyArray<InvariantName> = [...ALL, "user-mode-preserved", "sriov-has-fdb"]
const HEALTH_USER = ["mode-set", "sriov"] as const
const healthRecovery: ScenarioDef = {
  name: "health-recovery",
  description:
    "Health recovery (issue 13 item 5, notes §5.1): a PF probed with prof_sel=4 (auto-switchdev where V1 7/7 / V2 7/7 know it, the default profile elsewhere) with mlx5_ib loaded; the devlink user sets legacy. Then a fatal firmware error: the health work queue runs mlx5_fw_fatal_reporter_err_work → enter_error_state → devlink_health_report (devl_lock around the dump, then devl_lock around the recover) → mlx5_fw_fatal_reporter_recover → mlx5_health_try_recover → mlx5_disable_device (mlx5_error_sw_reset, mlx5_unload_one_devl_locked) → mlx5_health_wait_pci_up → mlx5_recover_device → mlx5_load_one_devl_locked(dev, true), whose end with the profile calls mlx5_set_default_switchdev. Concurrently one user action — kernel.choose('user'): 0 = devlink mode set switchdev then legacy again, 1 = SR-IOV 2 VFs (sriov_numvfs). Threads: health, user, the esw_wq worker.",
  defaults: { strategy: "random", schedules: 400, seed: 13 },
  invariants: HEALTH_INVARIANTS,
  program: (v) =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const action = HEALTH_USER[yield* kernel.choose("user", HEALTH_USER.length)]!
      const { w, m } = yield* buildRun(v, { devs: [PF], lag: false, ibLoaded: true })
      const dev = w.devs[0]!
      yield* m.core.probeOne(dev, true)
      yield* m.devlink.devlinkEswitchSet(dev, "LEGACY")
      yield* settle(w)
      registerInvariants(w, HEALTH_INVARIANTS)
      yield* spawn(w, "health", m.health.mlx5FwFatalReporterErrWork(dev))
      yield* spawn(
        w,
        "user",
        action === "sriov"
          ? m.core.sriovNumvfsStore(dev, 2)
          : Effect.gen(function* () {
              yield* m.devlink.devlinkEswitchSet(dev, "OFFLOADS")
              yield* m.devlink.devlinkEswitchSet(dev, "LEGACY")
            })
      )
    })
}

// 16 ----------------------------------------------------------------------------
/**
 * The devcom PAIR / UNPAIR scenarios' world: two PFs of one NIC, mlx5_ib not loaded, pf1 in
 * switchdev with 2 VFs, pf0 in legacy; thread `devlink` takes pf0 to switchdev and back (PAIR, then
 * UNPAIR, walking pf1's reps); `peer` spawns what races it on pf1.
 */
const devcomPairProgram = (v: Variant, peer: (w: World, m: Components, pf1: Dev) => Effect.Effect<unknown, never, Kernel>) =>
  Effect.gen(function* () {
    const { w, m } = yield* buildRun(v, { devs: TWO_PFS, lag: true, ibLoaded: false })
    const [pf0, pf1] = [w.devs[0]!, w.devs[1]!]
    for (const d of w.devs) yield* m.core.probeOne(d, false)
    yield* m.devlink.devlinkEswitchSet(pf1, "OFFLOADS")
    yield* m.core.sriovNumvfsStore(pf1, 2)
    yield* settle(w)
    registerInvariants(w, ALL)
    yield* spawn(
      w,
      "devlink",
      Effect.gen(function* () {
        yield* m.devlink.devlinkEswitchSet(pf0, "OFFLOADS")
        yield* m.devlink.devlinkEswitchSet(pf0, "LEGACY")
      })
    )
    yield* peer(w, m, pf1)
  })

const devcomPair: ScenarioDef = {
  name: "devcom-pair",
  description:
    "devcom ESW_OFFLOADS PAIR / UNPAIR (issue 13 item 1, notes §1.2): two PFs of one LAG-capable NIC (they share the HCA and the ESW_OFFLOADS devcom components; no bond), mlx5_ib not loaded; pf1 in switchdev with 2 VFs (their ETH reps loaded), pf0 in legacy. Thread 'devlink' sets pf0 to switchdev — esw_offloads_enable ends with mlx5_esw_offloads_devcom_init → mlx5_devcom_send_event(PAIR) under devcom(ESW): mlx5_esw_offloads_devcom_event → mlx5_esw_offloads_pair(pf1, pf0) walks pf1's reps (rep_ops[t], then the rep state, then ops->event = mlx5e_vport_rep_event_pair, which reads the rep's mlx5e_rep_priv) holding none of pf1's locks — then back to legacy (UNPAIR first in esw_offloads_disable). Thread 'sriov' disables pf1's VFs (sriov_numvfs 0: pf1's VF reps unloaded, each mlx5e_rep_priv kvfree'd). Threads: devlink, sriov, the esw_wq workers.",
  defaults: { strategy: "random", schedules: 400, seed: 14 },
  invariants: ALL,
  program: (v) => devcomPairProgram(v, (w, m, pf1) => spawn(w, "sriov", m.core.sriovNumvfsStore(pf1, 0)))
}

// 17 ----------------------------------------------------------------------------
const devcomPairVsEthRebind: ScenarioDef = {
  name: "devcom-pair-vs-eth-rebind",
  description:
    "devcom PAIR / UNPAIR against the peer's REP_ETH unregister and register (issue 13 item 1, notes §1.2 and §5.8: the NULL-ops half of candidate C3). Two PFs of one LAG-capable NIC, mlx5_ib not loaded; pf1 in switchdev with 2 VFs (their ETH reps loaded), pf0 in legacy. Thread 'devlink' sets pf0 to switchdev and back: the PAIR and UNPAIR handlers walk pf1's reps (rep_ops[t] read first, then the rep state, then ops->event) holding none of pf1's locks. Thread 'sysfs' unbinds pf1's mlx5_core.eth-rep device from its driver and binds it again (unbind_store / bind_store under the device lock: mlx5e_rep_remove unregisters REP_ETH, mlx5e_rep_probe registers it again). Threads: devlink, sysfs, the esw_wq workers.",
  defaults: { strategy: "random", schedules: 400, seed: 14 },
  invariants: ALL,
  program: (v) =>
    devcomPairProgram(v, (w, m, pf1) =>
      spawn(
        w,
        "sysfs",
        Effect.gen(function* () {
          yield* m.aux.unbindStore(pf1.adevs["eth-rep"])
          yield* m.aux.bindStore(pf1.adevs["eth-rep"])
        })
      )
    )
}

/**
 * Every scenario, in matrix order.
 *
 * @category models
 * @since 0.1.0
 */
// 13 ----------------------------------------------------------------------------
const MPESW_INVARIANTS: ReadonlyArray<InvariantName> = [...ALL, "lag-needs-switchdev"]
const mpeswVsModeSet: ScenarioDef = {
  name: "mpesw-vs-mode-set",
  description:
    "Two PFs of one NIC (one ldev, no bond) in switchdev with mlx5_ib loaded. A devlink user sets the esw_multiport param on one PF (kernel.choose('param-pf')) to true, then to false: devlink_nl_param_set_doit holds that PF's devlink lock while mlx5_lag_mpesw_queue_work waits for the MPESW work on the ordered ldev->wq (enable_mpesw / disable_mpesw under devcom + ldev->lock: remove the IB devices, activate MPESW, unhide dev0's IB device, reload the IB reps on both PFs; -EAGAIN while a mode change is in progress). Meanwhile another devlink user sets one PF (kernel.choose('pf')) to legacy. Threads: param, devlink, the ldev->wq worker, the esw_wq workers.",
  defaults: { strategy: "random", schedules: 150, seed: 14 },
  invariants: MPESW_INVARIANTS,
  program: (v) =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const { w, m } = yield* buildRun(v, { devs: TWO_PFS, lag: true, ibLoaded: true })
      const paramPf = w.devs[yield* kernel.choose("param-pf", 2)]!
      const target = w.devs[yield* kernel.choose("pf", 2)]!
      yield* bootInSwitchdev(w, m)
      registerInvariants(w, MPESW_INVARIANTS)
      yield* spawn(
        w,
        "param",
        Effect.gen(function* () {
          yield* m.devlink.devlinkParamSetEswMultiport(paramPf, true)
          yield* m.devlink.devlinkParamSetEswMultiport(paramPf, false)
        })
      )
      yield* spawn(w, "devlink", m.devlink.devlinkEswitchSet(target, "LEGACY"))
    })
}

// 15 ----------------------------------------------------------------------------
const FW_RESET_INVARIANTS: ReadonlyArray<InvariantName> = [...ALL, "switchdev-profile-applied"]
const fwResetWithProfile: ScenarioDef = {
  name: "fw-reset-with-profile",
  description:
    "Probe with prof_sel=4 (the switchdev profile; only V1 7/7 and reps V2 7/7 know it, elsewhere the device boots legacy and the invariant has nothing to check), mlx5_ib loaded. Then the firmware reports a sync reset (thread 'fw_reset', fw_reset->wq: mlx5_sync_reset_request_event — devl_trylock or NACK, set RESET_IN_PROGRESS, ACK — then, if ACKed, mlx5_sync_reset_reload_work: unload, wait for PCI, mlx5_load_one, clear RESET_IN_PROGRESS) while SR-IOV is enabled with 2 VFs (thread 'sriov'). Checks that the profile's switchdev default holds after the reset's reload (switchdev-profile-applied, registered only here). Threads: fw_reset, sriov, the esw_wq worker.",
  defaults: { strategy: "random", schedules: 150, seed: 15 },
  invariants: FW_RESET_INVARIANTS,
  program: (v) =>
    Effect.gen(function* () {
      const { w, m } = yield* buildRun(v, { devs: [PF], lag: false, ibLoaded: true })
      const dev = w.devs[0]!
      yield* m.core.probeOne(dev, true)
      registerInvariants(w, FW_RESET_INVARIANTS)
      yield* spawn(
        w,
        "fw_reset",
        Effect.gen(function* () {
          if (yield* m.fwReset.mlx5SyncResetRequestEvent(dev)) yield* m.fwReset.mlx5SyncResetReloadWork(dev)
        })
      )
      yield* spawn(w, "sriov", m.core.sriovNumvfsStore(dev, 2))
    })
}

// 17 ----------------------------------------------------------------------------
const VPORT_CHANGE_INVARIANTS: ReadonlyArray<InvariantName> = [...ALL, "vport-rules-in-live-fdb"]
const VPORT_CHANGE_PATHS = ["mode-set", "sriov-disable", "remove"] as const
const vportChangeVsModeSet: ScenarioDef = {
  name: "vport-change-vs-mode-set",
  description:
    "The vport-change notifier and its per-vport work on the E-Switch queue (issue 13 item 5, notes §5.6): a PF in legacy with SR-IOV on (2 VFs, the legacy FDB, esw->nb registered by mlx5_eswitch_enable_locked), mlx5_ib not loaded. The firmware reports vf1's UC address list changing twice (NIC_VPORT_CHANGE on the async EQ → eswitch_vport_event queues vf1's vport_change_handler work, coalesced while pending → esw_vport_change_handler: state_lock, esw_vport_change_handle_locked: firmware queries, L2 table entry and legacy FDB rule, re-arm) while one teardown path runs — kernel.choose('path'): 0 = devlink mode set to switchdev (mlx5_eswitch_disable_locked: esw->nb unregistered with synchronize_rcu, legacy vports disabled under state_lock, the legacy FDB destroyed; then switchdev enabled, esw->nb registered again), 1 = SR-IOV disable (sriov_numvfs 0: VF vports unloaded, then mlx5_eswitch_disable_locked), 2 = remove (mlx5_eswitch_disable, then mlx5_eswitch_cleanup's destroy_workqueue drains the queue). Threads: fw, the teardown thread, the esw_wq worker, the async EQ's interrupt.",
  defaults: { strategy: "random", schedules: 400, seed: 17 },
  invariants: VPORT_CHANGE_INVARIANTS,
  program: (v) =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const path = VPORT_CHANGE_PATHS[yield* kernel.choose("path", VPORT_CHANGE_PATHS.length)]!
      const { w, m } = yield* buildRun(v, { devs: [PF], lag: false, ibLoaded: false, vportEvents: true })
      const dev = w.devs[0]!
      yield* m.core.probeOne(dev, false)
      yield* m.core.sriovNumvfsStore(dev, 2)
      yield* settle(w)
      registerInvariants(w, VPORT_CHANGE_INVARIANTS)
      yield* spawn(
        w,
        "fw",
        Effect.gen(function* () {
          yield* m.eswitch.firmwareVportChange(dev.esw, "vf1", [1])
          yield* m.eswitch.firmwareVportChange(dev.esw, "vf1", [2])
        })
      )
      yield* spawn(
        w,
        path,
        path === "mode-set"
          ? m.devlink.devlinkEswitchSet(dev, "OFFLOADS")
          : path === "sriov-disable"
            ? m.core.sriovNumvfsStore(dev, 0)
            : m.core.removeOne(dev)
      )
    })
}

// 18 ----------------------------------------------------------------------------
const RELOAD_LAG_INVARIANTS: ReadonlyArray<InvariantName> = [...ALL, "lag-needs-switchdev", "lag-membership"]
const X_OPS = ["devlink-reload", "health-recovery"] as const
const Y_OPS = ["mode-set", "bond"] as const
const reloadVsLagModeSet: ScenarioDef = {
  name: "reload-vs-lag-mode-set",
  description:
    "LAG membership across a reload (issue 13 item 5, notes §5.4): two PFs of one NIC (one ldev, both members, pf0 marked master), both in switchdev, mlx5_ib loaded, no bond. PF X (kernel.choose('x-pf')) is unloaded and loaded again — kernel.choose('x-op'): 0 = devlink dev reload (driver_reinit), 1 = health recovery (fatal firmware error) — so mlx5_unload → mlx5_lag_remove_mdev (ldev->lock; while mode_changes_in_progress: unlock, msleep(100), retry; leave the ldev; devcom UNPAIR clears the master mark; unregister from the HCA devcom component; drop the ldev reference) and mlx5_load → mlx5_lag_add_mdev (register; devcom lock + __mlx5_lag_dev_add_mdev, −EAGAIN while mode_changes_in_progress → msleep(100), retry; devcom PAIR marks the master again), both holding X's devlink lock and intf_state_mutex. Meanwhile on the other PF Y — kernel.choose('y-op'): 0 = a devlink user sets legacy (mlx5_lag_disable_change … mlx5_lag_enable_change raise mode_changes_in_progress for the whole mode set), 1 = the bond work activates shared-FDB LAG (its ldev->lock drops, merged, raise it too). Checks that the membership and the master come back (lag-membership, registered only here) and that an active LAG has both PFs in switchdev (lag-needs-switchdev). Threads: x, y, the esw_wq workers.",
  defaults: { strategy: "random", schedules: 150, seed: 17 },
  invariants: RELOAD_LAG_INVARIANTS,
  program: (v) =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const { w, m } = yield* buildRun(v, { devs: TWO_PFS, lag: true, ibLoaded: true })
      const xi = yield* kernel.choose("x-pf", 2)
      const [x, y] = [w.devs[xi]!, w.devs[1 - xi]!]
      const xOp = X_OPS[yield* kernel.choose("x-op", X_OPS.length)]!
      const yOp = Y_OPS[yield* kernel.choose("y-op", Y_OPS.length)]!
      yield* bootInSwitchdev(w, m)
      registerInvariants(w, RELOAD_LAG_INVARIANTS)
      const ldev = y.lag.peek()!
      yield* spawn(w, "x", xOp === "devlink-reload" ? m.devlink.devlinkDevReload(x) : m.health.mlx5FwFatalReporterErrWork(x))
      yield* spawn(
        w,
        "y",
        yOp === "mode-set"
          ? m.devlink.devlinkEswitchSet(y, "LEGACY")
          : Effect.gen(function* () {
              yield* ldev.bonded.set(true)
              yield* m.lag.mlx5DoBondWork(ldev)
            })
      )
    })
}

export const scenarioDefs: ReadonlyArray<ScenarioDef> = [
  teardownWithPendingWork,
  modeChangeVsVfEvents,
  ibLoadVsReconfig,
  lateIbLoad,
  bootWithSwitchdevProfile,
  lagSharedFdb,
  guardReentry,
  randomWorkload,
  modeSetFaults,
  lateIbLoadFaults,
  vfEventFaults,
  lagSharedFdbFaults,
  mpeswVsModeSet,
  healthRecovery,
  fwResetWithProfile,
  devcomPair,
  vportChangeVsModeSet,
  reloadVsLagModeSet,
  devcomPairVsEthRebind
]

/**
 * The scenario listing for the model.
 *
 * @category models
 * @since 0.1.0
 */
export const scenarioInfos: ReadonlyArray<ScenarioInfo> = scenarioDefs.map((d) => ({
  name: d.name,
  description: d.description,
  defaults: d.defaults,
  invariants: d.invariants.map((n) => INVARIANTS[n])
}))

/**
 * The runnable scenario for a variant.
 *
 * @category constructors
 * @since 0.1.0
 */
export const scenarioFor = (d: ScenarioDef, v: Variant): Scenario => ({
  name: d.name,
  description: d.description,
  defaults: d.defaults,
  program: d.program(v)
})
