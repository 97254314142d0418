/**
 * The E-Switch (eswitch.c, eswitch_offloads.c): mode, enable / disable /
 * disable_sriov / cleanup, the devlink mode-set command and esw_mode_change,
 * vport load/unload, the function-change (VF count) notifier and the work
 * queue with its generation counter. Each function is named after its kernel
 * counterpart; variant flags are consulted where domain.md §4 puts each rule.
 *
 * @since 0.1.0
 */
import { Irq, Kernel, LockContract, Workqueue } from "@drvmodel/core"
import { Effect } from "effect"
import { mlx5RescanDriversLocked } from "./aux.ts"
import { bumpGeneration, currentUnderLock, mergedInvalidate, mlx5EswAddWork, v1Bump } from "./esw_wq.ts"
import { mlx5LagDisableChange, mlx5LagEnableChange } from "./lag.ts"
import { type DevlinkHeld, DevlinkLock, locked, type RepsHeld } from "./locks.ts"
import { mlx5EswOffloadsRepLoad, mlx5EswOffloadsRepUnload, repsBlock, repsGuard, repsUnblock } from "./registry.ts"
import type { AsyncEq, Esw, HostWork, Mode, Notifier, VportId, World } from "./world.ts"
import { call, injectFault, step, VF_VPORTS } from "./world.ts"

const fn = <A, E, R>(w: World, name: string, body: Effect.Effect<A, E, R>) => call(w, "eswitch", name, body)

// ---------------------------------------------------------------------------
// EQ notifier chain (kernel/notifier.c's atomic notifier on the core RCU domain)
//
// `mlx5_eq_notifier_register/unregister()` (eq.c) are `atomic_notifier_chain_register/unregister()`
// on `eqt->nh[nb->event_type]`. The firmware's EQE raises the device's control IRQ; in hard-irq
// context `irq_int_handler()` (pci_irq.c) walks the IRQ's chain (`atomic_notifier_call_chain(&irq->nh)`)
// to `mlx5_eq_async_int()` (eq.c), which takes `eq->lock` (`spin_lock`) and walks
// `eqt->nh[eqe->type]` with `atomic_notifier_call_chain()` for each EQE. The handler runs as an
// interrupt (core `Irq`, a hardirq task on the EQ's CPU), so everything under it is atomic context.
// The chain's writers hold its spinlock (`nh->lock`, `spin_lock_irqsave`) around the one pointer
// update (core `Spinlock`); the walk never takes it: readers are RCU's.

/** `mlx5_eq_notifier_register()` = `atomic_notifier_chain_register()`: publish the block on the chain under `spin_lock_irqsave(&nh->lock)`. */
export const eqNotifierRegister = (w: World, nb: Notifier, epoch: number) =>
  call(
    w,
    "eq",
    "mlx5_eq_notifier_register",
    call(
      w,
      "notifier",
      "atomic_notifier_chain_register",
      Effect.gen(function* () {
        const flags = yield* nb.lock.lockIrqsave
        yield* nb.epoch.set(epoch) // ghost: which configuration this registration belongs to
        // notifier_chain_register(): rcu_assign_pointer(*nl, n)
        yield* nb.head.assign(nb.block)
        yield* nb.lock.unlockIrqrestore(flags)
      })
    )
  )

/**
 * `mlx5_eq_notifier_unregister()` = `atomic_notifier_chain_unregister()`: unpublish the block
 * (`spin_lock_irqsave(&nh->lock)`), then `synchronize_rcu()`: every walk that may still see the block has ended.
 */
export const eqNotifierUnregister = (w: World, nb: Notifier) =>
  call(
    w,
    "eq",
    "mlx5_eq_notifier_unregister",
    call(
      w,
      "notifier",
      "atomic_notifier_chain_unregister",
      Effect.gen(function* () {
        const flags = yield* nb.lock.lockIrqsave
        // notifier_chain_unregister(): rcu_assign_pointer(*nl, n->next)
        yield* nb.head.assign(null)
        yield* nb.lock.unlockIrqrestore(flags)
        yield* w.rcu.synchronize
      })
    )
  )

