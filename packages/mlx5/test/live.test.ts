/**
 * The mlx5 model on the plain runtime (LiveKernel), driven by TestClock: the
 * model's own timing (the merged worker's 60 ms wait_event_timeout retry, the
 * bond work's 1 s requeue), the switchdev profile at init and after a devlink
 * reload, and each cover-letter defect as one deterministic run at the level
 * that has it and at the level that fixes it. No exploration here: one
 * interleaving, the one Effect's runtime gives, with time moved by the test.
 */
import { Kernel, LiveKernel, type Op } from "@drvmodel/core"
import { model, variantNamed } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Random, type Scope } from "effect"
import { TestClock } from "effect/testing"
import type { Components } from "../src/components.ts"
import { registerInvariants } from "../src/invariants.ts"
import { ALL, bootInSwitchdev, buildRun } from "../src/scenarios.ts"
import type { World } from "../src/world.ts"
import { msleep } from "../src/world.ts"

const ECPF = { name: "ecpf", isEcpf: true }
const PF = { name: "pf0", isEcpf: false }

/** Starts `program` on LiveKernel and lets it run until every task waits (for time or for good). */
const start = (program: Effect.Effect<void, unknown, Kernel>): Effect.Effect<LiveKernel.LiveRun, never, Scope.Scope> =>
  Effect.gen(function* () {
    const live = yield* LiveKernel.start(program, { maxSteps: 200_000 })
    yield* live.settled
    return live
  })

/** Moves the TestClock 1 ms at a time until `done()` holds; the virtual time it first held. */
const firstTime = (live: LiveKernel.LiveRun, done: () => boolean, limitMs = 5_000) =>
  Effect.gen(function* () {
    for (let t = 0; t <= limitMs; t++) {
      if (done()) return t
      yield* at(live, 1)
    }
    return assert.fail(`not within ${limitMs} ms`)
  })

const at = (live: LiveKernel.LiveRun, ms: number) =>
  Effect.gen(function* () {
    yield* TestClock.adjust(`${ms} millis`)
    yield* live.settled
  })

describe("mlx5 on TestClock: the model's timing", () => {
  it.effect("merged: the worker that finds the devlink lock taken retries every 60 ms (wait_event_timeout), not when it is released", () =>
    Effect.gen(function* () {
      let w: World | undefined
      let locked: number | undefined
      let unlocked: number | undefined
      const live = yield* start(
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const run = yield* buildRun(variantNamed("merged"), { devs: [ECPF], lag: false, ibLoaded: false })
          w = run.w
          const m: Components = run.m
          const dev = w.devs[0]!
          yield* bootInSwitchdev(w, m)
          // A devlink user holds the instance lock for 200 ms; meanwhile the host enables 2 VFs.
          yield* kernel.spawn(
            "holder",
            Effect.gen(function* () {
              yield* dev.devlink.lock
              locked = kernel.now()
              yield* kernel.spawn("fw-event", m.eswitch.firmwareHostVfsChanged(dev.esw, 2))
              yield* msleep(w!, 200)
              unlocked = kernel.now()
              yield* dev.devlink.unlock
            })
          )
        })
      )
      const esw = w!.devs[0]!.esw
      const changedAt = yield* firstTime(live, () => esw.numVfs.peek() === 2)
      assert.isDefined(locked)
      assert.strictEqual(unlocked! - locked!, 200)
      // Queued when the lock was taken: timeouts at +60, +120, +180 fail the trylock, +240 takes it.
      assert.strictEqual(changedAt - locked!, 240)
      const r = yield* live.result
      assert.deepStrictEqual(r.warnings, [])
    })
  )

  it.effect("delayed work: the bond work that finds devcom taken requeues itself after 1 s", () =>
    Effect.gen(function* () {
      let w: World | undefined
      let tried: number | undefined
      const live = yield* start(
        Effect.gen(function* () {
          const kernel = yield* Kernel
          const run = yield* buildRun(variantNamed("merged"), { devs: [PF, { name: "pf1", isEcpf: false }], lag: true, ibLoaded: true })
          w = run.w
          const m: Components = run.m
          yield* bootInSwitchdev(w, m)
          const lag = w.devs[0]!.lag.peek()!
          const devcom = w.devs[0]!.devcom
          yield* kernel.spawn(
            "lag-user",
            Effect.gen(function* () {
              yield* devcom.downWrite
              yield* lag.bonded.set(true)
              tried = kernel.now()
              yield* kernel.spawn("bond", m.lag.mlx5DoBondWork(lag))
              yield* msleep(w!, 500)
              yield* devcom.upWrite
            })
          )
        })
      )
      const lag = w!.devs[0]!.lag.peek()!
      const activeAt = yield* firstTime(live, () => lag.mode.peek() === "SHARED_FDB")
      // The trylock failed when the bond work started; it slept 1 s (the lock was free after 500 ms).
      assert.strictEqual(activeAt - tried!, 1000)
      const r = yield* live.result
      assert.deepStrictEqual(r.invariantViolations, [])
    })
  )
})

