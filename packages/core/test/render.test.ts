import { type Counterexample, Explorer, Render, Shrink } from "@drvmodel/core"
import { classic } from "@drvmodel/examples"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const found = (name: string): { cx: Counterexample; trace: Counterexample["trace"] } => {
  const scenario = classic.scenario(name, "buggy")
  const cx = Effect.runSync(Explorer.explore(scenario, Explorer.options({ strategy: "dfs" }), { variant: "buggy" })).counterexamples[0]!
  const shrunk = Effect.runSync(Shrink.counterexample(scenario, cx)).counterexample
  return { cx: shrunk, trace: Effect.runSync(Explorer.replay(scenario, shrunk.schedule, { captureState: true })).trace }
}

/** A counterexample whose every model-provided string is hostile. */
const hostile = (): Counterexample => {
  const evil = `<img src=x onerror="alert(1)">;#%</script><script>alert(2)</script>`
  return {
    format: "drvmodel-counterexample/1",
    scenario: evil,
    variant: evil,
    strategy: "dfs",
    run: 0,
    kind: "deadlock",
    finding: {
      problem: {
        _tag: "Deadlock",
        blocked: [
          { task: evil, op: `mutex_lock(${evil})`, resource: evil, waitKind: "mutex", holders: ["t2"], holds: [], spinning: false },
          { task: "t2", op: "mutex_lock(x)", resource: "x", waitKind: "mutex", holders: [evil], holds: [evil], spinning: false }
        ],
        cycle: [
          { task: evil, resource: evil, holder: "t2" },
          { task: "t2", resource: "x", holder: evil }
        ]
      },
      step: 2,
      time: 0,
      summary: evil
    },
    steps: 2,
    preemptions: 0,
    schedule: { steps: [] },
    trace: [
      { step: 0, time: 0, kind: "call", task: evil, name: evil, component: evil },
      { step: 0, time: 0, kind: "op", task: evil, name: "mutex_lock", resource: "x", holds: ["x"], state: { [evil]: evil } },
      { step: 1, time: 0, kind: "op", task: "t2", name: "mutex_lock", resource: evil, holds: [evil], state: { [evil]: evil } }
    ]
  }
}

