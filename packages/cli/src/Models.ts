/**
 * The models the command works over, by name: `mlx5` (the reference model,
 * the default) and `classic` (small patterns with known answers).
 *
 * @since 0.1.0
 */
import { type Described, Explorer, type Model, type Scenario, type ScenarioInfo, UnknownName } from "@drvmodel/core"
import { classic } from "@drvmodel/examples"
import { model as mlx5 } from "@drvmodel/mlx5"
import { Effect } from "effect"
import { InputError, tryInput } from "./InputError.ts"

/**
 * Model names accepted by `--model`.
 *
 * @category models
 * @since 0.1.0
 */
export const modelNames = ["mlx5", "classic"] as const
/** @category models @since 0.1.0 */
export type ModelName = (typeof modelNames)[number]

/**
 * The registry.
 *
 * @category models
 * @since 0.1.0
 */
export const models: Readonly<Record<ModelName, Model>> = { mlx5, classic }

/**
 * A model by name.
 *
 * @example
 * ```ts
 * import { Models } from "@drvmodel/cli"
 * Models.get("classic").name // => "classic"
 * ```
 * @category getters
 * @since 0.1.0
 */
export const get = (name: string): Model => {
  const m = (models as Record<string, Model | undefined>)[name]
  if (m === undefined) throw new UnknownName("model", name, modelNames)
  return m
}

/**
 * A resolved scenario: the model, its listing, the variant and the runnable scenario.
 *
 * @category models
 * @since 0.1.0
 */
export interface Resolved {
  readonly model: Model
  readonly info: ScenarioInfo
  readonly variant: string
  readonly scenario: Scenario
}

/**
 * Resolves a scenario and variant of a model (variant defaults to the model's first).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Models } from "@drvmodel/cli"
 * const r = Effect.runSync(Models.resolve("classic", "abba", "buggy"))
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const resolve = (modelName: string, scenario: string, variant?: string): Effect.Effect<Resolved, InputError> =>
  tryInput(() => {
    const model = get(modelName)
    const info = model.scenarios.find((s) => s.name === scenario)
    if (info === undefined) {
      throw new UnknownName(
        "scenario",
        scenario,
        model.scenarios.map((s) => s.name)
      )
    }
    const v = variantOf(model, variant ?? model.variants[0]?.name ?? "").name
    return { model, info, variant: v, scenario: model.scenario(scenario, v) }
  }, `model ${modelName}`)

/**
 * A variant of a model by name: a listed one, or one the model composes
 * (`merged+v1-guard`); throws `UnknownName` / `InvalidVariant`.
 *
 * @example
 * ```ts
 * import { Models } from "@drvmodel/cli"
 * Models.variantOf(Models.get("classic"), "buggy").name // => "buggy"
 * ```
 * @category getters
 * @since 0.2.0
 */
export const variantOf = (model: Model, name: string): Described => {
  const listed = model.variants.find((x) => x.name === name)
  if (listed !== undefined) return listed
  if (model.variant !== undefined) return model.variant(name)
  throw new UnknownName(
    "variant",
    name,
    model.variants.map((x) => x.name)
  )
}

/**
 * The model with only the given variants (listed or composed), in that
 * order: what `matrix --variant` runs. Throws for a bad name.
 *
 * @example
 * ```ts
 * import { Models } from "@drvmodel/cli"
 * Models.withVariants(Models.get("classic"), ["fixed"]).variants.length // => 1
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const withVariants = (model: Model, names: ReadonlyArray<string>): Model => {
  const chosen = names.map((n) => variantOf(model, n))
  const seen = new Set<string>()
  for (const v of chosen) {
    if (seen.has(v.name)) throw new InputError({ message: `variant "${v.name}" given twice` })
    seen.add(v.name)
  }
  return { ...model, variants: chosen }
}

/**
 * The model with only the given scenarios, in that order: what `matrix
 * --scenario` runs (one row of the matrix, or a few). Throws for a bad name.
 *
 * @example
 * ```ts
 * import { Models } from "@drvmodel/cli"
 * Models.withScenarios(Models.get("classic"), ["abba"]).scenarios.length // => 1
 * ```
 * @category constructors
 * @since 0.5.0
 */
export const withScenarios = (model: Model, names: ReadonlyArray<string>): Model => {
  const chosen = names.map((n) => {
    const s = model.scenarios.find((x) => x.name === n)
    if (s === undefined)
      throw new UnknownName(
        "scenario",
        n,
        model.scenarios.map((x) => x.name)
      )
    return s
  })
  if (new Set(names).size !== names.length) throw new InputError({ message: `a scenario is given twice: ${names.join(", ")}` })
  return { ...model, scenarios: chosen }
}

/**
 * Finds the model of a counterexample that does not name one: the first
 * model that has both its scenario and its variant.
 *
 * @category getters
 * @since 0.1.0
 */
export const infer = (scenario: string, variant: string | undefined): ModelName | undefined =>
  modelNames.find((n) => {
    const m = models[n]
    if (!m.scenarios.some((s) => s.name === scenario)) return false
    if (variant === undefined) return true
    try {
      variantOf(m, variant)
      return true
    } catch {
      return false
    }
  })

/**
 * The explorer options for a scenario: its defaults over the explorer's,
 * then the user's choices over those.
 *
 * @example
 * ```ts
 * import { Models } from "@drvmodel/cli"
 * declare const info: import("@drvmodel/core").ScenarioInfo
 * const o = Models.optionsFor(info, { schedules: 10 })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const optionsFor = (
  info: ScenarioInfo,
  user: Partial<Record<keyof Explorer.ExploreOptions, unknown>> = {}
): Effect.Effect<Explorer.ExploreOptions, InputError> =>
  tryInput(() => Explorer.options(user, Explorer.options(info.defaults)), `scenario ${info.name}`)

/**
 * A model by name with only the chosen variants (listed or composed, in
 * that order; all of them when none are chosen), which must have scenarios.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Models } from "@drvmodel/cli"
 * Effect.runSync(Models.chosen("classic", ["fixed"])).variants.map((v) => v.name) // => ["fixed"]
 * ```
 * @category getters
 * @since 0.2.0
 */
export const chosen = (
  name: string,
  variants?: ReadonlyArray<string>,
  scenarios?: ReadonlyArray<string>
): Effect.Effect<Model, InputError> =>
  Effect.gen(function* () {
    const listed = yield* tryInput(() => get(name))
    const some = variants === undefined ? listed : yield* tryInput(() => withVariants(listed, variants))
    const model = scenarios === undefined ? some : yield* tryInput(() => withScenarios(some, scenarios))
    yield* requireScenarios(model)
    return model
  })

/** Makes sure a model has scenarios at all (the mlx5 model may still be a stub). */
export const requireScenarios = (model: Model): Effect.Effect<void, InputError> =>
  model.scenarios.length > 0
    ? Effect.void
    : Effect.fail(new InputError({ message: `model ${model.name} has no scenarios yet; try --model classic` }))
