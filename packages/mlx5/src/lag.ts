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
import { call, msleep, Run, step } from "./world.ts"

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

  /** A query of `ldev` (`mlx5_lag_dev(dev)`; `false` without one) under `lag_lock`. */
  const query = (name: string, dev: Dev, answer: (mode: LagMode, ldev: Ldev) => boolean): Effect.Effect<boolean> =>
    fn(
      name,
      underLagLock(
        Effect.suspend(() => {
          const ldev = dev.lag
          return ldev === undefined ? Effect.succeed(false) : Effect.map(ldev.mode.readOnce, (m) => answer(m, ldev))
        })
      )
    )

  /** `mlx5_lag_is_shared_fdb()` [lag_lock]: `test_bit(MLX5_LAG_MODE_FLAG_SHARED_FDB, &ldev->mode_flags)`. */
  const mlx5LagIsSharedFdb = (dev: Dev) => query("mlx5_lag_is_shared_fdb", dev, (m) => m !== "NONE")

  /** `mlx5_lag_is_active()` [lag_lock]: `ldev && __mlx5_lag_is_active(ldev)` (`ldev->mode != MLX5_LAG_MODE_NONE`). */
  const mlx5LagIsActive = (dev: Dev) => query("mlx5_lag_is_active", dev, (m) => m !== "NONE")

  /**
   * `mlx5_lag_is_master()` [lag_lock]: the LAG is active and `dev` is its first port (`MLX5_LAG_P1`:
   * the model's `pfs[0]`). An inactive LAG has no master: a caller that saw shared FDB a moment
   * before then takes its device for a slave.
   */
  const mlx5LagIsMaster = (dev: Dev) => query("mlx5_lag_is_master", dev, (m, ldev) => m !== "NONE" && ldev.pfs[0] === dev)

  /** `mlx5_lag_is_mpesw()` (lag/mpesw.c, which cannot take lag.c's static `lag_lock`): `ldev && ldev->mode == MLX5_LAG_MODE_MPESW`, no lock. */
  const mlx5LagIsMpesw = (dev: Dev): Effect.Effect<boolean> =>
    fn(
      "mlx5_lag_is_mpesw",
      Effect.suspend(() => {
        const ldev = dev.lag
        return ldev === undefined ? Effect.succeed(false) : Effect.map(ldev.mode.readOnce, (m) => m === "MPESW")
      })
    )

  /**
   * `mlx5_lag_for_each_peer_mdev(dev, peer, i)` over `peers` (dev's peers, as the caller's walk sees
   * them): each step is a `mlx5_lag_get_next_peer_mdev()` call under `lag_lock`, the last one
   * returning NULL. (The model's LAG membership is fixed while a scenario runs:
   * `mlx5_ldev_add/remove_mdev` are not modelled.)
   */
  const mlx5LagForEachPeerMdev = (peers: ReadonlyArray<Dev>, body: (peer: Dev) => Effect.Effect<void>): Effect.Effect<void> =>
    Effect.gen(function* () {
      for (let i = 0; ; i++) {
        const peer = yield* fn("mlx5_lag_get_next_peer_mdev", underLagLock(Effect.sync(() => peers[i])))
        if (peer === undefined) return
        yield* body(peer)
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
      for (const pf of lag.pfs) if (!(yield* pf.flags.disableAllAdev.get)) pfs.push(pf)
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
      for (const pf of lag.pfs) {
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
      const dev0 = lag.pfs[0]!
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
        const active = (yield* lag.mode.readOnce) !== "NONE"
        const bonded = yield* lag.bonded.get
        if (bonded && !active) {
          let shared = true
          for (const pf of lag.pfs) if ((yield* pf.esw.mode.read) !== "OFFLOADS") shared = false
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
        const devcom = lag.pfs[0]!.devcom
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
  const mlx5LagDisableChange = (dev: Dev): Effect.Effect<void> => {
    const lag = dev.lag
    if (lag === undefined) return Effect.void
    return fn(
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
  }

  /** `mlx5_lag_enable_change()`: drop the fence; the bond work it queues is the scenario's bond thread. */
  const mlx5LagEnableChange = (dev: Dev): Effect.Effect<void> => {
    const lag = dev.lag
    if (lag === undefined) return Effect.void
    return fn(
      "mlx5_lag_enable_change",
      Effect.gen(function* () {
        yield* lag.lock.lock
        yield* lag.modeChangesInProgress.update((n) => n - 1)
        yield* lag.lock.unlock
      })
    )
  }

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
        const dev0 = lag.pfs[0]!
        const mode0 = yield* dev0.esw.mode.read
        if (mode0 !== "OFFLOADS") return -95
        for (const pf of lag.pfs) if ((yield* pf.esw.mode.read) !== mode0) return -95
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
   * finds no devcom is not reachable here (both PFs stay in the LAG; the post-merge tree's SD
   * devcoms and port filter are not modelled).
   */
  const mlx5MpeswWork = (lag: Ldev, op: "enable" | "disable", result: Cell.Cell<number>, comp: Completion.Completion) =>
    fn(
      "mlx5_mpesw_work",
      Effect.gen(function* () {
        yield* lag.lock.lock
        const devcom = lag.pfs[0]!.devcom
        yield* lag.lock.unlock
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
        const ldev = dev.lag
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
    mlx5LagMpeswDisable
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
