/**
 * `struct completion`: `complete()` releases one waiter, `complete_all()` all
 * of them, now and later. `wait_for_completion_timeout()` uses virtual time.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type Resource } from "../Kernel.ts"

/**
 * A modelled completion.
 *
 * @category models
 * @since 0.1.0
 */
export interface Completion extends Resource {
  readonly complete: Effect.Effect<void>
  readonly completeAll: Effect.Effect<void>
  readonly wait: Effect.Effect<void>
  /** Returns the remaining time (ms, at least 1) on success, 0 on timeout. */
  readonly waitTimeout: (ms: number) => Effect.Effect<number>
  readonly isDone: () => boolean
}

/**
 * `init_completion()`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Completion } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const done = yield* Completion.make("fw_reset_done")
 *   yield* done.complete
 *   yield* done.wait
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (id: string, options?: { readonly lockClass?: string }): Effect.Effect<Completion, never, Kernel> =>
  Kernel.useSync((kernel) => {
    let done = 0
    const lockClass = options?.lockClass ?? `(completion)${id}`
    const resource: Resource = {
      id,
      kind: "completion",
      lockClass,
      holders: () => [],
      state: () => (done === Infinity ? "completed (all)" : `done=${done}`)
    }
    kernel.register(resource)
    const take = () => {
      if (done !== Infinity) done--
    }
    // Footprints: complete/complete_all and a successful wait (which consumes one `done`) write
    // the completion; a wait that timed out only read it. A blocked wait is enabled by a write.
    const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
    const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
    // `done` changes only in the ops that write `id`: a blocked wait waits for that key.
    const keys: ReadonlyArray<string> = [id]
    const touch = () => [{ type: "touch" as const, lockClass, resource: id, mode: "write" as const }]
    return {
      ...resource,
      isDone: () => done > 0,
      complete: kernel.point<void>({
        name: "complete",
        label: `complete(${id})`,
        resource,
        footprint: writes,
        apply: () => void (done !== Infinity && done++)
      }),
      completeAll: kernel.point<void>({
        name: "complete_all",
        label: `complete_all(${id})`,
        resource,
        footprint: writes,
        apply: () => void (done = Infinity)
      }),
      wait: kernel.point<void>({
        name: "wait_for_completion",
        label: `wait_for_completion(${id})`,
        resource,
        waitKind: "completion",
        enabled: () => done > 0,
        enabledReads: keys,
        footprint: writes,
        apply: take,
        lockEvents: touch
      }),
      waitTimeout: (ms: number) =>
        Effect.suspend(() => {
          const deadline = kernel.now() + ms
          return kernel.point<number>({
            name: "wait_for_completion_timeout",
            label: `wait_for_completion_timeout(${id}, ${ms})`,
            resource,
            waitKind: "completion",
            deadline,
            enabled: () => done > 0,
            enabledReads: keys,
            apply: () => {
              if (done <= 0) return 0
              take()
              return Math.max(1, deadline - kernel.now())
            },
            show: (n) => String(n),
            footprint: (n) => (n > 0 ? writes : reads),
            lockEvents: touch
          })
        })
    }
  })