/**
 * `atomic_notifier_call_chain(&eqt->nh[ESW_FUNCTIONS_CHANGED])` as `mlx5_eq_async_int()` calls it:
 * `rcu_read_lock()`, `rcu_dereference` of the chain head, the block's `notifier_call` (`handler`),
 * `rcu_read_unlock()`. The handler learns which registration (epoch) delivered the event in the
 * dereference's step: read any later, a re-registration in between would be mislabelled.
 */
export const eqNotifierCallChain = (w: World, nb: Notifier, handler: (epoch: number) => Effect.Effect<void>) =>
  call(
    w,
    "notifier",
    "atomic_notifier_call_chain",
    Effect.gen(function* () {
      yield* w.rcu.readLock
      // notifier_call_chain(): nb = rcu_dereference_raw(*nl)
      const block = yield* nb.head.dereference
      if (block !== null) {
        const epoch = yield* nb.epoch.get
        yield* block.read // nb->notifier_call
        yield* handler(epoch)
      }
      yield* w.rcu.readUnlock
    })
  )

/**
 * `mlx5_eq_async_int()` (the async EQ's `irq_nb.notifier_call`) for one ESW_FUNCTIONS_CHANGED EQE:
 * `spin_lock(&eq->lock)`, the walk of `eqt->nh[eqe->type]`, `eq_update_ci(eq, 1)`, `spin_unlock`.
 * [inferred] The second walk, of `eqt->nh[MLX5_EVENT_TYPE_NOTIFY_ANY]`, is left out: no block on
 * it is modelled (an empty walk touches nothing the model shares but the RCU domain).
 */
const mlx5EqAsyncInt = (w: World, eq: AsyncEq, nb: Notifier, handler: (epoch: number) => Effect.Effect<void>) =>
  call(
    w,
    "eq",
    "mlx5_eq_async_int",
    Effect.gen(function* () {
      yield* eq.lock.lock // mlx5_eq_async_int_lock(): not recovery, so spin_lock
      yield* eqNotifierCallChain(w, nb, handler)
      yield* eq.lock.unlock
    })
  )

/**
 * The async EQ's interrupt: `irq_int_handler()` → `atomic_notifier_call_chain(&irq->nh)` (an RCU
 * read-side section of its own around the EQ's `irq_nb`) → `mlx5_eq_async_int()`. Runs as a hard
 * interrupt on the EQ's CPU. [inferred] The IRQ's chain always holds the EQ's block in the model
 * (`mlx5_eq_enable` / `mlx5_eq_disable` are outside every scenario), so its head is not a pointer here.
 */
export const eqInterrupt = (w: World, eq: AsyncEq, nb: Notifier, handler: (epoch: number) => Effect.Effect<void>) =>
  Effect.provideService(
    Irq.raise(
      eq.irqName,
      { cpu: eq.cpu, kind: "hardirq" },
      call(
        w,
        "irq",
        "irq_int_handler",
        call(
          w,
          "notifier",
          "atomic_notifier_call_chain",
          Effect.gen(function* () {
            yield* w.rcu.readLock
            yield* mlx5EqAsyncInt(w, eq, nb, handler)
            yield* w.rcu.readUnlock
          })
        )
      )
    ),
    Kernel,
    w.kernel
  )

/** `mlx5_esw_query_functions()`: a firmware command returning the host VF count. */
const mlx5EswQueryFunctions = (w: World, esw: Esw) =>
  Effect.andThen(
    w.kernel.point<void>({
      name: "mlx5_cmd_exec",
      label: "mlx5_cmd_exec(QUERY_ESW_FUNCTIONS)",
      apply: () => undefined
    }),
    esw.dev.fw.hostNumVfs.readOnce
  )

