import { Explorer, Finding, Kernel, Mutex, Shrink } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Schema, Stream } from "effect"
import { abba } from "../../../examples/classic/abba.ts"

describe("explorer options", () => {
  it.effect("a bad option is an error naming the field", () =>
    Effect.sync(() => {
      assert.throws(() => Explorer.options({ strategy: "bfs" }), /invalid explorer option "strategy"/)
      assert.throws(() => Explorer.options({ schedules: 0 }), /invalid explorer option "schedules"/)
      assert.throws(() => Explorer.options({ depth: 1.5 }), /invalid explorer option "depth"/)
      assert.throws(() => Explorer.options({ shedules: 3 } as never), /unknown explorer option "shedules"/)
      assert.strictEqual(Explorer.options({ strategy: "pct", depth: 3 }).depth, 3)
    })
  )
})

describe("counterexamples", () => {
  it.effect("round-trip through JSON and replay to the same finding", () =>
    Effect.sync(() => {
      const report = Effect.runSync(
        Explorer.explore(abba, Explorer.options({ strategy: "random", seed: 7, schedules: 200, stopOnFirst: true }))
      )
      const original = report.counterexamples[0]!
      const json = JSON.stringify(Schema.encodeSync(Explorer.Counterexample)(original))
      const back = Schema.decodeUnknownSync(Explorer.Counterexample)(JSON.parse(json))
      assert.deepStrictEqual(back, original)
      const again = Effect.runSync(Explorer.replay(abba, back.schedule))
      assert.strictEqual(again.outcome._tag, "Found")
      if (again.outcome._tag !== "Found") return
      assert.strictEqual(Finding.signatureOf(again.outcome.finding.problem), Finding.signatureOf(original.finding.problem))
      assert.deepStrictEqual(again.trace, original.trace)
    })
  )

  it.effect("a schedule naming a task the model no longer has is a clear divergence", () =>
    Effect.sync(() => {
      const schedule = {
        steps: [
          { _tag: "Run" as const, task: "setup", op: "start" },
          { _tag: "Run" as const, task: "thread-9", op: "start" }
        ]
      }
      assert.throws(() => Effect.runSync(Explorer.replay(abba, schedule)), /schedule step 1: task "thread-9" cannot run here; runnable: /)
      const renamed = { steps: [{ _tag: "Run" as const, task: "setup", op: "begin" }] }
      assert.throws(() => Effect.runSync(Explorer.replay(abba, renamed)), /task "setup" is at "start", the schedule expects "begin"/)
    })
  )

  it.effect("the same seed gives the same counterexamples", () =>
    Effect.sync(() => {
      const run = (seed: number) =>
        Effect.runSync(Explorer.explore(abba, Explorer.options({ strategy: "pct", seed, schedules: 50 }))).counterexamples.map((c) =>
          JSON.stringify(c.schedule)
        )
      assert.deepStrictEqual(run(3), run(3))
    })
  )
})

describe("determinism self-check", () => {
  it.effect("a model that carries state between runs is caught when its finding is replayed", () =>
    Effect.sync(() => {
      let runs = 0
      const leaky = {
        name: "leaky",
        description: "deadlocks on its first run only, because it counts runs in module state",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const m = yield* Mutex.make("m")
          if (runs++ === 0) yield* kernel.spawn("stuck", Effect.andThen(m.lock, m.lock))
        })
      }
      assert.throws(
        () => Effect.runSync(Explorer.explore(leaky, Explorer.options({ schedules: 3 }))),
        /scenario leaky: replaying run 0 did not reproduce it/
      )
    })
  )
})

describe("the Effect API", () => {
  const schedule = { steps: [{ _tag: "Run" as const, task: "thread-9", op: "start" }] }

  it.effect("failures are typed Schema tagged errors: ScheduleDivergence, NotReproduced, InvalidOptions, Nondeterminism", () =>
    Effect.gen(function* () {
      const divergence = yield* Effect.flip(Explorer.replay(abba, schedule))
      assert.strictEqual(divergence._tag, "ScheduleDivergence")
      const clean = yield* Explorer.replay(abba, { steps: [] }, { lenient: true })
      const notReproduced = yield* Effect.flip(Shrink.shrink(abba, clean.schedule, "deadlock:nothing"))
      assert.strictEqual(notReproduced._tag, "NotReproduced")
      const invalid = yield* Effect.flip(Explorer.decodeOptions({ schedules: 0 }))
      assert.strictEqual(invalid._tag, "InvalidOptions")
      // A model that reads state carried between runs: its finding does not replay to itself.
      let calls = 0
      const flaky = {
        name: "flaky",
        description: "warns on every other run",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          if (++calls % 2 === 1) yield* kernel.warn("odd run")
        })
      }
      const nondeterminism = yield* Effect.flip(Explorer.explore(flaky, Explorer.options({ schedules: 5 })))
      assert.strictEqual(nondeterminism._tag, "Nondeterminism")
      assert.match(nondeterminism.message, /replaying run 0 did not reproduce it/)
    })
  )

  it.effect("the progress stream ends with the report; cut short, its last update holds what was found so far", () =>
    Effect.gen(function* () {
      const o = Explorer.options({ strategy: "random", seed: 3, schedules: 1_000_000 })
      const updates = yield* Stream.runCollect(Stream.take(Explorer.stream(abba, o), 3))
      assert.strictEqual(updates.length, 3)
      const last = updates[2]!
      assert.isFalse(last.done)
      const partial = last.report()
      assert.strictEqual(partial.stopped, "interrupted")
      assert.isAbove(partial.runs, 0)
      assert.isBelow(partial.runs, 1_000_000)
      assert.strictEqual(partial.runs, last.runs)
      assert.strictEqual(partial.counterexamples.length, last.findings)
      const full = yield* Stream.runLast(Explorer.stream(abba, Explorer.options({ strategy: "random", seed: 3, schedules: 300 })))
      assert.isTrue(Option.isSome(full) && full.value.done && full.value.report().stopped === "budget")
    })
  )

  it.live("explore is interruptible between runs", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Explorer.explore(abba, Explorer.options({ strategy: "random", schedules: 100_000_000 })))
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.hasInterrupts(exit))
    })
  )

  it.effect("batching does not change the result: explore equals one synchronous advance", () =>
    Effect.gen(function* () {
      const o = Explorer.options({ strategy: "pct", seed: 5, schedules: 400 })
      const batched = yield* Explorer.explore(abba, o)
      const exploration = yield* Explorer.start(abba, o)
      exploration.advance(Number.POSITIVE_INFINITY)
      const once = exploration.report()
      assert.deepStrictEqual(
        batched.counterexamples.map((c) => [c.run, c.steps, c.schedule]),
        once.counterexamples.map((c) => [c.run, c.steps, c.schedule])
      )
      assert.strictEqual(batched.steps, once.steps)
    })
  )
})
