/**
 * The kernel primitives of the mlx5 model as the C uses them. The EQ notifier chain on the core RCU primitive:
 * `atomic_notifier_call_chain` is an RCU read-side section (its handler may
 * not sleep), and `atomic_notifier_chain_unregister` returns only after every
 * walk that could still see the block has ended (`synchronize_rcu`); the walk runs in
 * hard-irq context, as the async EQ's interrupt (`irq_int_handler` → `mlx5_eq_async_int`); the chain's
 * writers hold `nh->lock` with `spin_lock_irqsave`. lag/lag.c's `mlx5_lag_is_*` queries take the
 * global `lag_lock` with `spin_lock_irqsave`. The devcom
 * component's rwsem: a lockdep class per component instance (`lockdep_set_class` on a
 * dynamic key in `mlx5_devcom_comp_alloc`).
 */
import { Explorer, Irq, Kernel, type Scenario, type Workqueue } from "@drvmodel/core"
import { variantNamed } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { bootInSwitchdev, buildRun, buildWorld } from "../src/scenarios.ts"
import { msleep } from "../src/world.ts"

const ECPF = { name: "ecpf", isEcpf: true }

/** Every finding over the whole space (unbounded DFS); the space must be exhausted. */
const exhaust = (name: string, program: Scenario["program"]) => {
  const report = Effect.runSync(
    Explorer.explore(
      { name, description: name, program },
      Explorer.options({ strategy: "dfs", preemptions: 1000, schedules: 20_000, maxFindings: 10 })
    )
  )
  assert.strictEqual(report.stopped, "exhausted", name)
  return report.counterexamples.map((c) => c.finding.summary)
}

/** An E-Switch whose functions notifier is registered; a handler run after the unregister returned is a WARN. */
const unregisterVsEvent = (sleepInHandler: boolean) =>
  Effect.gen(function* () {
    const kernel = yield* Kernel
    const { w, m } = yield* buildRun(variantNamed("merged"), { devs: [ECPF], lag: false, ibLoaded: false })
    const nb = w.devs[0]!.esw.funcsNb!
    yield* m.eq.eqNotifierRegister(nb, 0)
    let unregistered = false
    yield* kernel.spawn(
      "eq-irq",
      m.eq.eqNotifierCallChain(nb, () =>
        Effect.gen(function* () {
          if (sleepInHandler) yield* msleep(w, 1)
          yield* kernel.point<void>({ name: "queue_work", label: "handler", apply: () => undefined })
          if (unregistered) yield* kernel.warn("mlx5_esw_funcs_changed_handler ran after mlx5_eq_notifier_unregister returned")
        })
      )
    )
    yield* kernel.spawn(
      "disable",
      Effect.gen(function* () {
        yield* m.eq.eqNotifierUnregister(nb)
        unregistered = true
      })
    )
  })

describe("EQ notifier chain (atomic notifier under RCU)", () => {
  it.effect("unregister waits for a walk that saw the block: the handler never runs after it returned", () =>
    Effect.sync(() => {
      // Fails with synchronize_rcu removed from eqNotifierUnregister, or with the walk outside
      // rcu_read_lock (the grace period would not wait for it).
      assert.deepStrictEqual(exhaust("unregister-vs-event", unregisterVsEvent(false)), [])
    })
  )
  it.effect("the walk is an RCU read-side section: a handler that sleeps is reported", () =>
    Effect.sync(() => {
      const found = exhaust("sleeping-handler", unregisterVsEvent(true))
      assert.isTrue(
        found.some((s) => s.includes("Illegal context switch in RCU read-side critical section")),
        found.join("\n")
      )
    })
  )
})