/** The VF-count change itself, with the devlink lock held (both generations of the code). */
const vfsChanged = (w: World, esw: Esw, newNumVfs: number) =>
  Effect.gen(function* () {
    if (newNumVfs === (yield* esw.numVfs.get)) return
    yield* repsBlock(w, esw)
    // Number of VFs can only change from "0 to x" or "x to 0". (The C reads num_vfs again here.)
    const numVfs = yield* esw.numVfs.get
    if (numVfs > 0) yield* mlx5EswitchUnloadVfVports(w, esw, numVfs)
    else {
      const err = yield* mlx5EswitchLoadVfVports(w, esw, newNumVfs)
      if (err !== 0) {
        yield* repsUnblock(w, esw)
        return
      }
    }
    yield* esw.numVfs.set(newNumVfs)
    yield* repsUnblock(w, esw)
  })

/** Patch 3+ `esw_vfs_changed_event_handler(esw)`: runs from esw_wq_handler with the devlink lock held. */
const eswVfsChangedEventHandler = (w: World, esw: Esw) =>
  fn(
    w,
    "esw_vfs_changed_event_handler",
    Effect.gen(function* () {
      const n = yield* mlx5EswQueryFunctions(w, esw)
      yield* vfsChanged(w, esw, n)
    })
  )

/** Baseline `esw_functions_changed_event_handler()` work: query FW, then `esw_vfs_changed_event_handler(esw, work_gen, out)`. */
const eswFunctionsChangedEventHandler = (w: World, esw: Esw, item: HostWork) =>
  fn(
    w,
    "esw_functions_changed_event_handler",
    Effect.gen(function* () {
      const n = yield* mlx5EswQueryFunctions(w, esw)
      yield* fn(
        w,
        "esw_vfs_changed_event_handler",
        Effect.gen(function* () {
          yield* esw.dev.devlink.lock // blocking devl_lock: the staleness check is after it (defect a)
          if (yield* currentUnderLock(w, esw, item)) yield* vfsChanged(w, esw, n)
          yield* esw.dev.devlink.unlock
        })
      )
    })
  )

/**
 * `mlx5_esw_funcs_changed_handler()`: the ESW_FUNCTIONS_CHANGED EQ notifier (atomic context).
 * `epoch` (ghost state, for the invariants only) is the registration that delivered the event.
 */
export const mlx5EswFuncsChangedHandler = (w: World, esw: Esw, epoch: number): Effect.Effect<void> =>
  fn(
    w,
    "mlx5_esw_funcs_changed_handler",
    w.v.wqDispatch
      ? // if (mlx5_esw_add_work(esw, esw_changed_event_handler, GFP_ATOMIC)) return NOTIFY_DONE: the event is lost
        Effect.asVoid(mlx5EswAddWork(w, esw, "esw_vfs_changed_event_handler", eswVfsChangedEventHandler(w, esw), "GFP_ATOMIC", epoch))
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
            Workqueue.work("esw_functions_changed_event_handler", eswFunctionsChangedEventHandler(w, esw, item))
          )
        })
  )

/** The firmware raising ESW_FUNCTIONS_CHANGED after the host changed its VF count. */
export const firmwareHostVfsChanged = (w: World, esw: Esw, hostNumVfs: number): Effect.Effect<void> =>
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
        yield* eqInterrupt(w, eq, esw.funcsNb, (epoch) => mlx5EswFuncsChangedHandler(w, esw, epoch))
      }
    })
  )

// ---------------------------------------------------------------------------
// Vports

const vportEnable = (w: World, esw: Esw, vp: VportId) =>
  fn(w, "mlx5_esw_vport_enable", Effect.andThen(step(w, "mlx5_cmd_exec", `MODIFY_VPORT(${vp}, enable)`), esw.enabled[vp].set(true)))
const vportDisable = (w: World, esw: Esw, vp: VportId) =>
  fn(w, "mlx5_esw_vport_disable", Effect.andThen(step(w, "mlx5_cmd_exec", `MODIFY_VPORT(${vp}, disable)`), esw.enabled[vp].set(false)))

