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
import { Effect, Layer } from "effect"
import { type Components, layer } from "../src/components.ts"
import { Mlx5Ib } from "../src/ib_rep.ts"
import { devl } from "../src/locks.ts"
import { Mlx5Core } from "../src/main.ts"
import { buildRun, buildWorld } from "../src/scenarios.ts"
import { Run, type World } from "../src/world.ts"

const SRC = join(import.meta.dirname, "../src")

/** One run of a scenario (one schedule: these programs have a single task). */
const runOnce = (s: Explorer.Scenario) =>
  Effect.runSync(Explorer.explore(s, Explorer.options({ strategy: "random", schedules: 1, seed: 1 })))

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

  it("a component reaches another only through its service: what it imports from a component file is the service class or types", () => {
    // Shared, component-free modules: the run's objects and helpers, the lock classes, the variants.
    const shared = new Set(["world.ts", "locks.ts", "variant.ts"])
    const components = [
      "aux.ts",
      "devlink.ts",
      "en_rep.ts",
      "eq.ts",
      "esw_wq.ts",
      "eswitch.ts",
      "health.ts",
      "ib_rep.ts",
      "lag.ts",
      "lag_netdev.ts",
      "main.ts",
      "registry.ts"
    ]
    const bad: Array<string> = []
    for (const f of components) {
      const text = readFileSync(join(SRC, f), "utf8")
      assert.match(text, /export class \w+ extends Context\.Service</, `${f} declares its component as a service`)
      for (const m of text.matchAll(/^import (type )?\{([^}]*)\} from "\.\/([\w-]+\.ts)"/gm)) {
        if (m[1] !== undefined || shared.has(m[3]!)) continue
        for (const name of m[2]!
          .split(",")
          .map((n) => n.trim())
          .filter((n) => n !== "" && !n.startsWith("type "))) {
          if (!/^[A-Z]/.test(name)) bad.push(`${f} imports ${name} from ${m[3]}`)
        }
      }
    }
    assert.deepStrictEqual(bad, [])
  })
})

describe("mlx5 components as Layers", () => {
  it.effect("the Layer graph builds every component a run's context gives (same makes, same order as buildComponents)", () =>
    Effect.sync(() => {
      const seen: Array<string> = []
      const s: Explorer.Scenario = {
        name: "layer",
        description: "build the components through the Layer and probe a PF with them",
        program: Effect.gen(function* () {
          const w = yield* buildWorld(variantNamed("merged"), { devs: [{ name: "pf0", isEcpf: false }], lag: false, ibLoaded: true })
          yield* Effect.provide(
            Effect.gen(function* () {
              const core = yield* Mlx5Core
              const ib = yield* Mlx5Ib
              yield* core.probeOne(w.devs[0]!, false)
              seen.push(`${w.ibDriver === ib.driver} ${w.devs[0]!.registered.peek()}`)
            }),
            Layer.provide(layer, Layer.succeed(Run, w)),
            { local: true }
          )
        })
      }
      const report = runOnce(s)
      assert.deepStrictEqual(report.counterexamples, [])
      assert.deepStrictEqual(seen, ["true true"])
    })
  )
})

describe("mlx5 lock contracts: the types", () => {
  it("devlink-locked and guard-blocked functions compile only under their lock", () => {
    const typed = (w: World, { eswitch, registry }: Components) => {
      const dev = w.devs[0]!
      const esw = dev.esw
      const ok: Effect.Effect<number> = LockContract.withLock(devl(w, dev), eswitch.mlx5EswitchEnable(esw, 2))
      // @ts-expect-error mlx5_eswitch_enable: devl_assert_locked
      const noDevlink: Effect.Effect<number> = eswitch.mlx5EswitchEnable(esw, 2)
      // @ts-expect-error mlx5_eswitch_enable_locked needs the devlink lock, not the guard
      const wrongLock: Effect.Effect<number> = LockContract.withLock(registry.repsGuard(esw), eswitch.mlx5EswitchEnableLocked(esw, 2))
      // @ts-expect-error mlx5_eswitch_reload_reps_blocked: the guard must be held
      const noGuard: Effect.Effect<void> = registry.mlx5EswitchReloadRepsBlocked(esw)
      // esw_mode_change hands the guard over: its caller holds both the devlink lock and the guard …
      const modeChange: Effect.Effect<void> = LockContract.withLock(
        devl(w, dev),
        LockContract.withLock(registry.repsGuard(esw), eswitch.eswModeChange(esw, "OFFLOADS"))
      )
      // @ts-expect-error … and it does not compile without the guard
      const modeChangeNoGuard: Effect.Effect<void> = LockContract.withLock(devl(w, dev), eswitch.eswModeChange(esw, "OFFLOADS"))
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
      const { w, m } = yield* buildRun(variantNamed("merged"), {
        devs: [
          { name: "pf0", isEcpf: false },
          { name: "pf1", isEcpf: false }
        ],
        lag: false,
        ibLoaded: false
      })
      const [pf0, pf1] = [w.devs[0]!, w.devs[1]!]
      const held = holds === "pf0" ? pf0 : pf1
      yield* kernel.spawn("sriov", LockContract.withLock(devl(w, held), m.eswitch.mlx5EswitchDisableSriov(pf0.esw, true)))
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
          const { w, m } = yield* buildRun(variantNamed("merged"), { devs: [{ name: "pf0", isEcpf: false }], lag: false, ibLoaded: false })
          const esw = w.devs[0]!.esw
          yield* m.core.probeOne(w.devs[0]!, false)
          seen.push(`probed: closed=${esw.life.isClosed()}`)
          yield* m.core.removeOne(w.devs[0]!)
          seen.push(
            `removed: closed=${esw.life.isClosed()} pending=${esw.workQueue.pendingCount()} running=${esw.workQueue.runningCount()}`
          )
        })
      }
      const report = runOnce(s)
      assert.deepStrictEqual(report.counterexamples, [])
      assert.deepStrictEqual(seen, ["probed: closed=false", "removed: closed=true pending=0 running=0"])
    })
  )
})
