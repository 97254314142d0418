/**
 * The mlx5 model's components wired together: one Layer per component, each
 * built from `Run` (the run's objects) and the services it calls. The graph
 * has no circle — a component's file imports only the services below it:
 *
 * ```text
 * Devlink ──▶ Mlx5Core ──▶ AuxBus, Eswitch
 *    └──────▶ Eswitch ──▶ Lag ──▶ AuxBus, RepRegistry
 *    │                 ──▶ EqTable, AuxBus, EswWorkQueue, RepRegistry
 *    └──────▶ RepRegistry ──▶ EswWorkQueue
 * Mlx5eRep ──▶ RepRegistry, LagNetdev       Mlx5Ib ──▶ RepRegistry, AuxBus
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
import { Context, Effect, Layer, Scope } from "effect"
import { AuxBus } from "./aux.ts"
import { Devlink } from "./devlink.ts"
import { Mlx5eRep } from "./en_rep.ts"
import { EqTable } from "./eq.ts"
import { EswWorkQueue } from "./esw_wq.ts"
import { Eswitch } from "./eswitch.ts"
import { Mlx5Ib } from "./ib_rep.ts"
import { Lag } from "./lag.ts"
import { LagNetdev } from "./lag_netdev.ts"
import { Mlx5Core } from "./main.ts"
import { RepRegistry } from "./registry.ts"
import { Run, type World } from "./world.ts"

const leaves = Layer.mergeAll(EswWorkQueue.layer, LagNetdev.layer, AuxBus.layer, EqTable.layer)
const registry = RepRegistry.layer.pipe(Layer.provideMerge(leaves))
const drivers = Layer.mergeAll(Mlx5eRep.layer, Mlx5Ib.layer, Lag.layer).pipe(Layer.provideMerge(registry))
const eswitch = Eswitch.layer.pipe(Layer.provideMerge(drivers))
const core = Mlx5Core.layer.pipe(Layer.provideMerge(eswitch))

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
export const layer = Devlink.layer.pipe(Layer.provideMerge(core))

/** The components a scenario drives, by the name it calls them. */
export interface Components {
  readonly devlink: Devlink["Service"]
  readonly core: Mlx5Core["Service"]
  readonly eswitch: Eswitch["Service"]
  readonly registry: RepRegistry["Service"]
  readonly eq: EqTable["Service"]
  readonly lag: Lag["Service"]
  readonly mlx5e: Mlx5eRep["Service"]
  readonly ib: Mlx5Ib["Service"]
}

/**
 * Builds the components of one run over its objects `w`. Every run builds its
 * own (a fresh `MemoMap`: layers are not shared across runs). The scope is the
 * run's: nothing a component builds has a finaliser of its own — kernel object
 * lifetimes (`Component.instance`, the E-Switch's work queue) end where the
 * kernel ends them (`mlx5_eswitch_cleanup`), on a task, not when a scope closes.
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
    const scope = yield* Scope.make()
    const memo = yield* Layer.makeMemoMap
    const ctx = yield* Layer.buildWithMemoMap(Layer.provide(layer, Layer.succeed(Run, w)), memo, scope)
    return {
      devlink: Context.get(ctx, Devlink),
      core: Context.get(ctx, Mlx5Core),
      eswitch: Context.get(ctx, Eswitch),
      registry: Context.get(ctx, RepRegistry),
      eq: Context.get(ctx, EqTable),
      lag: Context.get(ctx, Lag),
      mlx5e: Context.get(ctx, Mlx5eRep),
      ib: Context.get(ctx, Mlx5Ib)
    }
  })
