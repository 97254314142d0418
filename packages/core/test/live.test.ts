import { Atomic, Kernel, LiveKernel, Mutex, Sched, WaitQueue, Workqueue } from "@drvmodel/core"
import { classic } from "@drvmodel/examples"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Random } from "effect"
import { TestClock } from "effect/testing"

const clean = (r: LiveKernel.LiveResult, what: string) => {
  assert.deepStrictEqual(r.warnings, [], `${what}: warnings`)
  assert.deepStrictEqual(r.invariantViolations, [], `${what}: invariant violations`)
  assert.deepStrictEqual(r.defects, [], `${what}: defects`)
  assert.isFalse(r.hitStepLimit, `${what}: step limit`)
  assert.isAbove(r.steps, 0, `${what}: steps`)
}

describe("LiveKernel", () => {
  it.effect("runs the classic fixed scenarios to completion with no findings", () =>
    Effect.gen(function* () {
      for (const name of ["abba", "lost-update", "flush-under-lock-ordered", "destroy-under-lock-concurrent"]) {
        clean(yield* LiveKernel.run(classic.scenario(name, "fixed").program), name)
      }
      // The fixed lost update ends with the counter at 2; the destroyed queue is reported as destroyed.
      const lost = yield* LiveKernel.run(classic.scenario("lost-update", "fixed").program)
      assert.strictEqual(lost.snapshot.counter, "2")
      const destroyed = yield* LiveKernel.run(classic.scenario("destroy-under-lock-concurrent", "fixed").program)
      assert.match(destroyed.snapshot.wq ?? "", /^destroyed/)
      assert.strictEqual(destroyed.snapshot["dev->events"], "1")
    })
  )

  it.effect("msleep waits for the TestClock", () =>
    Effect.gen(function* () {
      let flag: Atomic.Atomic<number> | undefined
      const program = Effect.gen(function* () {
        const kernel = yield* Kernel
        const a = yield* Atomic.make("flag", 0)
        flag = a
        yield* kernel.spawn(
          "sleeper",
          Effect.gen(function* () {
            yield* Sched.msleep(1000)
            yield* a.set(1)
          })
        )
      })
      const live = yield* LiveKernel.start(program)
      const fiber = yield* Effect.forkChild(live.result)
      yield* live.settled
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("999 millis")
      yield* live.settled
      assert.isUndefined(fiber.pollUnsafe())
      assert.strictEqual(flag?.peek(), 0)
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(flag?.peek(), 1)
      assert.strictEqual(result.timeMs, 1000)
      clean(result, "msleep")
    })
  )

  it.effect("delayed work runs only after its delay", () =>
    Effect.gen(function* () {
      let ran: Atomic.Atomic<number> | undefined
      const program = Effect.gen(function* () {
        const a = yield* Atomic.make("ran", 0)
        ran = a
        const wq = yield* Workqueue.make("wq")
        yield* wq.queueDelayedWork(Workqueue.work("delayed_fn", Effect.asVoid(Atomic.inc(a))), 500)
      })
      const live = yield* LiveKernel.start(program)
      yield* live.settled
      yield* TestClock.adjust("499 millis")
      yield* live.settled
      assert.isFalse(live.isDone())
      assert.strictEqual(ran?.peek(), 0)
      yield* TestClock.adjust("1 millis")
      const result = yield* live.result
      assert.strictEqual(ran?.peek(), 1)
      assert.strictEqual(result.timeMs, 500)
      clean(result, "delayed work")
    })
  )

  it.effect("wait_event_timeout returns 0 exactly at its timeout", () =>
    Effect.gen(function* () {
      const seen: Array<readonly [number, number]> = []
      const program = Effect.gen(function* () {
        const kernel = yield* Kernel
        const wq = yield* WaitQueue.make("wait")
        yield* kernel.spawn(
          "waiter",
          Effect.gen(function* () {
            const left = yield* wq.waitEventTimeout(() => false, "never", 100)
            seen.push([left, kernel.now()])
          })
        )
      })
      const live = yield* LiveKernel.start(program)
      yield* live.settled
      yield* TestClock.adjust("99 millis")
      yield* live.settled
      assert.deepStrictEqual(seen, [])
      yield* TestClock.adjust("1 millis")
      yield* live.result
      assert.deepStrictEqual(seen, [[0, 100]])
    })
  )

  it.effect("a woken wait_event_timeout returns the time left", () =>
    Effect.gen(function* () {
      const seen: Array<number> = []
      const program = Effect.gen(function* () {
        const kernel = yield* Kernel
        const wq = yield* WaitQueue.make("wait")
        const ready = yield* Atomic.make("ready", false)
        yield* kernel.spawn(
          "waiter",
          Effect.gen(function* () {
            seen.push(yield* wq.waitEventTimeout(() => ready.peek(), "ready", 100))
          })
        )
        yield* kernel.spawn(
          "waker",
          Effect.gen(function* () {
            yield* Sched.msleep(30)
            yield* ready.set(true)
            yield* wq.wakeUpAll
          })
        )
      })
      const live = yield* LiveKernel.start(program)
      yield* live.settled
      yield* TestClock.adjust("100 millis")
      const result = yield* live.result
      assert.deepStrictEqual(seen, [70])
      assert.strictEqual(result.timeMs, 100)
    })
  )

  it.effect("reports a WARN: mutex_unlock by a non-owner", () =>
    Effect.gen(function* () {
      const program = Effect.gen(function* () {
        const kernel = yield* Kernel
        const m = yield* Mutex.make("m")
        const owner = yield* kernel.spawn("thread-1", m.lock)
        yield* kernel.spawn(
          "thread-2",
          Effect.gen(function* () {
            yield* kernel.join(owner)
            yield* m.unlock
          })
        )
      })
      const result = yield* LiveKernel.run(program)
      assert.deepStrictEqual(result.warnings, ["thread-2: mutex_unlock(m) by thread-2, owner is thread-1"])
      assert.deepStrictEqual(result.invariantViolations, [])
    })
  )

  it.effect("records invariant violations and tracks held locks", () =>
    Effect.gen(function* () {
      const held: Array<ReadonlyArray<string>> = []
      const program = Effect.gen(function* () {
        const kernel = yield* Kernel
        const m = yield* Mutex.make("m")
        const counter = yield* Atomic.make("counter", 0)
        kernel.invariant({
          name: "below-two",
          description: "counter < 2",
          when: "safety",
          check: () => counter.peek() < 2 || "counter reached 2"
        })
        kernel.invariant({
          name: "three",
          description: "ends at 3",
          when: "eventual",
          check: () => counter.peek() === 3 || `counter is ${counter.peek()}`
        })
        const bump = (name: string) =>
          kernel.spawn(
            name,
            Effect.gen(function* () {
              yield* m.lock
              held.push(kernel.heldBy(name).map((h) => h.resource))
              yield* Atomic.inc(counter)
              yield* m.unlock
            })
          )
        yield* bump("a")
        yield* bump("b")
      })
      const result = yield* LiveKernel.run(program)
      assert.deepStrictEqual(
        result.invariantViolations.map((v) => [v.invariant, v.when, v.message]),
        [
          ["below-two", "safety", "counter reached 2"],
          ["three", "eventual", "counter is 2"]
        ]
      )
      assert.deepStrictEqual(held, [["m"], ["m"]])
    })
  )

  it.effect("choose draws from Effect's Random: in range, reproducible under a seed", () =>
    Effect.gen(function* () {
      const draw = (seed: number) => {
        const picks: Array<number> = []
        const program = Effect.gen(function* () {
          const kernel = yield* Kernel
          for (let i = 0; i < 60; i++) picks.push(yield* kernel.choose("branch", 3))
        })
        return Effect.as(LiveKernel.run(program).pipe(Random.withSeed(seed)), picks)
      }
      const a = yield* draw(7)
      assert.deepStrictEqual([...new Set(a)].sort(), [0, 1, 2])
      assert.deepStrictEqual(yield* draw(7), a)
    })
  )

  it.effect("maxSteps stops a model that spins forever", () =>
    Effect.gen(function* () {
      const program = Effect.gen(function* () {
        const kernel = yield* Kernel
        yield* kernel.spawn("spinner", Effect.forever(Sched.condResched))
      })
      const result = yield* LiveKernel.run(program, { maxSteps: 500 })
      assert.isTrue(result.hitStepLimit)
      assert.strictEqual(result.steps, 500)
    })
  )
})

describe("LiveKernel.layer", () => {
  it.effect("provides Kernel to a program that spawns the model's tasks; Live waits for the run", () =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const live = yield* LiveKernel.Live
      const lock = yield* Mutex.make("dev->lock")
      yield* kernel.spawn("sleeper", Effect.andThen(lock.lock, Effect.andThen(Sched.msleep(500), lock.unlock)))
      yield* live.settled
      assert.isFalse(live.isDone())
      yield* TestClock.adjust("500 millis")
      const result = yield* live.result
      assert.deepStrictEqual([result.warnings, result.defects, result.timeMs], [[], [], 500])
    }).pipe(Effect.provide(LiveKernel.layer()))
  )
})
