/**
 * The mlx5 E-Switch representor lifecycle model (stub: being written).
 *
 * @since 0.1.0
 */
import { type Model, UnknownName } from "@drvmodel/core"

const variants = ["baseline", "v1@1", "v1@2", "v1@3", "v1@4", "v1@5", "v1@6", "v1@7", "merged"]

/**
 * The model: variants (patch levels) and scenarios.
 *
 * @category models
 * @since 0.1.0
 */
export const model: Model = {
  name: "mlx5",
  description: "mlx5 E-Switch representor lifecycle and work-queue deadlock",
  variants: variants.map((name) => ({ name, description: name })),
  scenarios: [],
  scenario: (name) => {
    throw new UnknownName("scenario", name, [])
  }
}
