/**
 * Design variants of the mlx5 model: the driver before the series
 * (`baseline`), each cumulative V1 patch level (`v1@1` … `v1@7`) and what
 * net-next finally merged (`merged`). Each patch's rule is one flag here,
 * consulted at exactly the code points domain.md §4 names, so that the model
 * code reads like the patch: `if (v.wqTrylock === "spin") …`.
 *
 * @since 0.1.0
 */
import { InvalidVariant, UnknownName, type VariantFlag } from "@drvmodel/core"

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
  /**
   * Where `mlx5_devlink_eswitch_mode_set` takes and drops the guard:
   * `underModeLock` (V1 5/7: block while still holding `mode_lock`, unblock
   * after clearing the operation flag under it) or `unnested` (reps V2 4/7,
   * merged: block after `up_write(mode_lock)`, unblock before `down_write`).
   */
  readonly modeSetGuardOrder: "underModeLock" | "unnested"
  /** Patch 6 / merged: register queues `mlx5_eswitch_reload_reps` on the work queue. */
  readonly loadWorkOnRegister: boolean
  /** Patch 7: profile bit MLX5_PROF_MASK_DEF_SWITCHDEV handled at init (`mlx5_set_default_switchdev`). */
  readonly switchdevProfile: boolean
  /** Reps V3 5/7 (merged): unregister always unloads (no `esw->mode == OFFLOADS` check). */
  readonly unregisterAlwaysUnloads: boolean
  /** Reps V2 4/7 (and V3, merged): unregister ends with `rep_ops[type] = NULL`. */
  readonly unregisterClearsOps: boolean
  /** Reps V2 5/7 = V3 6/7 (merged): a failed rep load unwinds only the types loaded by this call. */
  readonly unwindNewlyLoaded: boolean
  /** Reps V2 3/7 = V3 4/7 (merged): LAG drops `ldev->lock` around rescans and IB reloads. */
  readonly lagDropsLdevLock: boolean
  /** Reps V2 1/7 (`cont_on_fail`; V3, merged): unwind paths of the LAG reload helper continue on failure. */
  readonly lagReloadContOnFail: boolean
  /**
   * The gfp flags of the register path's `mlx5_esw_add_work` (patch 6's late load): `GFP_ATOMIC`
   * (V1 3/7 hard-codes it; reps V2 too), `GFP_KERNEL` (reps V3 2/7, merged: the helper takes a
   * `gfp_t`; the function-change notifier keeps GFP_ATOMIC). Only the fault's label depends on it:
   * both can fail under fault injection (a small GFP_KERNEL allocation otherwise fails only for an
   * OOM victim [inferred from the page allocator's "too small to fail" rule]).
   */
  readonly registerWorkGfp: "GFP_ATOMIC" | "GFP_KERNEL"
  /**
   * Not in the series: "net/mlx5: Clear FW reset-in-progress bit before reload" (net-next V6 1/4,
   * July 2026) — a remote firmware reset's reload clears `RESET_IN_PROGRESS` under the devlink lock
   * before `mlx5_load_one_devl_locked`, not after it. Off in every listed variant; compose it
   * (`v1@7+fw-reset-clear-before-reload`) to see what it changes.
   */
  readonly fwResetClearBeforeReload: boolean
}

/** The flags of patch level `level` (0..7 for V1, 8 for merged). */
const flagsAt = (level: number): Flags => {
  const merged = level >= 8
  return {
    lagReloadHelper: level >= 1,
    generationInEswitch: level >= 2,
    wqDispatch: level >= 3,
    wqTrylock: merged ? "waitqueue" : level >= 4 ? "spin" : "block",
    generationBumps: merged ? "merged" : level >= 4 ? "v1" : "baseline",
    guard: merged ? "mutex" : level >= 5 ? "atomic" : "none",
    modeSetGuardOrder: merged ? "unnested" : "underModeLock",
    loadWorkOnRegister: level >= 6,
    switchdevProfile: level === 7,
    unregisterAlwaysUnloads: merged,
    unregisterClearsOps: merged,
    unwindNewlyLoaded: merged,
    lagDropsLdevLock: merged,
    lagReloadContOnFail: merged,
    registerWorkGfp: merged ? "GFP_KERNEL" : "GFP_ATOMIC",
    fwResetClearBeforeReload: false
  }
}

/** The rule flags of a variant (everything but its name, description and level). */
export type Flags = Omit<Variant, "name" | "description" | "level">

