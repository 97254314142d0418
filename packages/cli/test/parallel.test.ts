/**
 * The matrix on several workers and several machines gives the single-thread
 * result: --jobs 1, 2 and 3, three shards run as three processes and merged,
 * all compared with the in-process matrix (apart from timings); merge refuses
 * what does not fit; the watchdog stops a worker stuck in a plain loop.
 * Uses the classic model (14 cells, a few seconds).
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { LockOrderCell, Matrix, Models, Partial, Pool, ReportPages, Shard } from "../src/index.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const node = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : path.join(root, "node_modules/.bin/node")
const env = { ...process.env, NO_COLOR: "1", CI: "true" }
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "drvmodel-par-"))

const run = (...args: Array<string>) => {
  const r = spawnSync(node, ["packages/cli/src/bin.ts", ...args], { cwd: root, encoding: "utf8", env })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

const runAsync = (...args: Array<string>) =>
  new Promise<{ code: number | null; err: string }>((resolve) => {
    const p = spawn(node, ["packages/cli/src/bin.ts", ...args], { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] })
    let err = ""
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString()
    })
    p.on("close", (code) => resolve({ code, err }))
  })

/** matrix.json without timings, the output directory replaced by OUT. */
const normalized = (json: unknown, dir: string): unknown => {
  const walk = (x: unknown): unknown => {
    if (typeof x === "string") return x.split(dir).join("OUT")
    if (Array.isArray(x)) return x.map(walk)
    if (typeof x === "object" && x !== null)
      return Object.fromEntries(
        Object.entries(x)
          .filter(([k]) => k !== "elapsedMs")
          .map(([k, v]) => [k, walk(v)])
      )
    return x
  }
  return walk(json)
}
const matrixOf = (dir: string) => normalized(JSON.parse(fs.readFileSync(path.join(dir, "matrix.json"), "utf8")), dir)
/** The README without its one timing ("in 1.7 s"). */
const readmeOf = (dir: string) =>
  fs
    .readFileSync(path.join(dir, "README.md"), "utf8")
    .split(dir)
    .join("OUT")
    .replace(/ in \d+\.\d s/, " in T s")
/** Every file but matrix.json and README.md (finding and lock-order pages included), by name; paths as OUT. */
const filesOf = (dir: string) =>
  Object.fromEntries(
    (fs.readdirSync(dir, { recursive: true }) as Array<string>)
      .filter((f) => f !== "matrix.json" && f !== "README.md" && fs.statSync(path.join(dir, f)).isFile())
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8").split(dir).join("OUT")])
  )

/** A copy of a shard directory (under `base`) whose partial.json `change` edited. */
const edited = (base: string, from: string, change: (json: Record<string, unknown>) => void) => {
  const copy = fs.mkdtempSync(path.join(base, "edited-"))
  fs.cpSync(from, copy, { recursive: true })
  const file = path.join(copy, "partial.json")
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>
  change(json)
  fs.writeFileSync(file, JSON.stringify(json))
  return copy
}

/** The in-process, one-cell-after-another matrix: the reference. */
let reference: { dir: string } | undefined
const inProcess = async () => {
  if (reference !== undefined) return reference
  const dir = tmp()
  const { result, counterexamples } = await Effect.runPromise(
    Matrix.run("classic", { out: dir, analyses: [LockOrderCell.analysis()] }).pipe(Effect.provide(NodeServices.layer))
  )
  fs.writeFileSync(path.join(dir, "matrix.json"), `${JSON.stringify(result, null, 2)}\n`)
  const report = ReportPages.render(result, counterexamples, `pnpm drvmodel matrix --model classic --out ${dir}`)
  fs.writeFileSync(path.join(dir, "README.md"), report.readme)
  for (const page of report.pages) {
    fs.mkdirSync(path.dirname(path.join(dir, page.path)), { recursive: true })
    fs.writeFileSync(path.join(dir, page.path), page.text)
  }
  reference = { dir }
  return reference
}