describe("renderings", () => {
  it.effect("text: the lockdep-style table with one column per task, the cycle and the verdict", () =>
    Effect.sync(() => {
      const { cx } = found("abba")
      const text = Render.Text.render(cx, { replayCommand: "pnpm drvmodel replay x.json" })
      const lines = text.split("\n")
      const head = lines.findIndex((l) => /^\s+thread-1\s+thread-2$/.test(l))
      assert.isAtLeast(head, 0, text)
      // Each row has its operation in exactly one column: thread-1's at the first column, thread-2's further right.
      const col2 = lines[head]!.indexOf("thread-2")
      const rows = lines.slice(head + 2).filter((l) => l.includes("mutex_lock"))
      assert.strictEqual(rows.length, 4)
      for (const r of rows) assert.isTrue(r.trimStart().startsWith("mutex_lock"))
      assert.deepStrictEqual(rows.map((r) => (r.indexOf("mutex_lock") >= col2 ? "thread-2" : "thread-1")).slice(2), [
        "thread-1",
        "thread-2"
      ])
      assert.include(rows[2]!, "mutex_lock(B); <blocks>")
      assert.include(text, "wait-for cycle: thread-1 -> [B] -> thread-2 -> [A] -> thread-1")
      assert.include(text, "waits for B, held by thread-2")
      assert.include(text, " *** DEADLOCK ***")
      assert.include(text, "replay: pnpm drvmodel replay x.json")
    })
  )

  it.effect("text: an invariant violation shows the invariant, its message and the state", () =>
    Effect.sync(() => {
      const { cx } = found("lost-update")
      const text = Render.Text.render(cx)
      assert.include(text, "INVARIANT BROKEN")
      assert.include(text, "no-lost-update (eventual)")
      assert.match(text, /counter += 1/)
      assert.include(text, "*** INVARIANT no-lost-update BROKEN ***")
    })
  )

  it.effect("mermaid: a participant per task, lock notes, wait-for edges, escaped text", () =>
    Effect.sync(() => {
      const { cx, trace } = found("abba")
      const m = Render.Mermaid.render(cx, { trace })
      assert.isTrue(m.startsWith("sequenceDiagram\n"))
      assert.include(m, "participant T0 as thread-1")
      assert.include(m, "participant T1 as thread-2")
      assert.include(m, "Note over T0: holds A")
      assert.include(m, "Note over T1: holds B")
      assert.include(m, "T0-->>T1: cycle#58; waits for B held by thread-2")
      assert.include(m, "Note over T0,T1: DEADLOCK")
      const evil = Render.Mermaid.render(hostile())
      for (const line of evil.split("\n").slice(1)) {
        if (line === "") continue
        // Outside entity codes (#lt; #59; ...) no character of Mermaid or HTML syntax is left.
        assert.notMatch(line.split(":").slice(1).join(":").replace(/#\w+;/g, ""), /[;<>#]/, line)
      }
      assert.strictEqual(Render.Mermaid.escapeText("esw->wq; #1"), "esw-#gt;wq#59; #35;1")
    })
  )

  it.effect("chrome trace: threads per task, op and lock slices, balanced B/E", () =>
    Effect.sync(() => {
      const { cx, trace } = found("abba")
      const json = JSON.parse(Render.ChromeTrace.render(cx, { trace })) as { traceEvents: Array<Record<string, unknown>> }
      const ev = json.traceEvents
      const names = ev.filter((e) => e.name === "thread_name").map((e) => (e.args as { name: string }).name)
      assert.includeMembers(names, ["thread-1", "thread-2", "thread-1 locks", "thread-2 locks"])
      assert.isTrue(ev.some((e) => e.ph === "X" && e.name === "mutex_lock(A)"))
      assert.isTrue(ev.some((e) => e.ph === "X" && e.cat === "lock" && e.name === "A"))
      assert.isTrue(ev.some((e) => e.cat === "stuck" && String(e.name).includes("mutex_lock(B)")))
      for (const e of ev) assert.include(["X", "B", "E", "i", "M"], e.ph)
      const hostileEv = JSON.parse(Render.ChromeTrace.render(hostile())) as { traceEvents: Array<Record<string, unknown>> }
      const depth = new Map<unknown, number>()
      for (const e of hostileEv.traceEvents) {
        if (e.ph === "B") depth.set(e.tid, (depth.get(e.tid) ?? 0) + 1)
        if (e.ph === "E") depth.set(e.tid, (depth.get(e.tid) ?? 0) - 1)
      }
      for (const d of depth.values()) assert.strictEqual(d, 0)
    })
  )

  it.effect("html: self-contained, test hooks present, every model string escaped", () =>
    Effect.sync(() => {
      const { cx, trace } = found("abba")
      const html = Render.Html.render(cx, { trace })
      for (const id of ["lanes", "cycle-explanation", "failing-step", "step-slider", "state-panel", "holds-panel", "wait-edge"]) {
        assert.include(html, `data-testid="${id}"`)
      }
      assert.strictEqual(html.match(/data-testid="lane"/g)?.length, 2)
      assert.notMatch(html, /<(script|link|img|iframe)[^>]+(src|href)=/i, "no external resources")
      assert.notMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, "no network references")
      const evil = Render.Html.render(hostile())
      assert.notInclude(evil, "<img")
      assert.notInclude(evil, "<script>alert")
      assert.strictEqual(evil.match(/<script/g)?.length, 2, "only the report's own two scripts")
      assert.include(evil, "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;")
    })
  )

  it.effect("html: sticky lane titles, lanes sharing the width, arrows at the lanes' centres", () =>
    Effect.sync(() => {
      const { cx, trace } = found("abba")
      const html = Render.Html.render(cx, { trace })
      const tasks = [...html.matchAll(/data-testid="lane" data-task="([^"]*)"/g)].map((m) => m[1]!)
      assert.deepStrictEqual(tasks, ["thread-1", "thread-2"])
      const titles = [...html.matchAll(/data-testid="lane-title" data-task="([^"]*)" title="([^"]*)">([^<]*)</g)]
      assert.deepStrictEqual(
        titles.map((m) => [m[1], m[2], m[3]]),
        tasks.map((t) => [t, t, t])
      )
      assert.match(html, /\.lanes-head\{position:sticky;top:0;/)
      assert.match(html, /\.lanes-wrap\{[^}]*overflow:auto/)
      assert.match(html, /\.op\{[^}]*text-overflow:ellipsis/)
      // Every op carries its full text in a tooltip, whatever the width shows.
      for (const m of html.matchAll(/data-testid="op"[^>]* title="([^"]*)">([^<]*)</g)) assert.include(m[1]!, m[2]!)
      // Columns: the step numbers, then one shrinkable share per lane.
      const cols = /--cols:(\d+)px ((?:minmax\(0, [\d.]+fr\) ?)+)"/.exec(html)
      assert.isNotNull(cols, "grid columns")
      const shares = [...cols![2]!.matchAll(/minmax\(0, ([\d.]+)fr\)/g)].map((m) => Number(m[1]))
      assert.strictEqual(shares.length, tasks.length)
      const total = shares.reduce((a, b) => a + b, 0)
      const centre = (task: string) => {
        const i = tasks.indexOf(task)
        return ((shares.slice(0, i).reduce((a, b) => a + b, 0) + shares[i]! / 2) / total) * 100
      }
      // Each wait-for arrow leaves the waiter's lane centre and ends, with the
      // arrow head, at the holder's; the two arrows of the 2-cycle are apart.
      const edges = [
        ...html.matchAll(
          /data-testid="wait-edge" data-from="([^"]*)" data-to="([^"]*)" transform="translate\(([-\d.]+) 0\)">[\s\S]*?<line x1="([\d.]+)%"[\s\S]*?<line[\s\S]*?<line x1="([\d.]+)%"[^>]*marker-end/g
        )
      ]
      assert.strictEqual(edges.length, 2)
      for (const [, from, to, , x1, x2] of edges) {
        assert.closeTo(Number(x1), centre(from!), 0.01)
        assert.closeTo(Number(x2), centre(to!), 0.01)
      }
      assert.notStrictEqual(edges[0]![3], edges[1]![3], "distinct sideways offsets")
      // The failing step is the stuck end row, after the two steps of each thread.
      assert.match(html, /id="failing-step" data-testid="failing-step" class="failing" data-row="4" style="top:96px"/)
      const evil = Render.Html.render(hostile())
      assert.notMatch(evil, /title="[^"]*[<>][^"]*"/, "tooltips escaped")
    })
  )
})
