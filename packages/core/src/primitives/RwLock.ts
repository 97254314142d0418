/**
 * `rwlock_t`: a busy-waiting reader-writer lock (include/linux/rwlock.h, the
 * queued rwlock of kernel/locking/qrwlock.c).
 *
 * Kernel semantics kept:
 * - `read_lock()` shares the lock with other readers; `write_lock()` excludes
 *   everyone; both disable preemption and spin while they wait (`waitKind`
 *   `rwlock-read` / `rwlock-write`, busy-waits);
 * - a contended `write_lock()` queues first (its fast path fails and sets the
 *   waiting flag), then spins; from then on a reader in process context waits
 *   behind it, but a reader in interrupt context (softirq or hardirq) takes
 *   the lock as long as no writer holds it (qrwlock: "readers in interrupt
 *   context will get the lock immediately if the writer is just waiting");
 * - that is also how lockdep sees it (`read_lock_is_recursive()`): a read in
 *   interrupt context is a recursive read, in process context a plain read;
 * - `make(id, { queued: false })` is an architecture's non-queued rwlock:
 *   readers never wait for a waiting writer, every read is recursive;
 * - `_irqsave`, `_irq` and `_bh` variants disable interrupts or bottom halves
 *   as the spinlock ones do; sleeping while holding one is a finding.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type LockEvent, type Resource } from "../Kernel.ts"
import type { IrqFlags } from "./Spinlock.ts"

/**
 * A modelled rwlock.
 *
 * @category models
 * @since 0.3.0
 */
export interface RwLock extends Resource {
  /** `read_lock()` */
  readonly readLock: Effect.Effect<void>
  /** `read_unlock()` */
  readonly readUnlock: Effect.Effect<void>
  /** `write_lock()` */
  readonly writeLock: Effect.Effect<void>
  /** `write_unlock()` */
  readonly writeUnlock: Effect.Effect<void>
  /** `read_lock_irqsave()` */
  readonly readLockIrqsave: Effect.Effect<IrqFlags>
  /** `read_unlock_irqrestore()` */
  readonly readUnlockIrqrestore: (flags: IrqFlags) => Effect.Effect<void>
  /** `write_lock_irqsave()` */
  readonly writeLockIrqsave: Effect.Effect<IrqFlags>
  /** `write_unlock_irqrestore()` */
  readonly writeUnlockIrqrestore: (flags: IrqFlags) => Effect.Effect<void>
  /** `read_lock_irq()` */
  readonly readLockIrq: Effect.Effect<void>
  /** `read_unlock_irq()` */
  readonly readUnlockIrq: Effect.Effect<void>
  /** `write_lock_irq()` */
  readonly writeLockIrq: Effect.Effect<void>
  /** `write_unlock_irq()` */
  readonly writeUnlockIrq: Effect.Effect<void>
  /** `read_lock_bh()` */
  readonly readLockBh: Effect.Effect<void>
  /** `read_unlock_bh()` */
  readonly readUnlockBh: Effect.Effect<void>
  /** `write_lock_bh()` */
  readonly writeLockBh: Effect.Effect<void>
  /** `write_unlock_bh()` */
  readonly writeUnlockBh: Effect.Effect<void>
  /** `read_trylock()` */
  readonly readTrylock: Effect.Effect<boolean>
  /** `write_trylock()` */
  readonly writeTrylock: Effect.Effect<boolean>
  readonly writer: () => string | undefined
  readonly readers: () => ReadonlyArray<string>
}

type Variant = "plain" | "irq" | "irqsave" | "bh"
type Side = "read" | "write"

const suffix: Record<Variant, string> = { plain: "", irq: "_irq", irqsave: "_irqsave", bh: "_bh" }

/**
 * `rwlock_init()`: creates an rwlock registered with the kernel.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RwLock } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const lock = yield* RwLock.make("tbl->lock", { lockClass: "&tbl->lock" })
 *   yield* lock.readLock
 *   yield* lock.readUnlock
 *   const flags = yield* lock.writeLockIrqsave
 *   yield* lock.writeUnlockIrqrestore(flags)
 * })
 * ```
 * @category constructors
 * @since 0.3.0
 */
