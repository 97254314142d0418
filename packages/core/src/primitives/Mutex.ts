/**
 * `struct mutex`: a sleeping lock with an owner. Every operation is a
 * scheduling point; `mutex_lock` blocks (sleeps) until the mutex is free.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type Resource } from "../Kernel.ts"

/**
 * A modelled mutex. `lockClass` is lockdep's key (one per kind of lock, e.g.
 * `&devlink->lock`), separate from the instance name.
 *
 * @category models
 * @since 0.1.0
 */
export interface Mutex extends Resource {
  /** `mutex_lock()` */
  readonly lock: Effect.Effect<void>
  /**
   * `mutex_lock_nested(lock, subclass)`: the same lock, recorded for lock-order
   * analysis under lockdep's subclass `<class>/<subclass>` (as lockdep keys it).
   */
  readonly lockNested: (subclass: number) => Effect.Effect<void>
  /** `mutex_trylock()`: true on success. */
  readonly trylock: Effect.Effect<boolean>
  /** `mutex_unlock()`: a WARN if the caller is not the owner. */
  readonly unlock: Effect.Effect<void>
  /** `lockdep_assert_held()`: a WARN unless the caller holds the mutex. */
  readonly assertHeld: Effect.Effect<void>
  /** Current owner task, if locked. */
  readonly owner: () => string | undefined
}

/**
 * Creates a mutex registered with the kernel.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Mutex } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const devlink = yield* Mutex.make("devlink", { lockClass: "&devlink->lock" })
 *   yield* devlink.lock
 *   yield* devlink.unlock
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (id: string, options?: { readonly lockClass?: string }): Effect.Effect<Mutex, never, Kernel> =>
  Kernel.useSync((kernel) => {
    let owner: string | undefined
    const lockClass = options?.lockClass ?? id
    const resource: Resource = {
      id,
      kind: "mutex",
      lockClass,
      holders: () => (owner === undefined ? [] : [owner]),
      state: () => (owner === undefined ? "unlocked" : `locked by ${owner}`)
    }
    const held = { resource: id, lockClass, mode: "write" as const }
    kernel.register(resource)
    // Footprints: taking or releasing the mutex writes it (a blocked mutex_lock is enabled only
    // by the unlock, which writes the same key); a failed trylock and an assertion only read it.
    const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
    const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
    // `owner` changes only in the ops above that write `id`: a blocked lock waits for that key.
    const keys: ReadonlyArray<string> = [id]
    const lockAs = (cls: string, name: string) =>
      kernel.point({
        name,
        label: `${name}(${id})`,
        resource,
        waitKind: "mutex",
        enabled: () => owner === undefined,
        enabledReads: keys,
        apply: () => {
          owner = kernel.current()
        },
        footprint: writes,
        holds: () => (cls === lockClass ? held : { ...held, lockClass: cls }),
        lockEvents: () => [{ type: "acquire" as const, lockClass: cls, resource: id, mode: "write" as const }]
      })
    return {
      ...resource,
      owner: () => owner,
      lock: lockAs(lockClass, "mutex_lock"),
      lockNested: (subclass: number) => lockAs(subclass === 0 ? lockClass : `${lockClass}/${subclass}`, "mutex_lock_nested"),
      trylock: kernel.point({
        name: "mutex_trylock",
        label: `mutex_trylock(${id})`,
        resource,
        spin: "trylock",
        apply: () => {
          if (owner !== undefined) return false
          owner = kernel.current()
          return true
        },
        succeeded: (ok) => ok,
        show: (ok) => (ok ? "1" : "0"),
        footprint: (ok) => (ok ? writes : reads),
        holds: (ok) => (ok ? held : undefined),
        lockEvents: (ok) => (ok ? [{ type: "acquire", lockClass, resource: id, mode: "write", trylock: true }] : [])
      }),
      unlock: Effect.flatMap(
        kernel.point({
          name: "mutex_unlock",
          label: `mutex_unlock(${id})`,
          resource,
          releases: id,
          footprint: writes,
          apply: () => {
            const me = kernel.current()
            if (owner !== me) return `mutex_unlock(${id}) by ${me}, owner is ${owner ?? "nobody"}`
            owner = undefined
            return undefined
          },
          lockEvents: () => [{ type: "release", lockClass, resource: id, mode: "write" }]
        }),
        (bad) => (bad === undefined ? Effect.void : kernel.warn(bad))
      ),
      assertHeld: Effect.flatMap(
        kernel.point({
          name: "lockdep_assert_held",
          label: `lockdep_assert_held(${id})`,
          resource,
          footprint: reads,
          apply: () => owner === kernel.current()
        }),
        (ok) => (ok ? Effect.void : kernel.warn(`lockdep_assert_held(${id}) failed: owner is ${owner ?? "nobody"}`))
      )
    }
  })
