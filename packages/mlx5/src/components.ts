/**
 * The mlx5 model's components wired together: one Layer per component, each
 * built from `Run` (the run's objects) and the services it calls. The graph
 * has no circle — a component's file imports only the services below it:
 *
 * ```text
 * Devlink ──▶ Mlx5Core ──▶ AuxBus, Eswitch, Lag (mlx5_lag_add_mdev / _remove_mdev)
 *    ├──────▶ Eswitch ──▶ Lag ──▶ AuxBus, RepRegistry
 *    │                 ──▶ EqTable, AuxBus, EswWorkQueue, RepRegistry
 *    ├──────▶ Lag (mlx5_lag_is_active)
 *    └──────▶ RepRegistry ──▶ EswWorkQueue
 * Mlx5eRep ──▶ RepRegistry, LagNetdev       Mlx5Ib ──▶ RepRegistry, AuxBus, Lag (the mlx5_lag_is_* queries)
 * Health ──▶ Mlx5Core      FwReset ──▶ Mlx5Core
 * ```
 *
 * The representor drivers (`Mlx5eRep`, `Mlx5Ib`) are reached by the bus
 * through its driver list (`World.ethDriver`, `World.ibDriver`), as the driver
 * core reaches a driver, and by the registry through the ops pointer a driver
 * registered (`esw->offloads.rep_ops[type]`): data, not imports.
 *
 * @since 0.4.0
 */
import type { Kernel } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"
import { AuxBus } from "./aux.ts"
import { Devlink } from "./devlink.ts"
import { Mlx5eRep } from "./en_rep.ts"
import { EqTable } from "./eq.ts"
import { EswWorkQueue } from "./esw_wq.ts"
import { Eswitch } from "./eswitch.ts"
import { FwReset } from "./fw_reset.ts"
import { Health } from "./health.ts"
import { Mlx5Ib } from "./ib_rep.ts"
import { Lag } from "./lag.ts"
import { LagNetdev } from "./lag_netdev.ts"
import { Mlx5Core } from "./main.ts"
import { RepRegistry } from "./registry.ts"
import { Run, type World } from "./world.ts"

/**
 * The components in dependency order: each one's `make` needs only `Run`, the
 * `Kernel` and components before it. The one source of the wiring: `layer` is
 * built from it, and so is a run's context (`buildComponents`).
 */
const ORDER = [
  EswWorkQueue,
  LagNetdev,
  AuxBus,
  EqTable,
  RepRegistry,
  Mlx5eRep,
  Lag,
  Mlx5Ib,
  Eswitch,
  Mlx5Core,
  Health,
  Devlink,
  FwReset
] as const

type Service = (typeof ORDER)[number]
// biome-ignore lint/suspicious/noExplicitAny: the fold's intermediate layers grow one service at a time; `layer` itself is typed
type AnyLayer = Layer.Layer<any, never, any>

/**
 * Every component of the mlx5 model, given the run's objects (`Run`) and the
 * `Kernel` (the drivers make their registration atomics when built).
 *
 * @example
 * ```ts
 * // Effect.provide(program, Layer.provide(layer, Layer.succeed(Run, w)), { local: true })
 * ```
 * @category layers
 * @since 0.4.0
 */
export const layer = ORDER.reduce(
  (below: AnyLayer, c) => (c.layer as AnyLayer).pipe(Layer.provideMerge(below)),
  Layer.succeedContext(Context.empty()) as unknown as AnyLayer
) as Layer.Layer<InstanceType<Service>, never, Run | Kernel>

/** The components a scenario drives, by the name it calls them. */
export interface Components {
  readonly devlink: Devlink["Service"]
  readonly core: Mlx5Core["Service"]
  readonly health: Health["Service"]
  readonly eswitch: Eswitch["Service"]
  readonly registry: RepRegistry["Service"]
  readonly eq: EqTable["Service"]
  readonly lag: Lag["Service"]
  readonly mlx5e: Mlx5eRep["Service"]
  readonly ib: Mlx5Ib["Service"]
  readonly fwReset: FwReset["Service"]
  readonly aux: AuxBus["Service"]
}

/**
 * Builds the components of one run over its objects `w`: every run builds its
 * own. No scope: nothing a component builds has a finaliser of its own — kernel
 * object lifetimes (`Component.instance`, the E-Switch's work queue) end where
 * the kernel ends them (`mlx5_eswitch_cleanup`), on a task.
 *
 * @example
 * ```ts
 * // const m = yield* buildComponents(w)
 * // yield* m.core.probeOne(w.devs[0]!, false)
 * ```
 * @category constructors
 * @since 0.4.0
 */
export const buildComponents = (w: World): Effect.Effect<Components, never, Kernel> =>
  Effect.gen(function* () {
    // The same makes `layer` runs, in the same order, without a Layer's memo map and scope per run
    // (measured: building through the Layer added ~7% CPU to an exploration of short runs).
    let ctx = Context.make(Run, w) as Context.Context<unknown>
    for (const c of ORDER) {
      const service = yield* Effect.provideContext(c.make as Effect.Effect<unknown, never, unknown>, ctx)
      ctx = Context.add(ctx, c as unknown as Context.Key<unknown, unknown>, service)
    }
    return {
      devlink: Context.get(ctx, Devlink),
      core: Context.get(ctx, Mlx5Core),
      health: Context.get(ctx, Health),
      eswitch: Context.get(ctx, Eswitch),
      registry: Context.get(ctx, RepRegistry),
      eq: Context.get(ctx, EqTable),
      lag: Context.get(ctx, Lag),
      mlx5e: Context.get(ctx, Mlx5eRep),
      ib: Context.get(ctx, Mlx5Ib),
      fwReset: Context.get(ctx, FwReset),
      aux: Context.get(ctx, AuxBus)
    }
  })
