/**
 * Slab objects: `kmalloc()` / `kfree()` and KASAN's use-after-free check.
 *
 * An object is what a pointer reaches: a driver's `struct foo` allocated with
 * `kmalloc`/`kzalloc` and freed with `kfree` (directly, from an RCU callback,
 * by `kfree_rcu`, or by a `kref` release function). Every access through a
 * handle is a recorded access of the object's cell (`slab:<name>`), as a
 * kernel cell's is: part of the step's footprint, and checked. An access after
 * the free is a finding, worded after KASAN and naming who freed it
 * (`use-after-free: cfg#1 freed after grace period still reached by reader in
 * foo_show`); so is an access that the free is not ordered with by
 * happens-before (no lock, grace period, completion… between them), whichever
 * came first in the run: some interleaving of the same steps puts the access
 * after the free (the race check's rule, with the free conflicting even with
 * marked accesses). Two unordered plain accesses of the contents, one a write,
 * are a data race on `slab:<name>`. A second `kfree` is a double free.
 *
 * Neither an access nor a free is a scheduling point: in C they are plain
 * loads, stores and a call that does not sleep.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { Kernel } from "../Kernel.ts"

/**
 * A slab object holding a value (the struct's contents).
 *
 * @category models
 * @since 0.3.0
 */
export interface Obj<A> {
  /** Unique within a run: `cfg#1`. */
  readonly name: string
  /** A load through a handle: a finding if the object was freed. */
  readonly read: Effect.Effect<A>
  /** A store through a handle: a finding if the object was freed. */
  readonly write: (value: A) => Effect.Effect<void>
  /** Whether it was freed (for invariants and probes; an observer's read). */
  readonly isFreed: () => boolean
  /** Frees it: `how` says by whom, for reports. Use `kfree` (or `Rcu.kfreeRcu`). */
  readonly free: (how: string) => Effect.Effect<void>
}

/** Who runs: `<task> in <function>` (the innermost modelled function, if the kernel keeps a stack). */
const whereNow = (
  kernel: Kernel["Service"]
): { readonly task: string; readonly func: string | undefined; readonly stack: ReadonlyArray<string> } => {
  const stack = kernel.where?.() ?? []
  return { task: kernel.running() ?? "setup", func: stack[stack.length - 1], stack }
}

/** `<task> in <function>`, or `<task>` when it runs no modelled function. */
const describe = (w: { readonly task: string; readonly func: string | undefined }): string =>
  w.func === undefined ? w.task : `${w.task} in ${w.func}`

/**
 * `kmalloc()` / `kzalloc()`: a new object holding `value`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Slab } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const cfg = yield* Slab.kmalloc("cfg#1", { mtu: 1500 })
 *   const { mtu } = yield* cfg.read
 *   yield* Slab.kfree(cfg)
 *   yield* cfg.read // finding: use-after-free: cfg#1 freed by setup still reached by setup
 * })
 * ```
 * @category constructors
 * @since 0.3.0
 */
export const kmalloc = <A>(name: string, value: A): Effect.Effect<Obj<A>, never, Kernel> =>
  Kernel.useSync((kernel) => {
    const key = `slab:${name}`
    let contents = value
    let freed: string | undefined
    kernel.probe(key, () => (freed === undefined ? "allocated" : `freed ${freed}`))
    // An access after the free (in this run's order) is reported here; one the free is not ordered
    // after (no happens-before between them: the free could have come first) by the race check.
    const touch = (mode: "read" | "write") =>
      Effect.suspend(() => {
        const late =
          freed === undefined
            ? Effect.void
            : kernel.warn(`use-after-free: ${name} freed ${freed} still reached by ${describe(whereNow(kernel))}`)
        return Effect.andThen(
          late,
          Effect.sync(() => kernel.access(key, mode, "plain"))
        )
      })
    return {
      name,
      read: Effect.map(touch("read"), () => contents),
      write: (next: A) =>
        Effect.map(touch("write"), () => {
          contents = next
        }),
      isFreed: () => {
        kernel.access(key, "read", "ghost")
        return freed !== undefined
      },
      free: (how: string) =>
        Effect.suspend(() => {
          if (freed !== undefined) return kernel.warn(`double-free: ${name} freed ${how}, already freed ${freed}`)
          freed = how
          kernel.access(key, "write", "free", `${name} freed ${how}`)
          return Effect.void
        })
    }
  })

/**
 * `kfree()`: frees the object now. Freed from an RCU callback (`call_rcu`), the
 * report says it was freed after a grace period.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Slab } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const cfg = yield* Slab.kmalloc("cfg#1", 0)
 *   yield* Slab.kfree(cfg)
 * })
 * ```
 * @category combinators
 * @since 0.3.0
 */
export const kfree = <A>(obj: Obj<A>): Effect.Effect<void, never, Kernel> =>
  Kernel.use((kernel) => {
    const w = whereNow(kernel)
    // rcu_do_batch is the frame the RCU callback invoker runs callbacks in (Rcu.ts).
    return obj.free(w.stack.includes("rcu_do_batch") ? "after grace period" : `by ${describe(w)}`)
  })
