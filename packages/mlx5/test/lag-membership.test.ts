/**
 * LAG membership across unload / load (issue 13 item 5, coverage notes §5.4): `mlx5_unload` →
 * `mlx5_lag_remove_mdev` and `mlx5_load` → `mlx5_lag_add_mdev`, with their retry loops on
 * `ldev->mode_changes_in_progress` (msleep(100) on the virtual clock), the devcom HCA component's
 * PAIR / UNPAIR events marking and clearing the master, and the ldev freed by its last PF and
 * allocated again by the next one. Each test is one deterministic run (`Explorer.runOnce`, first
 * candidate first) of a program written here, and fails if the rule it names leaves the model.
 */
import { Explorer, type Kernel, LockContract, type Trace } from "@drvmodel/core"
import { model, variantNamed } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Components } from "../src/components.ts"
import { devl } from "../src/locks.ts"
import { bootInSwitchdev, buildRun } from "../src/scenarios.ts"
import type { Dev, Lag, World } from "../src/world.ts"
import { msleep } from "../src/world.ts"

const TWO = [
  { name: "pf0", isEcpf: false },
  { name: "pf1", isEcpf: false }
]

/** One run of `body` (after booting two PFs of one NIC in switchdev, mlx5_ib loaded); the first candidate always runs. */
const runOnce = (variant: string, body: (w: World, m: Components) => Effect.Effect<void, unknown, Kernel>) => {
  const program = Effect.gen(function* () {
    const { w, m } = yield* buildRun(variantNamed(variant), { devs: TWO, lag: true, ibLoaded: true })
    yield* bootInSwitchdev(w, m)
    yield* body(w, m)
  })
  const r = Explorer.runOnce(program, { pick: () => 0, choose: () => 0 }, { maxSteps: 50_000, livelockBound: 400 })
  assert.strictEqual(r.outcome._tag, "Finished", JSON.stringify(r.outcome))
  return r
}

/** What a PF's membership looks like now. */
const snap = (w: World, ldev: Lag) => ({
  pf0: w.devs[0]!.lag.peek()?.name ?? "NULL",
  pf1: w.devs[1]!.lag.peek()?.name ?? "NULL",
  pfs: ldev.pfs.peek().map((d) => d?.name ?? "-"),
  master: ldev.master.peek(),
  ref: ldev.ref.peek(),
  comp: w.devs[0]!.hcaComp!.members.peek().map((d) => d.name),
  freed: ldev.freed.peek()
})

/** `mlx5_unload_one_devl_locked` / `mlx5_load_one_devl_locked` under the PF's devlink lock, as a reload runs them. */
const unload = (w: World, m: Components, dev: Dev) => LockContract.withLock(devl(w, dev), m.core.mlx5UnloadOneDevlLocked(dev))
const load = (w: World, m: Components, dev: Dev) => LockContract.withLock(devl(w, dev), m.core.mlx5LoadOneDevlLocked(dev))

/** The events of `task` inside modelled function `func`. */
const inside = (trace: ReadonlyArray<Trace.TraceEvent>, task: string, func: string) =>
  trace.filter((e) => e.task === task && e.func === func)

