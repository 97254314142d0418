/**
 * The mlx5 E-Switch representor lifecycle model: the driver before the
 * series (`baseline`), each cumulative V1 patch level (`v1@1` … `v1@7`),
 * reps `v2` and `v3` and the `merged` net-next code (= v3), plus variants
 * composed from rule flags (`merged+v1-guard`), with named scenarios and the
 * invariants of domain.md §5.1.
 *
 * @since 0.1.0
 */
import { type Model, UnknownName } from "@drvmodel/core"
import { scenarioDefs, scenarioFor, scenarioInfos } from "./scenarios.ts"
import { variantFlags, variantNamed, variants } from "./variant.ts"

export { INVARIANTS } from "./invariants.ts"
export type { Variant } from "./variant.ts"
export { composeVariant, variantFlags, variantNamed, variants } from "./variant.ts"

/**
 * The model: variants (patch levels) and scenarios.
 *
 * @example
 * ```ts
 * import { Explorer } from "@drvmodel/core"
 * import { model } from "@drvmodel/mlx5"
 * const s = model.scenario("teardown-with-pending-work", "baseline")
 * const report = Explorer.explore(s, Explorer.options(s.defaults ?? {}))
 * ```
 * @category models
 * @since 0.1.0
 */
export const model: Model = {
  name: "mlx5",
  description:
    "mlx5 E-Switch representor lifecycle and work-queue deadlock (net/mlx5 V1 series, 7 patches, reps V2 and V3, and the merged code)",
  variants: variants.map((v) => ({ name: v.name, description: v.description })),
  scenarios: scenarioInfos,
  // Every member tasks share is a kernel object (world.ts), so DPOR is sound on it.
  footprints: "complete",
  variantFlags,
  variant: (name) => {
    const v = variantNamed(name)
    return { name: v.name, description: v.description }
  },
  scenario: (name, variant) => {
    const d = scenarioDefs.find((s) => s.name === name)
    if (d === undefined)
      throw new UnknownName(
        "scenario",
        name,
        scenarioDefs.map((s) => s.name)
      )
    return scenarioFor(d, variantNamed(variant))
  }
}
