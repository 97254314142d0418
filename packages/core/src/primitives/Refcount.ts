/**
 * `refcount_t` and `struct kref` (include/linux/refcount.h, lib/refcount.c,
 * include/linux/kref.h).
 *
 * Kernel semantics followed:
 * - every operation is atomic (a scheduling point); `refcount_dec_and_test`
 *   has release ordering and acquire ordering on success, so every access made
 *   under a reference happens before the release function that the last put
 *   runs (the footprint: each change writes the counter);
 * - `refcount_inc()` / `refcount_add()` of 0 is "refcount_t: addition on 0;
 *   use-after-free." (the object is already being freed), a decrement below 0
 *   "refcount_t: underflow; use-after-free.", `refcount_dec()` to 0 "refcount_t:
 *   decrement hit 0; leaking memory." (refcount_warn_saturate's WARNs; the
 *   kernel then saturates the counter, the model's run ends at the WARN);
 * - `refcount_inc_not_zero()` takes a reference only if the count is not 0;
 * - `kref_put(kref, release)` runs `release` in the caller when it dropped the
 *   last reference; `kref_get_unless_zero()` is `refcount_inc_not_zero`.
 *
 * A use of the object after the last put is seen through the object itself:
 * a release function that frees it with `Slab.kfree` makes every later access
 * through a handle KASAN's use-after-free, and every access that the free is
 * not ordered after (a user that held no reference). A kref whose count is
 * still above 0 when every task has ended is a leak (an eventual finding, as
 * kmemleak reports an unreferenced object); on by default for a kref, opt-in
 * for a bare refcount_t (whose object may outlive the scenario).
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type Resource } from "../Kernel.ts"

/**
 * A modelled `refcount_t`.
 *
 * @category models
 * @since 0.3.0
 */
export interface Refcount extends Resource {
  /** `refcount_read()` */
  readonly read: Effect.Effect<number>
  /** `refcount_set()` */
  readonly set: (n: number) => Effect.Effect<void>
  /** `refcount_inc()`: a WARN when the count was 0. */
  readonly inc: Effect.Effect<void>
  /** `refcount_add(n)`: a WARN when the count was 0. */
  readonly add: (n: number) => Effect.Effect<void>
  /** `refcount_inc_not_zero()`: false (and no reference taken) when the count is 0. */
  readonly incNotZero: Effect.Effect<boolean>
  /** `refcount_dec()`: a WARN when it reaches 0 (or goes below). */
  readonly dec: Effect.Effect<void>
  /** `refcount_dec_and_test()`: true when it dropped the last reference; a WARN below 0. */
  readonly decAndTest: Effect.Effect<boolean>
  /** The count, for invariants and probes (an observer's read). */
  readonly peek: () => number
}

/**
 * Options of a counter.
 *
 * @category models
 * @since 0.3.0
 */
export interface RefcountOptions {
  /** Report a count above 0 at quiescence (every task ended) as a leak. */
  readonly leakCheck?: boolean
}

/** The outcome of one counter operation: the new value, and a WARN if the kernel would give one. */
interface Step {
  readonly value: number
  readonly warn?: string
}

const ADD_UAF = "refcount_t: addition on 0; use-after-free."
const SUB_UAF = "refcount_t: underflow; use-after-free."
const DEC_LEAK = "refcount_t: decrement hit 0; leaking memory."

/** The counter and its operations (named by the caller: `refcount_inc` or `kref_get`). */
const counter = (kernel: Kernel["Service"], id: string, initial: number, kind: string, options: RefcountOptions | undefined) => {
  let count = initial
  const resource: Resource = {
    id,
    kind,
    lockClass: id,
    holders: () => [],
    state: () => `refs=${count}`
  }
  kernel.register(resource)
  const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
  const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
  const op = <A>(name: string, apply: () => A & Step, footprint: (a: A & Step) => ReadonlyArray<Access> = () => writes) =>
    Effect.flatMap(
      kernel.point<A & Step>({ name, label: `${name}(${id})`, resource, apply, footprint, show: (s) => String(s.value) }),
      (s) => (s.warn === undefined ? Effect.succeed(s) : Effect.as(kernel.warn(`${s.warn} (${name}(${id}))`), s))
    )
  const add = (name: string, n: number) =>
    Effect.asVoid(
      op(name, () => {
        const old = count
        count += n
        return old === 0 ? { value: count, warn: ADD_UAF } : { value: count }
      })
    )
  const decrement = (name: string, zeroWarns: boolean, onLast?: () => void) =>
    op(
      name,
      () => {
        const old = count
        count -= 1
        const last = count === 0
        if (old <= 0) return { value: count, last: false, warn: SUB_UAF }
        if (last && zeroWarns) return { value: count, last, warn: DEC_LEAK }
        if (last) onLast?.()
        return { value: count, last }
      },
      () => writes
    )
  if (options?.leakCheck === true) {
    kernel.invariant({
      name: `leak:${id}`,
      description: `${id} has dropped its last reference when every task has ended`,
      when: "eventual",
      check: () => {
        kernel.access(id, "read", "ghost")
        return count <= 0 || `unreferenced object ${id}: ${count} reference${count === 1 ? "" : "s"} never put (leak)`
      }
    })
  }
  return {
    resource,
    read: (name: string) =>
      Effect.map(
        op(
          name,
          () => ({ value: count }),
          () => reads
        ),
        (s) => s.value
      ),
    set: (n: number) =>
      Effect.asVoid(
        op("refcount_set", () => {
          count = n
          return { value: count }
        })
      ),
    add,
    incNotZero: (name: string) =>
      Effect.map(
        op(
          name,
          () => {
            if (count === 0) return { value: 0, ok: false }
            count += 1
            return { value: count, ok: true }
          },
          (s) => (s.ok ? writes : reads)
        ),
        (s) => s.ok
      ),
    decrement,
    peek: () => {
      kernel.access(id, "read", "ghost")
      return count
    }
  }
}

