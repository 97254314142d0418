/**
 * The mlx5 model's structure: its modules import each other without a circle,
 * and its lock contracts are types (a function the kernel runs under the
 * devlink lock or the representor guard does not compile where the lock is
 * not held) and run-time checks (a WARN naming the function and the lock).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Explorer, Kernel, LockContract } from "@drvmodel/core"
import { variantNamed } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { probeOne, removeOne } from "../src/device.ts"
import { eswModeChange, mlx5EswitchDisableSriov, mlx5EswitchEnable, mlx5EswitchEnableLocked } from "../src/eswitch.ts"
import { devl } from "../src/locks.ts"
import { mlx5EswitchReloadRepsBlocked, repsGuard } from "../src/registry.ts"
import { buildWorld } from "../src/scenarios.ts"
import type { World } from "../src/world.ts"

const SRC = join(import.meta.dirname, "../src")

describe("mlx5 modules", () => {
  it("import each other without a circle", () => {
    const files = readdirSync(SRC).filter((f) => f.endsWith(".ts"))
    const deps = new Map(
      files.map((f) => [f, [...readFileSync(join(SRC, f), "utf8").matchAll(/^import [^;]*? from "\.\/([\w-]+\.ts)"/gm)].map((m) => m[1]!)])
    )
    const state = new Map<string, "visiting" | "done">()
    const visit = (f: string, path: ReadonlyArray<string>): void => {
      if (state.get(f) === "done") return
      if (state.get(f) === "visiting") assert.fail(`import circle: ${[...path, f].join(" → ")}`)
      state.set(f, "visiting")
      for (const d of deps.get(f) ?? []) visit(d, [...path, f])
      state.set(f, "done")
    }
    for (const f of files) visit(f, [])
    assert.isAbove(deps.get("eswitch.ts")?.length ?? 0, 0)
  })
})

describe("mlx5 lock contracts: the types", () => {
  it("devlink-locked and guard-blocked functions compile only under their lock", () => {
    const typed = (w: World) => {
      const dev = w.devs[0]!
      const esw = dev.esw
      const ok: Effect.Effect<number> = LockContract.withLock(devl(w, dev), mlx5EswitchEnable(w, esw, 2))
      // @ts-expect-error mlx5_eswitch_enable: devl_assert_locked
      const noDevlink: Effect.Effect<number> = mlx5EswitchEnable(w, esw, 2)
      // @ts-expect-error mlx5_eswitch_enable_locked needs the devlink lock, not the guard
      const wrongLock: Effect.Effect<number> = LockContract.withLock(repsGuard(w, esw), mlx5EswitchEnableLocked(w, esw, 2))
      // @ts-expect-error mlx5_eswitch_reload_reps_blocked: the guard must be held
      const noGuard: Effect.Effect<void> = mlx5EswitchReloadRepsBlocked(w, esw)
      // esw_mode_change hands the guard over: its caller holds both the devlink lock and the guard …
      const modeChange: Effect.Effect<void> = LockContract.withLock(
        devl(w, dev),
        LockContract.withLock(repsGuard(w, esw), eswModeChange(w, esw, "OFFLOADS"))
      )
      // @ts-expect-error … and it does not compile without the guard
      const modeChangeNoGuard: Effect.Effect<void> = LockContract.withLock(devl(w, dev), eswModeChange(w, esw, "OFFLOADS"))
      return [ok, noDevlink, wrongLock, noGuard, modeChange, modeChangeNoGuard]
    }
    assert.strictEqual(typeof typed, "function")
  })
})

describe("mlx5 lock contracts: the run-time check", () => {
  const scenario = (holds: "pf0" | "pf1"): Explorer.Scenario => ({
    name: `disable-sriov-${holds}`,
    description: "mlx5_eswitch_disable_sriov with one PF's devlink lock",
    program: Effect.gen(function* () {
      const kernel = yield* Kernel
      const w = yield* buildWorld(variantNamed("merged"), {
        devs: [
          { name: "pf0", isEcpf: false },
          { name: "pf1", isEcpf: false }
        ],
        lag: false,
        ibLoaded: false
      })
      const [pf0, pf1] = [w.devs[0]!, w.devs[1]!]
      const held = holds === "pf0" ? pf0 : pf1
      yield* kernel.spawn("sriov", LockContract.withLock(devl(w, held), mlx5EswitchDisableSriov(w, pf0.esw, true)))
    })
  })
  const first = (s: Explorer.Scenario) =>
    Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "dfs", preemptions: 1, stopOnFirst: true }))).counterexamples[0]
      ?.finding

  it.effect("the other PF's devlink lock satisfies the type, not lockdep: a WARN naming the function and the lock", () =>
    Effect.sync(() => {
      const f = first(scenario("pf1"))
      assert.match(
        f?.summary ?? "",
        /mlx5_eswitch_disable_sriov\(\) called without &devlink->lock held \(lockdep_assert_held\(pf0\.devlink\) by sriov\)/
      )
      assert.isUndefined(first(scenario("pf0")))
    })
  )
})

describe("mlx5 components own their fibers", () => {
  it.effect("the E-Switch's lifetime owns its work queue: mlx5_eswitch_cleanup closes it, running destroy_workqueue", () =>
    Effect.sync(() => {
      const seen: Array<string> = []
      const s: Explorer.Scenario = {
        name: "probe-remove",
        description: "probe one PF, then remove it",
        program: Effect.gen(function* () {
          const w = yield* buildWorld(variantNamed("merged"), { devs: [{ name: "pf0", isEcpf: false }], lag: false, ibLoaded: false })
          const esw = w.devs[0]!.esw
          yield* probeOne(w, w.devs[0]!, false)
          seen.push(`probed: closed=${esw.life.isClosed()}`)
          yield* removeOne(w, w.devs[0]!)
          seen.push(
            `removed: closed=${esw.life.isClosed()} pending=${esw.workQueue.pendingCount()} running=${esw.workQueue.runningCount()}`
          )
        })
      }
      const report = Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "random", schedules: 1, seed: 1 })))
      assert.deepStrictEqual(report.counterexamples, [])
      assert.deepStrictEqual(seen, ["probed: closed=false", "removed: closed=true pending=0 running=0"])
    })
  )
})