/** The classic matrix as three shards, three processes at once. */
let shards: Promise<{ base: string; dirs: Array<string> }> | undefined
const threeShards = () => {
  shards ??= (async () => {
    const base = tmp()
    const dirs = [1, 2, 3].map((i) => path.join(base, `shard-${i}`))
    const runs = await Promise.all(
      dirs.map((dir, i) => runAsync("matrix", "--model", "classic", "--shard", `${i + 1}/3`, "--out", dir, "--jobs", "1"))
    )
    for (const r of runs) assert.include([0, 1], r.code, r.err)
    return { base, dirs }
  })()
  return shards
}

describe("matrix on several workers and machines", () => {
  it.effect("--jobs 1, 2 and 3 write the same report as the in-process matrix, apart from timings", () =>
    Effect.promise(async () => {
      const ref = await inProcess()
      for (const jobs of ["1", "2", "3"]) {
        const dir = tmp()
        const r = run("matrix", "--model", "classic", "--out", dir, "--jobs", jobs)
        assert.strictEqual(r.code, 1, r.err)
        assert.include(r.out, `${jobs} worker${jobs === "1" ? "" : "s"}`)
        assert.deepStrictEqual(matrixOf(dir), matrixOf(ref.dir), `--jobs ${jobs}`)
        assert.strictEqual(readmeOf(dir), readmeOf(ref.dir), `--jobs ${jobs}`)
        assert.deepStrictEqual(filesOf(dir), filesOf(ref.dir), `--jobs ${jobs}`)
      }
    })
  )

  it.effect("cells split into DFS subtrees on the pool give the in-process matrix, lock-order graphs included, for --jobs 1, 2 and 3", () =>
    Effect.promise(async () => {
      // Without the DPOR pre-pass every classic cell is a bounded DFS, and most split into subtrees.
      const refDir = tmp()
      const ref = await Effect.runPromise(
        Matrix.run("classic", { out: refDir, dporBudget: 0, analyses: [LockOrderCell.analysis()] }).pipe(Effect.provide(NodeServices.layer))
      )
      for (const jobs of [1, 2, 3]) {
        const dir = tmp()
        const { result, split } = await Effect.runPromise(
          Pool.matrix("classic", { jobs, out: dir, dporBudget: 0, subtrees: Pool.matrixSubtrees })
        )
        assert.isAtLeast(split.length, 10, "most cells were split")
        const cycles = result.cells.filter(
          (c) =>
            split.some((x) => x.scenario === c.scenario && x.variant === c.variant) &&
            ((c.lockOrder as { cycles?: Array<unknown> } | undefined)?.cycles?.length ?? 0) > 0
        )
        assert.isAtLeast(cycles.length, 3, "split cells with lock-order cycles: their graphs came from several segments")
        assert.deepStrictEqual(normalized(result, dir), normalized(ref.result, refDir), `--jobs ${jobs}`)
        assert.deepStrictEqual(filesOf(dir), filesOf(refDir), `--jobs ${jobs}`)
      }
    })
  )

  it.effect("a DFS budget reached inside a segment: the pooled cell is the unsplit one", () =>
    Effect.promise(async () => {
      const [scenario, variant] = ["teardown-with-pending-work", "v1@5"]
      const units = Shard.units(Models.get("mlx5"))
      const position = units.findIndex((u) => u.scenario === scenario && u.variant === variant)
      const refDir = tmp()
      const resolved = await Effect.runPromise(Models.resolve("mlx5", scenario, variant))
      const o = await Effect.runPromise(Models.optionsFor(resolved.info, { schedules: 1000 }))
      const ref = await Effect.runPromise(
        // No DPOR pre-pass: this is about DFS segments (DPOR with spin-assume verifies this cell).
        Matrix.runCell(resolved, "mlx5", o, { out: refDir, dporBudget: 0, analyses: [LockOrderCell.analysis()] }).pipe(
          Effect.provide(NodeServices.layer)
        )
      )
      assert.strictEqual(ref.cell.stopped, "budget", "the search is longer than the budget")
      assert.isAbove(((ref.cell.lockOrder as { cycles?: Array<unknown> }).cycles ?? []).length, 0)
      const dir = tmp()
      const { result, split } = await Effect.runPromise(
        Pool.matrix("mlx5", { jobs: 2, out: dir, schedules: 1000, dporBudget: 0, shard: { index: position + 1, count: units.length } }) // one cell, two workers: split
      )
      assert.deepStrictEqual(split, [{ scenario, variant, segments: 8 }])
      assert.deepStrictEqual(normalized(result.cells, dir), normalized([ref.cell], refDir))
      assert.deepStrictEqual(filesOf(dir), filesOf(refDir))
    })
  )

  it.effect("three shards run as three processes, then merged, give the unsharded report", () =>
    Effect.promise(async () => {
      const ref = await inProcess()
      const { base, dirs } = await threeShards()
      const sizes = dirs.map(
        (d) => (JSON.parse(fs.readFileSync(path.join(d, "partial.json"), "utf8")) as { cells: Array<unknown> }).cells.length
      )
      assert.deepStrictEqual(sizes, [5, 5, 4], "14 cells, position modulo 3")
      const out = path.join(base, "merged")
      const m = run("merge", ...dirs, "--out", out)
      assert.strictEqual(m.code, 1, m.err)
      assert.deepStrictEqual(matrixOf(out), matrixOf(ref.dir))
      assert.strictEqual(readmeOf(out), readmeOf(ref.dir))
      assert.deepStrictEqual(filesOf(out), filesOf(ref.dir))
    })
  )

  it.effect("merge refuses missing, repeated and foreign shards: one line, exit 2, nothing written", () =>
    Effect.promise(async () => {
      const { base, dirs } = await threeShards()
      const [one, two, three] = dirs as [string, string, string]
      const out = path.join(base, "refused")
      const refused = async (shards: ReadonlyArray<string>, mention: string) => {
        const e = await Effect.runPromise(Effect.flip(Partial.merge(shards, out)))
        assert.include(e.message, mention)
        assert.notInclude(e.message, "\n")
      }
      await refused([one, two], "missing shard 3/3")
      await refused([one, one, two, three], "shard 1/3 appears twice")
      await refused([base], "holds no partial.json")
      await refused([], "name the --out directories")
      const edit = (from: string, change: (json: Record<string, unknown>) => void) => edited(base, from, change)
      const foreign = (j: Record<string, unknown>) => {
        j.sources = "0".repeat(64)
      }
      await refused([one, edit(two, (j) => (j.options = { shrinkBudget: 5 })), three], "shards of different runs")
      await refused([one, edit(two, foreign), three], "source digest")
      await refused([edit(one, foreign), edit(two, foreign), edit(three, foreign)], "other sources")
      await refused([one, edit(two, (j) => (j.shard = { index: 2, count: 4 })), three], "shard count")
      await refused([one, edit(two, (j) => (j.model = "mlx5")), three], "has model mlx5")
      await refused([one, edit(two, (j) => (j.cells = "none")), three], "partial.json: at cells")
      // Through the command: exit 2 and one line.
      const r = run("merge", one, two, "--out", out)
      assert.strictEqual(r.code, 2, r.err)
      assert.deepStrictEqual(r.err.trim().split("\n"), ["drvmodel: error: merge: missing shard 3/3"])
      assert.isFalse(fs.existsSync(out), "nothing written")
      for (const [args, mention] of [
        [["--shard", "3/2"], "--shard must be i/n"],
        [["--jobs", "0"], "--jobs must be"]
      ] as const) {
        const bad = run("matrix", "--model", "classic", ...args)
        assert.strictEqual(bad.code, 2, bad.err)
        assert.strictEqual(bad.err.trim().split("\n").length, 1, bad.err)
        assert.include(bad.err, mention)
      }
    })
  )

  it.effect(
    "explore as three shards in three processes, merged, prints and writes what one explore does; merge refuses what does not fit",
    () =>
      Effect.promise(async () => {
        const base = tmp()
        const args = ["explore", "destroy-under-lock-concurrent", "--model", "classic", "--variant", "buggy"]
        const search = [...args, "--strategy", "dfs", "--preemptions", "4", "--schedules", "100000", "--jobs", "1"]
        const singleDir = path.join(base, "single")
        const single = run(...search, "--out", singleDir)
        assert.strictEqual(single.code, 1, single.err)
        const dirs = [1, 2, 3].map((i) => path.join(base, `part-${i}`))
        const parts = await Promise.all(dirs.map((dir, i) => runAsync(...search, "--shard", `${i + 1}/3`, "--out", dir)))
        for (const p of parts) assert.include([0, 1], p.code, p.err)
        const partial = (dir: string) =>
          JSON.parse(fs.readFileSync(path.join(dir, "partial.json"), "utf8")) as { segments: number; indices: Array<number> }
        assert.isAbove(partial(dirs[0]!).segments, 3, "the search was split")
        assert.deepStrictEqual(
          dirs.flatMap((d) => partial(d).indices).sort((a, b) => a - b),
          Array.from({ length: partial(dirs[0]!).segments }, (_, i) => i)
        )
        const mergedDir = path.join(base, "merged")
        const merged = run("merge", ...dirs, "--out", mergedDir)
        assert.strictEqual(merged.code, 1, merged.err)
        assert.deepStrictEqual(filesOf(mergedDir), filesOf(singleDir))
        assert.isAbove(Object.keys(filesOf(singleDir)).length, 0)
        // What it prints after its first line (the command's own), timing and directory aside.
        const said = (out: string, dir: string) =>
          out
            .split("\n")
            .slice(1)
            .join("\n")
            .split(dir)
            .join("OUT")
            .replace(/\(\d+\.\d+s\)/g, "(T)")
        assert.strictEqual(said(merged.out, mergedDir), said(single.out, singleDir))
        // Refusals: one line, exit 2.
        const refused = (r: { code: number | null; err: string }, mention: string) => {
          assert.strictEqual(r.code, 2, r.err)
          assert.strictEqual(r.err.trim().split("\n").length, 1, r.err)
          assert.include(r.err, mention)
        }
        const [one, two, three] = dirs as [string, string, string]
        refused(run("merge", one, two, "--out", path.join(base, "x")), "missing shard 3/3")
        const edit = (from: string, change: (json: Record<string, unknown>) => void) => edited(base, from, change)
        const options = (j: Record<string, unknown>) => {
          j.options = { ...(j.options as object), preemptions: 3 }
        }
        refused(run("merge", one, edit(two, options), three), "shards of different runs")
        refused(
          run(
            "merge",
            one,
            edit(two, (j) => (j.variant = "fixed")),
            three
          ),
          "has scenario destroy-under-lock-concurrent / fixed"
        )
        refused(
          run(
            "merge",
            one,
            edit(two, (j) => (j.shrink = false)),
            three
          ),
          "shards of different runs"
        )
        refused(
          run(
            "merge",
            one,
            edit(two, (j) => (j.sources = "0".repeat(64))),
            three
          ),
          "source digest"
        )
        refused(
          run(
            "merge",
            one,
            edit(two, (j) => (j.indices = [0])),
            three
          ),
          "does not hold the segments of shard 2/3"
        )
        const { dirs: matrixShards } = await threeShards()
        refused(run("merge", one, matrixShards[1]!, three), "holds a matrix shard but")
        refused(run(...args, "--shard", "1/3"), "explore --shard needs --out")
        refused(run(...args, "--shard", "4/3", "--out", path.join(base, "y")), "--shard must be i/n")
      })
  )

  it.effect("Ctrl-C stops every worker between runs and still writes the cells found so far", () =>
    Effect.promise(async () => {
      const dir = tmp()
      const p = spawn(node, ["packages/cli/src/bin.ts", "matrix", "--out", dir, "--jobs", "2"], {
        cwd: root,
        env,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      let err = ""
      let sent = false
      p.stderr.on("data", (d: Buffer) => {
        err += d.toString()
      })
      // After the first finished cell (plain output prints one line per cell), interrupt.
      p.stdout.on("data", (d: Buffer) => {
        out += d.toString()
        if (!sent && /^ {2}\S.* \/ .*: /m.test(out)) {
          sent = true
          p.kill("SIGINT")
        }
      })
      const code = await new Promise<number | null>((resolve) => p.on("close", resolve))
      assert.isTrue(sent, out + err)
      assert.include([1, 130], code, err)
      assert.include(err, "interrupted: stopping")
      const m = JSON.parse(fs.readFileSync(path.join(dir, "matrix.json"), "utf8")) as {
        interrupted: boolean
        cells: Array<{ stopped: string }>
      }
      assert.isTrue(m.interrupted)
      assert.isAbove(m.cells.length, 0)
      assert.isBelow(m.cells.length, 72)
      assert.isTrue(fs.existsSync(path.join(dir, "README.md")))
      assert.include(out, "(interrupted: partial matrix)")
    })
  )

  it.effect("the split is a pure function of the model: every cell in exactly one shard", () =>
    Effect.sync(() => {
      const units = Shard.units({
        scenarios: [{ name: "a" }, { name: "b" }, { name: "c" }],
        variants: [{ name: "x" }, { name: "y" }]
      } as never)
      for (const n of [1, 2, 3, 4, 7]) {
        const seen = Array.from({ length: n }, (_, i) => Shard.select(units, { index: i + 1, count: n }).map((u) => u.position)).flat()
        assert.deepStrictEqual(
          seen.sort((a, b) => a - b),
          units.map((u) => u.position)
        )
      }
      assert.deepStrictEqual(Shard.parse(" 2/3 "), { index: 2, count: 3 })
      for (const bad of ["0/3", "4/3", "1", "a/b", "1/0", "-1/2"]) assert.throws(() => Shard.parse(bad))
    })
  )

  it.effect("the pool's worker threads get the larger young generation (a performance setting: the results above are the same)", () =>
    Effect.promise(async () => {
      const pool = Pool.scheduler({ jobs: 1, total: 1, worker: new URL("./fixtures/limits-worker.ts", import.meta.url).href })
      const o = await pool.run({
        task: (control, slot) => ({
          _tag: "Cell",
          model: "classic",
          scenario: "abba",
          variant: "buggy",
          cell: { subtrees: 1 },
          control,
          slot
        }),
        where: { scenario: "abba", variant: "buggy" },
        rank: [0]
      })
      await pool.close()
      assert.strictEqual(o?._tag, "Failed")
      const limits = JSON.parse((o as { message: string }).message) as { maxYoungGenerationSizeMb: number }
      // V8's default for a worker is 48 MB: this fails if the pool starts its threads without the limit.
      assert.strictEqual(limits.maxYoungGenerationSizeMb, Pool.workerYoungGenerationMb)
      assert.isAbove(Pool.workerYoungGenerationMb, 48)
    })
  )

  it.effect("the watchdog terminates a worker stuck in a plain loop and says where; the other cells complete", () =>
    Effect.promise(async () => {
      const { result, stuck } = await Effect.runPromise(
        Pool.matrix("classic", {
          jobs: 2,
          shard: { index: 1, count: 7 },
          watchdogMs: 1000,
          worker: new URL("./fixtures/stuck-worker.ts", import.meta.url).href
        })
      )
      assert.strictEqual(stuck.length, 1)
      const s = stuck[0]!
      assert.strictEqual(`${s.scenario}/${s.variant}`, "abba/buggy")
      assert.strictEqual(s.task, "spinner")
      assert.strictEqual(s.op, "mutex_lock(dev->lock)")
      assert.strictEqual(s.run, 0)
      assert.deepStrictEqual(s.prefix.at(-1), "spinner: mutex_lock(dev->lock)")
      assert.include(Pool.stuckText(s), "task spinner reached no scheduling point")
      assert.deepStrictEqual(
        result.cells.map((c) => [c.scenario, c.variant, c.kinds.includes("stuck")]),
        [
          ["abba", "buggy", true],
          ["flush-under-lock-concurrent", "fixed", false]
        ]
      )
      assert.isFalse(result.interrupted)
    })
  )
})