const make = (name: string, description: string, level: number, overrides: Partial<Flags> = {}): Variant => ({
  name,
  description,
  level,
  ...flagsAt(level),
  ...overrides
})

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
  // reps V2 (1 May 2026) on the applied deadlock part: the merged design except that unregister still
  // unloads only in OFFLOADS (it already clears rep_ops) and the profile is still there (as profile[8]).
  // Its register path's mlx5_esw_add_work still allocates with GFP_ATOMIC (V3 2/7 added the gfp_t).
  make(
    "v2",
    "reps V2: mutex reps_lock (mode set takes it unnested), LAG drops ldev->lock (lock-cycle patch), unwind only newly loaded types, unregister clears rep_ops but still unloads only in OFFLOADS, profile (index 8), register work allocated GFP_ATOMIC; on the applied deadlock part",
    8,
    { unregisterAlwaysUnloads: false, switchdevProfile: true, registerWorkGfp: "GFP_ATOMIC" }
  ),
  // reps V3 was applied unchanged (b501400fa66d … 25933aca1012): its flags are merged's, exactly. A
  // separate column rather than an alias, so the matrix shows it beside v2 (docs/findings.md).
  make("v3", "reps V3 = merged exactly (applied unchanged): the same flags, its own column so that V2 → V3 reads across the matrix", 8),
  make(
    "merged",
    "net-next after the merge (= reps V3): invalidation after notifier unregister, wait queue (60 ms), mutex reps_lock, unregister always unloads, LAG drops ldev->lock, no profile",
    8
  )
]

// ---------------------------------------------------------------------------
// Composition: `<base>+<flag>[=value]…`

/** A rule flag on the command line: its kebab-case name, the field it sets and the values it takes. */
interface FlagSpec {
  readonly name: string
  readonly key: keyof Flags
  readonly values: ReadonlyArray<string | boolean>
  readonly description: string
}

const bool = [true, false] as const
const FLAG_SPECS: ReadonlyArray<FlagSpec> = [
  { name: "lag-reload-helper", key: "lagReloadHelper", values: bool, description: "V1 1/7: mlx5_lag_reload_ib_reps helper" },
  { name: "generation-in-eswitch", key: "generationInEswitch", values: bool, description: "V1 2/7: esw->generation" },
  { name: "wq-dispatch", key: "wqDispatch", values: bool, description: "V1 3/7: mlx5_esw_add_work / esw_wq_handler" },
  {
    name: "wq-trylock",
    key: "wqTrylock",
    values: ["block", "spin", "waitqueue"],
    description: "how esw_wq_handler takes the devlink lock (V1 4/7: spin; merged: waitqueue)"
  },
  {
    name: "generation-bumps",
    key: "generationBumps",
    values: ["baseline", "v1", "merged"],
    description: "where the generation is bumped (merged: mlx5_eswitch_invalidate_wq)"
  },
  {
    name: "guard",
    key: "guard",
    values: ["none", "atomic", "mutex"],
    description: "representor guard: V1 5/7 atomic, V2 on mutex reps_lock"
  },
  {
    name: "mode-set-guard-order",
    key: "modeSetGuardOrder",
    values: ["underModeLock", "unnested"],
    description: "mode set takes the guard under mode_lock (V1) or after dropping it (V2 on)"
  },
  { name: "load-work-on-register", key: "loadWorkOnRegister", values: bool, description: "V1 6/7: register queues the rep load" },
  { name: "switchdev-profile", key: "switchdevProfile", values: bool, description: "V1 7/7, V2: profile auto-enables switchdev" },
  {
    name: "unregister-always-unloads",
    key: "unregisterAlwaysUnloads",
    values: bool,
    description: "V3 5/7: unregister unloads without the mode check"
  },
  {
    name: "unregister-clears-ops",
    key: "unregisterClearsOps",
    values: bool,
    description: "V2 4/7 on: unregister sets rep_ops[type] = NULL"
  },
  { name: "unwind-newly-loaded", key: "unwindNewlyLoaded", values: bool, description: "V2 5/7 = V3 6/7: unwind only newly loaded types" },
  { name: "lag-drops-ldev-lock", key: "lagDropsLdevLock", values: bool, description: "V2 3/7 = V3 4/7: LAG drops ldev->lock" },
  {
    name: "lag-reload-cont-on-fail",
    key: "lagReloadContOnFail",
    values: bool,
    description: "V2 1/7: LAG unwind reloads continue on failure"
  },
  {
    name: "register-work-gfp",
    key: "registerWorkGfp",
    values: ["GFP_ATOMIC", "GFP_KERNEL"],
    description: "gfp of the register path's mlx5_esw_add_work (V3 2/7: GFP_KERNEL); the -ENOMEM fault's label"
  },
  {
    name: "fw-reset-clear-before-reload",
    key: "fwResetClearBeforeReload",
    values: bool,
    description: "not in the series (net-next V6 1/4, July 2026): a remote FW reset clears RESET_IN_PROGRESS before the reload"
  }
]