describe("LAG membership: mlx5_lag_remove_mdev / mlx5_lag_add_mdev from mlx5_unload / mlx5_load", () => {
  it.effect("a reload takes the PF out of the ldev and back in; UNPAIR clears the master mark, PAIR sets it again", () =>
    Effect.sync(() => {
      const seen: Array<ReturnType<typeof snap>> = []
      runOnce("merged", (w, m) =>
        Effect.gen(function* () {
          const ldev = w.devs[0]!.lag.peek()!
          seen.push(snap(w, ldev))
          yield* unload(w, m, w.devs[0]!)
          seen.push(snap(w, ldev))
          yield* load(w, m, w.devs[0]!)
          seen.push(snap(w, ldev))
        })
      )
      const [before, out, back] = seen
      assert.deepStrictEqual(before, {
        pf0: "ldev",
        pf1: "ldev",
        pfs: ["pf0", "pf1"],
        master: 0,
        ref: 2,
        comp: ["pf0", "pf1"],
        freed: false
      })
      // mlx5_ldev_remove_mdev: priv.lag NULL, xa_erase (the MASTER mark goes with the entry), one reference
      // less; mlx5_devcom_unregister_component: pf0 is no longer in the HCA component.
      assert.deepStrictEqual(out, { pf0: "NULL", pf1: "ldev", pfs: ["-", "pf1"], master: undefined, ref: 1, comp: ["pf1"], freed: false })
      // __mlx5_lag_dev_add_mdev joins pf1's ldev at the lowest free index; the PAIR event (handled on
      // pf1) marks the PF with the lowest mlx5_get_dev_index once every port is in.
      assert.deepStrictEqual(back, { pf0: "ldev", pf1: "ldev", pfs: ["pf0", "pf1"], master: 0, ref: 2, comp: ["pf1", "pf0"], freed: false })
    })
  )

  it.effect("both PFs unloaded: the last one frees the ldev; the next load allocates a new one and the master follows the PFs", () =>
    Effect.sync(() => {
      const masters: Array<string> = []
      let old: Lag | undefined
      let fresh: ReturnType<typeof snap> | undefined
      let joined: ReturnType<typeof snap> | undefined
      runOnce("merged", (w, m) =>
        Effect.gen(function* () {
          const [pf0, pf1] = [w.devs[0]!, w.devs[1]!]
          old = pf0.lag.peek()!
          yield* unload(w, m, pf0)
          yield* unload(w, m, pf1)
          yield* load(w, m, pf1)
          const ldev = pf1.lag.peek()!
          fresh = snap(w, ldev)
          yield* load(w, m, pf0)
          joined = snap(w, ldev)
          // Both back in switchdev, then the bond work activates shared FDB on the new ldev.
          yield* m.devlink.devlinkEswitchSet(pf0, "OFFLOADS")
          yield* m.devlink.devlinkEswitchSet(pf1, "OFFLOADS")
          yield* ldev.bonded.set(true)
          yield* m.lag.mlx5DoBondWork(ldev)
          for (const d of [pf0, pf1]) if (yield* m.lag.mlx5LagIsMaster(d)) masters.push(d.name)
        })
      )
      assert.isTrue(old!.freed.peek(), "mlx5_ldev_put dropped the last reference: mlx5_ldev_free")
      assert.isTrue(old!.wq.isDestroyed(), "mlx5_ldev_free destroys ldev->wq")
      // pf1 came back first: a new ldev (mlx5_lag_dev_alloc), pf1 at index 0, no mark (one port of two).
      assert.deepStrictEqual(fresh, { pf0: "NULL", pf1: "ldev#2", pfs: ["pf1"], master: undefined, ref: 1, comp: ["pf1"], freed: false })
      // pf0 joins at index 1; PAIR marks pf0 (lowest mlx5_get_dev_index), not the first port.
      assert.deepStrictEqual(joined, {
        pf0: "ldev#2",
        pf1: "ldev#2",
        pfs: ["pf1", "pf0"],
        master: 1,
        ref: 2,
        comp: ["pf1", "pf0"],
        freed: false
      })
      assert.deepStrictEqual(masters, ["pf0"], "mlx5_lag_is_master: the marked PF, at xarray index 1")
    })
  )

  it.effect("mlx5_lag_remove_mdev sleeps 100 ms and retries while a mode change is in progress, holding ldev->lock to leave", () =>
    Effect.sync(() => {
      let fenceDown = -1
      const r = runOnce("merged", (w, m) =>
        Effect.gen(function* () {
          const [pf0, pf1] = [w.devs[0]!, w.devs[1]!]
          // pf1's mode change fences the ldev (mlx5_lag_disable_change) for 350 ms.
          yield* m.lag.mlx5LagDisableChange(pf1)
          yield* w.kernel.spawn("x", unload(w, m, pf0))
          yield* w.kernel.spawn(
            "y",
            Effect.gen(function* () {
              yield* msleep(w, 350)
              fenceDown = w.kernel.now()
              yield* m.lag.mlx5LagEnableChange(pf1)
            })
          )
        })
      )
      const sleeps = inside(r.trace, "x", "mlx5_lag_remove_mdev").filter((e) => e.kind === "op" && e.name === "msleep")
      assert.deepStrictEqual(
        sleeps.map((e) => e.time),
        [100, 200, 300, 400],
        "msleep(100) (woken at these times) after each look at mode_changes_in_progress while the fence is up"
      )
      const leave = r.trace.find((e) => e.task === "x" && e.kind === "call" && e.name === "mlx5_ldev_remove_mdev")
      assert.isDefined(leave)
      assert.isAtLeast(leave!.time, fenceDown, "the PF leaves the ldev only after the fence is down")
      const sync = inside(r.trace, "x", "mlx5_eq_notifier_unregister").find((e) => e.kind === "op")
      assert.include(sync?.holds ?? [], "ldev->lock", "mlx5_ldev_remove_mdev runs under ldev->lock")
      assert.include(sync?.holds ?? [], "pf0.devlink", "…with the PF's devlink lock held all along")
    })
  )

  it.effect("mlx5_lag_add_mdev: __mlx5_lag_dev_add_mdev returns -EAGAIN during a mode change; the load sleeps 100 ms and retries", () =>
    Effect.sync(() => {
      let fenceDown = -1
      const r = runOnce("merged", (w, m) =>
        Effect.gen(function* () {
          const [pf0, pf1] = [w.devs[0]!, w.devs[1]!]
          yield* unload(w, m, pf0)
          yield* m.lag.mlx5LagDisableChange(pf1)
          yield* w.kernel.spawn("x", load(w, m, pf0))
          yield* w.kernel.spawn(
            "y",
            Effect.gen(function* () {
              yield* msleep(w, 250)
              fenceDown = w.kernel.now()
              yield* m.lag.mlx5LagEnableChange(pf1)
            })
          )
        })
      )
      // Four tries at 0, 100, 200, 300 ms; the first three find the fence up (-EAGAIN: nothing added),
      // the fourth, after the fence came down at 250 ms, adds the PF.
      const tries = r.trace.filter((e) => e.task === "x" && e.kind === "call" && e.name === "__mlx5_lag_dev_add_mdev")
      assert.deepStrictEqual(
        tries.map((e) => e.time),
        [0, 100, 200, 300]
      )
      const added = r.trace.filter((e) => e.task === "x" && e.kind === "call" && e.name === "mlx5_ldev_add_mdev")
      assert.deepStrictEqual(
        added.map((e) => e.time),
        [300]
      )
      assert.isAtMost(fenceDown, 300)
      const sleeps = inside(r.trace, "x", "mlx5_lag_add_mdev").filter((e) => e.kind === "op" && e.name === "msleep")
      assert.strictEqual(sleeps.length, 3)
      // Each try holds the HCA devcom component (write) and looks under ldev->lock.
      const check = inside(r.trace, "x", "__mlx5_lag_dev_add_mdev").find((e) => e.kind === "op" && e.name === "mutex_lock")
      assert.include(check?.holds ?? [], "devcom")
      assert.include(check?.holds ?? [], "ldev->lock")
    })
  )

  it.effect(
    "reload-vs-lag-mode-set: PF X's reload sleeps in mlx5_lag_remove_mdev, holding its devlink lock, until PF Y's mode set drops the fence",
    () =>
      Effect.sync(() => {
        // x-pf 0 (pf0 reloads), x-op 0 (devlink reload), y-op 0 (pf1 to legacy). Y runs first until it
        // has fenced the ldev (mlx5_lag_disable_change) and reaches esw->mode_lock; it waits there while
        // anything else can run; then X runs its reload.
        const s = model.scenario("reload-vs-lag-mode-set", "merged")
        const r = Explorer.runOnce(
          s.program,
          {
            pick: (point) => {
              const ok = (c: (typeof point.candidates)[number]) => !(c.task === "y" && c.op.includes("mode_lock"))
              for (const name of ["y", "x"]) {
                const i = point.candidates.findIndex((c) => c.task === name && ok(c))
                if (i >= 0) return i
              }
              const free = point.candidates.findIndex(ok)
              return free >= 0 ? free : 0
            },
            choose: () => 0
          },
          { maxSteps: 50_000, livelockBound: 400 }
        )
        assert.strictEqual(r.outcome._tag, "Finished", JSON.stringify(r.outcome))
        const sleeps = inside(r.trace, "x", "mlx5_lag_remove_mdev").filter((e) => e.kind === "op" && e.name === "msleep")
        assert.isAbove(sleeps.length, 0, "X sleeps in mlx5_lag_remove_mdev")
        for (const e of sleeps) assert.include(e.holds ?? [], "pf0.devlink", "…holding its devlink lock (and intf_state_mutex)")
        const step = (task: string, name: string) =>
          r.trace.find((e) => e.task === task && e.kind === "call" && e.name === name)?.step ?? -1
        const fenceDown =
          r.trace.filter((e) => e.task === "y" && e.kind === "call" && e.name === "mlx5_lag_enable_change").at(-1)?.step ?? -1
        assert.isAbove(step("x", "mlx5_ldev_remove_mdev"), fenceDown, "X leaves the ldev only after Y's mlx5_lag_enable_change")
        assert.isAbove(step("x", "mlx5_lag_add_mdev"), step("x", "mlx5_ldev_remove_mdev"), "…and comes back in its load")
      })
  )

  it.effect(
    "F17: the scenario's default budget finds PF X's reload freeing its uplink mlx5e_rep_priv under PF Y's UNPAIR walk (every variant), and from reps V2 the walk's rep_ops[t] load racing unregister's clear",
    () =>
      Effect.sync(() => {
        const found = (variant: string) => {
          const s = model.scenario("reload-vs-lag-mode-set", variant)
          const r = Effect.runSync(Explorer.explore(s, Explorer.options(s.defaults ?? {}), { variant }))
          return r.counterexamples.map((c) => JSON.stringify(c.finding.problem))
        }
        const uaf =
          /use-after-free: mlx5e_rep_priv\(pf\d\.esw:uplink\)#\d+ freed by x in mlx5e_vport_rep_unload still reached by y in mlx5e_vport_rep_event_unpair/
        for (const variant of ["baseline", "v1@5", "merged+unregister-clears-ops=false"]) {
          const all = found(variant)
          assert.isTrue(
            all.some((m) => uaf.test(m)),
            `${variant}: ${all.join("\n")}`
          )
        }
        const race =
          /"_tag":"DataRace","cell":"pf\d\.esw->offloads\.rep_ops\[IB\]","first":\{"task":"y","mode":"read",.*"func":"mlx5_esw_offloads_rep_event_unpair"\},"second":\{"task":"x","mode":"write",.*"func":"mlx5_eswitch_unregister_vport_reps_blocked"/
        for (const variant of ["v2", "merged"]) {
          const all = found(variant)
          assert.isTrue(
            all.some((m) => race.test(m)),
            `${variant}: ${all.join("\n")}`
          )
        }
      }),
    120_000
  )
})
