/**
 * LAG (lag/lag.c, lag/mpesw.c): the queries other modules ask under the
 * global `lag_lock` (`mlx5_lag_is_*`, the peer walk), the E-Switch fence (`mlx5_lag_disable_change`
 * / `mlx5_lag_enable_change`), shared-FDB activation and deactivation with
 * their aux-device rescans and IB representor reloads, the bond work's
 * trylock-and-requeue, and MPESW enable. Transitions hold the devcom write
 * lock and `ldev->lock`; merged (reps V3 4/7) drops `ldev->lock` around the
 * rescans and reloads, gating re-entry with `mode_changes_in_progress`.
 *
 * @since 0.1.0
 */
import { Cell, Completion, Kernel, Workqueue } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { AuxBus } from "./aux.ts"
import { RepRegistry } from "./registry.ts"
import type { Dev, LagMode, Lag as Ldev } from "./world.ts"
import { call, lagMembers, makeLdev, msleep, Run, step } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run
  const aux = yield* AuxBus
  const registry = yield* RepRegistry
  const fn = <A, E, R>(name: string, body: Effect.Effect<A, E, R>) => call(w, "lag", name, body)

  // -------------------------------------------------------------------------
  // lag/lag.c's queries under the global `lag_lock` (DEFINE_SPINLOCK), exported to mlx5_ib and
  // called by mlx5_core itself (`mlx5_devlink_reload_down`).
  //
  // Each takes `spin_lock_irqsave(&lag_lock)` around `ldev = mlx5_lag_dev(dev)` and its reads of the
  // ldev, whether or not the device has one. The ldev's mode and flags are written by
  // `mlx5_activate_lag()` / `mlx5_deactivate_lag()` under `ldev->lock` (and devcom) only, never under
  // `lag_lock`: the spinlock orders the queries among themselves and against
  // `mlx5_ldev_add/remove_netdev()` (not modelled), not against those stores. The mode accesses are
  // marked: the stores are word-sized (KCSAN assumes plain aligned word writes atomic) and
  // `mlx5_lag_is_shared_fdb()` reads the flags with `test_bit()`; [inferred] the plain `ldev->mode`
  // loads of `mlx5_lag_is_master/is_active/is_mpesw` stay marked too (a plain load racing those
  // stores would be KCSAN's to report; not modelled yet).

  const underLagLock = <A>(body: Effect.Effect<A>): Effect.Effect<A> =>
    Effect.gen(function* () {
      const flags = yield* w.lagLock.lockIrqsave
      const r = yield* body
      yield* w.lagLock.unlockIrqrestore(flags)
      return r
    })

  /** A query of `ldev` (`mlx5_lag_dev(dev)`, a plain load of `dev->priv.lag`; `false` without one) under `lag_lock`. */
  const query = (name: string, dev: Dev, answer: (mode: LagMode, ldev: Ldev) => Effect.Effect<boolean>): Effect.Effect<boolean> =>
    fn(
      name,
      underLagLock(
        Effect.gen(function* () {
          const ldev = yield* dev.lag.get
          return ldev === undefined ? false : yield* answer(yield* ldev.mode.readOnce, ldev)
        })
      )
    )

  /** `ldev->pfs` in xarray order (`mlx5_ldev_for_each`): the PFs that are members now. */
  const membersOf = (lag: Ldev): Effect.Effect<ReadonlyArray<Dev>> => Effect.map(lag.pfs.readOnce, lagMembers)

  /**
   * `mlx5_lag_pf(ldev, mlx5_lag_get_dev_index_by_seq(ldev, MLX5_LAG_P1))->dev`: the PF marked
   * MASTER (`mlx5_lag_get_master_idx`), else the first port in xarray order; none in an empty ldev.
   */
  const lagP1 = (lag: Ldev): Effect.Effect<Dev | undefined> =>
    Effect.gen(function* () {
      const slots = yield* lag.pfs.readOnce
      const master = yield* lag.master.readOnce
      return (master !== undefined ? slots[master] : undefined) ?? lagMembers(slots)[0]
    })

  /** `mlx5_lag_is_shared_fdb()` [lag_lock]: `test_bit(MLX5_LAG_MODE_FLAG_SHARED_FDB, &ldev->mode_flags)`. */
  const mlx5LagIsSharedFdb = (dev: Dev) => query("mlx5_lag_is_shared_fdb", dev, (m) => Effect.succeed(m !== "NONE"))

  /** `mlx5_lag_is_active()` [lag_lock]: `ldev && __mlx5_lag_is_active(ldev)` (`ldev->mode != MLX5_LAG_MODE_NONE`). */
  const mlx5LagIsActive = (dev: Dev) => query("mlx5_lag_is_active", dev, (m) => Effect.succeed(m !== "NONE"))

  /**
   * `mlx5_lag_is_master()` [lag_lock]: the LAG is active and `dev` is its `MLX5_LAG_P1` (`lagP1`: the
   * PF marked MASTER, else the first port), which changes as PFs leave and rejoin the ldev. An
   * inactive LAG has no master: a caller that saw shared FDB a moment before then takes its device
   * for a slave.
   */
  const mlx5LagIsMaster = (dev: Dev) =>
    query("mlx5_lag_is_master", dev, (m, ldev) => Effect.map(lagP1(ldev), (p1) => m !== "NONE" && p1 === dev))

  /** `mlx5_lag_is_mpesw()` (lag/mpesw.c, which cannot take lag.c's static `lag_lock`): `ldev && ldev->mode == MLX5_LAG_MODE_MPESW`, no lock. */
  const mlx5LagIsMpesw = (dev: Dev): Effect.Effect<boolean> =>
    fn(
      "mlx5_lag_is_mpesw",
      Effect.gen(function* () {
        const ldev = yield* dev.lag.get
        return ldev === undefined ? false : (yield* ldev.mode.readOnce) === "MPESW"
      })
    )

  /**
   * `mlx5_lag_for_each_peer_mdev(dev, peer, i)`: each step is a `mlx5_lag_get_next_peer_mdev(dev, &i)`
   * call under `lag_lock` — `dev->priv.lag`, then the first PF at xarray index ≥ i that is not
   * `dev`, and i past it — the last one returning NULL; so the walk sees the membership of the
   * moment of each step (PFs leave and join in `mlx5_lag_remove_mdev` / `_add_mdev`).
   * `includeSelf` is guard-reentry's what-if (the walk also reaches `dev`), not the C.
   */
  const mlx5LagForEachPeerMdev = (dev: Dev, body: (peer: Dev) => Effect.Effect<void>, includeSelf = false): Effect.Effect<void> =>
    Effect.gen(function* () {
      for (let i = 0; ; ) {
        const next = yield* fn(
          "mlx5_lag_get_next_peer_mdev",
          underLagLock(
            Effect.gen(function* () {
              const ldev = yield* dev.lag.get
              if (ldev === undefined) return undefined
              const slots = yield* ldev.pfs.readOnce
              for (let idx = i; idx < slots.length; idx++) {
                const pf = slots[idx]
                if (pf !== undefined && (includeSelf || pf !== dev)) return { pf, idx }
              }
              return undefined
            })
          )
        )
        if (next === undefined) return
        i = next.idx + 1
        yield* body(next.pf)
      }
    })

  /**
   * Reps V2 3/7 = V3 4/7 `mlx5_lag_drop_lock_for_reps()` … `mlx5_lag_retake_lock_after_reps()`
   * [devcom write + ldev->lock]: raise `mode_changes_in_progress` (the gate device add/remove and the
   * bond work observe), drop `ldev->lock`, run `body`, retake it and lower the gate. Before that patch
   * `body` runs under the caller's `ldev->lock`.
   */
  const withLdevDropped = <A>(lag: Ldev, body: Effect.Effect<A>): Effect.Effect<A> =>
    w.v.lagDropsLdevLock
      ? Effect.gen(function* () {
          yield* lag.modeChangesInProgress.update((n) => n + 1)
          yield* lag.lock.unlock
          const a = yield* body
          yield* lag.lock.lock
          yield* lag.modeChangesInProgress.update((n) => n - 1)
          return a
        })
      : body

  /**
   * `mlx5_lag_rescan_devices_locked(ldev, enable)` (reps V2 3/7): the DISABLE_IB_ADEV flag of every
   * PF is written under `ldev->lock`, then one window with the lock dropped rescans them all. Before
   * that patch `mlx5_lag_add_devices` / `remove_devices` set the flag and rescan PF by PF under it.
   */
  const mlx5LagRescanDevicesLocked = (lag: Ldev, enable: boolean) =>
    Effect.gen(function* () {
      const pfs: Array<Dev> = []
      for (const pf of yield* membersOf(lag)) if (!(yield* pf.flags.disableAllAdev.get)) pfs.push(pf)
      if (!w.v.lagDropsLdevLock) {
        for (const pf of pfs) {
          yield* pf.flags.disableIbAdev.set(!enable)
          yield* aux.mlx5RescanDriversLocked(pf)
        }
        return
      }
      for (const pf of pfs) yield* pf.flags.disableIbAdev.set(!enable)
      yield* fn(
        "mlx5_lag_rescan_devices_locked",
        withLdevDropped(
          lag,
          Effect.forEach(pfs, (pf) => aux.mlx5RescanDriversLocked(pf), { discard: true })
        )
      )
    })

  /** `mlx5_lag_remove_devices()`: hide the IB aux devices on every PF and rescan. */
  const mlx5LagRemoveDevices = (lag: Ldev) => fn("mlx5_lag_remove_devices", mlx5LagRescanDevicesLocked(lag, false))

  /** `mlx5_lag_add_devices()`: unhide and rescan every PF. */
  const mlx5LagAddDevices = (lag: Ldev) => fn("mlx5_lag_add_devices", mlx5LagRescanDevicesLocked(lag, true))

  /**
   * Unhide (`enable`) or hide dev0's IB aux device and rescan it: reps V2 3/7's
   * `mlx5_lag_rescan_dev_locked()` (skips a DISABLE_ALL_ADEV device, flag written under `ldev->lock`,
   * rescan with the lock dropped); before it, open-coded in `mlx5_do_bond` / `enable_mpesw` (flag +
   * rescan under `ldev->lock`, no DISABLE_ALL_ADEV check).
   */
  const mlx5LagRescanDevLocked = (lag: Ldev, dev: Dev, enable: boolean) =>
    w.v.lagDropsLdevLock
      ? fn(
          "mlx5_lag_rescan_dev_locked",
          Effect.gen(function* () {
            if (yield* dev.flags.disableAllAdev.get) return
            yield* dev.flags.disableIbAdev.set(!enable)
            yield* withLdevDropped(lag, aux.mlx5RescanDriversLocked(dev))
          })
        )
      : Effect.gen(function* () {
          yield* dev.flags.disableIbAdev.set(!enable)
          yield* aux.mlx5RescanDriversLocked(dev)
        })

  /** The loop over the LAG PFs: each PF's E-Switch guard (patch 5 on) around `mlx5_eswitch_reload_ib_reps`. */
  const reloadIbRepsLoop = (lag: Ldev, skipDisableAll: boolean, stop: boolean) =>
    Effect.gen(function* () {
      let first = 0
      for (const pf of yield* membersOf(lag)) {
        if (skipDisableAll && (yield* pf.flags.disableAllAdev.get)) continue
        yield* registry.repsBlock(pf.esw)
        const ret = yield* registry.mlx5EswitchReloadIbReps(pf.esw)
        yield* registry.repsUnblock(pf.esw)
        if (ret !== 0) {
          if (stop) return ret
          first ||= ret
        }
      }
      return first
    })

  /**
   * Reload IB reps on every LAG PF; the caller holds the devcom write lock and `ldev->lock`. Patch
   * 1's `mlx5_lag_reload_ib_reps(ldev, flags)` stops at the first error (reps V2 on: unwind paths
   * continue); baseline's open-coded copies stop on activation and continue on unwind. Patch 5 on
   * brackets each PF with its guard. Reps V2 3/7 on (`mlx5_lag_reload_ib_reps_from_locked`): the
   * helper itself drops `ldev->lock` around the loop (`mlx5_lag_reload_ib_reps_unlocked`), so the
   * guard (`reps_lock`) is never taken under `ldev->lock` (order reps_lock → ldev->lock).
   */
  const mlx5LagReloadIbReps = (lag: Ldev, skipDisableAll: boolean, path: "activate" | "unwind"): Effect.Effect<number> => {
    const stop = path === "activate" || (w.v.lagReloadHelper && !w.v.lagReloadContOnFail)
    if (w.v.lagDropsLdevLock)
      return fn(
        "mlx5_lag_reload_ib_reps_from_locked",
        withLdevDropped(lag, fn("mlx5_lag_reload_ib_reps_unlocked", reloadIbRepsLoop(lag, skipDisableAll, stop)))
      )
    return fn(
      w.v.lagReloadHelper ? "mlx5_lag_reload_ib_reps" : "mlx5_eswitch_reload_ib_reps loop",
      reloadIbRepsLoop(lag, skipDisableAll, stop)
    )
  }

  /**
   * `mlx5_deactivate_lag()` / `mlx5_activate_lag()`: the firmware command, then `ldev->mode` and
   * `ldev->mode_flags` (under ldev->lock; not under the global `lag_lock`, which only the
   * `mlx5_lag_is_*` queries take: see above). A marked store [inferred]: a word-sized store, which
   * KCSAN assumes atomic.
   */
  const setLagMode = (lag: Ldev, mode: LagMode) =>
    Effect.andThen(step(w, "mlx5_cmd_exec", mode === "NONE" ? "DESTROY_LAG" : `CREATE_LAG(${mode})`), lag.mode.writeOnce(mode))

  /**
   * The activation `mlx5_do_bond` and `enable_mpesw` share (open-coded in both before the series;
   * post-merge `mlx5_lag_shared_fdb_create`) [devcom + ldev->lock]: remove the IB devices, activate
   * the LAG in `mode` with a shared FDB, unhide dev0's IB device, reload the IB reps; on a reload
   * error hide dev0's IB device again, deactivate, add the devices back and reload (unwind path).
   * Not a kernel function of its own before the merge, so no trace frame.
   */
  const sharedFdbCreate = (lag: Ldev, mode: LagMode): Effect.Effect<number> =>
    Effect.gen(function* () {
      const dev0 = (yield* lagP1(lag))!
      yield* mlx5LagRemoveDevices(lag)
      yield* fn("mlx5_activate_lag", setLagMode(lag, mode))
      yield* mlx5LagRescanDevLocked(lag, dev0, true)
      const err = yield* mlx5LagReloadIbReps(lag, false, "activate")
      if (err !== 0) {
        yield* mlx5LagRescanDevLocked(lag, dev0, false)
        yield* fn("mlx5_deactivate_lag", setLagMode(lag, "NONE"))
        yield* mlx5LagAddDevices(lag)
        yield* mlx5LagReloadIbReps(lag, false, "unwind")
      }
      return err
    })

  /** `mlx5_disable_lag()` [devcom + ldev->lock]: shared FDB: remove devices, deactivate, add devices, reload IB reps. */
  const mlx5DisableLag = (lag: Ldev): Effect.Effect<void> =>
    fn(
      "mlx5_disable_lag",
      Effect.gen(function* () {
        const shared = (yield* lag.mode.readOnce) !== "NONE"
        if (shared) yield* mlx5LagRemoveDevices(lag)
        yield* fn("mlx5_deactivate_lag", setLagMode(lag, "NONE"))
        if (!shared) return
        yield* mlx5LagAddDevices(lag)
        yield* mlx5LagReloadIbReps(lag, true, "unwind")
      })
    )

  /**
   * `mlx5_do_bond()` [devcom + ldev->lock]: activate shared-FDB LAG when the
   * bond wants it and both E-Switches are in switchdev, deactivate when not.
   */
  const mlx5DoBond = (lag: Ldev): Effect.Effect<void> =>
    fn(
      "mlx5_do_bond",
      Effect.gen(function* () {
        // idx = mlx5_lag_get_dev_index_by_seq(ldev, MLX5_LAG_P1); if (idx < 0) return;
        if ((yield* lagP1(lag)) === undefined) return
        const active = (yield* lag.mode.readOnce) !== "NONE"
        // do_bond = mlx5_lag_is_ready(ldev) && tracker.is_bonded && …: [inferred] not ready while a
        // port is missing from the ldev (a PF between its mlx5_lag_remove_mdev and _add_mdev has no
        // netdev either, so NDEVS_READY is clear).
        const members = yield* membersOf(lag)
        const bonded = (yield* lag.bonded.get) && members.length === lag.ports
        if (bonded && !active) {
          let shared = true
          for (const pf of members) if ((yield* pf.esw.mode.read) !== "OFFLOADS") shared = false
          if (!shared) return // [inferred] RoCE LAG (no representors) is not modelled
          yield* sharedFdbCreate(lag, "SHARED_FDB")
        } else if (!bonded && active) yield* mlx5DisableLag(lag)
      })
    )

  /**
   * `mlx5_do_bond_work()`: devcom trylock (requeue after 1 s on failure), then
   * `ldev->lock`; requeue while `mode_changes_in_progress`. The requeue of the
   * delayed work is modelled as the same thread sleeping 1 s and retrying.
   */
  const mlx5DoBondWork = (lag: Ldev): Effect.Effect<void> =>
    fn(
      "mlx5_do_bond_work",
      Effect.gen(function* () {
        // mlx5_lag_get_devcom_comp(ldev): the first port's HCA component, NULL (return) without one.
        // [inferred] looked up once, without the ldev->lock the C takes around the lookup.
        const first = (yield* membersOf(lag))[0]
        if (first === undefined) return
        const devcom = first.devcom
        while (true) {
          if (!(yield* fn("mlx5_devcom_comp_trylock", devcom.downWriteTrylock))) {
            yield* msleep(w, 1000)
            continue
          }
          yield* lag.lock.lock
          if ((yield* lag.modeChangesInProgress.get) > 0) {
            yield* lag.lock.unlock
            yield* devcom.upWrite
            yield* msleep(w, 1000)
            continue
          }
          yield* mlx5DoBond(lag)
          yield* lag.lock.unlock
          yield* devcom.upWrite
          return
        }
      })
    )

  /** `mlx5_lag_disable_change()`: devcom → ldev->lock → fence (+ disable an active LAG). */
  const mlx5LagDisableChange = (dev: Dev): Effect.Effect<void> =>
    Effect.gen(function* () {
      const lag = yield* dev.lag.get
      if (lag === undefined) return
      yield* fn(
        "mlx5_lag_disable_change",
        Effect.gen(function* () {
          yield* fn("mlx5_devcom_comp_lock", dev.devcom.downWrite)
          yield* lag.lock.lock
          yield* lag.modeChangesInProgress.update((n) => n + 1)
          if ((yield* lag.mode.readOnce) !== "NONE") yield* mlx5DisableLag(lag)
          yield* lag.lock.unlock
          yield* dev.devcom.upWrite
        })
      )
    })

  /** `mlx5_lag_enable_change()`: drop the fence; the bond work it queues is the scenario's bond thread. */
  const mlx5LagEnableChange = (dev: Dev): Effect.Effect<void> =>
    Effect.gen(function* () {
      const lag = yield* dev.lag.get
      if (lag === undefined) return
      yield* fn(
        "mlx5_lag_enable_change",
        Effect.gen(function* () {
          yield* lag.lock.lock
          yield* lag.modeChangesInProgress.update((n) => n - 1)
          yield* lag.lock.unlock
        })
      )
    })

  /**
   * `enable_mpesw()` (lag/mpesw.c) [devcom + ldev->lock]: LAG mode NONE (else -EINVAL); dev0's
   * E-Switch in switchdev and `mlx5_lag_check_prereq` (every PF's E-Switch in dev0's mode) (else
   * -EOPNOTSUPP; the capability bits and port count are assumed to allow it); the uplink metadata
   * (firmware); remove the IB devices, activate MPESW (shared FDB), unhide dev0's IB device, reload
   * the IB reps on every PF; a reload error unwinds as the C does. Reps V2 on
   * (`mlx5_lag_shared_fdb_create`): the same steps, with `ldev->lock` dropped around the rescans
   * and reloads (`lagDropsLdevLock`, the helpers above). The metadata is a firmware step only: the
   * `MLX5_DEV_EVENT_MULTIPORT_ESW` notifier's mlx5e handler is not modelled.
   */
  const enableMpesw = (lag: Ldev): Effect.Effect<number> =>
    fn(
      "enable_mpesw",
      Effect.gen(function* () {
        if ((yield* lag.mode.readOnce) !== "NONE") return -22
        const dev0 = yield* lagP1(lag)
        if (dev0 === undefined) return -22 // [inferred] no port left: mlx5_lag_check_prereq fails
        const mode0 = yield* dev0.esw.mode.read
        if (mode0 !== "OFFLOADS") return -95
        // mlx5_lag_check_prereq: every port present (a missing PF fails it [inferred]) and in dev0's mode.
        const members = yield* membersOf(lag)
        if (members.length !== lag.ports) return -95
        for (const pf of members) if ((yield* pf.esw.mode.read) !== mode0) return -95
        yield* step(w, "mlx5_mpesw_metadata_set", "uplink vport metadata")
        const err = yield* sharedFdbCreate(lag, "MPESW")
        if (err !== 0) yield* step(w, "mlx5_mpesw_metadata_cleanup", "uplink vport metadata")
        return err
      })
    )

  /** `disable_mpesw()` [devcom + ldev->lock]: only an MPESW LAG: the metadata, then `mlx5_disable_lag`. */
  const disableMpesw = (lag: Ldev): Effect.Effect<void> =>
    fn(
      "disable_mpesw",
      Effect.gen(function* () {
        if ((yield* lag.mode.readOnce) !== "MPESW") return
        yield* step(w, "mlx5_mpesw_metadata_cleanup", "uplink vport metadata")
        yield* mlx5DisableLag(lag)
      })
    )

  /**
   * `mlx5_mpesw_work()` on `ldev->wq`: `mlx5_lag_get_devcom_comp` (the first PF's HCA devcom, looked
   * up under `ldev->lock`), its write lock, `ldev->lock`; -EAGAIN while `mode_changes_in_progress`;
   * the op; unlock both; `complete()`. The C's early return without `complete()` when the lookup
   * finds no port (every PF has left the ldev) is modelled: the waiter then never wakes (the
   * post-merge tree's SD devcoms and port filter are not modelled).
   */
  const mlx5MpeswWork = (lag: Ldev, op: "enable" | "disable", result: Cell.Cell<number>, comp: Completion.Completion) =>
    fn(
      "mlx5_mpesw_work",
      Effect.gen(function* () {
        yield* lag.lock.lock
        const first = (yield* membersOf(lag))[0]
        yield* lag.lock.unlock
        if (first === undefined) return
        const devcom = first.devcom
        yield* fn("mlx5_devcom_comp_lock", devcom.downWrite)
        yield* lag.lock.lock
        if ((yield* lag.modeChangesInProgress.get) > 0) yield* result.set(-11)
        else if (op === "enable") yield* result.set(yield* enableMpesw(lag))
        else yield* disableMpesw(lag)
        yield* lag.lock.unlock
        yield* devcom.upWrite
        yield* comp.complete
      })
    )

  let mpeswWorks = 0
  /**
   * `mlx5_lag_mpesw_queue_work()`: no ldev → 0; the work item (its `kzalloc` is not a fault point),
   * `queue_work(ldev->wq)`, `wait_for_completion()` with whatever the caller holds (the devlink
   * param-set thread holds its PF's devlink lock), the work's result.
   */
  const mlx5LagMpeswQueueWork = (dev: Dev, op: "enable" | "disable"): Effect.Effect<number> =>
    fn(
      "mlx5_lag_mpesw_queue_work",
      Effect.gen(function* () {
        const ldev = yield* dev.lag.get
        if (ldev === undefined) return 0
        const n = ++mpeswWorks
        const alloc = <A>(make: Effect.Effect<A, never, Kernel>) => Effect.provideService(make, Kernel, w.kernel)
        const comp = yield* alloc(Completion.make(`mpesww#${n}->comp`, { lockClass: "&mpesww->comp" }))
        const result = yield* alloc(Cell.make(`mpesww#${n}->result`, 0, { hidden: true }))
        if (!(yield* ldev.wq.queueWork(Workqueue.work(`mlx5_mpesw_work#${n}`, mlx5MpeswWork(ldev, op, result, comp))))) return -22
        yield* fn("wait_for_completion", comp.wait)
        return yield* result.get
      })
    )

  /** `mlx5_lag_mpesw_enable()`. */
  const mlx5LagMpeswEnable = (dev: Dev): Effect.Effect<number> => fn("mlx5_lag_mpesw_enable", mlx5LagMpeswQueueWork(dev, "enable"))

  /** `mlx5_lag_mpesw_disable()`: void in the C, so its result is dropped. */
  const mlx5LagMpeswDisable = (dev: Dev): Effect.Effect<void> =>
    fn("mlx5_lag_mpesw_disable", Effect.asVoid(mlx5LagMpeswQueueWork(dev, "disable")))
  // -------------------------------------------------------------------------
  // LAG membership (lag/lag.c, post-merge kernel-patches/bpf @361f05d2): mlx5_load → mlx5_lag_add_mdev,
  // mlx5_unload → mlx5_lag_remove_mdev, under the caller's devlink lock and intf_state_mutex; the
  // devcom HCA component's PAIR / UNPAIR events mark and clear the ldev's master.

  /** `mlx5_lag_mark_master()` [ldev->lock]: MASTER on the member with the lowest `mlx5_get_dev_index`. */
  const mlx5LagMarkMaster = (lag: Ldev) =>
    Effect.gen(function* () {
      const slots = yield* lag.pfs.readOnce
      let best: number | undefined
      for (const [i, pf] of slots.entries()) if (pf !== undefined && (best === undefined || pf.index < slots[best]!.index)) best = i
      if (best !== undefined) yield* lag.master.writeOnce(best)
    })

  /**
   * `mlx5_lag_devcom_event(event, my_data, event_data)`: the HCA component's handler, run by
   * `mlx5_devcom_send_event` for each other registered PF (`peer`) with `comp->sem` held for write:
   * `ldev = mlx5_lag_dev(peer)` (none: return), then under `ldev->lock` PAIR marks the master once
   * every port is a member (and none is marked yet), UNPAIR clears the mark.
   */
  const mlx5LagDevcomEvent = (event: "PAIR" | "UNPAIR", peer: Dev) =>
    fn(
      "mlx5_lag_devcom_event",
      Effect.gen(function* () {
        const ldev = yield* peer.lag.get
        if (ldev === undefined) return
        yield* ldev.lock.lock
        if (event === "PAIR") {
          if ((yield* ldev.master.readOnce) === undefined && (yield* membersOf(ldev)).length === ldev.ports) yield* mlx5LagMarkMaster(ldev)
        } else yield* fn("mlx5_lag_clear_master", ldev.master.writeOnce(undefined))
        yield* ldev.lock.unlock
      })
    )

  /** `mlx5_devcom_send_event(dev->priv.hca_devcom_comp, event, …, dev)`: `down_write(&comp->sem)`, the handler for every other member, `up_write`. */
  const mlx5DevcomSendEvent = (dev: Dev, event: "PAIR" | "UNPAIR") =>
    call(
      w,
      "devcom",
      "mlx5_devcom_send_event",
      Effect.gen(function* () {
        yield* dev.devcom.downWrite
        for (const pos of yield* dev.hcaComp!.members.get) if (pos !== dev) yield* mlx5LagDevcomEvent(event, pos)
        yield* dev.devcom.upWrite
      })
    )

  /**
   * `mlx5_ldev_add_mdev(ldev, dev, 0)` [ldev->lock, or a fresh ldev]: the `lag_func` at the lowest
   * free xarray index (`xa_alloc`), `pf->dev = dev`, `dev->priv.lag = ldev`, the PORT mark, and the
   * PF's PORT_CHANGE EQ notifier (`mlx5_lag_mpesw_port_change_event`; the model has no port
   * events, so its registration is one step).
   */
  const mlx5LdevAddMdev = (lag: Ldev, dev: Dev) =>
    fn(
      "mlx5_ldev_add_mdev",
      Effect.gen(function* () {
        yield* lag.pfs.writeOnce(
          yield* Effect.map(lag.pfs.readOnce, (slots) => {
            const free = slots.indexOf(undefined)
            return free < 0 ? [...slots, dev] : slots.map((d, i) => (i === free ? dev : d))
          })
        )
        yield* dev.lag.set(lag)
        yield* step(w, "mlx5_eq_notifier_register", `${dev.name} port_change_nb`)
      })
    )

  /**
   * `mlx5_ldev_remove_mdev(ldev, dev)` [ldev->lock]: `mlx5_eq_notifier_unregister` of the PF's
   * PORT_CHANGE block (`atomic_notifier_chain_unregister`: `synchronize_rcu`, under `ldev->lock`),
   * `pf->dev = NULL`, `dev->priv.lag = NULL`, `xa_erase` (which drops the entry's marks, MASTER
   * included), `kfree(pf)`.
   */
  const mlx5LdevRemoveMdev = (lag: Ldev, dev: Dev) =>
    fn(
      "mlx5_ldev_remove_mdev",
      Effect.gen(function* () {
        const slots = yield* lag.pfs.readOnce
        const idx = slots.indexOf(dev)
        if (idx < 0) return
        yield* fn("mlx5_eq_notifier_unregister", w.rcu.synchronize)
        yield* dev.lag.set(undefined)
        yield* lag.pfs.writeOnce(slots.map((d, i) => (i === idx ? undefined : d)))
        if ((yield* lag.master.readOnce) === idx) yield* lag.master.writeOnce(undefined)
      })
    )

  let ldevs = 1
  /**
   * `mlx5_lag_dev_alloc(dev)`: a new ldev (its lock, mode NONE, `kref_init`, its ordered `ldev->wq`);
   * the netdev notifier registration and multipath init are not modelled.
   */
  const mlx5LagDevAlloc = () =>
    fn(
      "mlx5_lag_dev_alloc",
      Effect.provideService(
        Effect.suspend(() => makeLdev(`ldev#${++ldevs}`)),
        Kernel,
        w.kernel
      )
    )

  /**
   * `mlx5_ldev_put(ldev)`: `kref_put`; the last reference frees it (`mlx5_ldev_free`:
   * `destroy_workqueue(ldev->wq)` after the bond and speed works are cancelled — the model's bond
   * work is a scenario thread, so no cancel — then `kfree`, the ghost `freed`).
   */
  const mlx5LdevPut = (lag: Ldev) =>
    Effect.gen(function* () {
      const ref = (yield* lag.ref.readOnce) - 1
      yield* lag.ref.writeOnce(ref)
      if (ref > 0) return
      yield* fn(
        "mlx5_ldev_free",
        Effect.gen(function* () {
          yield* fn("destroy_workqueue", lag.wq.destroy)
          yield* lag.freed.set(true)
        })
      )
    })

  /**
   * `__mlx5_lag_dev_add_mdev(dev)` [HCA devcom comp lock]: the first other registered PF's ldev
   * (`mlx5_devcom_get_next_peer_data`, `mlx5_lag_dev(tmp_dev)`); none: allocate one and add `dev`
   * to it unlocked (no one else sees it yet); else under `ldev->lock`: −EAGAIN while
   * `mode_changes_in_progress`, otherwise take a reference and add.
   */
  const mlx5LagDevAddMdevLocked = (dev: Dev): Effect.Effect<number> =>
    fn(
      "__mlx5_lag_dev_add_mdev",
      Effect.gen(function* () {
        const tmpDev = (yield* dev.hcaComp!.members.get).find((d) => d !== dev)
        const found = tmpDev === undefined ? undefined : yield* tmpDev.lag.get
        if (found === undefined) {
          const fresh = yield* mlx5LagDevAlloc()
          yield* mlx5LdevAddMdev(fresh, dev)
          return 0
        }
        yield* found.lock.lock
        if ((yield* found.modeChangesInProgress.get) > 0) {
          yield* found.lock.unlock
          return -11
        }
        yield* found.ref.writeOnce((yield* found.ref.readOnce) + 1)
        yield* mlx5LdevAddMdev(found, dev)
        yield* found.lock.unlock
        return 0
      })
    )

  /**
   * `mlx5_lag_add_mdev(dev)` (from `mlx5_load`, devlink + intf_state_mutex held): nothing unless
   * `mlx5_lag_is_supported`; `mlx5_lag_register_hca_devcom_comp` (`devcom_alloc_comp_dev`:
   * `down_write(&comp->sem)`, `list_add_tail`, `up_write`; the global `comp_list_lock` around the
   * component lookup is not modelled, as for the ESW_OFFLOADS component); then
   * `recheck: mlx5_devcom_comp_lock; err = __mlx5_lag_dev_add_mdev(dev); mlx5_devcom_comp_unlock;
   * if (err) { msleep(100); goto recheck; }` — the −EAGAIN loop while a mode change holds
   * `mode_changes_in_progress` — and `mlx5_devcom_send_event(LAG_DEVCOM_PAIR)`.
   */
  const mlx5LagAddMdev = (dev: Dev): Effect.Effect<void> =>
    Effect.gen(function* () {
      const comp = dev.hcaComp
      if (comp === undefined) return // !mlx5_lag_is_supported(dev): a single-port device
      yield* fn(
        "mlx5_lag_add_mdev",
        Effect.gen(function* () {
          yield* call(
            w,
            "devcom",
            "mlx5_devcom_register_component",
            Effect.gen(function* () {
              yield* dev.devcom.downWrite
              yield* comp.members.update((l) => [...l, dev])
              yield* dev.devcom.upWrite
            })
          )
          while (true) {
            yield* call(w, "devcom", "mlx5_devcom_comp_lock", dev.devcom.downWrite)
            const err = yield* mlx5LagDevAddMdevLocked(dev)
            yield* call(w, "devcom", "mlx5_devcom_comp_unlock", dev.devcom.upWrite)
            if (err === 0) break
            yield* msleep(w, 100)
          }
          yield* mlx5DevcomSendEvent(dev, "PAIR")
        })
      )
    })

  /**
   * `mlx5_lag_remove_mdev(dev)` (from `mlx5_unload`, devlink + intf_state_mutex held): nothing
   * without an ldev; `recheck: mutex_lock(&ldev->lock); if (mode_changes_in_progress) { unlock;
   * msleep(100); goto recheck; }` — PF X's devlink held while it sleeps until every fence and
   * every dropped-`ldev->lock` window on the ldev has closed, another PF's mode set included —
   * then `mlx5_ldev_remove_mdev`, unlock, `mlx5_devcom_send_event(LAG_DEVCOM_UNPAIR)`,
   * `mlx5_lag_unregister_hca_devcom_comp` (`devcom_free_comp_dev`: `down_write(&comp->sem)`,
   * `list_del`, `up_write`; [inferred] the component itself is never freed: the last member's
   * `comp_list_lock` release path is not modelled), `mlx5_ldev_put`.
   */
  const mlx5LagRemoveMdev = (dev: Dev): Effect.Effect<void> =>
    Effect.gen(function* () {
      const ldev = yield* dev.lag.get
      if (ldev === undefined) return
      yield* fn(
        "mlx5_lag_remove_mdev",
        Effect.gen(function* () {
          while (true) {
            yield* ldev.lock.lock
            if ((yield* ldev.modeChangesInProgress.get) === 0) break
            yield* ldev.lock.unlock
            yield* msleep(w, 100)
          }
          yield* mlx5LdevRemoveMdev(ldev, dev)
          yield* ldev.lock.unlock
          yield* mlx5DevcomSendEvent(dev, "UNPAIR")
          yield* call(
            w,
            "devcom",
            "mlx5_devcom_unregister_component",
            Effect.gen(function* () {
              yield* dev.devcom.downWrite
              yield* dev.hcaComp!.members.update((l) => l.filter((d) => d !== dev))
              yield* dev.devcom.upWrite
            })
          )
          yield* mlx5LdevPut(ldev)
        })
      )
    })

  return {
    mlx5LagIsSharedFdb,
    mlx5LagIsActive,
    mlx5LagIsMaster,
    mlx5LagIsMpesw,
    mlx5LagForEachPeerMdev,
    mlx5LagReloadIbReps,
    mlx5DisableLag,
    mlx5DoBond,
    mlx5DoBondWork,
    mlx5LagDisableChange,
    mlx5LagEnableChange,
    mlx5LagMpeswEnable,
    mlx5LagMpeswDisable,
    mlx5LagAddMdev,
    mlx5LagRemoveMdev
  }
})

/**
 * The LAG (`struct mlx5_lag`, lag/lag.c, lag/mpesw.c) as a component.
 *
 * @example
 * ```ts
 * // const lag = yield* Lag
 * // yield* lag.mlx5DoBondWork(ldev)
 * ```
 * @category components
 * @since 0.4.0
 */
export class Lag extends Context.Service<Lag>()("@drvmodel/mlx5/Lag", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(Lag, make)
}