/** Shorthands for a patch's design as a whole: one name, several flags. */
const SHORTHANDS: Readonly<Record<string, Partial<Flags>>> = {
  "v1-guard": { guard: "atomic", modeSetGuardOrder: "underModeLock" },
  "mutex-guard": { guard: "mutex", modeSetGuardOrder: "unnested" }
}

const valueText = (v: string | boolean) => String(v)

/**
 * The rule flags and shorthands a composed variant may name, for `drvmodel list`.
 *
 * @example
 * ```ts
 * import { variantFlags } from "@drvmodel/mlx5"
 * variantFlags.find((f) => f.name === "guard")?.values // ["none", "atomic", "mutex"]
 * ```
 * @category models
 * @since 0.2.0
 */
export const variantFlags: ReadonlyArray<VariantFlag> = [
  ...FLAG_SPECS.map((f) => ({ name: f.name, description: f.description, values: f.values.map(valueText) })),
  ...Object.entries(SHORTHANDS).map(([name, flags]) => ({
    name,
    description: `shorthand for ${Object.entries(flags)
      .map(([k, v]) => `${FLAG_SPECS.find((f) => f.key === k)!.name}=${valueText(v as string | boolean)}`)
      .join("+")}`,
    values: []
  }))
]

/** Combinations the model cannot run, or that would silently mean nothing: one line each. */
const incoherent = (f: Flags): string | undefined => {
  if (f.wqTrylock !== "block" && !f.wqDispatch) return `wq-trylock=${f.wqTrylock} needs wq-dispatch (the loop is esw_wq_handler's)`
  if (f.loadWorkOnRegister && !f.wqDispatch) return "load-work-on-register needs wq-dispatch (it queues through mlx5_esw_add_work)"
  if (f.generationBumps === "merged" && f.wqTrylock !== "waitqueue")
    return "generation-bumps=merged needs wq-trylock=waitqueue (mlx5_eswitch_invalidate_wq wakes work_queue_wait)"
  return undefined
}

/**
 * Composes a variant from a listed one and rule flags: `<base>+<flag>[=value]…`,
 * where a boolean flag alone means `=true` and a shorthand (`v1-guard`) sets
 * several flags. The name is the spec as written; the description says what
 * changed. Throws `UnknownName` for an unknown base, `InvalidVariant` naming
 * the bad flag or value.
 *
 * @example
 * ```ts
 * import { composeVariant } from "@drvmodel/mlx5"
 * composeVariant("merged+v1-guard").guard // "atomic"
 * composeVariant("v1@7+unwind-newly-loaded").unwindNewlyLoaded // true
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const composeVariant = (spec: string): Variant => {
  const [baseName = "", ...parts] = spec.split("+")
  const base = listed(baseName)
  if (parts.length === 0) return base
  let flags: Flags = { ...base }
  const changes: Array<string> = []
  for (const part of parts) {
    const eq = part.indexOf("=")
    const name = eq < 0 ? part : part.slice(0, eq)
    const value = eq < 0 ? undefined : part.slice(eq + 1)
    const shorthand = SHORTHANDS[name]
    if (shorthand !== undefined) {
      if (value !== undefined) throw new InvalidVariant(spec, `shorthand "${name}" takes no value`)
      flags = { ...flags, ...shorthand }
      changes.push(name)
      continue
    }
    const f = FLAG_SPECS.find((x) => x.name === name)
    if (f === undefined) throw new InvalidVariant(spec, `unknown flag "${name}"; known: ${variantFlags.map((x) => x.name).join(", ")}`)
    const isBool = typeof f.values[0] === "boolean"
    if (value === undefined && !isBool)
      throw new InvalidVariant(spec, `flag "${name}" needs a value: ${f.values.map(valueText).join(", ")}`)
    const v = f.values.find((x) => valueText(x) === (value ?? "true"))
    if (v === undefined)
      throw new InvalidVariant(spec, `unknown value "${value}" of flag "${name}"; known: ${f.values.map(valueText).join(", ")}`)
    flags = { ...flags, [f.key]: v }
    changes.push(`${name}=${valueText(v)}`)
  }
  const bad = incoherent(flags)
  if (bad !== undefined) throw new InvalidVariant(spec, bad)
  return { ...flags, name: spec, description: `${base.name} with ${changes.join(", ")} (composed): ${base.description}`, level: base.level }
}

const listed = (name: string): Variant => {
  const v = variants.find((x) => x.name === name)
  if (v === undefined)
    throw new UnknownName(
      "variant",
      name,
      variants.map((x) => x.name)
    )
  return v
}

/**
 * Looks a variant up by name: a listed one (`v1@4`) or one composed from a
 * listed one and rule flags (`merged+v1-guard`, see `composeVariant`).
 *
 * @example
 * ```ts
 * import { variantNamed } from "@drvmodel/mlx5"
 * variantNamed("v1@4").wqTrylock // "spin"
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const variantNamed = (name: string): Variant => composeVariant(name)