export const make = (
  id: string,
  options?: {
    readonly lockClass?: string
    /**
     * `false`: an architecture's own (non-queued) rwlock, as without CONFIG_QUEUED_RWLOCKS —
     * readers never wait behind a waiting writer, and lockdep sees every `read_lock()` as a
     * recursive read (`read_lock_is_recursive()`; what lib/locking-selftest.c forces with
     * `force_read_lock_recursive`). Default `true` (qrwlock).
     */
    readonly queued?: boolean
  }
): Effect.Effect<RwLock, never, Kernel> =>
  Kernel.useSync((kernel) => {
    let writer: string | undefined
    const readers: Array<string> = []
    // Writers whose fast path failed: they spin, and process-context readers wait behind them.
    const queued: Array<string> = []
    const lockClass = options?.lockClass ?? id
    const resource: Resource = {
      id,
      kind: "rwlock",
      lockClass,
      holders: () => (writer !== undefined ? [writer] : [...new Set(readers)]),
      state: () =>
        writer !== undefined ? `write-locked by ${writer}` : readers.length > 0 ? `read-locked by ${readers.join(", ")}` : "unlocked"
    }
    kernel.register(resource)
    const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
    const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
    const asReader = { resource: id, lockClass, mode: "read" as const }
    const asWriter = { resource: id, lockClass, mode: "write" as const }
    const queuedLock = options?.queued !== false
    // A read that never waits behind a waiting writer: in interrupt context, or on a non-queued lock.
    const readRecursive = () => !queuedLock || kernel.cpuState().context !== "process"
    // A reader may enter unless a writer holds the lock, or (in process context) one is queued.
    const readFree = (irq: boolean) => writer === undefined && (irq || queued.length === 0)
    const writeFree = () => writer === undefined && readers.length === 0
    const readEvent = (irq: boolean, trylock?: boolean): ReadonlyArray<LockEvent> => [
      { type: "acquire", lockClass, resource: id, mode: irq ? "recursive-read" : "read", ...(trylock ? { trylock } : {}) }
    ]
    const writeEvent: ReadonlyArray<LockEvent> = [{ type: "acquire", lockClass, resource: id, mode: "write" }]
    const disable = (v: Variant): IrqFlags => {
      const irqsDisabled = v === "irq" || v === "irqsave" ? kernel.setCpu({ irqs: true }) : kernel.cpuState().irqsDisabled
      if (v === "bh") kernel.setCpu({ bh: 1 })
      kernel.setCpu({ preempt: 1 })
      return { irqsDisabled }
    }
    interface Fast {
      readonly ok: boolean
      readonly irq: boolean
      readonly flags: IrqFlags
    }
    const lockAs = (side: Side, v: Variant): Effect.Effect<IrqFlags> => {
      const name = `${side}_lock${suffix[v]}`
      const fast = kernel.point<Fast>({
        name,
        label: `${name}(${id})`,
        resource,
        mightSleep: false,
        apply: () => {
          const flags = disable(v)
          const irq = readRecursive()
          const me = kernel.current()
          if (side === "read" ? readFree(irq) : writeFree()) {
            if (side === "read") readers.push(me)
            else writer = me
            return { ok: true, irq, flags }
          }
          if (side === "write") queued.push(me)
          return { ok: false, irq, flags }
        },
        show: (r) => (r.ok ? undefined : "spin"),
        // A queued writer changes what readers may do: its failed fast path writes too.
        footprint: (r) => (r.ok || side === "write" ? writes : reads),
        holds: (r) => (r.ok ? (side === "read" ? asReader : asWriter) : undefined),
        lockEvents: (r) => (r.ok ? (side === "read" ? readEvent(r.irq) : writeEvent) : [])
      })
      const spin = (irq: boolean) =>
        kernel.point<void>({
          name,
          label: `${name}(${id}) spin`,
          resource,
          waitKind: `rwlock-${side}`,
          busyWait: true,
          enabled: side === "read" ? () => readFree(irq) : writeFree,
          ...(side === "read" && !irq ? { behind: () => (writer === undefined ? [...new Set(queued)] : []) } : {}),
          apply: () => {
            const me = kernel.current()
            if (side === "read") readers.push(me)
            else {
              writer = me
              queued.splice(queued.indexOf(me), 1)
            }
          },
          footprint: writes,
          holds: () => (side === "read" ? asReader : asWriter),
          lockEvents: () => (side === "read" ? readEvent(irq) : writeEvent)
        })
      return Effect.flatMap(fast, (r) => (r.ok ? Effect.succeed(r.flags) : Effect.as(spin(r.irq), r.flags)))
    }
    const unlockAs = (side: Side, v: Variant, flags?: IrqFlags): Effect.Effect<void> => {
      const name = `${side}_unlock${v === "irqsave" ? "_irqrestore" : suffix[v]}`
      return Effect.flatMap(
        kernel.point({
          name,
          label: `${name}(${id})`,
          resource,
          releases: id,
          footprint: writes,
          apply: () => {
            const me = kernel.current()
            if (side === "write") {
              if (writer !== me) return `${name}(${id}) by ${me}, writer is ${writer ?? "nobody"}`
              writer = undefined
            } else {
              const i = readers.lastIndexOf(me)
              if (i < 0) return `${name}(${id}) by ${me}, which does not hold it for read`
              readers.splice(i, 1)
            }
            kernel.setCpu({ preempt: -1 })
            if (v === "bh") kernel.setCpu({ bh: -1 })
            if (v === "irq") kernel.setCpu({ irqs: false })
            if (v === "irqsave") kernel.setCpu({ irqs: flags?.irqsDisabled ?? false })
            return undefined
          },
          lockEvents: () => [{ type: "release", lockClass, resource: id, mode: side }]
        }),
        (bad) => (bad === undefined ? Effect.void : kernel.warn(bad))
      )
    }
    const trylock = (side: Side) =>
      kernel.point<{ readonly ok: boolean; readonly irq: boolean }>({
        name: `${side}_trylock`,
        label: `${side}_trylock(${id})`,
        resource,
        spin: "trylock",
        apply: () => {
          const irq = readRecursive()
          // queued_read_trylock / queued_write_trylock look only at the lock word: no writer
          // holding it (for a reader), nobody at all (for a writer).
          const ok = side === "read" ? writer === undefined : writeFree()
          if (!ok) return { ok, irq }
          if (side === "read") readers.push(kernel.current())
          else writer = kernel.current()
          kernel.setCpu({ preempt: 1 })
          return { ok, irq }
        },
        succeeded: (r) => r.ok,
        show: (r) => (r.ok ? "1" : "0"),
        footprint: (r) => (r.ok ? writes : reads),
        holds: (r) => (r.ok ? (side === "read" ? asReader : asWriter) : undefined),
        lockEvents: (r) =>
          r.ok
            ? side === "read"
              ? readEvent(r.irq, true)
              : [{ type: "acquire", lockClass, resource: id, mode: "write", trylock: true }]
            : []
      })
    return {
      ...resource,
      writer: () => writer,
      readers: () => readers,
      readLock: Effect.asVoid(lockAs("read", "plain")),
      readUnlock: unlockAs("read", "plain"),
      writeLock: Effect.asVoid(lockAs("write", "plain")),
      writeUnlock: unlockAs("write", "plain"),
      readLockIrqsave: lockAs("read", "irqsave"),
      readUnlockIrqrestore: (flags) => unlockAs("read", "irqsave", flags),
      writeLockIrqsave: lockAs("write", "irqsave"),
      writeUnlockIrqrestore: (flags) => unlockAs("write", "irqsave", flags),
      readLockIrq: Effect.asVoid(lockAs("read", "irq")),
      readUnlockIrq: unlockAs("read", "irq"),
      writeLockIrq: Effect.asVoid(lockAs("write", "irq")),
      writeUnlockIrq: unlockAs("write", "irq"),
      readLockBh: Effect.asVoid(lockAs("read", "bh")),
      readUnlockBh: unlockAs("read", "bh"),
      writeLockBh: Effect.asVoid(lockAs("write", "bh")),
      writeUnlockBh: unlockAs("write", "bh"),
      readTrylock: Effect.map(trylock("read"), (r) => r.ok),
      writeTrylock: Effect.map(trylock("write"), (r) => r.ok)
    }
  })