describe("the EQ interrupt: the function-change handler in hard-irq context", () => {
  it.effect("a host VF-count event queues its work from a hardirq handler with interrupts off, under eq->lock and RCU", () =>
    Effect.sync(() => {
      // Fails when the walk runs in the firmware's task (process context) instead of as an interrupt.
      // The property is the context of every call, not an interleaving: a few schedules suffice.
      for (const v of ["baseline", "merged"] as const) {
        const program = Effect.gen(function* () {
          const kernel = yield* Kernel
          const { w, m } = yield* buildRun(variantNamed(v), { devs: [ECPF], lag: false, ibLoaded: false })
          const dev = w.devs[0]!
          yield* bootInSwitchdev(w, m)
          const wq = dev.esw.workQueue
          const queueWork = wq.queueWork
          // Observe queue_work's caller: mlx5_esw_funcs_changed_handler (directly, or via mlx5_esw_add_work).
          ;(wq as { queueWork: Workqueue.Workqueue["queueWork"] }).queueWork = (work) =>
            Effect.andThen(
              Effect.flatMap(
                // The CPU state is read inside an operation (a point of the test's own).
                kernel.point({
                  name: "observe",
                  label: "observe(queue_work caller)",
                  footprint: [],
                  apply: () => ({ c: kernel.cpuState(), held: dev.asyncEq!.lock.owner() === kernel.current() })
                }),
                ({ c, held }) =>
                  c.context === "hardirq" && c.irqsDisabled && c.cpu === dev.asyncEq!.cpu && held
                    ? Effect.void
                    : kernel.warn(
                        `${v}: queue_work in ${c.context} context (irqs ${c.irqsDisabled ? "off" : "on"}, eq->lock ${held ? "held" : "not held"})`
                      )
              ),
              queueWork(work)
            )
          yield* kernel.spawn("fw-event", m.eswitch.firmwareHostVfsChanged(dev.esw, 2))
        })
        const report = Effect.runSync(
          Explorer.explore(
            { name: "handler-context", description: "handler-context", program },
            Explorer.options({ strategy: "random", schedules: 20, seed: 1, maxFindings: 10 })
          )
        )
        assert.strictEqual(report.runs, 20)
        assert.deepStrictEqual(
          report.counterexamples.map((c) => c.finding.summary),
          []
        )
      }
    })
  )
  it.effect("a handler that may sleep is the kernel's BUG: sleeping function called from invalid context (hardirq)", () =>
    Effect.sync(() => {
      const found = exhaust(
        "sleeping-irq-handler",
        Effect.gen(function* () {
          const { w, m } = yield* buildRun(variantNamed("merged"), { devs: [ECPF], lag: false, ibLoaded: false })
          const dev = w.devs[0]!
          yield* m.eq.eqNotifierRegister(dev.esw.funcsNb!, 0)
          yield* m.eq.eqInterrupt(dev.asyncEq!, dev.esw.funcsNb!, () => msleep(w, 1))
        })
      )
      assert.isTrue(
        found.some((s) => s.includes("BUG: sleeping function called from invalid context") && s.includes("context: hardirq")),
        found.join("\n")
      )
    })
  )
})

/** A writer of the chain (register or unregister) on the EQ's CPU, and an interrupt that looks at `nh->lock`. */
const writerVsObserver = (observer: "irq" | "thread") =>
  Effect.gen(function* () {
    const kernel = yield* Kernel
    const { w, m } = yield* buildRun(variantNamed("merged"), { devs: [ECPF], lag: false, ibLoaded: false })
    const dev = w.devs[0]!
    const nb = dev.esw.funcsNb!
    const cpu = dev.asyncEq!.cpu
    const look = kernel.point({
      name: "observe",
      label: "observe(nh->lock)",
      footprint: [{ key: nb.lock.id, mode: "read" }],
      apply: () => nb.lock.owner()
    })
    const body = Effect.flatMap(look, (owner) => (owner === undefined ? Effect.void : kernel.warn(`saw nh->lock held by ${owner}`)))
    yield* kernel.spawn(
      "writer",
      Effect.gen(function* () {
        yield* m.eq.eqNotifierRegister(nb, 0)
        yield* m.eq.eqNotifierUnregister(nb)
      }),
      { cpu }
    )
    if (observer === "irq") yield* Effect.provideService(Irq.raise("mlx5_async", { cpu }, body), Kernel, kernel)
    else yield* kernel.spawn("observer", body)
  })

describe("the chain's writers: nh->lock with spin_lock_irqsave (kernel/notifier.c)", () => {
  it.effect("register and unregister hold nh->lock around the head update (another CPU can see it held)", () =>
    Effect.sync(() => {
      // Fails if the writers do not take nh->lock.
      const found = exhaust("nh-lock-held", writerVsObserver("thread"))
      assert.isTrue(
        found.some((s) => s.includes("saw nh->lock held by writer")),
        found.join("\n")
      )
    })
  )
  it.effect("with interrupts off: the EQ interrupt on the writer's CPU never arrives inside the critical section", () =>
    Effect.sync(() => {
      // Fails with spin_lock instead of spin_lock_irqsave in the writers.
      assert.deepStrictEqual(exhaust("nh-lock-irqsave", writerVsObserver("irq")), [])
    })
  )
})

