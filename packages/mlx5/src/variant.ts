/**
 * Design variants of the mlx5 model: the driver before the series
 * (`baseline`), each cumulative V1 patch level (`v1@1` … `v1@7`) and what
 * net-next finally merged (`merged`). Each patch's rule is one flag here,
 * consulted at exactly the code points domain.md §4 names, so that the model
 * code reads like the patch: `if (v.wqTrylock === "spin") …`.
 *
 * @since 0.1.0
 */
import { UnknownName } from "@drvmodel/core"

/**
 * The feature flags of one patch level.
 *
 * @category models
 * @since 0.1.0
 */
export interface Variant {
  readonly name: string
  readonly description: string
  /** V1 patch level 0..7; merged counts as 8 for "at least" tests. */
  readonly level: number
  /** Patch 1: `mlx5_lag_reload_ib_reps(ldev, flags)` helper, stops at the first error. */
  readonly lagReloadHelper: boolean
  /** Patch 2: the generation lives in `struct mlx5_eswitch` (`esw->generation`), not `esw_funcs`. */
  readonly generationInEswitch: boolean
  /** Patch 3: `mlx5_esw_add_work` + `esw_wq_handler` dispatching `func`. */
  readonly wqDispatch: boolean
  /**
   * How the worker takes the devlink lock: `block` (devl_lock, sleeping),
   * `spin` (patch 4: staleness check + devl_trylock + cond_resched loop),
   * `waitqueue` (merged: the same loop sleeping in wait_event_timeout(60 ms)).
   */
  readonly wqTrylock: "block" | "spin" | "waitqueue"
  /**
   * Where the generation is bumped: `baseline` (only in
   * mlx5_eswitch_event_handler_unregister, after the notifier unregister, in
   * OFFLOADS on the functions handler), `v1` (patch 4: cleanup, mode set,
   * disable, enable, disable_sriov), `merged` (invalidate after notifier
   * unregister in disable_locked, and in enable, disable_sriov, cleanup).
   */
  readonly generationBumps: "baseline" | "v1" | "merged"
  /** Representor guard: none, the V1 atomic (patch 5) or the merged mutex `reps_lock`. */
  readonly guard: "none" | "atomic" | "mutex"
  /** Patch 6 / merged: register queues `mlx5_eswitch_reload_reps` on the work queue. */
  readonly loadWorkOnRegister: boolean
  /** Patch 7: profile bit MLX5_PROF_MASK_DEF_SWITCHDEV handled at init (`mlx5_set_default_switchdev`). */
  readonly switchdevProfile: boolean
  /** Merged (reps V3): unregister always unloads (no mode check) and clears `rep_ops[type]`. */
  readonly unregisterAlwaysUnloads: boolean
  /** Merged (reps V3 6/7): a failed rep load unwinds only the types loaded by this call. */
  readonly unwindNewlyLoaded: boolean
  /** Merged (reps V3 4/7): LAG drops `ldev->lock` around rescans and IB reloads. */
  readonly lagDropsLdevLock: boolean
  /** Merged (reps V2 `cont_on_fail`): unwind paths of the LAG reload helper continue on failure. */
  readonly lagReloadContOnFail: boolean
}

const make = (name: string, description: string, level: number): Variant => {
  const merged = level >= 8
  return {
    name,
    description,
    level,
    lagReloadHelper: level >= 1,
    generationInEswitch: level >= 2,
    wqDispatch: level >= 3,
    wqTrylock: merged ? "waitqueue" : level >= 4 ? "spin" : "block",
    generationBumps: merged ? "merged" : level >= 4 ? "v1" : "baseline",
    guard: merged ? "mutex" : level >= 5 ? "atomic" : "none",
    loadWorkOnRegister: level >= 6,
    switchdevProfile: level === 7,
    unregisterAlwaysUnloads: merged,
    unwindNewlyLoaded: merged,
    lagDropsLdevLock: merged,
    lagReloadContOnFail: merged
  }
}

/**
 * Every variant, in matrix order.
 *
 * @example
 * ```ts
 * import { variants } from "@drvmodel/mlx5"
 * variants.map((v) => v.name) // ["baseline", "v1@1", …, "merged"]
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const variants: ReadonlyArray<Variant> = [
  make("baseline", "net-next just before the series (generation counter in esw_funcs from aed763abf0e9)", 0),
  make("v1@1", "+ V1 1/7: LAG mlx5_lag_reload_ib_reps helper", 1),
  make("v1@2", "+ V1 2/7: generation counter moved to struct mlx5_eswitch", 2),
  make("v1@3", "+ V1 3/7: mlx5_esw_add_work / esw_wq_handler dispatch", 3),
  make("v1@4", "+ V1 4/7: devl_trylock loop with staleness check; generation bumps at every operation boundary", 4),
  make("v1@5", "+ V1 5/7: atomic UNBLOCKED/BLOCKED representor guard", 5),
  make("v1@6", "+ V1 6/7: register queues the representor load on the work queue", 6),
  make("v1@7", "+ V1 7/7: profile that auto-enables switchdev at device init", 7),
  make(
    "merged",
    "net-next after the merge: invalidation after notifier unregister, wait queue (60 ms), mutex reps_lock, unregister always unloads, LAG drops ldev->lock, no profile",
    8
  )
]

/**
 * Looks a variant up by name.
 *
 * @example
 * ```ts
 * import { variantNamed } from "@drvmodel/mlx5"
 * variantNamed("v1@4").wqTrylock // "spin"
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const variantNamed = (name: string): Variant => {
  const v = variants.find((x) => x.name === name)
  if (v === undefined)
    throw new UnknownName(
      "variant",
      name,
      variants.map((x) => x.name)
    )
  return v
}