/** probe with prof_sel=4, then the user sets legacy and reloads: the mode after probe and after reload. */
const profileRun = (variant: string) =>
  Effect.gen(function* () {
    const modes: Array<string> = []
    const live = yield* start(
      Effect.gen(function* () {
        const kernel = yield* Kernel
        const { w, m } = yield* buildRun(variantNamed(variant), { devs: [PF], lag: false, ibLoaded: true })
        const dev = w.devs[0]!
        const probe = yield* kernel.spawn("probe", m.core.probeOne(dev, true))
        yield* kernel.join(probe)
        modes.push(dev.esw.mode.peek())
        const user = yield* kernel.spawn(
          "user",
          Effect.gen(function* () {
            yield* m.devlink.devlinkEswitchSet(dev, "LEGACY")
            yield* m.devlink.devlinkDevReload(dev)
          })
        )
        yield* kernel.join(user)
        yield* dev.esw.workQueue.flush
        modes.push(dev.esw.mode.peek())
      })
    )
    const r = yield* live.result
    return { modes, r }
  })

describe("mlx5 on TestClock: the switchdev profile (V1 7/7)", () => {
  it.effect("v1@7 boots into switchdev and comes back in switchdev after a devlink reload, overriding the user's legacy", () =>
    Effect.gen(function* () {
      const { modes, r } = yield* profileRun("v1@7")
      assert.deepStrictEqual(modes, ["OFFLOADS", "OFFLOADS"])
      assert.deepStrictEqual(r.warnings, [])
    })
  )

  it.effect("without patch 7 (v1@6, merged) the device boots legacy and the reload keeps the user's legacy", () =>
    Effect.gen(function* () {
      for (const v of ["v1@6", "merged"]) {
        const { modes } = yield* profileRun(v)
        assert.deepStrictEqual(modes, ["LEGACY", "LEGACY"], v)
      }
    })
  )
})

/** A scripted `Random`: LiveKernel's `kernel.choose` takes these branches, in order. */
const scripted = (choices: ReadonlyArray<readonly [branch: number, of: number]>): Random.Random => {
  let i = 0
  return {
    nextIntUnsafe: () => 0,
    nextDoubleUnsafe: () => {
      const [k, n] = choices[i++] ?? [0, 1]
      return (k + 0.5) / n
    }
  }
}

/** One plain run of a named scenario; `stuck` when its tasks wait forever (10 s of TestClock later). */
const runScenario = (scenario: string, variant: string, choices: ReadonlyArray<readonly [number, number]> = []) =>
  Effect.gen(function* () {
    const live = yield* start(model.scenario(scenario, variant).program)
    const fiber = yield* Effect.forkChild(live.result)
    yield* at(live, 10_000)
    if (fiber.pollUnsafe() === undefined) return { stuck: true, invariants: [] as Array<string>, warnings: [] as ReadonlyArray<string> }
    const r = yield* Fiber.join(fiber)
    return { stuck: false, invariants: r.invariantViolations.map((v) => v.invariant), warnings: r.warnings }
  }).pipe(Effect.provideService(Random.Random, scripted(choices)))

/** A preemption the test makes: `task`, at its first point labelled `label`, waits until `until()` or `ms` of virtual time pass. */
interface Pause {
  readonly task: string
  readonly label: string
  readonly until: () => boolean
  readonly ms: number
  /** Set when the task reached the point; then whether `until()` (not the timeout) let it go on. */
  reached?: boolean
  released?: boolean
}

/**
 * `real` with `pauses` in front of the named points: each a kernel point of the test's own (a
 * preemption, the model untouched). Reaching a pause is itself an applied point, so that tasks
 * waiting on `reached` wake.
 */
const withPauses = (real: Kernel["Service"], pauses: ReadonlyArray<Pause>): Kernel["Service"] =>
  Kernel.of({
    ...real,
    point: <A>(op: Op<A>): Effect.Effect<A> =>
      Effect.withFiber((fiber) => {
        const task = fiber.getRef(LiveKernel.CurrentTask)
        const pause = pauses.find((p) => !p.reached && p.task === task && op.label === p.label)
        if (pause === undefined) return real.point(op)
        return Effect.gen(function* () {
          yield* real.point<void>({
            name: "preempt",
            label: `preempt(${task})`,
            footprint: [],
            apply: () => {
              pause.reached = true
            }
          })
          yield* real.point<void>({
            name: "pause",
            label: `pause(${task} before ${op.label})`,
            footprint: [],
            enabled: pause.until,
            deadline: real.now() + pause.ms,
            apply: () => {
              pause.released = pause.until()
            }
          })
          return yield* real.point(op)
        })
      })
  })

