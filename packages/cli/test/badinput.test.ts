/**
 * Bad input of every kind: malformed arguments and files, each answered with
 * one line naming the problem, exit 2 and no stack trace, before any work.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { assertBadInput, run, runMany, tmp } from "./support.ts"

type Case = readonly [ReadonlyArray<string>, ReadonlyArray<string | RegExp>]

const check = (cases: ReadonlyArray<Case>) =>
  Effect.promise(() => runMany(cases.map(([args]) => args))).pipe(
    Effect.tap((results) =>
      Effect.sync(() => {
        for (const [i, r] of results.entries()) assertBadInput(r, cases[i]![1], cases[i]![0].join(" "))
      })
    )
  )

const classic = ["--model", "classic"]

// Dozens of processes: a generous per-test limit, so a loaded machine does not fail them (no timing is asserted).
describe("bad input: one line, exit 2", { timeout: 600_000 }, () => {
  it.effect("arguments: unknown names, flags, values, missing and out-of-range numbers", () =>
    Effect.suspend(() => {
      const cases: ReadonlyArray<Case> = [
        [
          ["explore", "nope", ...classic],
          ['unknown scenario "nope"', "abba"]
        ],
        [
          ["explore", "abba", ...classic, "--variant", "v9"],
          ['unknown variant "v9"', "buggy, fixed"]
        ],
        [
          ["explore", "abba", "--model", "nope"],
          ["--model", '"nope"', "mlx5"]
        ],
        [
          ["explor", "abba"],
          ['"explor"', "did you mean explore?"]
        ],
        [
          ["explore", "abba", ...classic, "--sedd", "3"],
          ["--sedd", "did you mean --seed?", "drvmodel explore --help"]
        ],
        [
          ["explore", "abba", ...classic, "--strategy", "bfs"],
          ["--strategy", '"bfs"', "dfs"]
        ],
        [
          ["explore", "abba", ...classic, "--schedules", "many"],
          ["--schedules", '"many"']
        ],
        [
          ["explore", "abba", ...classic, "--schedules", "1.5"],
          ["--schedules", "integer"]
        ],
        [
          ["explore", "abba", ...classic, "--schedules", "0"],
          ['"schedules"', "between 1 and"]
        ],
        [
          ["explore", "abba", ...classic, "--schedules", "1000000000"],
          ['"schedules"', "between 1 and 100000000"]
        ],
        [
          ["explore", "abba", ...classic, "--depth", "1000000000"],
          ['"depth"', "between 1 and 32"]
        ],
        [
          ["explore", "abba", ...classic, "--preemptions", "100000000"],
          ['"preemptions"', "between 0 and 10000000"]
        ],
        [["explore", "abba", ...classic, "--seed", "-1"], ['"seed"']],
        [["explore", "abba", ...classic, "--max-steps", "0"], ['"maxSteps"']],
        [["explore"], ["Missing required argument: scenario"]],
        [
          ["matrix", ...classic, "--shrink-budget", "-1"],
          ["--shrink-budget", "between 0 and"]
        ],
        // Variants composed from rule flags: unknown flag, unknown value, a value missing, a base
        // that does not exist, a combination the model cannot run — each named, before any work.
        [
          ["explore", "late-ib-load", "--variant", "merged+gaurd=atomic"],
          ['variant "merged+gaurd=atomic"', 'unknown flag "gaurd"', "guard", "v1-guard"]
        ],
        [
          ["explore", "late-ib-load", "--variant", "merged+guard=spinlock"],
          ['unknown value "spinlock" of flag "guard"', "none, atomic, mutex"]
        ],
        [
          ["explore", "late-ib-load", "--variant", "merged+wq-trylock"],
          ['flag "wq-trylock" needs a value', "block, spin, waitqueue"]
        ],
        [
          ["explore", "late-ib-load", "--variant", "v9+guard=atomic"],
          ['unknown variant "v9"', "merged"]
        ],
        [["explore", "late-ib-load", "--variant", "baseline+load-work-on-register"], ["load-work-on-register needs wq-dispatch"]],
        [["matrix", "--variant", "merged+gaurd", "--out", "/tmp/drvmodel-badinput-never-written"], ['unknown flag "gaurd"']],
        [
          ["matrix", "--variant", "merged", "--shard", "1/2", "--out", "/tmp/drvmodel-badinput-never-written"],
          ["--shard cannot be combined with --variant"]
        ],
        [
          ["report", "x.json", "--format", "pdf"],
          ["--format", '"pdf"', "html"]
        ],
        [
          ["report", "no-such-file.json"],
          ["no-such-file.json", "no such file"]
        ],
        [
          ["replay", "no-such-file.json"],
          ["no-such-file.json", "no such file"]
        ],
        [
          ["replay", "/dev/zero"],
          ["/dev/zero", "not a regular file"]
        ]
      ]
      return check(cases)
    })
  )

  it.effect("files: empty, truncated, binary, huge, wrong shape, edited, cut short, a directory", () =>
    Effect.suspend(() => {
      const dir = tmp()
      const found = run("explore", "abba", ...classic, "--variant", "buggy", "--out", dir)
      assert.strictEqual(found.code, 1, found.err)
      const good = path.join(dir, "abba--buggy--deadlock.json")
      const text = fs.readFileSync(good, "utf8")
      const json = JSON.parse(text) as {
        steps: unknown
        finding: { step: number }
        schedule: { steps: Array<{ task?: string; op?: string }> }
      }
      const file = (name: string, content: string | Buffer) => {
        const f = path.join(dir, name)
        fs.writeFileSync(f, content)
        return f
      }
      const cases: ReadonlyArray<Case> = [
        [["replay", file("empty.json", "")], ["empty.json is not valid JSON"]],
        [["replay", file("truncated.json", text.slice(0, text.length / 2))], ["truncated.json is not valid JSON"]],
        [["replay", file("binary.json", Buffer.from([0, 159, 146, 150, 255, 1, 2, 3]))], ["binary.json is not valid JSON"]],
        [["replay", file("huge.json", Buffer.alloc(65 * 2 ** 20, 32))], ["huge.json is 65 MB: too large"]],
        [["replay", file("array.json", "[1, 2, 3]")], ["array.json is not a valid drvmodel counterexample"]],
        [["replay", file("number.json", "42")], ["number.json is not a valid drvmodel counterexample"]],
        [["replay", file("object.json", "{}")], ["object.json is not a valid drvmodel counterexample"]],
        [["replay", file("wrong-type.json", JSON.stringify({ ...json, steps: "five" }))], ["at steps"]],
        [
          ["replay", file("bad-schedule.json", JSON.stringify({ steps: [{ _tag: "Run", task: 3 }] })), "--scenario", "abba"],
          ["bad-schedule.json is not a valid drvmodel schedule"]
        ],
        [
          ["replay", file("bare.json", JSON.stringify({ steps: [] }))],
          ["bare schedule", "--scenario"]
        ],
        [["shrink", path.join(dir, "bare.json")], ["bare schedule"]],
        [["replay", dir], ["it is a directory"]]
      ]
      const renamed = structuredClone(json)
      renamed.schedule.steps[1]!.task = "thread-9"
      const reordered = structuredClone(json)
      reordered.schedule.steps[1]!.op = "mutex_lock(Z)"
      const cut = structuredClone(json)
      cut.schedule.steps = cut.schedule.steps.slice(0, 2)
      const more: ReadonlyArray<Case> = [
        [
          ["replay", file("renamed.json", JSON.stringify(renamed))],
          ["does not fit the model", 'task "thread-9" cannot run here']
        ],
        [["shrink", path.join(dir, "renamed.json")], ["thread-9"]],
        [["replay", file("reordered.json", JSON.stringify(reordered))], ["does not fit the model"]],
        [
          ["replay", file("cut.json", JSON.stringify(cut))],
          ["the schedule ends after 2 steps, before the recorded finding", `at step ${json.finding.step}`]
        ],
        [
          ["replay", file("unknown.json", JSON.stringify({ ...json, scenario: "no-such-scenario" }))],
          ['unknown scenario "no-such-scenario"']
        ]
      ]
      return check([...cases, ...more])
    })
  )

  it.effect("--out: an existing file, a path under a file, an uncreatable directory, before exploring", () =>
    Effect.suspend(() => {
      const dir = tmp()
      const file = path.join(dir, "a-file")
      fs.writeFileSync(file, "x")
      const cases: Array<Case> = [
        [
          ["explore", "abba", ...classic, "--out", file],
          [`--out ${file}`, "is a file, not a directory"]
        ],
        [["explore", "abba", ...classic, "--out", path.join(file, "sub")], ["a parent is a regular file"]],
        [
          ["matrix", ...classic, "--out", file],
          [`--out ${file}`, "is a file, not a directory"]
        ]
      ]
      // Under /proc, Node's recursive mkdirSync never returns: the check must not use it.
      if (fs.existsSync("/proc/self")) {
        cases.push([
          ["explore", "abba", ...classic, "--out", "/proc/drvmodel-x"],
          ["--out /proc/drvmodel-x", "cannot create it"]
        ])
        cases.push([
          ["matrix", ...classic, "--out", "/proc/drvmodel-x/y"],
          ["--out /proc/drvmodel-x/y", "cannot create it"]
        ])
      }
      // Root may write anywhere; an unwritable directory is only one for others.
      if (process.getuid?.() !== 0) {
        const ro = path.join(dir, "read-only")
        fs.mkdirSync(ro, { mode: 0o500 })
        cases.push([["explore", "abba", ...classic, "--out", path.join(ro, "found")], [`${ro} is not writable`]])
      }
      // A good --out is created before exploring, even when nothing is found.
      const fresh = path.join(dir, "new", "found")
      const clean = run("explore", "abba", ...classic, "--variant", "fixed", "--out", fresh)
      assert.strictEqual(clean.code, 0, clean.err)
      assert.isTrue(fs.statSync(fresh).isDirectory())
      return check(cases)
    })
  )
})
