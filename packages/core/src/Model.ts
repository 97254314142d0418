/**
 * A model: a family of design variants (patch levels) and named scenarios,
 * so that the same workloads run on every variant and the results line up in
 * a findings matrix. The CLI works over models.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { ExploreOptions, Scenario } from "./Explorer.ts"

/**
 * A named, documented thing (variant, invariant).
 *
 * @category models
 * @since 0.1.0
 */
export interface Described {
  readonly name: string
  readonly description: string
}

/**
 * A scenario as listed by a model: its name, what it does, its default budget
 * and the invariants it checks.
 *
 * @category models
 * @since 0.1.0
 */
export interface ScenarioInfo extends Described {
  readonly defaults: Partial<ExploreOptions>
  readonly invariants: ReadonlyArray<Described>
}

/**
 * A rule flag a model's variants are built from, as `list` shows it: its
 * name on the command line and the values it takes (`true`/`false` for a
 * boolean flag).
 *
 * @category models
 * @since 0.2.0
 */
export interface VariantFlag extends Described {
  readonly values: ReadonlyArray<string>
}

/**
 * A model of a driver design.
 *
 * @example
 * ```ts
 * import type { Model } from "@drvmodel/core"
 * declare const model: Model
 * const s = model.scenario("teardown-with-pending-work", "baseline")
 * ```
 * @category models
 * @since 0.1.0
 */
export interface Model {
  readonly name: string
  readonly description: string
  readonly variants: ReadonlyArray<Described>
  readonly scenarios: ReadonlyArray<ScenarioInfo>
  /**
   * `"complete"`: the steps' footprints cover all the state its tasks share and its invariants
   * read — it lives in kernel objects (primitives, `Cell`s), or is only touched in steps that also
   * touch a common kernel object (a plain counter under a mutex) — so partial-order reduction
   * (`dpor`) is sound on it, and the matrix tries it first. Omitted: plain shared objects exist
   * that no footprint records; the matrix samples (or runs the scenario's DFS) as its defaults say.
   */
  readonly footprints?: "complete"
  /** The runnable scenario for a variant; throws `UnknownName` for a bad name. */
  readonly scenario: (scenario: string, variant: string) => Scenario
  /**
   * Variants composed on the command line from a listed one and rule flags,
   * `<base>+<flag>[=value]…` (`merged+guard=atomic`): the flags (and
   * shorthands) a composition may name, as `list` shows them.
   */
  readonly variantFlags?: ReadonlyArray<VariantFlag>
  /**
   * Resolves a variant by name, a composed one included, to its canonical
   * name and description (what matrices and counterexample files record);
   * throws `UnknownName` for an unknown base and `InvalidVariant` for a bad
   * flag or value. Omitted: only the listed variants exist.
   */
  readonly variant?: (name: string) => Described
}

/**
 * A composed variant that names an unknown flag, a value the flag does not
 * take, or a combination the model cannot run (a Schema tagged error, thrown
 * by `Model.variant` and `Model.scenario`).
 *
 * @example
 * ```ts
 * import { InvalidVariant } from "@drvmodel/core"
 * const e = new InvalidVariant("merged+gaurd", 'unknown flag "gaurd"; known: guard, wq-trylock')
 * e.message // => 'variant "merged+gaurd": unknown flag "gaurd"; known: guard, wq-trylock'
 * ```
 * @category errors
 * @since 0.2.0
 */
export class InvalidVariant extends Schema.TaggedError<InvalidVariant>()("InvalidVariant", {
  variant: Schema.String,
  reason: Schema.String
}) {
  constructor(variant: string, reason: string) {
    super({ variant, reason })
  }
  override get message(): string {
    return `variant "${this.variant}": ${this.reason}`
  }
}

/**
 * Raised for an unknown scenario, variant or model name (a Schema tagged
 * error: thrown by the synchronous `Model.scenario`, failed with in Effects).
 *
 * @example
 * ```ts
 * import { UnknownName } from "@drvmodel/core"
 * const e = new UnknownName("variant", "v2", ["baseline", "merged"])
 * e.message // => 'unknown variant "v2"; known: baseline, merged'
 * ```
 * @category errors
 * @since 0.1.0
 */
export class UnknownName extends Schema.TaggedError<UnknownName>()("UnknownName", {
  kind: Schema.Literals(["scenario", "variant", "model"]),
  value: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  constructor(kind: "scenario" | "variant" | "model", value: string, known: ReadonlyArray<string>) {
    super({ kind, value, known })
  }
  override get message(): string {
    return `unknown ${this.kind} "${this.value}"; known: ${this.known.join(", ")}`
  }
}