/** `mlx5_eswitch_load_pf_vf_vport()` / `mlx5_eswitch_load_sf_vport()`: enable, then (OFFLOADS) load its reps. */
export const mlx5EswitchLoadVport = (w: World, esw: Esw, vp: VportId): Effect.Effect<number> =>
  fn(
    w,
    vp === "sf1" ? "mlx5_eswitch_load_sf_vport" : "mlx5_eswitch_load_pf_vf_vport",
    Effect.gen(function* () {
      yield* vportEnable(w, esw, vp)
      if ((yield* esw.mode.read) !== "OFFLOADS") return 0
      const err = yield* mlx5EswOffloadsRepLoad(w, esw, vp)
      if (err !== 0) yield* vportDisable(w, esw, vp)
      return err
    })
  )

/** `mlx5_eswitch_unload_pf_vf_vport()` / `mlx5_eswitch_unload_sf_vport()`. */
export const mlx5EswitchUnloadVport = (w: World, esw: Esw, vp: VportId): Effect.Effect<void> =>
  fn(
    w,
    vp === "sf1" ? "mlx5_eswitch_unload_sf_vport" : "mlx5_eswitch_unload_pf_vf_vport",
    Effect.gen(function* () {
      if (!(yield* esw.enabled[vp].get)) return
      if ((yield* esw.mode.read) === "OFFLOADS") yield* mlx5EswOffloadsRepUnload(w, esw, vp)
      yield* vportDisable(w, esw, vp)
    })
  )

/** `mlx5_eswitch_load_vf_vports()`: on a failure, unload the VF vports again. */
export const mlx5EswitchLoadVfVports = (w: World, esw: Esw, n: number): Effect.Effect<number> =>
  fn(
    w,
    "mlx5_eswitch_load_vf_vports",
    Effect.gen(function* () {
      for (const vp of VF_VPORTS.slice(0, n)) {
        const err = yield* mlx5EswitchLoadVport(w, esw, vp)
        if (err !== 0) {
          yield* mlx5EswitchUnloadVfVports(w, esw, n)
          return err
        }
      }
      return 0
    })
  )

/** `mlx5_eswitch_unload_vf_vports()`. */
export const mlx5EswitchUnloadVfVports = (w: World, esw: Esw, n: number): Effect.Effect<void> =>
  fn(
    w,
    "mlx5_eswitch_unload_vf_vports",
    Effect.forEach([...VF_VPORTS.slice(0, n)].reverse(), (vp) => mlx5EswitchUnloadVport(w, esw, vp), { discard: true })
  )

// ---------------------------------------------------------------------------
// Enable / disable

/** `esw_offloads_enable()`: steering, uplink rep first, then PF/VF vports. */
const eswOffloadsEnable = (w: World, esw: Esw) =>
  fn(
    w,
    "esw_offloads_enable",
    Effect.gen(function* () {
      yield* step(w, "mlx5_cmd_exec", "esw_offloads_steering_init")
      // err = esw_offloads_steering_init(esw); if (err) goto err_steering_init; — nothing of the
      // representors is touched yet; the labels below it only undo steering state (not modelled).
      // [inferred] -EIO stands for whatever status the firmware returned.
      if (yield* injectFault(w, "fw-cmd", `${esw.name}: mlx5_cmd_exec(esw_offloads_steering_init) fails (-EIO)`)) return -5
      let err = yield* mlx5EswOffloadsRepLoad(w, esw, "uplink")
      if (err !== 0) return err
      yield* esw.enabled.uplink.set(true)
      err = yield* fn(w, "mlx5_eswitch_enable_pf_vf_vports", mlx5EswitchLoadVfVports(w, esw, yield* esw.numVfs.get))
      if (err !== 0) {
        yield* esw.enabled.uplink.set(false)
        yield* mlx5EswOffloadsRepUnload(w, esw, "uplink")
      }
      return err
    })
  )

/**
 * `esw_offloads_disable()`: disable PF/VF vports (their reps unloaded), then
 * the uplink rep. [inferred] an SF vport still enabled is unloaded here too.
 */
