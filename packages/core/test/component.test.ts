import { Component, Explorer, Kernel, LiveKernel, LockContract, Mutex, Workqueue } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"

const Devlink = LockContract.lockClass("&devlink->lock")
const Guard = LockContract.lockClass("reps_lock")

interface Dev {
  readonly name: string
  readonly devlink: LockContract.Guard<"&devlink->lock">
  readonly guard: LockContract.Guard<"reps_lock">
}

const makeDev = (name: string) =>
  Effect.gen(function* () {
    const devlink = yield* Mutex.make(`${name}.devlink`, { lockClass: Devlink.lockClass })
    const guard = yield* Mutex.make(`${name}.reps_lock`, { lockClass: Guard.lockClass })
    return { name, devlink: LockContract.mutex(Devlink, devlink), guard: LockContract.mutex(Guard, guard) } satisfies Dev
  })

// mlx5_eswitch_enable_locked(esw): lockdep_assert_held(&devlink->lock)
const enableLocked = LockContract.requires(
  "eswitch",
  "mlx5_eswitch_enable_locked",
  Devlink,
  (dev: Dev) => dev.devlink.id,
  (_dev: Dev) => Effect.void
)
// registering under the guard: mlx5_eswitch_register_vport_reps_blocked
const registerBlocked = LockContract.requires(
  "eswitch",
  "mlx5_eswitch_register_vport_reps_blocked",
  Guard,
  (dev: Dev) => dev.guard.id,
  (_dev: Dev) => Effect.void
)

type Program = Effect.Effect<void, unknown, Kernel>

describe("lock contracts: the types", () => {
  it("a function that runs under a lock compiles only inside withLock of its class", () => {
    const typed = (dev: Dev) => {
      const ok: Program = LockContract.withLock(dev.devlink, enableLocked(dev))
      // @ts-expect-error mlx5_eswitch_enable_locked needs Held<"&devlink->lock">
      const noLock: Program = enableLocked(dev)
      // @ts-expect-error the guard is a different lock class
      const wrongClass: Program = LockContract.withLock(dev.guard, enableLocked(dev))
      // A hand-over's body runs without the lock: asking for it there does not compile …
      const handOverOk: Program = LockContract.withLock(dev.guard, LockContract.handOver(dev.guard, Effect.void))
      const handOverBad: Program = LockContract.withLock(
        dev.guard,
        // @ts-expect-error the body of the hand-over needs the lock it is run without
        LockContract.handOver(dev.guard, registerBlocked(dev))
      )
      // @ts-expect-error … and a hand-over needs the lock held on entry.
      const handOverUnheld: Program = LockContract.handOver(dev.guard, Effect.void)
      return [ok, noLock, wrongClass, handOverOk, handOverBad, handOverUnheld]
    }
    assert.strictEqual(typeof typed, "function")
  })
})

const scenario = (name: string, program: Program): Explorer.Scenario => ({ name, description: name, program })
const explore = (s: Explorer.Scenario) =>
  Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "dfs", preemptions: 2, stopOnFirst: true })))

