/**
 * LAG (lag/lag.c, lag/mpesw.c): the E-Switch fence (`mlx5_lag_disable_change`
 * / `mlx5_lag_enable_change`), shared-FDB activation and deactivation with
 * their aux-device rescans and IB representor reloads, the bond work's
 * trylock-and-requeue, and MPESW enable. Transitions hold the devcom write
 * lock and `ldev->lock`; merged (reps V3 4/7) drops `ldev->lock` around the
 * rescans and reloads, gating re-entry with `mode_changes_in_progress`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { mlx5RescanDriversLocked } from "./aux.ts"
import { mlx5EswitchReloadIbReps, repsBlock, repsUnblock } from "./registry.ts"
import type { Dev, Lag, LagMode, World } from "./world.ts"
import { call, msleep, step } from "./world.ts"

const fn = <A, E, R>(w: World, name: string, body: Effect.Effect<A, E, R>) => call(w, "lag", name, body)

/**
 * Reps V2 3/7 = V3 4/7 `mlx5_lag_drop_lock_for_reps()` … `mlx5_lag_retake_lock_after_reps()`
 * [devcom write + ldev->lock]: raise `mode_changes_in_progress` (the gate device add/remove and the
 * bond work observe), drop `ldev->lock`, run `body`, retake it and lower the gate. Before that patch
 * `body` runs under the caller's `ldev->lock`.
 */
const withLdevDropped = <A>(w: World, lag: Lag, body: Effect.Effect<A>): Effect.Effect<A> =>
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
const mlx5LagRescanDevicesLocked = (w: World, lag: Lag, enable: boolean) =>
  Effect.gen(function* () {
    const pfs: Array<Dev> = []
    for (const pf of lag.pfs) if (!(yield* pf.flags.disableAllAdev.get)) pfs.push(pf)
    if (!w.v.lagDropsLdevLock) {
      for (const pf of pfs) {
        yield* pf.flags.disableIbAdev.set(!enable)
        yield* mlx5RescanDriversLocked(w, pf)
      }
      return
    }
    for (const pf of pfs) yield* pf.flags.disableIbAdev.set(!enable)
    yield* fn(
      w,
      "mlx5_lag_rescan_devices_locked",
      withLdevDropped(
        w,
        lag,
        Effect.forEach(pfs, (pf) => mlx5RescanDriversLocked(w, pf), { discard: true })
      )
    )
  })

/** `mlx5_lag_remove_devices()`: hide the IB aux devices on every PF and rescan. */
const mlx5LagRemoveDevices = (w: World, lag: Lag) => fn(w, "mlx5_lag_remove_devices", mlx5LagRescanDevicesLocked(w, lag, false))

/** `mlx5_lag_add_devices()`: unhide and rescan every PF. */
const mlx5LagAddDevices = (w: World, lag: Lag) => fn(w, "mlx5_lag_add_devices", mlx5LagRescanDevicesLocked(w, lag, true))

/**
 * Unhide (`enable`) or hide dev0's IB aux device and rescan it: reps V2 3/7's
 * `mlx5_lag_rescan_dev_locked()` (skips a DISABLE_ALL_ADEV device, flag written under `ldev->lock`,
 * rescan with the lock dropped); before it, open-coded in `mlx5_do_bond` / `enable_mpesw` (flag +
 * rescan under `ldev->lock`, no DISABLE_ALL_ADEV check).
 */
const mlx5LagRescanDevLocked = (w: World, lag: Lag, dev: Dev, enable: boolean) =>
  w.v.lagDropsLdevLock
    ? fn(
        w,
        "mlx5_lag_rescan_dev_locked",
        Effect.gen(function* () {
          if (yield* dev.flags.disableAllAdev.get) return
          yield* dev.flags.disableIbAdev.set(!enable)
          yield* withLdevDropped(w, lag, mlx5RescanDriversLocked(w, dev))
        })
      )
    : Effect.gen(function* () {
        yield* dev.flags.disableIbAdev.set(!enable)
        yield* mlx5RescanDriversLocked(w, dev)
      })