const eswOffloadsDisable = (w: World, esw: Esw) =>
  fn(
    w,
    "esw_offloads_disable",
    Effect.gen(function* () {
      yield* fn(w, "mlx5_eswitch_disable_pf_vf_vports", mlx5EswitchUnloadVfVports(w, esw, VF_VPORTS.length))
      yield* mlx5EswitchUnloadVport(w, esw, "sf1")
      yield* mlx5EswOffloadsRepUnload(w, esw, "uplink")
      yield* esw.enabled.uplink.set(false)
      yield* step(w, "mlx5_cmd_exec", "esw_offloads_steering_cleanup")
    })
  )

/** `mlx5_eswitch_enable_locked()` [devlink]: create the FDB for the current mode, register the functions notifier (ECPF, OFFLOADS). */
export const mlx5EswitchEnableLocked = (w: World, esw: Esw, numVfs: number | "IGNORE"): Effect.Effect<number, never, DevlinkHeld> =>
  locked(
    w,
    "eswitch",
    "mlx5_eswitch_enable_locked",
    DevlinkLock,
    esw.dev.devlink.id,
    Effect.gen(function* () {
      yield* step(w, "mlx5_cmd_exec", "esw_acl_ns_init")
      if (numVfs !== "IGNORE") yield* esw.numVfs.set(numVfs)
      const mode = yield* esw.mode.read
      const err =
        mode === "OFFLOADS"
          ? yield* eswOffloadsEnable(w, esw)
          : yield* fn(w, "esw_legacy_enable", mlx5EswitchLoadVfVports(w, esw, yield* esw.numVfs.get))
      if (err !== 0) return err
      yield* esw.fdbCreated.set(true)
      if (mode === "OFFLOADS" && esw.funcsNb)
        yield* fn(w, "mlx5_eswitch_event_handler_register", eqNotifierRegister(w, esw.funcsNb, yield* esw.teardownEpoch.get))
      return 0
    })
  )

/** `mlx5_eswitch_event_handler_unregister()`: baseline bumps `esw_funcs.generation` after unregistering. */
const eventHandlerUnregister = (w: World, esw: Esw) =>
  fn(
    w,
    "mlx5_eswitch_event_handler_unregister",
    Effect.gen(function* () {
      if (esw.funcsNb === undefined || (yield* esw.mode.read) !== "OFFLOADS") return
      yield* eqNotifierUnregister(w, esw.funcsNb)
      if (w.v.generationBumps === "baseline") yield* bumpGeneration(w, esw, "mlx5_eswitch_event_handler_unregister")
    })
  )

/** `mlx5_eswitch_disable_locked()` [devlink]: notifiers off, then tear down the FDB. */
export const mlx5EswitchDisableLocked = (w: World, esw: Esw): Effect.Effect<void, never, DevlinkHeld> =>
  locked(
    w,
    "eswitch",
    "mlx5_eswitch_disable_locked",
    DevlinkLock,
    esw.dev.devlink.id,
    Effect.gen(function* () {
      yield* esw.teardownEpoch.update((n) => n + 1) // ghost: the configuration's teardown begins
      yield* eventHandlerUnregister(w, esw)
      yield* mergedInvalidate(w, esw) // merged: after the notifiers are unregistered
      if (yield* esw.fdbCreated.get) {
        yield* esw.fdbCreated.set(false)
        if ((yield* esw.mode.read) === "OFFLOADS") yield* eswOffloadsDisable(w, esw)
        else yield* fn(w, "esw_legacy_disable", mlx5EswitchUnloadVfVports(w, esw, VF_VPORTS.length))
      }
    })
  )