describe("lag_lock: the mlx5_lag_is_* queries (lag/lag.c)", () => {
  const TWO = [
    { name: "pf0", isEcpf: false },
    { name: "pf1", isEcpf: false }
  ]
  /** A query on CPU 0, and an observer of lag_lock: a thread elsewhere, or an interrupt on CPU 0. */
  const queryVsObserver = (observer: "irq" | "thread", lag: boolean) =>
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const { w, m } = yield* buildRun(variantNamed("merged"), { devs: lag ? TWO : [TWO[0]!], lag, ibLoaded: false })
      const look = kernel.point({
        name: "observe",
        label: "observe(lag_lock)",
        footprint: [{ key: w.lagLock.id, mode: "read" }],
        apply: () => w.lagLock.owner()
      })
      const body = Effect.flatMap(look, (owner) => (owner === undefined ? Effect.void : kernel.warn(`saw lag_lock held by ${owner}`)))
      yield* kernel.spawn("query", Effect.asVoid(m.lag.mlx5LagIsSharedFdb(w.devs[0]!)), { cpu: 0 })
      if (observer === "irq") yield* Effect.provideService(Irq.raise("irq", { cpu: 0 }, body), Kernel, kernel)
      else yield* kernel.spawn("observer", body)
    })
  it.effect("mlx5_lag_is_shared_fdb holds lag_lock, also for a device without an ldev", () =>
    Effect.sync(() => {
      // Fails if the query does not take lag_lock (or skips it when mlx5_lag_dev(dev) is NULL).
      for (const lag of [true, false]) {
        const found = exhaust(`lag-lock-held-${lag}`, queryVsObserver("thread", lag))
        assert.isTrue(
          found.some((s) => s.includes("saw lag_lock held by query")),
          found.join("\n")
        )
      }
    })
  )
  it.effect("with spin_lock_irqsave: an interrupt on the querying CPU never arrives while it holds lag_lock", () =>
    Effect.sync(() => {
      // Fails with spin_lock instead of spin_lock_irqsave.
      assert.deepStrictEqual(exhaust("lag-lock-irqsave", queryVsObserver("irq", true)), [])
    })
  )
  it.effect("mlx5_lag_is_master: an inactive LAG has no master; an active one has its first port", () =>
    Effect.sync(() => {
      // Fails if mlx5_lag_is_master answers from the port order alone, as the model did.
      const found = exhaust(
        "lag-is-master",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const { w, m } = yield* buildRun(variantNamed("merged"), { devs: TWO, lag: true, ibLoaded: false })
          const [pf0, pf1] = w.devs
          const lag = pf0!.lag.peek()!
          const seen: Array<boolean> = []
          for (const mode of ["NONE", "SHARED_FDB"] as const) {
            yield* lag.mode.set(mode)
            seen.push(yield* m.lag.mlx5LagIsMaster(pf0!), yield* m.lag.mlx5LagIsMaster(pf1!))
          }
          if (seen.join() !== "false,false,true,false") yield* kernel.warn(`is_master: ${seen.join()}`)
        })
      )
      assert.deepStrictEqual(found, [])
    })
  )
})

describe("devcom component lock: one lockdep class per component instance", () => {
  it.effect("two devices without LAG: two components, two classes; a LAG's PFs share one component", () =>
    Effect.sync(() => {
      const found = exhaust(
        "devcom-classes",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const two = [
            { name: "pf0", isEcpf: false },
            { name: "pf1", isEcpf: false }
          ]
          const apart = yield* buildWorld(variantNamed("merged"), { devs: two, lag: false, ibLoaded: false })
          const [a, b] = apart.devs.map((d) => d.devcom)
          if (a === b || a!.lockClass === b!.lockClass) yield* kernel.warn(`one class for two components: ${a!.lockClass}`)
          if (a!.lockClass !== "&comp->lock_key") yield* kernel.warn(`class named ${a!.lockClass}`)
        })
      )
      assert.deepStrictEqual(found, [])
      const lag = exhaust(
        "devcom-lag",
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const two = [
            { name: "pf0", isEcpf: false },
            { name: "pf1", isEcpf: false }
          ]
          const w = yield* buildWorld(variantNamed("merged"), { devs: two, lag: true, ibLoaded: false })
          if (w.devs[0]!.devcom !== w.devs[1]!.devcom) yield* kernel.warn("a LAG's PFs on two components")
        })
      )
      assert.deepStrictEqual(lag, [])
    })
  )
})
