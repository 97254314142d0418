/**
 * The E-Switch work queue (eswitch.c / eswitch_offloads.c): the generation
 * counter and its bumps, `mlx5_esw_add_work` and `esw_wq_handler` with its
 * three ways of taking the devlink lock (blocking, V1 trylock spin, merged
 * wait queue). Used by the E-Switch (function-change events) and by the
 * representor registry (patch 6's reload work); it depends on neither.
 *
 * @since 0.2.0
 */

import type { Cell } from "@drvmodel/core"
import { Atomic, Workqueue } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import type { Esw, HostWork, LoadFate } from "./world.ts"
import { call, condResched, injectFault, Run, record } from "./world.ts"

const make = Effect.gen(function* () {
  const w = yield* Run

  const fn = <A, E, R>(name: string, body: Effect.Effect<A, E, R>) => call(w, "eswitch", name, body)

  /** `atomic_inc(generation)`, remembering where (ghost, for the late-load fate's report). */
  const bumpGeneration = (esw: Esw, by: string): Effect.Effect<void> =>
    Effect.gen(function* () {
      const g = yield* Atomic.inc(esw.generation)
      // The kernel function the bump is made in: the innermost traced frame other than the bump itself.
      const caller = [...(w.kernel.where?.() ?? [])].reverse().find((f) => f !== by)
      yield* esw.lastBump.set(
        `generation ${g - 1}→${g} by ${by}${caller !== undefined ? ` in ${caller}` : ""} (task ${w.kernel.running() ?? "?"})`
      )
    })

  /** `atomic_inc(&esw->generation)` at a V1 operation boundary (patch 4). */
  const v1Bump = (esw: Esw) => (w.v.generationBumps === "v1" ? bumpGeneration(esw, "atomic_inc(&esw->generation)") : Effect.void)

  /** Merged `mlx5_eswitch_invalidate_wq()`: `atomic_inc(generation)` + `wake_up_all(work_queue_wait)`. */
  const mergedInvalidate = (esw: Esw) =>
    w.v.generationBumps === "merged"
      ? fn(
          "mlx5_eswitch_invalidate_wq",
          Effect.gen(function* () {
            yield* bumpGeneration(esw, "mlx5_eswitch_invalidate_wq")
            yield* esw.workQueueWait!.wakeUpAll
          })
        )
      : Effect.void

  /**
   * The staleness check under the devlink lock (`work_gen != generation`), as
   * the atomic_read it is; when current, also checks the work-queue invariants
   * at the instant `func` is about to run.
   */
  const currentUnderLock = (esw: Esw, item: HostWork) =>
    Effect.gen(function* () {
      const { current, lockOwner } = yield* w.kernel
        .point({
          name: "atomic_read",
          label: `atomic_read(${esw.generation.id})`,
          resource: esw.generation,
          footprint: [{ key: esw.generation.id, mode: "read" }],
          // Whether this task holds the devlink lock depends on its own steps only: no footprint.
          apply: () => ({ current: esw.generation.peek() === item.workGen, lockOwner: esw.dev.devlink.owner(), me: w.kernel.current() }),
          show: (r) => (r.current ? "current" : "stale")
        })
        .pipe(Effect.map((r) => ({ current: r.current, lockOwner: r.lockOwner === r.me ? undefined : (r.lockOwner ?? "nobody") })))
      if (!current) return false
      if (lockOwner !== undefined) yield* record(w.ghost.stale, `${item.func} ran without the devlink lock (owner ${lockOwner})`)
      const epoch = yield* esw.teardownEpoch.get
      if (epoch > item.epoch)
        yield* record(
          w.ghost.postTeardown,
          `${item.func} (queued at generation ${item.workGen} for configuration ${item.epoch}) runs on ${esw.name} in configuration ${epoch}, after a teardown that began after it was queued`
        )
      return true
    })

  /** Ghost: a registration's queued load ran or was dropped (only if no later registration replaced the record). */
  const recordFate = (esw: Esw, item: HostWork, what: "ran" | "before devl_trylock" | "under the devlink lock", seenGen = 0) =>
    Effect.gen(function* () {
      const f = item.fate
      if (f === undefined || (yield* f.cell.get) !== f.queued) return
      const { by, workGen } = f.queued as { by: string; workGen: number }
      yield* f.cell.set(
        what === "ran"
          ? { kind: "ran", by, workGen }
          : { kind: "dropped-stale", by, workGen, seenGen, where: what, bump: yield* esw.lastBump.get }
      )
    })

  /**
   * Patch 3 `esw_wq_handler()`: take the devlink lock (baseline way: blocking;
   * patch 4: staleness check then devl_trylock + cond_resched; merged: the same
   * loop sleeping in wait_event_timeout(60 ms)), re-check the generation, run
   * `func`.
   */
  const eswWqHandler = (esw: Esw, item: HostWork, func: Effect.Effect<void>) =>
    fn(
      "esw_wq_handler",
      Effect.gen(function* () {
        const devlink = esw.dev.devlink
        if (w.v.wqTrylock === "block") yield* devlink.lock
        else {
          while (true) {
            const gen = yield* esw.generation.read
            if (gen !== item.workGen) return yield* recordFate(esw, item, "before devl_trylock", gen) // stale: free without touching the lock
            if (yield* devlink.trylock) break
            if (w.v.wqTrylock === "spin") yield* condResched(w)
            else yield* esw.workQueueWait!.waitEventTimeout(() => esw.generation.peek() !== item.workGen, "work_gen != generation", 60)
          }
        }
        if (yield* currentUnderLock(esw, item)) {
          yield* recordFate(esw, item, "ran")
          yield* func
        } else yield* recordFate(esw, item, "under the devlink lock", esw.generation.peek())
        yield* devlink.unlock
      })
    )

  /**
   * Patch 3 `mlx5_esw_add_work()`: allocate the `mlx5_host_work` (`gfp`: GFP_ATOMIC from the EQ
   * notifier; the register path's per `Variant.registerWorkGfp`), stamp the current generation,
   * queue `esw_wq_handler` for `func`. The single enqueue point. Returns 0 or -ENOMEM (the
   * allocation is the `kzalloc-host-work` fault point; nothing is queued then). `fate` (ghost) is
   * written only on success: a failed call leaves it to the caller, which ignores the return value.
   */
  const mlx5EswAddWork = (
    esw: Esw,
    funcName: string,
    func: Effect.Effect<void>,
    gfp: "GFP_ATOMIC" | "GFP_KERNEL",
    epoch?: number,
    fate?: { readonly cell: Cell.Cell<LoadFate | undefined>; readonly by: string }
  ): Effect.Effect<number> =>
    fn(
      "mlx5_esw_add_work",
      Effect.gen(function* () {
        // host_work = kzalloc_obj(*host_work, gfp); if (!host_work) return -ENOMEM;
        if (yield* injectFault(w, "kzalloc-host-work", `kzalloc(mlx5_host_work, ${gfp}) in mlx5_esw_add_work(${funcName}) fails (-ENOMEM)`))
          return -12
        const workGen = yield* esw.generation.read
        const queued: LoadFate | undefined = fate && { kind: "queued", by: fate.by, workGen }
        if (fate && queued) yield* fate.cell.set(queued)
        const item: HostWork = {
          func: funcName,
          workGen,
          epoch: epoch ?? (yield* esw.teardownEpoch.get),
          ...(fate && queued ? { fate: { cell: fate.cell, queued } } : {})
        }
        yield* esw.workQueue.queueWork(Workqueue.work(`esw_wq_handler(${funcName})`, eswWqHandler(esw, item, func)))
        return 0
      })
    )
  return {
    bumpGeneration,
    v1Bump,
    mergedInvalidate,
    currentUnderLock,
    mlx5EswAddWork
  }
})

/**
 * The E-Switch's work queue as a component: `mlx5_esw_add_work`, the
 * generation and its bumps. Depends on no other component.
 *
 * @example
 * ```ts
 * // const wq = yield* EswWorkQueue
 * // yield* wq.mlx5EswAddWork(esw, "esw_vfs_changed_event_handler", handler, "GFP_ATOMIC")
 * ```
 * @category components
 * @since 0.4.0
 */
export class EswWorkQueue extends Context.Service<EswWorkQueue>()("@drvmodel/mlx5/EswWorkQueue", { make }) {
  /** Built per run, from the run's objects (`Run`) and the components it calls. */
  static readonly layer = Layer.effect(EswWorkQueue, make)
}