/** `mlx5_eswitch_enable()` [devlink asserted]: SR-IOV enable and load paths. */
export const mlx5EswitchEnable = (w: World, esw: Esw, numVfs: number): Effect.Effect<number, never, DevlinkHeld> =>
  locked(
    w,
    "eswitch",
    "mlx5_eswitch_enable",
    DevlinkLock,
    esw.dev.devlink.id,
    Effect.gen(function* () {
      yield* fn(w, "devl_assert_locked", esw.dev.devlink.assertHeld)
      const toggleLag = !(yield* esw.fdbCreated.get)
      if (toggleLag) yield* mlx5LagDisableChange(w, esw.dev)
      yield* v1Bump(w, esw)
      yield* mergedInvalidate(w, esw)
      yield* repsBlock(w, esw)
      let ret = 0
      if (!(yield* esw.fdbCreated.get)) ret = yield* mlx5EswitchEnableLocked(w, esw, numVfs)
      else if (!esw.dev.isEcpf) {
        ret = yield* mlx5EswitchLoadVfVports(w, esw, numVfs)
        if (ret === 0) yield* esw.numVfs.set(numVfs)
      } // ECPF: num_vfs would be EC VFs, not modelled
      yield* repsUnblock(w, esw)
      if (toggleLag) yield* mlx5LagEnableChange(w, esw.dev)
      return ret
    })
  )

/** `mlx5_eswitch_disable_sriov()` [devlink asserted]. */
export const mlx5EswitchDisableSriov = (w: World, esw: Esw, clearVf: boolean): Effect.Effect<void, never, DevlinkHeld> =>
  locked(
    w,
    "eswitch",
    "mlx5_eswitch_disable_sriov",
    DevlinkLock,
    esw.dev.devlink.id,
    Effect.gen(function* () {
      yield* fn(w, "devl_assert_locked", esw.dev.devlink.assertHeld)
      // "If driver is unloaded, this function is called twice by remove_one() and
      // mlx5_unload(). Prevent the second call." (num_ec_vfs: EC VFs are not modelled)
      if ((yield* esw.numVfs.get) === 0 && !clearVf) return
      yield* esw.teardownEpoch.update((n) => n + 1)
      yield* v1Bump(w, esw)
      yield* mergedInvalidate(w, esw)
      yield* repsBlock(w, esw)
      if (!esw.dev.isEcpf) yield* mlx5EswitchUnloadVfVports(w, esw, yield* esw.numVfs.get)
      yield* repsUnblock(w, esw)
      if ((yield* esw.mode.read) === "LEGACY") yield* mlx5EswitchDisableLocked(w, esw)
      if (!esw.dev.isEcpf) yield* esw.numVfs.set(0)
    })
  )

/** `mlx5_eswitch_disable()` [devlink asserted]: from mlx5_unload (remove, reload, recovery). */
export const mlx5EswitchDisable = (w: World, esw: Esw): Effect.Effect<void, never, DevlinkHeld> =>
  locked(
    w,
    "eswitch",
    "mlx5_eswitch_disable",
    DevlinkLock,
    esw.dev.devlink.id,
    Effect.gen(function* () {
      yield* fn(w, "devl_assert_locked", esw.dev.devlink.assertHeld)
      yield* v1Bump(w, esw)
      yield* mlx5LagDisableChange(w, esw.dev)
      yield* repsBlock(w, esw)
      yield* mlx5EswitchDisableLocked(w, esw)
      yield* repsUnblock(w, esw)
      yield* esw.mode.set("LEGACY")
      yield* mlx5LagEnableChange(w, esw.dev)
    })
  )

