/**
 * Reports escape what models say: a model whose task, lock, function and
 * scenario names are hostile HTML, Mermaid and Markdown is explored for real,
 * and every rendering keeps those names as text.
 */
import { type Counterexample, Explorer, Kernel, Mutex, Render } from "@drvmodel/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as Matrix from "../src/Matrix.ts"
import * as ReportPages from "../src/ReportPages.ts"

const img = "<img src=x onerror=alert(1)>"
const mermaidBreak = "t;-->x"
const fence = "a```b"
const names = [img, mermaidBreak, fence]

/** ABBA with hostile names: two threads, two locks, one function. */
const hostile: Explorer.Scenario = {
  name: `abba ${img}`,
  description: "ABBA with names that are markup",
  program: Effect.gen(function* () {
    const kernel = yield* Kernel
    const a = yield* Mutex.make(`A ${img}`)
    const b = yield* Mutex.make(`B ${fence} ${mermaidBreak}`)
    const take = (first: Mutex.Mutex, second: Mutex.Mutex) =>
      kernel.call(
        `comp ${fence}`,
        `fn ${img}`,
        Effect.gen(function* () {
          yield* first.lock
          yield* second.lock
          yield* second.unlock
          yield* first.unlock
        })
      )
    yield* kernel.spawn(img, take(a, b))
    yield* kernel.spawn(mermaidBreak, take(b, a))
  })
}

const found = (): Counterexample => {
  const report = Effect.runSync(Explorer.explore(hostile, Explorer.options({ strategy: "dfs" }), { variant: `v ${fence}` }))
  const cx = report.counterexamples[0]
  assert.isDefined(cx, "the hostile ABBA deadlocks")
  assert.strictEqual(cx!.kind, "deadlock")
  return cx!
}

describe("reports escape model strings", () => {
  it.effect("HTML: no markup from the model survives", () =>
    Effect.sync(() => {
      const cx = found()
      const html = Render.Html.render(cx, { trace: Explorer.replayUnsafe(hostile, cx.schedule, { captureState: true }).trace })
      assert.notInclude(html, "<img")
      assert.include(html, "&lt;img src=x onerror=alert(1)&gt;")
    })
  )

  it.effect("Mermaid: every model string is one escaped token, no statement or arrow injected", () =>
    Effect.sync(() => {
      const mermaid = Render.Mermaid.render(found())
      for (const line of mermaid.split("\n").slice(1)) {
        if (line.trim() === "") continue
        // The text after the first ':' (message, note) or after 'as' (participant) is model text.
        const text = line.includes(" as ") ? line.slice(line.indexOf(" as ") + 4) : line.split(":").slice(1).join(":")
        assert.notMatch(text.replace(/#\w+;/g, ""), /[;<>#`]|-->/, line)
      }
      assert.include(mermaid, Render.Mermaid.escapeText(img))
      assert.include(mermaid, Render.Mermaid.escapeText(mermaidBreak))
      for (const n of names) assert.notInclude(mermaid, n)
    })
  )

  it.effect("Markdown: the report pages keep names as text and their fences closed", () =>
    Effect.sync(() => {
      const cx = found()
      const cell: Matrix.Cell = {
        scenario: cx.scenario,
        variant: cx.variant!,
        verdict: "finding",
        kinds: [cx.kind],
        schedules: 1,
        strategy: "dfs",
        counterexamples: [],
        coverage: { text: `covered ${img}` } as Matrix.Cell["coverage"],
        stopped: "found",
        exhaustive: false,
        elapsedMs: 0
      }
      const { readme, pages } = ReportPages.render(
        { model: `m ${img}`, variants: [cx.variant!], scenarios: [cx.scenario], cells: [cell], elapsedMs: 0, interrupted: false },
        [cx],
        "drvmodel matrix"
      )
      const md = [readme, ...pages.map((p) => p.text)].join("\n")
      // Outside fenced blocks no raw markup; inside, the fences are longer than any backtick run.
      let open: string | undefined
      for (const line of md.split("\n")) {
        // A line starting with three backticks opens (or closes) a fence.
        const f = /^(`{3,})/.exec(line)?.[1]
        if (open === undefined && f !== undefined) open = f
        else if (open !== undefined && line === open) open = undefined
        else if (open === undefined) {
          assert.notMatch(line, /(^|[^\\])<img/, line)
        }
      }
      assert.isUndefined(open, "every fence is closed")
      assert.include(md, "\\<img src=x onerror=alert(1)\\>")
    })
  )
})