/**
 * Defect (b) with its interleaving driven explicitly, not left to the runtime's alternation (which
 * any added kernel point shifts): ib-load-vs-reconfig's threads for reconfig = sriov with mlx5_ib
 * loaded — `rmmod mlx5_ib`, and SR-IOV 2 VFs on then off — on a PF booted in switchdev. The window
 * of the explorer's counterexample: rmmod's unregister has found the VF IB reps REGISTERED (nothing
 * to unload) and is in the uplink's `ops->unload`, paused before `ib_device_set_netdev` until vf1's
 * IB rep is LOADED (100 ms at most); SR-IOV's enable starts once rmmod is paused, and is itself
 * preempted between vf1's IB CAS (REGISTERED→LOADED) and the `ops->load` call until rmmod is done
 * (100 ms at most); SR-IOV's disable runs after rmmod.
 */
const rmmodPausedVsSriov = (variant: string) =>
  Effect.gen(function* () {
    let w: World | undefined
    let rmmodDone = () => false
    const rmmodPause: Pause = {
      task: "rmmod",
      label: "ib_device_set_netdev(ibdev1(pf0), NULL)",
      until: () => w!.devs[0]!.esw.reps.vf1.data.IB.state.peek() === "LOADED",
      ms: 100
    }
    const sriovPause: Pause = { task: "sriov", label: "rep_ops[IB]->load(esw:vf1)", until: () => rmmodDone(), ms: 100 }
    const live = yield* start(
      Effect.gen(function* () {
        const kernel = withPauses(yield* Kernel, [rmmodPause, sriovPause])
        yield* Effect.provideService(
          Effect.gen(function* () {
            const run = yield* buildRun(variantNamed(variant), { devs: [PF], lag: false, ibLoaded: true })
            w = run.w
            const m: Components = run.m
            const dev = w.devs[0]!
            yield* bootInSwitchdev(w, m)
            registerInvariants(w, ALL)
            const rmmod = yield* kernel.spawn("rmmod", m.ib.rmmodMlx5Ib())
            rmmodDone = rmmod.isDone
            yield* kernel.spawn(
              "sriov",
              Effect.gen(function* () {
                const started = () => rmmodPause.reached === true
                yield* kernel.point<void>({
                  name: "wait",
                  label: "wait(rmmod paused)",
                  footprint: [],
                  enabled: started,
                  apply: () => undefined
                })
                yield* m.core.sriovNumvfsStore(dev, 2)
                yield* kernel.join(rmmod)
                yield* m.core.sriovNumvfsStore(dev, 0)
              })
            )
          }),
          Kernel,
          kernel
        )
      })
    )
    for (let t = 0; t < 1_000 && !live.isDone(); t += 10) yield* at(live, 10)
    assert.isTrue(rmmodPause.reached, "rmmod reached the uplink's ib_device_set_netdev")
    const r = yield* live.result
    return {
      // Whether vf1's IB load was under way while rmmod was inside its unregister.
      vf1LoadedInWindow: rmmodPause.released === true && sriovPause.released === true,
      invariants: r.invariantViolations.map((v) => v.invariant),
      warnings: r.warnings
    }
  })

describe("mlx5 on TestClock: the cover letter's defects, one deterministic run each", () => {
  it.effect(
    "(a) baseline: remove drains esw->work_queue under devlink while the worker waits for devlink — stuck; v1@4 and merged finish",
    () =>
      Effect.gen(function* () {
        assert.isTrue((yield* runScenario("teardown-with-pending-work", "baseline")).stuck)
        for (const v of ["v1@4", "merged"]) {
          const r = yield* runScenario("teardown-with-pending-work", v)
          assert.deepStrictEqual(r, { stuck: false, invariants: [], warnings: [] }, v)
        }
      })
  )

  it.effect(
    "(b) v1@4: rmmod mlx5_ib paused inside the uplink's IB unload while SR-IOV loads vf1 breaks the registry transitions; v1@5's guard keeps SR-IOV out",
    () =>
      Effect.gen(function* () {
        const broken = yield* rmmodPausedVsSriov("v1@4")
        // The window is real at v1@4: vf1's IB rep was loaded while rmmod was inside it, and
        // rmmod's unregister then marked it UNREGISTERED without an unload.
        assert.isTrue(broken.vf1LoadedInWindow)
        assert.include(broken.invariants, "registry-transitions")
        const fixed = yield* rmmodPausedVsSriov("v1@5")
        // v1@5: the same pause, but SR-IOV waits for the guard rmmod holds: nothing loads in the window.
        assert.isFalse(fixed.vf1LoadedInWindow)
        assert.deepStrictEqual(fixed.invariants, [])
        assert.deepStrictEqual(fixed.warnings, [])
      })
  )

  it.effect("(c) mlx5_ib loaded after switchdev: no IB reps up to v1@5; v1@6's queued reload loads them", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual((yield* runScenario("late-ib-load", "v1@5")).invariants, ["registration-completeness"])
      assert.deepStrictEqual((yield* runScenario("late-ib-load", "v1@6")).invariants, [])
    })
  )
})
