/**
 * The command as a person uses it: run as a subprocess, checked by exit code
 * and output. Uses the classic model (known answers).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
// vitest runs on the Node 22 from node_modules/.bin (it strips TS types natively).
const node = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : path.join(root, "node_modules/.bin/node")

const run = (...args: Array<string>) => {
  const r = spawnSync(node, ["packages/cli/src/bin.ts", ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", CI: "true" }
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "drvmodel-cli-"))

/** A bad-input failure: exit 2, one line on stderr naming the problem, no stack trace. */
const assertBadInput = (r: ReturnType<typeof run>, mentions: ReadonlyArray<string>) => {
  assert.strictEqual(r.code, 2, `${r.out}\n${r.err}`)
  const lines = r.err.trim().split("\n")
  assert.strictEqual(lines.length, 1, r.err)
  assert.match(lines[0]!, /^drvmodel: error: /)
  for (const m of mentions) assert.include(lines[0]!, m)
  assert.notMatch(r.err + r.out, /^\s+at .+:\d+:\d+/m, "no stack trace")
}

describe("drvmodel", () => {
  it.effect("list: scenarios, variants and invariants with descriptions (exit 0)", () =>
    Effect.sync(() => {
      const r = run("list", "--model", "classic")
      assert.strictEqual(r.code, 0, r.err)
      assert.include(r.out, "buggy  the pattern with its bug")
      assert.include(r.out, "abba: two threads take A and B in opposite orders")
      assert.include(r.out, "invariant no-lost-update: once both threads finish, the counter is 2")
    })
  )

  it.effect("explore: a clean run exits 0 and says what was covered", () =>
    Effect.sync(() => {
      const r = run("explore", "abba", "--model", "classic", "--variant", "fixed")
      assert.strictEqual(r.code, 0, r.err)
      assert.match(r.out, /clean: \d+ schedules explored/)
      assert.include(r.out, "coverage: DFS: every schedule within 2 preemptions explored (exhausted)")
    })
  )

  it.effect("explore --strategy dpor: a clean result names the classes explored and says whether that is all of them", () =>
    Effect.sync(() => {
      const clean = run("explore", "abba", "--model", "classic", "--variant", "fixed", "--strategy", "dpor")
      assert.strictEqual(clean.code, 0, clean.err)
      assert.match(clean.out, /clean: 2 classes of interleavings \(2 executions\) explored in [\d.]+s \(space exhausted\), no finding/)
      assert.include(clean.out, "coverage: DPOR: all 2 classes of interleavings explored (exhaustive)")
      const cut = run("explore", "abba", "--model", "classic", "--variant", "fixed", "--strategy", "dpor", "--max-steps", "4")
      assert.strictEqual(cut.code, 0, cut.err)
      assert.include(cut.out, "(search finished, NOT exhaustive)")
      assert.match(cut.out, /coverage: DPOR: NOT exhaustive: .* runs cut at the step limit/)
      const buggy = run("explore", "abba", "--model", "classic", "--strategy", "dpor", "--no-shrink")
      assert.strictEqual(buggy.code, 1, buggy.err)
      assert.include(buggy.out, "DEADLOCK")
    })
  )

  it.effect("explore: PCT on a clean variant prints the per-run guarantee and the miss bound", () =>
    Effect.sync(() => {
      const r = run("explore", "abba", "--model", "classic", "--variant", "fixed", "--strategy", "pct", "--schedules", "50")
      assert.strictEqual(r.code, 0, r.err)
      assert.match(r.out, /PCT d=2: each run finds a given depth-2 bug with p >= 1\/\(n\*k\^\(d-1\)\) = 1\/\d+ .*after 50 clean runs/)
    })
  )

  it.effect("explore: a finding exits 1, prints the lockdep-style report and writes a replayable file", () =>
    Effect.sync(() => {
      const dir = tmp()
      const r = run(
        "explore",
        "abba",
        "--model",
        "classic",
        "--variant",
        "buggy",
        "--strategy",
        "random",
        "--schedules",
        "100",
        "--out",
        dir
      )
      assert.strictEqual(r.code, 1, r.err)
      assert.include(r.out, "1 finding in")
      assert.include(r.out, "wait-for cycle: thread-1 -> [B] -> thread-2 -> [A] -> thread-1")
      assert.include(r.out, "*** DEADLOCK ***")
      const file = path.join(dir, "abba--buggy--deadlock.json")
      assert.isTrue(fs.existsSync(file))
      const replay = run("replay", file)
      assert.strictEqual(replay.code, 1, replay.err)
      assert.include(replay.out, "*** DEADLOCK ***")
      // On the fixed variant the recorded schedule no longer fits; leniently it runs clean.
      assertBadInput(run("replay", file, "--variant", "fixed"), ["does not fit the model", "thread-2"])
      const lenient = run("replay", file, "--variant", "fixed", "--lenient")
      assert.strictEqual(lenient.code, 0, lenient.err)
      assert.include(lenient.out, "clean")
    })
  )

  it.effect("explore --out: two findings of one kind get two files (numbered, as in the matrix), none overwritten", () =>
    Effect.sync(() => {
      const dir = tmp()
      const r = run("explore", "ib-load-vs-reconfig", "--variant", "baseline", "--schedules", "60", "--no-shrink", "--out", dir)
      assert.strictEqual(r.code, 1, r.err)
      const races = (r.out.match(/\*\*\* DATA RACE \*\*\*/g) ?? []).length
      assert.isAbove(races, 1, r.out)
      const files = fs.readdirSync(dir).filter((f) => f.includes("--data-race"))
      assert.strictEqual(files.length, races, files.join(", "))
      assert.include(files, "ib-load-vs-reconfig--baseline--data-race--2.json")
    })
  )

  it.effect("matrix --scenario: only those rows, in that order; an unknown one is a one-line error (exit 2)", () =>
    Effect.sync(() => {
      const dir = tmp()
      const r = run("matrix", "--model", "classic", "--scenario", "lost-update", "--scenario", "abba", "--variant", "buggy", "--out", dir)
      assert.strictEqual(r.code, 1, r.err)
      const m = JSON.parse(fs.readFileSync(path.join(dir, "matrix.json"), "utf8")) as {
        scenarios: Array<string>
        cells: Array<{ scenario: string; variant: string }>
      }
      assert.deepStrictEqual(m.scenarios, ["lost-update", "abba"])
      assert.deepStrictEqual(
        m.cells.map((c) => `${c.scenario} × ${c.variant}`),
        ["lost-update × buggy", "abba × buggy"]
      )
      assert.include(fs.readFileSync(path.join(dir, "README.md"), "utf8"), "--scenario lost-update --scenario abba --variant buggy")
      assertBadInput(run("matrix", "--model", "classic", "--scenario", "nope", "--out", tmp()), ['unknown scenario "nope"'])
      assertBadInput(run("matrix", "--model", "classic", "--scenario", "abba", "--shard", "1/2", "--out", tmp()), [
        "--shard cannot be combined with --scenario"
      ])
    })
  )

  it.effect("shrink: prints before and after, the depth, and writes a replayable file", () =>
    Effect.sync(() => {
      const dir = tmp()
      run(
        "explore",
        "abba",
        "--model",
        "classic",
        "--variant",
        "buggy",
        "--strategy",
        "random",
        "--schedules",
        "100",
        "--no-shrink",
        "--out",
        dir
      )
      const file = path.join(dir, "abba--buggy--deadlock.json")
      const before = JSON.parse(fs.readFileSync(file, "utf8")) as { preemptions: number }
      assert.isAbove(before.preemptions, 1)
      const r = run("shrink", file)
      assert.strictEqual(r.code, 1, r.err)
      assert.match(r.out, /preemptions -> \d+ steps, 1 preemption/)
      assert.include(r.out, "depth: 1")
      const out = path.join(dir, "abba--buggy--deadlock.shrunk.json")
      const after = JSON.parse(fs.readFileSync(out, "utf8")) as { preemptions: number; original: { preemptions: number } }
      assert.strictEqual(after.preemptions, 1)
      assert.strictEqual(after.original.preemptions, before.preemptions)
      assert.strictEqual(run("replay", out).code, 1)
    })
  )

  it.effect("bad input: unknown scenario, unknown variant, bad option value", () =>
    Effect.sync(() => {
      assertBadInput(run("explore", "nope", "--model", "classic"), ['unknown scenario "nope"', "abba"])
      assertBadInput(run("explore", "abba", "--model", "classic", "--variant", "v9"), ['unknown variant "v9"', "buggy, fixed"])
      assertBadInput(run("explore", "abba", "--model", "classic", "--schedules", "0"), ['"schedules"'])
    })
  )

  it.effect("bad input: a truncated, an edited and a diverging counterexample file", () =>
    Effect.sync(() => {
      const dir = tmp()
      run("explore", "abba", "--model", "classic", "--variant", "buggy", "--out", dir)
      const file = path.join(dir, "abba--buggy--deadlock.json")
      const text = fs.readFileSync(file, "utf8")
      const truncated = path.join(dir, "truncated.json")
      fs.writeFileSync(truncated, text.slice(0, Math.floor(text.length / 2)))
      assertBadInput(run("replay", truncated), ["truncated.json is not valid JSON"])
      const json = JSON.parse(text) as { steps: unknown; schedule: { steps: Array<{ task?: string }> } }
      const edited = path.join(dir, "edited.json")
      fs.writeFileSync(edited, JSON.stringify({ ...json, steps: "five" }))
      assertBadInput(run("replay", edited), ["edited.json is not a valid drvmodel counterexample", "at steps"])
      const diverging = path.join(dir, "diverging.json")
      json.schedule.steps[1]!.task = "thread-9"
      fs.writeFileSync(diverging, JSON.stringify(json))
      assertBadInput(run("replay", diverging), ["does not fit the model", 'task "thread-9" cannot run here'])
      assertBadInput(run("shrink", diverging), ["thread-9"])
      const unknown = path.join(dir, "unknown.json")
      fs.writeFileSync(unknown, JSON.stringify({ ...json, scenario: "no-such-scenario" }))
      assertBadInput(run("replay", unknown), ['unknown scenario "no-such-scenario"'])
      assertBadInput(run("replay", path.join(dir, "missing.json")), ["no such file"])
    })
  )

  it.effect("usage errors exit 2; --help exits 0 and shows an example", () =>
    Effect.sync(() => {
      assert.strictEqual(run("explore", "abba", "--schedules", "many").code, 2)
      assert.strictEqual(run("explore").code, 2)
      assert.strictEqual(run("no-such-command").code, 2)
      assert.strictEqual(run("explore", "abba", "--model", "nope").code, 2)
      for (const cmd of ["explore", "matrix", "merge", "replay", "shrink", "report", "list"]) {
        const r = run(cmd, "--help")
        assert.strictEqual(r.code, 0, cmd)
        assert.include(r.out, "EXAMPLES", cmd)
        assert.include(r.out, `drvmodel ${cmd}`, cmd)
      }
    })
  )

  it.effect("matrix: writes matrix.json, one shrunk counterexample per finding and a README; exits 1", () =>
    Effect.sync(() => {
      const dir = tmp()
      const r = run("matrix", "--model", "classic", "--out", dir)
      assert.strictEqual(r.code, 1, r.err)
      const m = JSON.parse(fs.readFileSync(path.join(dir, "matrix.json"), "utf8")) as {
        variants: Array<string>
        scenarios: Array<string>
        cells: Array<{
          scenario: string
          variant: string
          verdict: string
          kinds: Array<string>
          schedules: number
          exhaustive: boolean
          classes: number
          strategy: string
          counterexample?: string
          lockOrder: {
            verdict: string
            confirmed: boolean
            cycles: Array<{ classes: Array<string>; status: string; counterexample?: string }>
          }
        }>
      }
      assert.deepStrictEqual(m.variants, ["buggy", "fixed"])
      assert.includeMembers(m.scenarios, ["abba", "lost-update"])
      assert.strictEqual(m.cells.length, m.scenarios.length * m.variants.length)
      assert.include(r.out, "clean ✓ = verified: DPOR explored every class of interleavings, none fails")
      const cell = (s: string, v: string) => m.cells.find((c) => c.scenario === s && c.variant === v)!
      assert.strictEqual(cell("abba", "buggy").verdict, "finding")
      assert.deepStrictEqual(cell("abba", "buggy").kinds, ["deadlock", "lock-order"])
      const order = cell("abba", "buggy").lockOrder
      assert.strictEqual(order.verdict, "confirmed")
      assert.isTrue(order.confirmed)
      assert.deepStrictEqual(
        order.cycles.map((c) => [...c.classes].sort()),
        [["&a->lock", "&b->lock"]]
      )
      assert.isTrue(fs.existsSync(order.cycles[0]!.counterexample!), "the confirming run is written")
      assert.strictEqual(cell("abba", "fixed").verdict, "clean")
      assert.deepStrictEqual(cell("abba", "fixed").lockOrder, { verdict: "clean", confirmed: false, cycles: [] })
      assert.deepStrictEqual(cell("lost-update", "buggy").kinds, ["invariant:no-lost-update"])
      for (const c of m.cells) {
        assert.isAbove(c.schedules, 0)
        // The classic model declares complete footprints: every cell is first, and here fully, explored by DPOR.
        assert.strictEqual(c.strategy, "dpor")
        assert.isTrue(c.exhaustive, `${c.scenario}/${c.variant}`)
        assert.isAtLeast(c.classes, 1)
        assert.isAtMost(c.classes, c.schedules)
        if (c.verdict === "finding") {
          const cx = JSON.parse(fs.readFileSync(c.counterexample!, "utf8")) as { original?: unknown; format: string }
          assert.strictEqual(cx.format, "drvmodel-counterexample/1")
          assert.isDefined(cx.original, "every counterexample the matrix writes is shrunk")
        }
      }
      // README.md is an index: the matrix and one row per cell linking to the finding pages.
      const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8")
      assert.include(readme, "| scenario | buggy | fixed |")
      assert.include(readme, "**[deadlock, lock-order (confirmed)](findings/abba--buggy--deadlock.md)**")
      assert.include(readme, "| abba | buggy | deadlock, lock-order (confirmed) |")
      assert.include(readme, "[lock order](lock-order/abba--buggy.md)")
      assert.notInclude(readme, "*** DEADLOCK ***", "the long traces are on the finding pages")
      const rows = readme.split("\n").filter((l) => /^\| [\w-]+ \| (buggy|fixed) \|/.test(l) && !l.startsWith("| scenario"))
      assert.strictEqual(rows.length, m.cells.length)
      const page = fs.readFileSync(path.join(dir, "findings/abba--buggy--deadlock.md"), "utf8")
      assert.include(page, "*** DEADLOCK ***")
      assert.include(page, `pnpm drvmodel replay ${cell("abba", "buggy").counterexample}`)
      assert.match(
        page,
        /shrunk from \d+ steps?, \d+ preemptions? to \d+ steps?, 1 preemption \(fewest preemptions first, then fewest steps/
      )
      assert.include(fs.readFileSync(path.join(dir, "lock-order/abba--buggy.md"), "utf8"), "(confirmed)")
      assert.include(r.out, "abba")
    })
  )

  it.effect(
    "a variant composed from rule flags: listed by `list`, recorded in the counterexample file, replayed from it",
    () =>
      Effect.sync(() => {
        const listing = run("list")
        assert.strictEqual(listing.code, 0, listing.err)
        assert.include(listing.out, "variant flags (compose a variant: --variant <base>+<flag>[=value]")
        assert.match(listing.out, /\n {2}guard +representor guard.*\[none\|atomic\|mutex\]/)
        assert.match(listing.out, /\n {2}v1-guard +shorthand for guard=atomic\+mode-set-guard-order=underModeLock/)
        const dir = tmp()
        const found = run(
          "explore",
          "late-ib-load",
          "--variant",
          "merged+v1-guard",
          "--stop-on-first",
          "--no-shrink",
          "--jobs",
          "1",
          "--out",
          dir
        )
        assert.strictEqual(found.code, 1, found.err)
        assert.include(found.out, "variant merged+v1-guard")
        const [file] = fs.readdirSync(dir).filter((f) => f.endsWith(".json"))
        assert.isDefined(file)
        const cx = JSON.parse(fs.readFileSync(path.join(dir, file!), "utf8")) as { model: string; variant: string }
        assert.strictEqual(cx.model, "mlx5")
        assert.strictEqual(cx.variant, "merged+v1-guard")
        const replayed = run("replay", path.join(dir, file!))
        assert.strictEqual(replayed.code, 1, replayed.err)
        assert.include(replayed.out, "variant merged+v1-guard")
        assert.include(replayed.out, "INVARIANT BROKEN")
      }),
    // Four processes of the mlx5 model: a generous limit for a loaded machine (no timing is asserted).
    120_000
  )

  it.effect(
    "matrix --variant: only the chosen variants, in that order, and the README's command says so",
    () =>
      Effect.sync(() => {
        const dir = tmp()
        const r = run("matrix", "--model", "classic", "--variant", "fixed", "--jobs", "1", "--out", dir)
        assert.strictEqual(r.code, 0, r.err)
        const m = JSON.parse(fs.readFileSync(path.join(dir, "matrix.json"), "utf8")) as {
          variants: Array<string>
          cells: Array<{ variant: string }>
        }
        assert.deepStrictEqual(m.variants, ["fixed"])
        assert.isAbove(m.cells.length, 0)
        for (const c of m.cells) assert.strictEqual(c.variant, "fixed")
        assert.include(fs.readFileSync(path.join(dir, "README.md"), "utf8"), "matrix --model classic --variant fixed")
      }),
    120_000
  )

  it.effect("report: text to stdout, html and chrome trace to files, a whole directory", () =>
    Effect.sync(() => {
      const dir = tmp()
      run("explore", "abba", "--model", "classic", "--variant", "buggy", "--out", dir)
      const file = path.join(dir, "abba--buggy--deadlock.json")
      const text = run("report", file)
      assert.strictEqual(text.code, 0, text.err)
      assert.include(text.out, "*** DEADLOCK ***")
      const mermaid = run("report", file, "--format", "mermaid")
      assert.isTrue(mermaid.out.startsWith("sequenceDiagram"))
      const html = run("report", file, "--format", "html")
      assert.strictEqual(html.code, 0, html.err)
      assert.include(fs.readFileSync(path.join(dir, "abba--buggy--deadlock.html"), "utf8"), 'data-testid="state-panel"')
      const trace = run("report", file, "--format", "chrome-trace", "--out", path.join(dir, "t.json"))
      assert.strictEqual(trace.code, 0, trace.err)
      assert.isArray((JSON.parse(fs.readFileSync(path.join(dir, "t.json"), "utf8")) as { traceEvents: unknown }).traceEvents)
      const all = run("report", dir, "--format", "mermaid")
      assert.strictEqual(all.code, 0, all.err)
      assert.isTrue(fs.readFileSync(path.join(dir, "abba--buggy--deadlock.md"), "utf8").startsWith("```mermaid\nsequenceDiagram"))
      assertBadInput(run("report", path.join(dir, "nothing-here")), ["no such file"])
    })
  )
})