/** The loop over the LAG PFs: each PF's E-Switch guard (patch 5 on) around `mlx5_eswitch_reload_ib_reps`. */
const reloadIbRepsLoop = (w: World, lag: Lag, skipDisableAll: boolean, stop: boolean) =>
  Effect.gen(function* () {
    let first = 0
    for (const pf of lag.pfs) {
      if (skipDisableAll && (yield* pf.flags.disableAllAdev.get)) continue
      yield* repsBlock(w, pf.esw)
      const ret = yield* mlx5EswitchReloadIbReps(w, pf.esw)
      yield* repsUnblock(w, pf.esw)
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
export const mlx5LagReloadIbReps = (w: World, lag: Lag, skipDisableAll: boolean, path: "activate" | "unwind"): Effect.Effect<number> => {
  const stop = path === "activate" || (w.v.lagReloadHelper && !w.v.lagReloadContOnFail)
  if (w.v.lagDropsLdevLock)
    return fn(
      w,
      "mlx5_lag_reload_ib_reps_from_locked",
      withLdevDropped(w, lag, fn(w, "mlx5_lag_reload_ib_reps_unlocked", reloadIbRepsLoop(w, lag, skipDisableAll, stop)))
    )
  return fn(
    w,
    w.v.lagReloadHelper ? "mlx5_lag_reload_ib_reps" : "mlx5_eswitch_reload_ib_reps loop",
    reloadIbRepsLoop(w, lag, skipDisableAll, stop)
  )
}

/**
 * `mlx5_deactivate_lag()` / `mlx5_activate_lag()`: the firmware command, then `ldev->mode` (under
 * ldev->lock; the lockless `mlx5_lag_is_*` readers take the global `lag_lock` spinlock, not
 * modelled yet: marked accesses on both sides [inferred]).
 */
const setLagMode = (w: World, lag: Lag, mode: LagMode) =>
  Effect.andThen(step(w, "mlx5_cmd_exec", mode === "NONE" ? "DESTROY_LAG" : `CREATE_LAG(${mode})`), lag.mode.writeOnce(mode))

/** `mlx5_disable_lag()` [devcom + ldev->lock]: shared FDB: remove devices, deactivate, add devices, reload IB reps. */
export const mlx5DisableLag = (w: World, lag: Lag): Effect.Effect<void> =>
  fn(
    w,
    "mlx5_disable_lag",
    Effect.gen(function* () {
      const shared = (yield* lag.mode.readOnce) !== "NONE"
      if (shared) yield* mlx5LagRemoveDevices(w, lag)
      yield* fn(w, "mlx5_deactivate_lag", setLagMode(w, lag, "NONE"))
      if (!shared) return
      yield* mlx5LagAddDevices(w, lag)
      yield* mlx5LagReloadIbReps(w, lag, true, "unwind")
    })
  )

/**
 * `mlx5_do_bond()` [devcom + ldev->lock]: activate shared-FDB LAG when the
 * bond wants it and both E-Switches are in switchdev, deactivate when not.
 */
export const mlx5DoBond = (w: World, lag: Lag): Effect.Effect<void> =>
  fn(
    w,
    "mlx5_do_bond",
    Effect.gen(function* () {
      const active = (yield* lag.mode.readOnce) !== "NONE"
      const bonded = yield* lag.bonded.get
      if (bonded && !active) {
        let shared = true
        for (const pf of lag.pfs) if ((yield* pf.esw.mode.read) !== "OFFLOADS") shared = false
        if (!shared) return // [inferred] RoCE LAG (no representors) is not modelled
        const dev0 = lag.pfs[0]!
        yield* mlx5LagRemoveDevices(w, lag)
        yield* fn(w, "mlx5_activate_lag", setLagMode(w, lag, "SHARED_FDB"))
        yield* mlx5LagRescanDevLocked(w, lag, dev0, true)
        const err = yield* mlx5LagReloadIbReps(w, lag, false, "activate")
        if (err !== 0) {
          yield* mlx5LagRescanDevLocked(w, lag, dev0, false)
          yield* fn(w, "mlx5_deactivate_lag", setLagMode(w, lag, "NONE"))
          yield* mlx5LagAddDevices(w, lag)
          yield* mlx5LagReloadIbReps(w, lag, false, "unwind")
        }
      } else if (!bonded && active) yield* mlx5DisableLag(w, lag)
    })
  )

/**
 * `mlx5_do_bond_work()`: devcom trylock (requeue after 1 s on failure), then
 * `ldev->lock`; requeue while `mode_changes_in_progress`. The requeue of the
 * delayed work is modelled as the same thread sleeping 1 s and retrying.
 */
export const mlx5DoBondWork = (w: World, lag: Lag): Effect.Effect<void> =>
  fn(
    w,
    "mlx5_do_bond_work",
    Effect.gen(function* () {
      const devcom = lag.pfs[0]!.devcom
      while (true) {
        if (!(yield* fn(w, "mlx5_devcom_comp_trylock", devcom.downWriteTrylock))) {
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
        yield* mlx5DoBond(w, lag)
        yield* lag.lock.unlock
        yield* devcom.upWrite
        return
      }
    })
  )

/** `mlx5_lag_disable_change()`: devcom → ldev->lock → fence (+ disable an active LAG). */
export const mlx5LagDisableChange = (w: World, dev: Dev): Effect.Effect<void> => {
  const lag = dev.lag
  if (lag === undefined) return Effect.void
  return fn(
    w,
    "mlx5_lag_disable_change",
    Effect.gen(function* () {
      yield* fn(w, "mlx5_devcom_comp_lock", dev.devcom.downWrite)
      yield* lag.lock.lock
      yield* lag.modeChangesInProgress.update((n) => n + 1)
      if ((yield* lag.mode.readOnce) !== "NONE") yield* mlx5DisableLag(w, lag)
      yield* lag.lock.unlock
      yield* dev.devcom.upWrite
    })
  )
}

/** `mlx5_lag_enable_change()`: drop the fence; the bond work it queues is the scenario's bond thread. */
export const mlx5LagEnableChange = (w: World, dev: Dev): Effect.Effect<void> => {
  const lag = dev.lag
  if (lag === undefined) return Effect.void
  return fn(
    w,
    "mlx5_lag_enable_change",
    Effect.gen(function* () {
      yield* lag.lock.lock
      yield* lag.modeChangesInProgress.update((n) => n - 1)
      yield* lag.lock.unlock
    })
  )
}

/**
 * `mlx5_mpesw_work()` → `enable_mpesw()` [devcom + ldev->lock]: remove
 * devices, activate MPESW (shared FDB), unhide dev0's IB device, reload IB
 * reps on every PF.
 */
export const mlx5MpeswWorkEnable = (w: World, lag: Lag): Effect.Effect<number> =>
  fn(
    w,
    "mlx5_mpesw_work",
    Effect.gen(function* () {
      const devcom = lag.pfs[0]!.devcom
      yield* fn(w, "mlx5_devcom_comp_lock", devcom.downWrite)
      yield* lag.lock.lock
      let err = -11
      if ((yield* lag.modeChangesInProgress.get) === 0 && (yield* lag.mode.readOnce) === "NONE") {
        err = yield* fn(
          w,
          "enable_mpesw",
          Effect.gen(function* () {
            const dev0 = lag.pfs[0]!
            yield* mlx5LagRemoveDevices(w, lag)
            yield* fn(w, "mlx5_activate_lag", setLagMode(w, lag, "MPESW"))
            yield* mlx5LagRescanDevLocked(w, lag, dev0, true)
            return yield* mlx5LagReloadIbReps(w, lag, false, "activate")
          })
        )
      }
      yield* lag.lock.unlock
      yield* devcom.upWrite
      return err
    })
  )