describe("lock contracts: the run-time check", () => {
  it.effect("holding the lock of the class but of another instance is a WARN naming the function and the lock", () =>
    Effect.sync(() => {
      const report = explore(
        scenario(
          "other-instance",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const pf0 = yield* makeDev("pf0")
            const pf1 = yield* makeDev("pf1")
            // The type is satisfied by pf1's devlink lock; the instance check is not.
            yield* kernel.spawn("user", LockContract.withLock(pf1.devlink, enableLocked(pf0)))
          })
        )
      )
      const f = report.counterexamples[0]?.finding
      assert.strictEqual(f?.problem._tag, "Defect")
      assert.match(
        f!.summary,
        /mlx5_eswitch_enable_locked\(\) called without &devlink->lock held \(lockdep_assert_held\(pf0\.devlink\) by user\)/
      )
    })
  )

  it.effect("the right instance, on every schedule, is clean; the check adds no scheduling point", () =>
    Effect.sync(() => {
      const body = (withContract: boolean) =>
        scenario(
          "right-instance",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const pf0 = yield* makeDev("pf0")
            const work = withContract ? enableLocked(pf0) : Effect.void
            yield* kernel.spawn("a", LockContract.withLock(pf0.devlink, work))
            yield* kernel.spawn("b", LockContract.withLock(pf0.devlink, work))
          })
        )
      const withCheck = explore(body(true))
      const without = explore(body(false))
      assert.strictEqual(withCheck.counterexamples.length, 0)
      assert.strictEqual(withCheck.runs, without.runs)
    })
  )

  it.effect("a function run inside a hand-over (forced past the types) is caught at run time", () =>
    Effect.sync(() => {
      const report = explore(
        scenario(
          "hand-over",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const pf0 = yield* makeDev("pf0")
            const sneaky = registerBlocked(pf0) as unknown as Effect.Effect<void>
            yield* kernel.spawn("mode-set", LockContract.withLock(pf0.guard, LockContract.handOver(pf0.guard, sneaky)))
          })
        )
      )
      assert.match(
        report.counterexamples[0]?.finding.summary ?? "",
        /mlx5_eswitch_register_vport_reps_blocked\(\) called without reps_lock held/
      )
    })
  )
})

describe("components: an instance's scope owns its workqueue", () => {
  const program = (after: "nothing" | "queue-after-close") =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const esw = yield* Component.instance("esw")
      const wq = yield* Component.workqueue(esw, "esw_wq")
      let ran = 0
      const item = Workqueue.work(
        "esw_wq_handler",
        Effect.sync(() => void ran++)
      )
      yield* kernel.spawn(
        "cleanup",
        Effect.gen(function* () {
          yield* wq.queueWork(item)
          yield* esw.close // destroy_workqueue: drains the item and stops the worker
          if (ran !== 1) yield* kernel.warn(`the item ran ${ran} times before close returned`)
          yield* esw.close // closing again does nothing
          if (after === "queue-after-close") yield* wq.queueWork(item)
        })
      )
    })

  it.effect("close drains the queue and stops its worker on every schedule", () =>
    Effect.sync(() => {
      const report = explore(scenario("close", program("nothing")))
      assert.strictEqual(report.counterexamples.length, 0)
      assert.isAbove(report.runs, 0)
    })
  )

  it.effect("queueing after the owner closed is a use-after-free WARN", () =>
    Effect.sync(() => {
      const f = explore(scenario("late", program("queue-after-close"))).counterexamples[0]?.finding
      assert.match(f?.summary ?? "", /after destroy_workqueue: use-after-free/)
    })
  )

  it.live("close runs the teardown interruptibly: a teardown that blocks for good can be stopped", () =>
    Effect.gen(function* () {
      const life = yield* Component.instance("obj")
      const order: Array<string> = []
      yield* life.onClose(Effect.sync(() => void order.push("first added")))
      yield* life.onClose(
        Effect.andThen(
          Effect.sync(() => void order.push("last added")),
          Effect.never
        )
      )
      const fiber = yield* Effect.forkChild(life.close)
      yield* Effect.yieldNow
      // A Scope's finalisers run uninterruptibly: the interrupt would wait for good.
      const stopped = yield* Effect.timeoutOption(Fiber.interrupt(fiber), "2 seconds")
      assert.isTrue(Option.isSome(stopped), "the blocked teardown could not be interrupted")
      assert.deepStrictEqual(order, ["last added"])
      assert.isTrue(life.isClosed())
    })
  )

  it.effect("on the plain runtime the same component runs to completion", () =>
    Effect.gen(function* () {
      const r = yield* LiveKernel.run(program("nothing"))
      assert.deepStrictEqual(r.warnings, [])
      assert.match(r.snapshot.esw_wq ?? "", /^destroyed/)
    })
  )
})
