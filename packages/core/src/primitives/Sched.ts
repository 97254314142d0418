/**
 * Scheduler-level calls: `msleep()`, `cond_resched()` and `cpu_relax()`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Kernel } from "../Kernel.ts"

/**
 * `msleep(ms)` on the virtual clock.
 *
 * @example
 * ```ts
 * import { Sched } from "@drvmodel/core"
 * const wait = Sched.msleep(1000)
 * ```
 * @category combinators
 * @since 0.1.0
 */
export const msleep = (ms: number): Effect.Effect<void, never, Kernel> =>
  Kernel.use((kernel) =>
    Effect.suspend(() => {
      const deadline = kernel.now() + ms
      return kernel.point<void>({
        name: "msleep",
        label: `msleep(${ms})`,
        waitKind: "sleep",
        deadline,
        enabled: () => false,
        // Touches no kernel object: only virtual time, which the engine advances, wakes it.
        footprint: [],
        apply: () => undefined
      })
    })
  )

/**
 * `cond_resched()`: a voluntary scheduling point inside a retry loop.
 *
 * @category combinators
 * @since 0.1.0
 */
export const condResched: Effect.Effect<void, never, Kernel> = Kernel.use((kernel) =>
  // Touches nothing; how yields are scheduled is the engine's fairness rule, not a dependency.
  kernel.point<void>({ name: "cond_resched", label: "cond_resched()", spin: "yield", footprint: [], apply: () => undefined })
)

/**
 * `cpu_relax()` inside a busy loop.
 *
 * @category combinators
 * @since 0.1.0
 */
export const cpuRelax: Effect.Effect<void, never, Kernel> = Kernel.use((kernel) =>
  kernel.point<void>({ name: "cpu_relax", label: "cpu_relax()", spin: "yield", footprint: [], apply: () => undefined })
)
