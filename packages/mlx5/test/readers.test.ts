/**
 * The lockless readers of the representor registry (issue 13 item 1, notes
 * §1.1): `mlx5_eswitch_get_proto_dev` loads `esw->offloads.rep_ops[t]` plainly
 * (a kernel cell, so the race check sees it against register/unregister) and
 * calls `->get_proto_dev`, which for REP_ETH dereferences the `mlx5e_rep_priv`
 * that `mlx5e_vport_rep_unload` frees (a slab object: KASAN's use-after-free).
 * Each test explores every interleaving of one lockless reader against one
 * writer on a PF booted in switchdev.
 */
import { Explorer, Finding, type Kernel } from "@drvmodel/core"
import { variantNamed } from "@drvmodel/mlx5"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Components } from "../src/components.ts"
import { bootInSwitchdev, buildRun } from "../src/scenarios.ts"
import type { RepType, World } from "../src/world.ts"

const PF = { name: "pf0", isEcpf: false }

/** A PF in switchdev (mlx5_ib loaded), then `reader` and `writer` as two tasks. */
const program = (
  variant: string,
  t: RepType,
  writer: (w: World, m: Components) => Effect.Effect<unknown>
): Effect.Effect<void, unknown, Kernel> =>
  Effect.gen(function* () {
    const { w, m } = yield* buildRun(variantNamed(variant), { devs: [PF], lag: false, ibLoaded: true })
    yield* bootInSwitchdev(w, m)
    // An mlx5_ib / mlx5e TC user outside any representor lock (notes §1.1 reader table).
    yield* w.kernel.spawn("reader", Effect.asVoid(m.registry.mlx5EswitchUplinkGetProtoDev(w.devs[0]!.esw, t)))
    yield* w.kernel.spawn("writer", Effect.asVoid(writer(w, m)))
  })

/** Every finding of an exhaustive DFS over the two tasks: "data-race:<cell>" or the defect's message. */
const findings = (variant: string, t: RepType, writer: (w: World, m: Components) => Effect.Effect<unknown>) => {
  const r = Effect.runSync(
    Explorer.explore(
      { name: `readers-${t}`, description: "lockless get_proto_dev vs a registry writer", program: program(variant, t, writer) },
      Explorer.options({ strategy: "dfs", schedules: 20_000, maxSteps: 20_000 })
    )
  )
  assert.strictEqual(r.stopped, "exhausted")
  return r.counterexamples.map((c) =>
    c.finding.problem._tag === "DataRace"
      ? `data-race:${c.finding.problem.cell}:${c.finding.problem.first.func}/${c.finding.problem.second.func}`
      : c.finding.problem._tag === "Defect"
        ? c.finding.problem.message
        : Finding.kindOf(c.finding.problem)
  )
}

describe("lockless representor readers (mlx5_eswitch_get_proto_dev)", () => {
  it.effect(
    "the reader calls ->get_proto_dev through rep_ops: mlx5_ib_rep_to_dev's plain load of priv races the IB unload's NULL store",
    () =>
      Effect.sync(() => {
        for (const variant of ["baseline", "merged"]) {
          const all = findings(variant, "IB", (_, m) => m.ib.rmmodMlx5Ib())
          assert.include(all, "data-race:rep[uplink].IB.priv:mlx5_ib_rep_to_dev/mlx5_ib_vport_rep_unload", `${variant}: ${all.join("\n")}`)
        }
      })
  )

  it.effect("rep_ops[t] is a plain member: register's store (under reps_lock only) races the reader's R2/R3 loads", () =>
    Effect.sync(() => {
      // A second registration of REP_IB while the uplink IB rep is LOADED (what the shared-FDB
      // master's mlx5_ib_register_peer_vport_reps does to a peer): the store is unordered with the reader.
      const all = findings("merged", "IB", (w, m) => m.registry.mlx5EswitchRegisterVportReps(w.devs[0]!.esw, m.ib.ops, "IB"))
      assert.isTrue(
        all.some((m) => m.startsWith("data-race:esw->offloads.rep_ops[IB]:") && m.includes("mlx5_eswitch_get_proto_dev")),
        all.join("\n")
      )
    })
  )

  it.effect("REP_ETH: the mlx5e_rep_priv freed by a mode change to legacy is reached by the lockless reader (KASAN)", () =>
    Effect.sync(() => {
      const all = findings("merged", "ETH", (w, m) => m.devlink.devlinkEswitchSet(w.devs[0]!, "LEGACY"))
      assert.isTrue(
        all.some((m) => m.includes("use-after-free: mlx5e_rep_priv(esw:uplink)#1") && m.includes("mlx5e_vport_rep_get_proto_dev")),
        all.join("\n")
      )
    })
  )
})