/**
 * `refcount_t` with `REFCOUNT_INIT(initial)` (default 1).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Refcount } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const users = yield* Refcount.make("dev->users")
 *   yield* users.inc
 *   if (yield* users.decAndTest) yield* Effect.void // last user
 *   yield* users.dec // WARNING: refcount_t: decrement hit 0; leaking memory.
 * })
 * ```
 * @category constructors
 * @since 0.3.0
 */
export const make = (id: string, initial = 1, options?: RefcountOptions): Effect.Effect<Refcount, never, Kernel> =>
  Kernel.useSync((kernel) => {
    const c = counter(kernel, id, initial, "refcount", options)
    return {
      ...c.resource,
      read: c.read("refcount_read"),
      set: c.set,
      inc: c.add("refcount_inc", 1),
      add: (n: number) => c.add("refcount_add", n),
      incNotZero: c.incNotZero("refcount_inc_not_zero"),
      dec: Effect.asVoid(c.decrement("refcount_dec", true)),
      decAndTest: Effect.map(c.decrement("refcount_dec_and_test", false), (s) => s.last),
      peek: c.peek
    }
  })

/**
 * A `struct kref` embedded in an object, with its release function.
 *
 * @category models
 * @since 0.3.0
 */
export interface Kref extends Resource {
  /** `kref_get()`: a WARN when the count was 0 (the object is being released). */
  readonly get: Effect.Effect<void>
  /** `kref_get_unless_zero()`: false when the count is 0. */
  readonly getUnlessZero: Effect.Effect<boolean>
  /** `kref_put(kref, release)`: true when it dropped the last reference and ran the release. */
  readonly put: Effect.Effect<boolean>
  /** `kref_read()` */
  readonly read: Effect.Effect<number>
  /** Whether the release function has run. */
  readonly released: () => boolean
  /** The count, for invariants and probes. */
  readonly peek: () => number
}

/**
 * Options of a kref.
 *
 * @category models
 * @since 0.3.0
 */
export interface KrefOptions extends RefcountOptions {
  /** The release function's name in traces and reports (default `<id>_release`). */
  readonly releaseName?: string
}

/**
 * `kref_init()`: a kref at 1 whose last `kref_put` runs `release` in the
 * putting task. A count above 0 when every task has ended is a leak (unless
 * `leakCheck: false`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Refcount, Slab } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const dev = yield* Slab.kmalloc("dev#1", { id: 1 })
 *   const ref = yield* Refcount.kref("dev#1->kref", Slab.kfree(dev), { releaseName: "dev_release" })
 *   yield* ref.get
 *   yield* ref.put
 *   yield* ref.put // the last reference: dev_release frees dev#1
 *   yield* dev.read // finding: use-after-free: dev#1 freed by setup in dev_release ...
 * })
 * ```
 * @category constructors
 * @since 0.3.0
 */
export const kref = (
  id: string,
  release: Effect.Effect<void, unknown, Kernel>,
  options?: KrefOptions
): Effect.Effect<Kref, never, Kernel> =>
  Kernel.useSync((kernel) => {
    const c = counter(kernel, id, 1, "kref", { leakCheck: options?.leakCheck ?? true })
    let released = false
    const releaseName = options?.releaseName ?? `${id}_release`
    return {
      ...c.resource,
      get: c.add("kref_get", 1),
      getUnlessZero: c.incNotZero("kref_get_unless_zero"),
      put: Effect.flatMap(
        c.decrement("kref_put", false, () => {
          released = true
        }),
        (s) =>
          s.last
            ? Effect.as(Effect.orDie(kernel.call("kref", releaseName, Effect.provideService(release, Kernel, kernel))), true)
            : Effect.succeed(false)
      ),
      read: c.read("kref_read"),
      released: () => released,
      peek: c.peek
    }
  })
