import { Cell, type Chooser, Explorer, Kernel, Mutex, Sched, type StepRecord } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const scenario = (name: string, program: Effect.Effect<void, unknown, Kernel>): Explorer.Scenario => ({ name, description: name, program })

const firstFinding = (s: Explorer.Scenario) => {
  const report = Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "dfs", preemptions: 2, stopOnFirst: true })))
  return report.counterexamples[0]?.finding
}

// Two writers of `dev->count`; `guard` decides what orders them.
const twoWriters = (guard: "none" | "mutex" | "marked" | "ghost" | "join") =>
  scenario(
    `two-writers-${guard}`,
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const count = yield* Cell.make("dev->count", 0, { ghost: guard === "ghost" })
      const lock = yield* Mutex.make("dev->lock")
      const bump = (task: string) =>
        kernel.call(
          "dev",
          `${task}_fn`,
          guard === "mutex"
            ? Effect.andThen(
                lock.lock,
                Effect.andThen(
                  count.update((n) => n + 1),
                  lock.unlock
                )
              )
            : guard === "marked"
              ? Effect.flatMap(count.readOnce, (n) => count.writeOnce(n + 1))
              : Effect.asVoid(count.update((n) => n + 1))
        )
      const a = yield* kernel.spawn("a", bump("a"))
      if (guard === "join") yield* kernel.join(a)
      yield* kernel.spawn("b", bump("b"))
    })
  )

describe("kernel cells: the data-race check", () => {
  it.effect("two unordered plain writes race, named the KCSAN way", () =>
    Effect.sync(() => {
      const f = firstFinding(twoWriters("none"))
      assert.isDefined(f)
      assert.strictEqual(f!.problem._tag, "DataRace")
      assert.match(f!.summary, /^data race on dev->count: a writes in a_fn holding no lock; b (reads|writes) in b_fn holding no lock/)
    })
  )

  it.effect("a common lock, join, marked accesses and ghost cells order or exempt them", () =>
    Effect.sync(() => {
      for (const guard of ["mutex", "join", "marked", "ghost"] as const) {
        const f = firstFinding(twoWriters(guard))
        assert.isUndefined(f, `${guard}: ${f?.summary}`)
      }
    })
  )

  it.effect("a plain write against a marked read still races (only two marked accesses are exempt)", () =>
    Effect.sync(() => {
      const f = firstFinding(
        scenario(
          "mixed",
          Effect.gen(function* () {
            const kernel = yield* Kernel
            const flag = yield* Cell.make("dev->flag", false)
            yield* kernel.spawn("writer", flag.set(true))
            yield* kernel.spawn("reader", Effect.asVoid(flag.readOnce))
          })
        )
      )
      assert.strictEqual(f?.problem._tag, "DataRace")
    })
  )
})

describe("kernel cells: the race check off (--no-races)", () => {
  // A lost update: two unlocked increments race; what the race leads to is the lost increment.
  const lostIncrement = scenario(
    "lost-increment",
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const count = yield* Cell.make("dev->count", 0)
      const inc = (task: string) =>
        Effect.gen(function* () {
          const n = yield* count.get
          yield* Sched.condResched
          yield* count.set(n + 1)
        }).pipe((body) => kernel.spawn(task, body))
      const a = yield* inc("a")
      const b = yield* inc("b")
      yield* kernel.join(a)
      yield* kernel.join(b)
      if ((yield* count.get) !== 2) yield* kernel.warn("lost increment")
    })
  )
  const explore = (races: boolean) =>
    Effect.runSync(Explorer.explore(lostIncrement, Explorer.options({ strategy: "dfs", preemptions: 2, races })))

  it.effect("on, the race ends the run; off, the run goes on to what the race leads to, and its schedule says so", () =>
    Effect.sync(() => {
      const on = explore(true).counterexamples.map((c) => c.finding.problem._tag)
      assert.deepStrictEqual([...new Set(on)], ["DataRace"])
      const off = explore(false).counterexamples
      assert.deepStrictEqual(
        off.map((c) => c.finding.summary),
        ["setup: WARNING: lost increment"]
      )
      for (const c of off) {
        assert.notStrictEqual(c.finding.problem._tag, "DataRace")
        assert.strictEqual(c.schedule.races, false)
        // The schedule replays to the same finding (the replay reads the flag from the schedule).
        const again = Explorer.replayUnsafe(lostIncrement, c.schedule)
        assert.strictEqual(again.outcome._tag === "Found" ? again.outcome.finding.summary : again.outcome._tag, c.finding.summary)
      }
    })
  )
})

