/**
 * `struct rw_semaphore`: many readers or one writer, sleeping.
 *
 * Inferred fairness (the kernel's rwsem has optimistic spinning and hand-off
 * details not modelled): a waiting writer blocks new readers, including a
 * task that already holds the semaphore for read. That is what makes a
 * recursive `down_read` deadlock-prone, which lockdep reports.
 *
 * `down_write` is two steps when contended, as in kernel/locking/rwsem.c: the
 * fast-path attempt (`down_write`), which on failure queues the writer
 * (`rwsem_down_write_slowpath` sets the waiter flag that stops new readers),
 * then the sleep until the semaphore is free (`down_write(…) wait`). Queueing
 * is a step of its own so that every change of the semaphore's state happens
 * inside an operation and is in that operation's footprint.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Access, Kernel, type Resource } from "../Kernel.ts"

/**
 * A modelled rw-semaphore.
 *
 * @category models
 * @since 0.1.0
 */
export interface RwSemaphore extends Resource {
  readonly downRead: Effect.Effect<void>
  readonly upRead: Effect.Effect<void>
  readonly downWrite: Effect.Effect<void>
  readonly upWrite: Effect.Effect<void>
  /** `down_read_trylock()`: fails while a writer holds or waits. */
  readonly downReadTrylock: Effect.Effect<boolean>
  /** `down_write_trylock()` */
  readonly downWriteTrylock: Effect.Effect<boolean>
  readonly writer: () => string | undefined
  readonly readers: () => ReadonlyArray<string>
}

/**
 * Creates an rw-semaphore.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RwSemaphore } from "@drvmodel/core"
 * const program = Effect.gen(function*() {
 *   const modeLock = yield* RwSemaphore.make("esw->mode_lock")
 *   if (yield* modeLock.downWriteTrylock) yield* modeLock.upWrite
 * })
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const make = (id: string, options?: { readonly lockClass?: string }): Effect.Effect<RwSemaphore, never, Kernel> =>
  Kernel.useSync((kernel) => {
    let writer: string | undefined
    const readers: Array<string> = []
    // Writers queued in down_write's slow path, by task: new readers wait behind them.
    const queued: Array<string> = []
    const lockClass = options?.lockClass ?? id
    const resource: Resource = {
      id,
      kind: "rwsem",
      lockClass,
      holders: () => (writer !== undefined ? [writer] : [...new Set(readers)]),
      state: () =>
        writer !== undefined ? `write-locked by ${writer}` : readers.length > 0 ? `read-locked by ${readers.join(", ")}` : "unlocked"
    }
    kernel.register(resource)
    const readFree = () => writer === undefined && queued.length === 0
    const writeFree = () => writer === undefined && readers.length === 0
    const asReader = { resource: id, lockClass, mode: "read" as const }
    const asWriter = { resource: id, lockClass, mode: "write" as const }
    // Footprints: every acquire, release and queueing writes the semaphore (readers too: they
    // change the reader set that a writer's wait and up_read depend on); a failed trylock reads.
    const writes: ReadonlyArray<Access> = [{ key: id, mode: "write" }]
    const reads: ReadonlyArray<Access> = [{ key: id, mode: "read" }]
    // writer, readers and queued change only in the ops that write `id`: a blocked down waits for that key.
    const keys: ReadonlyArray<string> = [id]
    const release = (mode: "read" | "write") =>
      Effect.flatMap(
        kernel.point({
          name: mode === "read" ? "up_read" : "up_write",
          label: `${mode === "read" ? "up_read" : "up_write"}(${id})`,
          resource,
          releases: id,
          footprint: writes,
          apply: () => {
            const me = kernel.current()
            if (mode === "write") {
              if (writer !== me) return `up_write(${id}) by ${me}, writer is ${writer ?? "nobody"}`
              writer = undefined
              return undefined
            }
            const i = readers.lastIndexOf(me)
            if (i < 0) return `up_read(${id}) by ${me}, which does not hold it for read`
            readers.splice(i, 1)
            return undefined
          },
          lockEvents: () => [{ type: "release", lockClass, resource: id, mode }]
        }),
        (bad) => (bad === undefined ? Effect.void : kernel.warn(bad))
      )
    const acquireWrite = {
      holds: () => asWriter,
      footprint: writes,
      lockEvents: () => [{ type: "acquire" as const, lockClass, resource: id, mode: "write" as const }]
    }
    // The fast path: takes the semaphore if it is free, else queues the writer (from then on
    // new readers wait). Returns whether it took it.
    const downWriteFast = kernel.point<boolean>({
      name: "down_write",
      label: `down_write(${id})`,
      resource,
      apply: () => {
        if (writeFree()) {
          writer = kernel.current()
          return true
        }
        queued.push(kernel.current())
        return false
      },
      show: (ok) => (ok ? undefined : "queued"),
      ...acquireWrite,
      holds: (ok) => (ok ? asWriter : undefined),
      lockEvents: (ok) => (ok ? acquireWrite.lockEvents() : [])
    })
    const downWriteWait = kernel.point({
      name: "down_write",
      label: `down_write(${id}) wait`,
      resource,
      waitKind: "rwsem-write",
      enabled: writeFree,
      enabledReads: keys,
      apply: () => {
        writer = kernel.current()
        queued.splice(queued.indexOf(writer), 1)
      },
      ...acquireWrite
    })
    return {
      ...resource,
      writer: () => writer,
      readers: () => readers,
      downRead: kernel.point({
        name: "down_read",
        label: `down_read(${id})`,
        resource,
        waitKind: "rwsem-read",
        enabled: readFree,
        enabledReads: keys,
        // A reader that finds the semaphore only read-held waits for the queued writers.
        behind: () => (writer === undefined ? [...new Set(queued)] : []),
        footprint: writes,
        apply: () => {
          readers.push(kernel.current())
        },
        holds: () => asReader,
        lockEvents: () => [{ type: "acquire", lockClass, resource: id, mode: "read" }]
      }),
      upRead: release("read"),
      downWrite: Effect.flatMap(downWriteFast, (ok) => (ok ? Effect.void : downWriteWait)),
      upWrite: release("write"),
      downReadTrylock: kernel.point({
        name: "down_read_trylock",
        label: `down_read_trylock(${id})`,
        resource,
        spin: "trylock",
        apply: () => {
          if (!readFree()) return false
          readers.push(kernel.current())
          return true
        },
        succeeded: (ok) => ok,
        show: (ok) => (ok ? "1" : "0"),
        footprint: (ok) => (ok ? writes : reads),
        holds: (ok) => (ok ? asReader : undefined),
        lockEvents: (ok) => (ok ? [{ type: "acquire", lockClass, resource: id, mode: "read", trylock: true }] : [])
      }),
      downWriteTrylock: kernel.point({
        name: "down_write_trylock",
        label: `down_write_trylock(${id})`,
        resource,
        spin: "trylock",
        apply: () => {
          if (!writeFree()) return false
          writer = kernel.current()
          return true
        },
        succeeded: (ok) => ok,
        show: (ok) => (ok ? "1" : "0"),
        footprint: (ok) => (ok ? writes : reads),
        holds: (ok) => (ok ? asWriter : undefined),
        lockEvents: (ok) => (ok ? [{ type: "acquire", lockClass, resource: id, mode: "write", trylock: true }] : [])
      })
    }
  })
