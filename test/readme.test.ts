/**
 * The README is tested: each `drvmodel` command it shows runs here and does
 * what the README says. The worked example and the model snippet are read
 * from README.md itself, so an edit there is an edit of this test; each row of
 * the command table has a concrete invocation below (a new row without one
 * fails). Not run here: the install, `pnpm test` (this suite; CI runs it),
 * the full mlx5 `pnpm matrix`, its shards and `pnpm bench` (a minute each; the
 * matrix, shard and merge commands run on the classic model below and in the
 * CLI tests).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { Explorer, Kernel, Mutex, Workqueue } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { node, root, tmp } from "../packages/cli/test/support.ts"

const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const bin = path.join(root, "packages/cli/src/bin.ts")
const pnpm = "npx -y pnpm@12.21.0 drvmodel "

/** Runs `drvmodel` with a README command line's words, in `cwd`. */
const drvmodel = (cwd: string, args: ReadonlyArray<string>) => {
  const r = spawnSync(node, [bin, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", CI: "true" } })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

/** The `drvmodel …` commands of the README's sh blocks, as argument lists (comments dropped). */
const shCommands = (): Array<Array<string>> =>
  [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1]!.split("\n"))
    .filter((l) => l.startsWith(pnpm))
    .map((l) =>
      l
        .slice(pnpm.length)
        .replace(/\s+#.*$/, "")
        .trim()
        .split(/\s+/)
    )

// Real commands: a generous per-test limit, so a loaded machine does not fail them (no timing is asserted).
describe("README", { timeout: 600_000 }, () => {
  it.effect("the worked example: explore finds and writes the deadlock, report writes the HTML, the fix replays clean", () =>
    Effect.sync(() => {
      const cwd = tmp()
      const [explore, report, replay] = shCommands()
      assert.strictEqual(explore![0], "explore")
      const found = drvmodel(cwd, explore!)
      assert.strictEqual(found.code, 1, `${found.out}\n${found.err}`)
      assert.include(found.out, "deadlock: esw_wq-worker waits for devlink held by remove; remove waits for esw_wq held by esw_wq-worker")
      assert.include(readme, "first reaches the\ndeadlock at run 354")
      assert.include(found.out, "found by dfs, run 354")
      const json = path.join(cwd, "found/teardown-with-pending-work--baseline--deadlock.json")
      assert.isTrue(fs.existsSync(json))
      assert.strictEqual(report![0], "report")
      const html = drvmodel(cwd, report!)
      assert.strictEqual(html.code, 0, html.err)
      assert.isTrue(fs.existsSync(json.replace(/\.json$/, ".html")), "writes found/…--deadlock.html beside the JSON")
      assert.strictEqual(replay![0], "replay")
      const fixed = drvmodel(cwd, replay!)
      assert.strictEqual(fixed.code, 0, `${fixed.out}\n${fixed.err}`)
      assert.include(fixed.out, "variant v1@4")
      assert.include(fixed.out, "clean: the run finished cleanly")
    })
  )

  // One concrete invocation per row of the command table, each in its own directory.
  const classic = ["--model", "classic"]
  /** A directory holding found/abba--buggy--deadlock.json. */
  const withFinding = () => {
    const cwd = tmp()
    const r = drvmodel(cwd, [
      "explore",
      "abba",
      ...classic,
      "--variant",
      "buggy",
      "--strategy",
      "random",
      "--schedules",
      "200",
      "--out",
      "found"
    ])
    assert.strictEqual(r.code, 1, r.err)
    return cwd
  }
  const file = "found/abba--buggy--deadlock.json"
  const rows: Record<string, () => void> = {
    list: () => {
      const r = drvmodel(tmp(), ["list", ...classic])
      assert.strictEqual(r.code, 0, r.err)
      assert.match(r.out, /abba: two threads take A and B/)
      assert.match(r.out, /invariant no-lost-update: /)
    },
    explore: () => {
      const cwd = tmp()
      const dfs = drvmodel(cwd, ["explore", "abba", ...classic, "--variant", "fixed", "--strategy", "dfs", "--preemptions", "2"])
      assert.strictEqual(dfs.code, 0, dfs.err)
      assert.include(dfs.out, "every schedule within 2 preemptions explored (exhausted)")
      const pct = drvmodel(cwd, [
        "explore",
        "abba",
        ...classic,
        "--variant",
        "fixed",
        "--strategy",
        "pct",
        "--depth",
        "2",
        "--schedules",
        "50",
        "--seed",
        "3"
      ])
      assert.strictEqual(pct.code, 0, pct.err)
      assert.match(pct.out, /1\/\(n\*k\^\(d-1\)\) = 1\/\d+ .*chance of having missed one is <= /)
    },
    matrix: () => {
      const cwd = tmp()
      const r = drvmodel(cwd, ["matrix", ...classic, "--out", "m"])
      assert.strictEqual(r.code, 1, r.err)
      for (const f of ["matrix.json", "README.md", "abba--buggy--deadlock.json"]) assert.isTrue(fs.existsSync(path.join(cwd, "m", f)), f)
    },
    merge: () => {
      // The README's shard and merge commands, on the classic model (the mlx5 matrix takes a minute).
      const [, , , ...rest] = shCommands()
      const [shard, merge] = rest
      assert.deepStrictEqual(rest.length, 2)
      assert.deepStrictEqual(shard!.slice(0, 2), ["matrix", "--shard"])
      assert.strictEqual(merge![0], "merge")
      const cwd = tmp()
      const n = Number(shard![2]!.split("/")[1])
      for (let i = 1; i <= n; i++) {
        const words = shard!.map((w) => w.replace(/^1\//, `${i}/`).replace(/-1$/, `-${i}`))
        const r = drvmodel(cwd, [...words, ...classic])
        assert.include([0, 1], r.code, `${words.join(" ")}: ${r.err}`)
      }
      const merged = drvmodel(cwd, merge!)
      assert.strictEqual(merged.code, 1, merged.err)
      assert.isTrue(fs.existsSync(path.join(cwd, "report", "matrix.json")))
      assert.isTrue(fs.existsSync(path.join(cwd, "report", "abba--buggy--deadlock.json")))
    },
    replay: () => {
      const cwd = withFinding()
      const same = drvmodel(cwd, ["replay", file])
      assert.strictEqual(same.code, 1, same.err)
      assert.include(same.out, "*** DEADLOCK ***")
      const other = drvmodel(cwd, ["replay", file, "--variant", "fixed", "--lenient"])
      assert.strictEqual(other.code, 0, other.err)
      assert.include(other.out, "variant fixed")
    },
    shrink: () => {
      const r = drvmodel(withFinding(), ["shrink", file, "--deep"])
      assert.strictEqual(r.code, 1, r.err)
      assert.match(r.out, /depth: 1 \(minimal: no schedule with at most 0 preemptions reproduces it; bounded search exhausted\)/)
    },
    report: () => {
      const cwd = withFinding()
      const text = drvmodel(cwd, ["report", file, "--format", "text"])
      assert.include(text.out, "*** DEADLOCK ***")
      assert.isTrue(drvmodel(cwd, ["report", file, "--format", "mermaid"]).out.startsWith("sequenceDiagram"))
      for (const [format, ext] of [
        ["html", ".html"],
        ["chrome-trace", ".trace.json"]
      ] as const) {
        const r = drvmodel(cwd, ["report", file, "--format", format])
        assert.strictEqual(r.code, 0, r.err)
        assert.isTrue(fs.existsSync(path.join(cwd, file.replace(/\.json$/, ext))), format)
      }
    }
  }

  it.effect("every row of the command table has a test below", () =>
    Effect.sync(() => {
      const listed = [...readme.matchAll(/^\| `drvmodel (\w+)/gm)].map((m) => m[1]!)
      assert.deepStrictEqual(listed, Object.keys(rows))
    })
  )
  for (const [row, check] of Object.entries(rows)) it.effect(`drvmodel ${row} runs as the table says`, () => Effect.sync(check))

  it.effect("the model snippet finds the deadlock its comment shows", () =>
    Effect.sync(() => {
      // The snippet of "Writing a model", verbatim apart from the declarations.
      const removeUnderLock = {
        name: "remove-under-lock",
        description: "remove() flushes the workqueue while holding dev->lock; the work item takes dev->lock",
        program: Effect.gen(function* () {
          const kernel = yield* Kernel
          const lock = yield* Mutex.make("dev->lock")
          const wq = yield* Workqueue.make("dev->wq")
          yield* wq.queueWork(Workqueue.work("dev_work_fn", Effect.andThen(lock.lock, lock.unlock)))
          yield* kernel.spawn(
            "rmmod",
            Effect.gen(function* () {
              yield* lock.lock
              yield* wq.flush
              yield* lock.unlock
            })
          )
        })
      }
      assert.include(readme, 'name: "remove-under-lock"')
      const report = Effect.runSync(Explorer.explore(removeUnderLock, Explorer.options({ strategy: "dfs", preemptions: 2 })))
      const expected = /report\.counterexamples\[0\]\?\.finding\.summary\n\/\/ => "([^"]+)"/.exec(readme)?.[1]
      assert.isDefined(expected)
      assert.strictEqual(report.counterexamples[0]?.finding.summary, expected)
    })
  )
})