describe("kernel cells: step footprints", () => {
  it.effect("each step reports its op's footprint plus the cells touched before the next point", () =>
    Effect.sync(() => {
      const records: Array<StepRecord> = []
      const chooser: Chooser = { pick: () => 0, choose: () => 0, stepped: (r) => records.push(r) }
      const program = Effect.gen(function* () {
        const kernel = yield* Kernel
        const x = yield* Cell.make("x", 0)
        const t = yield* kernel.spawn("t", Effect.asVoid(x.update((n) => n + 1)))
        yield* kernel.join(t)
        yield* x.get
      })
      Explorer.runOnce(program, chooser, { maxSteps: 100, livelockBound: 50 })
      const byTask = (task: string, op: string) => records.find((r) => r.task === task && r.op === op)?.footprint
      // setup's first step spawns t: a write of the task that t's start reads.
      assert.deepInclude(byTask("setup", "start") ?? [], { key: "task:t", mode: "write" })
      assert.deepStrictEqual(byTask("t", "start"), [
        { key: "task:t", mode: "read" },
        { key: "x", mode: "read" },
        { key: "x", mode: "write" },
        { key: "task:t", mode: "write" }
      ])
      assert.deepStrictEqual(byTask("setup", "join(t)"), [
        { key: "task:t", mode: "read" },
        { key: "x", mode: "read" },
        { key: "task:setup", mode: "write" }
      ])
    })
  )

  it.effect("invariants' reads are recorded as what they observe", () =>
    Effect.sync(() => {
      const program = Effect.gen(function* () {
        const kernel = yield* Kernel
        const x = yield* Cell.make("x", 0)
        kernel.invariant({ name: "x-small", description: "x stays small", when: "safety", check: () => x.peek() < 10 || "x too big" })
        yield* kernel.spawn("t", x.set(1))
      })
      const r = Explorer.runOnce(program, { pick: () => 0, choose: () => 0 }, { maxSteps: 100, livelockBound: 50 })
      assert.deepStrictEqual([...r.invariantReads], ["x"])
    })
  )
})

describe("timeouts chosen by the explorer", () => {
  // A sleeper and a worker: does the 10 ms sleep ever end before the worker's first step?
  const race = scenario(
    "sleep-vs-work",
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const woke = yield* Cell.make("woke", false, { ghost: true })
      const worked = yield* Cell.make("worked", false, { ghost: true })
      kernel.invariant({
        name: "work-first",
        description: "the worker runs before the sleep ends",
        when: "safety",
        check: () => !woke.peek() || worked.peek() || "the sleep ended before the worker ran"
      })
      yield* kernel.spawn("sleeper", Effect.andThen(Sched.msleep(10), woke.set(true)))
      yield* kernel.spawn("worker", worked.set(true))
    })
  )

  it.effect("idle: time passes only when nothing can run; any: the expiry is explored, and replays", () =>
    Effect.sync(() => {
      const idle = Effect.runSync(Explorer.explore(race, Explorer.options({ strategy: "dfs", preemptions: 3 })))
      assert.strictEqual(idle.counterexamples.length, 0)
      const any = Effect.runSync(Explorer.explore(race, Explorer.options({ strategy: "dfs", preemptions: 3, timeouts: "any" })))
      const cx = any.counterexamples[0]
      assert.isDefined(cx)
      assert.isTrue(cx!.schedule.steps.some((s) => s._tag === "Run" && s.op === "msleep(10) [timeout]"))
      const again = Effect.runSync(Explorer.replay(race, cx!.schedule))
      assert.strictEqual(again.outcome._tag, "Found")
    })
  )
})
