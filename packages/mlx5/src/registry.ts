/**
 * The representor registry of an E-Switch (eswitch_offloads.c): the
 * per-(vport, type) UNREGISTERED / REGISTERED / LOADED state machine,
 * register / unregister, load / unload, and the representor guard (V1 atomic
 * `reps_conf_state`, merged mutex `reps_lock`).
 *
 * Every state write records its transition in the ghost log checked by the
 * `registry-transitions` invariant; every ops->load / ops->unload call checks
 * the rep's state and (with a guard) that the caller holds the guard.
 *
 * @since 0.1.0
 */

import { LockContract } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { EswWorkQueue } from "./esw_wq.ts"
import { locked, RepsGuard, type RepsHeld, repsGuardId } from "./locks.ts"
import type { Esw, GuardState, IbDev, ProtoDev, Rep, RepOps, RepPriv, RepState, RepType, VportId } from "./world.ts"
import { call, Run, record, XA_ORDER } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run
  const wq = yield* EswWorkQueue
  type Cause = "register" | "load" | "unload" | "load-failed" | "unregister"

  /** The registry rule a state transition broke, if any. */
  const violation = (rep: Rep, t: RepType, cause: Cause, before: RepState): string | undefined => {
    const where = `${rep.esw.name}:${rep.vport}.${t}`
    if (cause === "register" && before === "LOADED") return `register set ${where} LOADED→REGISTERED without ops->unload`
    if (cause === "unregister" && before === "LOADED") return `unregister set ${where} LOADED→UNREGISTERED without ops->unload`
    if (cause === "load-failed" && before === "UNREGISTERED")
      return `failed load reset ${where} UNREGISTERED→REGISTERED (resurrected a registration)`
    return undefined
  }

  /** `atomic_set(&rep->rep_data[t].state, next)`, logging a broken rule in the same step. */
  const setState = (rep: Rep, t: RepType, cause: Cause, next: RepState) =>
    Effect.gen(function* () {
      let before: RepState = next
      const after = yield* rep.data[t].state.update("atomic_set", (b) => {
        before = b
        return next
      })
      const broken = violation(rep, t, cause, before)
      if (broken !== undefined) yield* record(w.ghost.registry, broken)
      return after
    })

  /** `atomic_cmpxchg(&rep->rep_data[t].state, from, to) == from`. */
  const casState = (rep: Rep, t: RepType, from: RepState, to: RepState) =>
    Effect.map(rep.data[t].state.cmpxchg(from, to), (old) => old === from)

  /** The guard is held by the calling task (checked inside an op's apply: depends on its own steps only). */
  const guardHeldBy = (esw: Esw, task: string): boolean => {
    if (esw.guard) return esw.guard.peek() === "BLOCKED" && esw.guard.holders().includes(task)
    if (esw.repsLock) return esw.repsLock.owner() === task
    return true
  }

  /**
   * The call `esw->offloads.rep_ops[t]->load(…)` / `->unload(…)`: a scheduling
   * point (the task may be preempted between its CAS and the call), then the
   * plain load of `rep_ops[t]` (a kernel cell: the race check sees it against
   * register/unregister). At the point the invariant's callback rules are
   * checked on ghost reads (the rep's state, whether the caller holds the guard:
   * in the step's footprint for DPOR, no happens-before edge the C lacks).
   */
  const opsFor = (rep: Rep, t: RepType, cb: "load" | "unload") =>
    Effect.gen(function* () {
      const r = yield* w.kernel.point({
        name: `ops->${cb}`,
        label: `rep_ops[${t}]->${cb}(${rep.esw.name}:${rep.vport})`,
        footprint: [],
        apply: () => ({
          state: rep.data[t].state.peek(),
          me: w.kernel.current(),
          guarded: guardHeldBy(rep.esw, w.kernel.current())
        }),
        show: (r) => r.state
      })
      const where = `${rep.esw.name}:${rep.vport}.${t}`
      if (cb === "load" && r.state !== "LOADED") yield* record(w.ghost.registry, `ops->load called on ${where} in state ${r.state}`)
      if (cb === "unload" && r.state === "LOADED")
        yield* record(w.ghost.registry, `ops->unload called on ${where} while it is LOADED again`)
      if (!r.guarded)
        yield* record(w.ghost.registry, `ops->${cb} on ${where} by ${r.me} without holding ${rep.esw.name}'s representor guard`)
      return yield* rep.esw.repOps[t].get
    })

  // ---------------------------------------------------------------------------
  // The guard

  const markReps = (esw: Esw, old: GuardState, next: GuardState) =>
    Effect.gen(function* () {
      const guard = esw.guard!
      // do { atomic_cond_read_relaxed(state, VAL == old); } while (atomic_cmpxchg(state, old, new) != old);
      while (true) {
        yield* guard.condRead((s) => s === old, `VAL == ${old}`)
        if ((yield* guard.cmpxchg(old, next)) === old) return
      }
    })

  /**
   * `mlx5_esw_reps_block()`: V1 spins UNBLOCKED→BLOCKED; merged takes
   * `reps_lock` (`nested`: `mutex_lock_nested(…, SINGLE_DEPTH_NESTING)`, a
   * lockdep annotation only). No-op before patch 5.
   */
  const repsBlock = (esw: Esw, nested = false): Effect.Effect<void> => {
    if (esw.guard) return call(w, "eswitch", "mlx5_esw_reps_block", markReps(esw, "UNBLOCKED", "BLOCKED"))
    if (esw.repsLock)
      return call(
        w,
        "eswitch",
        nested ? "mlx5_esw_reps_block_nested" : "mlx5_esw_reps_block",
        nested ? esw.repsLock.lockNested(1) : esw.repsLock.lock
      )
    return Effect.void
  }

  /** `mlx5_esw_reps_unblock()`. */
  const repsUnblock = (esw: Esw): Effect.Effect<void> => {
    if (esw.guard) return call(w, "eswitch", "mlx5_esw_reps_unblock", markReps(esw, "BLOCKED", "UNBLOCKED"))
    if (esw.repsLock) return call(w, "eswitch", "mlx5_esw_reps_unblock", esw.repsLock.unlock)
    return Effect.void
  }

  /**
   * `mlx5_esw_reps_block()` / `mlx5_esw_reps_unblock()` (`nested`: the
   * shared-FDB peer's `_nested` variant).
   *
   * @example
   * ```ts
   * // LockContract.withLock(repsGuard(esw), registerBlocked(esw, ops, "IB"))
   * ```
   * @category constructors
   * @since 0.2.0
   */
  const repsGuard = (esw: Esw, nested = false): LockContract.Guard<"mlx5_esw_reps_block"> =>
    LockContract.guard(RepsGuard, repsGuardId(esw), repsBlock(esw, nested), repsUnblock(esw))

  // ---------------------------------------------------------------------------
  // Load / unload

  /**
   * `__esw_offloads_load_rep()`: CAS REGISTERED→LOADED, then `ops->load`.
   * Merged (V3 6/7) restores REGISTERED itself when the load fails.
   */
  const eswOffloadsLoadRep = (esw: Esw, rep: Rep, t: RepType): Effect.Effect<{ err: number; newly: boolean }> =>
    call(
      w,
      "eswitch",
      "__esw_offloads_load_rep",
      Effect.gen(function* () {
        if (!(yield* casState(rep, t, "REGISTERED", "LOADED"))) return { err: 0, newly: false }
        const ops = yield* opsFor(rep, t, "load")
        if (ops === undefined) return { err: 0, newly: false } // [inferred] NULL ops after a merged unregister: treat as not loaded
        const err = yield* ops.load(esw, rep)
        // Ghost, for the failed-load-unwound invariant (kept only where a scenario enables faults).
        if (w.faults.enabled.size > 0) yield* rep.data[t].loadFailed.set(err !== 0)
        if (err !== 0 && w.v.unwindNewlyLoaded) {
          yield* setState(rep, t, "load-failed", "REGISTERED")
          return { err, newly: false }
        }
        return { err, newly: err === 0 }
      })
    )

  /** `__esw_offloads_unload_rep()`: CAS LOADED→REGISTERED; an ETH unload first unloads IB; then `ops->unload`. */
  const eswOffloadsUnloadRep = (esw: Esw, rep: Rep, t: RepType): Effect.Effect<void> =>
    call(
      w,
      "eswitch",
      "__esw_offloads_unload_rep",
      Effect.gen(function* () {
        if (!(yield* casState(rep, t, "LOADED", "REGISTERED"))) return
        if (t === "ETH") yield* eswOffloadsUnloadRep(esw, rep, "IB")
        const ops = yield* opsFor(rep, t, "unload")
        if (ops !== undefined) yield* ops.unload(rep)
      })
    )

  /**
   * `mlx5_esw_offloads_rep_load()`: ETH then IB. On failure, pre-V3 resets the
   * failing type to REGISTERED and unloads every lower type; merged unwinds
   * only the types this call loaded.
   */
  const mlx5EswOffloadsRepLoad = (esw: Esw, vport: VportId): Effect.Effect<number> =>
    call(
      w,
      "eswitch",
      "mlx5_esw_offloads_rep_load",
      Effect.gen(function* () {
        const rep = esw.reps[vport]
        const newly: Array<RepType> = []
        for (const t of ["ETH", "IB"] as const) {
          const r = yield* eswOffloadsLoadRep(esw, rep, t)
          if (r.err !== 0) {
            if (w.v.unwindNewlyLoaded) {
              for (const lower of newly.reverse()) yield* eswOffloadsUnloadRep(esw, rep, lower)
            } else {
              yield* setState(rep, t, "load-failed", "REGISTERED")
              if (t === "IB") yield* eswOffloadsUnloadRep(esw, rep, "ETH")
            }
            return r.err
          }
          if (r.newly) newly.push(t)
        }
        return 0
      })
    )

  /** `mlx5_esw_offloads_rep_unload()`: types in reverse order. */
  const mlx5EswOffloadsRepUnload = (esw: Esw, vport: VportId): Effect.Effect<void> =>
    call(
      w,
      "eswitch",
      "mlx5_esw_offloads_rep_unload",
      Effect.gen(function* () {
        yield* eswOffloadsUnloadRep(esw, esw.reps[vport], "IB")
        yield* eswOffloadsUnloadRep(esw, esw.reps[vport], "ETH")
      })
    )

  // ---------------------------------------------------------------------------
  // Register / unregister

  /** `mlx5_eswitch_register_vport_reps_blocked()`: store ops, mark every rep REGISTERED (unconditionally). */
  const registerBlocked = (esw: Esw, ops: RepOps, t: RepType) =>
    locked(
      w,
      "eswitch",
      "mlx5_eswitch_register_vport_reps_blocked",
      RepsGuard,
      repsGuardId(esw),
      Effect.gen(function* () {
        yield* esw.repOps[t].set(ops)
        for (const vp of XA_ORDER) yield* setState(esw.reps[vp], t, "register", "REGISTERED")
      })
    )

  /**
   * `mlx5_eswitch_register_vport_reps()` (`_nested` for the shared-FDB peer
   * path in merged). Patch 5 brackets the store with the guard; patch 6 then
   * queues `mlx5_eswitch_reload_reps` (return value ignored).
   */
  const mlx5EswitchRegisterVportReps = (esw: Esw, ops: RepOps, t: RepType, nested = false): Effect.Effect<void> =>
    call(
      w,
      "eswitch",
      nested ? "mlx5_eswitch_register_vport_reps_nested" : "mlx5_eswitch_register_vport_reps",
      Effect.gen(function* () {
        yield* LockContract.withLock(repsGuard(esw, nested), registerBlocked(esw, ops, t))
        // Ghost: what this registration leaves to load its reps (the completeness report names it).
        const by = `mlx5_eswitch_register_vport_reps(REP_${t}) in task ${w.kernel.running() ?? "?"}`
        if (w.v.loadWorkOnRegister) {
          const gfp = w.v.registerWorkGfp
          // The return value is ignored (V1 6/7, V3 7/7: "little meaningful recovery").
          const err = yield* wq.mlx5EswAddWork(esw, "mlx5_eswitch_reload_reps", mlx5EswitchReloadReps(esw), gfp, undefined, {
            cell: esw.loadFate[t],
            by
          })
          if (err !== 0) yield* esw.loadFate[t].set({ kind: "alloc-failed", by, gfp })
        } else yield* esw.loadFate[t].set({ kind: "no-loader", by })
      })
    )

  /**
   * `mlx5_eswitch_unregister_vport_reps()`: before reps V3 it unloads only in
   * OFFLOADS (V2 reads the mode under `reps_lock`); V3/merged always unloads.
   * Before reps V2 `rep_ops[type]` stays set; V2 on clears it.
   */
  const mlx5EswitchUnregisterVportReps = (esw: Esw, t: RepType, nested = false): Effect.Effect<void> =>
    call(
      w,
      "eswitch",
      nested ? "mlx5_eswitch_unregister_vport_reps_nested" : "mlx5_eswitch_unregister_vport_reps",
      Effect.gen(function* () {
        yield* LockContract.withLock(
          repsGuard(esw, nested),
          locked(
            w,
            "eswitch",
            "mlx5_eswitch_unregister_vport_reps_blocked",
            RepsGuard,
            repsGuardId(esw),
            Effect.gen(function* () {
              const unload = w.v.unregisterAlwaysUnloads || (yield* esw.mode.read) === "OFFLOADS"
              if (unload) {
                yield* call(
                  w,
                  "eswitch",
                  "__unload_reps_all_vport",
                  Effect.forEach(XA_ORDER, (vp) => eswOffloadsUnloadRep(esw, esw.reps[vp], t), { discard: true })
                )
              }
              for (const vp of XA_ORDER) yield* setState(esw.reps[vp], t, "unregister", "UNREGISTERED")
              if (w.v.unregisterClearsOps) yield* esw.repOps[t].set(undefined) // reps V2 4/7 on
            })
          )
        )
      })
    )

  // ---------------------------------------------------------------------------
  // Reloads

  /**
   * Patch 6 `mlx5_eswitch_reload_reps_blocked()`: in OFFLOADS load the uplink
   * (abort on failure), then every enabled non-uplink vport (errors ignored).
   */
  const mlx5EswitchReloadRepsBlocked = (esw: Esw): Effect.Effect<void, never, RepsHeld> =>
    locked(
      w,
      "eswitch",
      "mlx5_eswitch_reload_reps_blocked",
      RepsGuard,
      repsGuardId(esw),
      Effect.gen(function* () {
        if ((yield* esw.mode.read) !== "OFFLOADS") return
        if ((yield* mlx5EswOffloadsRepLoad(esw, "uplink")) !== 0) return
        for (const vp of ["vf1", "vf2", "sf1"] as const) {
          if (!(yield* esw.enabled[vp].get)) continue
          yield* mlx5EswOffloadsRepLoad(esw, vp)
        }
      })
    )

  /** Patch 6 `mlx5_eswitch_reload_reps()` = block → reload_blocked → unblock (runs from esw_wq_handler). */
  const mlx5EswitchReloadReps = (esw: Esw): Effect.Effect<void> =>
    call(
      w,
      "eswitch",
      "mlx5_eswitch_reload_reps",
      Effect.gen(function* () {
        yield* LockContract.withLock(repsGuard(esw), mlx5EswitchReloadRepsBlocked(esw))
      })
    )

  /**
   * `mlx5_eswitch_reload_ib_reps()` (LAG/MPESW): in OFFLOADS with the uplink ETH
   * rep LOADED, load uplink IB, then IB of every rep whose ETH is LOADED.
   */
  const mlx5EswitchReloadIbReps = (esw: Esw): Effect.Effect<number> =>
    call(
      w,
      "eswitch",
      "mlx5_eswitch_reload_ib_reps",
      Effect.gen(function* () {
        if ((yield* esw.mode.read) !== "OFFLOADS") return 0
        const uplink = esw.reps.uplink
        if ((yield* uplink.data.ETH.state.read) !== "LOADED") return 0
        const r = yield* eswOffloadsLoadRep(esw, uplink, "IB")
        if (r.err !== 0) return r.err
        for (const vp of XA_ORDER) {
          const rep = esw.reps[vp]
          if ((yield* rep.data.ETH.state.read) === "LOADED") yield* eswOffloadsLoadRep(esw, rep, "IB")
        }
        return 0
      })
    )

  /** A kernel oops (NULL pointer dereference) on the running task, as a WARN-level finding. */
  const nullDeref = (what: string, fn: string) =>
    w.kernel.warn(`BUG: kernel NULL pointer dereference: ${what} in ${fn} (task ${w.kernel.running() ?? "?"})`)

  /**
   * `mlx5_eswitch_get_proto_dev()` (eswitch_offloads.c), a lockless reader:
   * (R1) `atomic_read(&rep->rep_data[t].state) == REP_LOADED`, then (R2)
   * `esw->offloads.rep_ops[t]->get_proto_dev` and (R3)
   * `esw->offloads.rep_ops[t]->get_proto_dev(rep)`: two plain loads of
   * `rep_ops[t]` (no lock, no READ_ONCE), each dereferenced (NULL: an oops).
   * R2 and R3 are one step here (no point between them in the model); the race
   * check sees both loads against any unordered store.
   *
   * @example
   * ```ts
   * // const ibdev = yield* mlx5EswitchGetProtoDev(master.esw, "uplink", "IB")
   * ```
   * @category kernel functions
   * @since 0.3.0
   */
  const mlx5EswitchGetProtoDev = (esw: Esw, vport: VportId, t: RepType): Effect.Effect<ProtoDev | undefined> =>
    call(
      w,
      "eswitch",
      "mlx5_eswitch_get_proto_dev",
      Effect.gen(function* () {
        const rep = esw.reps[vport]
        if ((yield* rep.data[t].state.read) !== "LOADED") return undefined // (R1)
        const r2 = yield* esw.repOps[t].get // (R2) ->get_proto_dev != NULL
        if (r2 === undefined)
          return yield* Effect.as(nullDeref(`${esw.name} rep_ops[${t}]->get_proto_dev`, "mlx5_eswitch_get_proto_dev"), undefined)
        const r3 = yield* esw.repOps[t].get // (R3) ->get_proto_dev(rep)
        if (r3 === undefined)
          return yield* Effect.as(nullDeref(`${esw.name} rep_ops[${t}]->get_proto_dev`, "mlx5_eswitch_get_proto_dev"), undefined)
        return yield* r3.get_proto_dev(rep)
      })
    )

  /**
   * `mlx5_eswitch_uplink_get_proto_dev()`: `mlx5_eswitch_get_proto_dev` on the
   * uplink (the socket-direct primary's E-Switch is this one: SD is not modelled).
   *
   * @example
   * ```ts
   * // const ibdev = yield* mlx5EswitchUplinkGetProtoDev(master.esw, "IB")
   * ```
   * @category kernel functions
   * @since 0.3.0
   */
  const mlx5EswitchUplinkGetProtoDev = (esw: Esw, t: RepType): Effect.Effect<ProtoDev | undefined> =>
    call(w, "eswitch", "mlx5_eswitch_uplink_get_proto_dev", mlx5EswitchGetProtoDev(esw, "uplink", t))

  /**
   * `mlx5_eswitch_get_uplink_priv()`: the uplink's `rep_data[t].priv`, a plain
   * load with no state check (the caller gets whatever the last load left,
   * including a freed `mlx5e_rep_priv`).
   *
   * @example
   * ```ts
   * // const rpriv = yield* mlx5EswitchGetUplinkPriv(esw, "ETH")
   * ```
   * @category kernel functions
   * @since 0.3.0
   */
  const mlx5EswitchGetUplinkPriv = (esw: Esw, t: RepType): Effect.Effect<IbDev | RepPriv | undefined> =>
    call(w, "eswitch", "mlx5_eswitch_get_uplink_priv", esw.reps.uplink.data[t].priv.get)
  return {
    repsBlock,
    repsUnblock,
    repsGuard,
    eswOffloadsLoadRep,
    eswOffloadsUnloadRep,
    mlx5EswOffloadsRepLoad,
    mlx5EswOffloadsRepUnload,
    mlx5EswitchRegisterVportReps,
    mlx5EswitchUnregisterVportReps,
    mlx5EswitchReloadRepsBlocked,
    mlx5EswitchReloadReps,
    mlx5EswitchReloadIbReps,
    mlx5EswitchGetProtoDev,
    mlx5EswitchUplinkGetProtoDev,
    mlx5EswitchGetUplinkPriv
  }
})

/**
 * The representor registry of an E-Switch as a component: registration of rep
 * ops, rep load/unload, the V1 guard / merged `reps_lock`, the lockless
 * readers. Calls the E-Switch work queue (patch 6's reload work).
 *
 * @example
 * ```ts
 * // const registry = yield* RepRegistry
 * // yield* registry.mlx5EswitchRegisterVportReps(esw, ops, "IB")
 * ```
 * @category components
 * @since 0.4.0
 */
export class RepRegistry extends Context.Service<RepRegistry>()("@drvmodel/mlx5/RepRegistry", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(RepRegistry, make)
}