/** `mlx5_eswitch_cleanup()` [devlink, via mlx5_cleanup_once]: drain (destroy) the work queue. */
export const mlx5EswitchCleanup = (w: World, esw: Esw): Effect.Effect<void> =>
  fn(
    w,
    "mlx5_eswitch_cleanup",
    Effect.gen(function* () {
      yield* esw.teardownEpoch.update((n) => n + 1)
      if (w.v.generationBumps === "baseline") yield* step(w, "mlx5_esw_qos_cleanup", esw.name)
      yield* v1Bump(w, esw)
      yield* mergedInvalidate(w, esw)
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
export const eswModeChange = (w: World, esw: Esw, mode: Mode): Effect.Effect<void, never, DevlinkHeld | RepsHeld> =>
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
      repsGuard(w, esw),
      Effect.gen(function* () {
        const dev = esw.dev
        yield* fn(w, "mlx5_devcom_comp_lock", dev.devcom.downWrite)
        if (yield* dev.flags.disableIbAdev.get) {
          yield* esw.mode.set(mode)
          yield* mlx5RescanDriversLocked(w, dev)
        } else {
          yield* dev.flags.disableIbAdev.set(true)
          yield* mlx5RescanDriversLocked(w, dev)
          yield* esw.mode.set(mode)
          yield* dev.flags.disableIbAdev.set(false)
          yield* mlx5RescanDriversLocked(w, dev)
        }
        yield* fn(w, "mlx5_devcom_comp_unlock", dev.devcom.upWrite)
      })
    )
  )

/**
 * `mlx5_devlink_eswitch_mode_set()` [devlink held by devlink_nl_pre_doit or
 * by the caller]. Returns 0 or a negative errno.
 */
export const mlx5DevlinkEswitchModeSet = (w: World, esw: Esw, target: Mode): Effect.Effect<number, never, DevlinkHeld> =>
  locked(
    w,
    "eswitch",
    "mlx5_devlink_eswitch_mode_set",
    DevlinkLock,
    esw.dev.devlink.id,
    Effect.gen(function* () {
      const dev = esw.dev
      yield* mlx5LagDisableChange(w, dev)
      let err = 0
      // mlx5_esw_try_lock(esw, true)
      if (!(yield* fn(w, "mlx5_esw_try_lock", esw.modeLock.downWriteTrylock))) err = -22
      else if (yield* esw.operationInProgress.get) {
        yield* esw.modeLock.upWrite
        err = -16
      }
      if (err === 0) {
        if ((yield* esw.mode.read) === target)
          yield* esw.modeLock.upWrite // same mode: nothing to do
        else {
          if (w.v.modeSetGuardOrder === "underModeLock") yield* repsBlock(w, esw) // V1: while still holding mode_lock
          yield* esw.operationInProgress.set(true)
          yield* esw.modeLock.upWrite
          if (w.v.modeSetGuardOrder === "unnested") yield* repsBlock(w, esw) // V2, merged: keep mode_lock and reps_lock unnested
          // From here to the merged unblock the guard is held (V1 took it above, under mode_lock).
          err = yield* LockContract.assume(
            repsGuard(w, esw),
            Effect.gen(function* () {
              yield* v1Bump(w, esw)
              yield* mlx5EswitchDisableLocked(w, esw)
              if (target === "OFFLOADS") {
                err = yield* fn(
                  w,
                  "esw_offloads_start",
                  Effect.gen(function* () {
                    yield* eswModeChange(w, esw, "OFFLOADS")
                    const e = yield* mlx5EswitchEnableLocked(w, esw, "IGNORE")
                    // if (err) { NL_SET_ERR_MSG_MOD(…"Failed setting eswitch to offloads"); esw_mode_change(esw, LEGACY); return err; }
                    // Only the mode goes back: the legacy FDB is not re-created (its re-enable,
                    // "Failed setting eswitch back to legacy", was removed long before the series;
                    // every variant has this path; kernel-patches/bpf @5341be75).
                    if (e !== 0) yield* eswModeChange(w, esw, "LEGACY")
                    return e
                  })
                )
              } else {
                err = yield* fn(
                  w,
                  "esw_offloads_stop",
                  Effect.gen(function* () {
                    yield* eswModeChange(w, esw, "LEGACY")
                    if ((yield* esw.numVfs.get) > 0 && !dev.isEcpf) return yield* mlx5EswitchEnableLocked(w, esw, "IGNORE")
                    return 0
                  })
                )
              }
              return err
            })
          )
          if (w.v.modeSetGuardOrder === "unnested") yield* repsUnblock(w, esw)
          yield* esw.modeLock.downWrite
          yield* esw.operationInProgress.set(false)
          if (w.v.modeSetGuardOrder === "underModeLock") yield* repsUnblock(w, esw)
          yield* fn(w, "mlx5_esw_unlock", esw.modeLock.upWrite)
        }
      }
      yield* mlx5LagEnableChange(w, dev)
      return err
    })
  )
