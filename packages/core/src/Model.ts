/**
 * A model: a family of design variants (patch levels) and named scenarios,
 * so that the same workloads run on every variant and the results line up in
 * a findings matrix. The CLI works over models.
 *
 * @since 0.1.0
 */
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
  /** The runnable scenario for a variant; throws `UnknownName` for a bad name. */
  readonly scenario: (scenario: string, variant: string) => Scenario
}

/**
 * Raised for an unknown scenario or variant name.
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownName extends Error {
  override readonly name = "UnknownName"
  constructor(kind: "scenario" | "variant" | "model", value: string, known: ReadonlyArray<string>) {
    super(`unknown ${kind} "${value}"; known: ${known.join(", ")}`)
  }
}
