/**
 * The matrix report as pages: `README.md` is an index (the matrix, then one
 * row per cell with its verdict, what was explored and a one-line summary
 * linking to the details), each finding gets a page of its own under
 * `findings/` (the lockdep-style trace, the sequence diagram, the replay
 * command) and each cell with lock-order cycles a page under `lock-order/`.
 * The long traces live in the pages, so the index stays a page to read.
 *
 * @since 0.2.0
 */
import * as path from "node:path"
import { type Counterexample, Render } from "@drvmodel/core"
import { type Cell, detailText, type MatrixResult, verdictText } from "./Matrix.ts"

/**
 * A file of the report, `path` relative to the report directory.
 *
 * @example
 * ```ts
 * import type { ReportPages } from "@drvmodel/cli"
 * const page: ReportPages.Page = { path: "findings/x.md", text: "# x\n" }
 * ```
 * @category models
 * @since 0.2.0
 */
export interface Page {
  readonly path: string
  readonly text: string
}

interface LockOrderField {
  readonly cycles: ReadonlyArray<{
    readonly kind: string
    readonly classes: ReadonlyArray<string>
    readonly status: string
    readonly report: string
    readonly counterexample?: string
    readonly tried: { readonly runs: number; readonly strategy: string }
  }>
}

const isLockOrder = (u: unknown): u is LockOrderField =>
  typeof u === "object" && u !== null && Array.isArray((u as { cycles?: unknown }).cycles)

/** Markdown text from a model (names, messages): punctuation backslash-escaped, newlines as spaces (a table row is one line). */
const mdEscape = (s: string): string => s.replace(/[|\\`*_<>[\]&#~!]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, " ")
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`
const slug = (...parts: ReadonlyArray<string>) => parts.join("--").replace(/[^\w.@-]+/g, "_")
const posix = (p: string) => p.split(path.sep).join("/")
const short = (s: string, max = 140) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`)

/**
 * What shrinking did, in words: it minimises preemptions first, then steps,
 * so a shallower schedule can be longer than the one found.
 *
 * @example
 * ```ts
 * import { ReportPages } from "@drvmodel/cli"
 * ReportPages.shrinkText({ steps: 82, preemptions: 1, original: { steps: 76, preemptions: 3 } })
 * // => "shrunk from 76 steps, 3 preemptions to 82 steps, 1 preemption (fewest preemptions first, then fewest steps: …)"
 * ```
 * @category rendering
 * @since 0.2.0
 */
export const shrinkText = (cx: {
  readonly steps: number
  readonly preemptions: number
  readonly original?: { readonly steps: number; readonly preemptions: number } | undefined
}): string =>
  cx.original === undefined
    ? `${plural(cx.steps, "step")}, ${plural(cx.preemptions, "preemption")} (not shrunk)`
    : `shrunk from ${plural(cx.original.steps, "step")}, ${plural(cx.original.preemptions, "preemption")} to ${plural(cx.steps, "step")}, ${plural(cx.preemptions, "preemption")} ` +
      `(fewest preemptions first, then fewest steps${cx.steps > cx.original.steps ? ": the shallower schedule is longer" : ""})`

const findingPage = (cx: Counterexample, json: string | undefined): Page => {
  const base = json !== undefined ? path.basename(json, ".json") : slug(cx.scenario, cx.variant ?? "-", cx.kind)
  const lines = [
    `# ${mdEscape(cx.scenario)} / ${mdEscape(cx.variant ?? "-")}: ${mdEscape(cx.kind)}`,
    "",
    mdEscape(cx.finding.summary),
    "",
    `Depth ${cx.preemptions}: ${shrinkText(cx)}.`,
    ""
  ]
  if (json !== undefined) {
    const rel = posix(json)
    lines.push(
      `Replay: \`pnpm drvmodel replay ${rel}\` · HTML: \`pnpm drvmodel report ${rel} --format html\` · [JSON](../${path.basename(json)}) · [the matrix](../README.md)`,
      ""
    )
  } else lines.push("[the matrix](../README.md)", "")
  lines.push(
    "```text",
    Render.Text.render(cx).trimEnd(),
    "```",
    "",
    "<details><summary>Sequence diagram</summary>",
    "",
    "```mermaid",
    Render.Mermaid.render(cx).trimEnd(),
    "```",
    "",
    "</details>",
    ""
  )
  return { path: `findings/${base}.md`, text: lines.join("\n") }
}

const lockOrderPage = (cell: Cell, lo: LockOrderField): Page => {
  const lines = [
    `# ${mdEscape(cell.scenario)} / ${mdEscape(cell.variant)}: lock order`,
    "",
    "Lockdep-style cycles in the lock-class graph kept across every execution of the cell, each tried with targeted",
    "schedules: `confirmed` when a run deadlocked (or spun) on the cycle, `potential` otherwise (what was tried is listed).",
    "",
    "[the matrix](../README.md)"
  ]
  for (const cy of lo.cycles) {
    lines.push(
      "",
      `## ${mdEscape(cy.kind)} ${mdEscape(cy.classes.join(" ↔ "))} (${mdEscape(cy.status)})`,
      "",
      "```text",
      cy.report.trimEnd(),
      "```"
    )
    if (cy.counterexample !== undefined) lines.push("", `Replay the confirming run: \`pnpm drvmodel replay ${posix(cy.counterexample)}\``)
    else lines.push("", `Tried: ${cy.tried.runs} targeted runs (${mdEscape(cy.tried.strategy)}), none deadlocked on the cycle.`)
  }
  return { path: `lock-order/${slug(cell.scenario, cell.variant)}.md`, text: `${lines.join("\n")}\n` }
}

/**
 * The report's Markdown: the index (`README.md`) and its pages.
 *
 * @example
 * ```ts
 * import { ReportPages, type Matrix } from "@drvmodel/cli"
 * declare const result: Matrix.MatrixResult
 * const { readme, pages } = ReportPages.render(result, [], "pnpm drvmodel matrix")
 * ```
 * @category rendering
 * @since 0.2.0
 */
export const render = (
  result: MatrixResult,
  counterexamples: ReadonlyArray<Counterexample>,
  command: string
): { readonly readme: string; readonly pages: ReadonlyArray<Page> } => {
  const pages: Array<Page> = []
  // Finding pages, keyed by cell.
  const byCell = new Map<Cell, Array<{ readonly page: Page; readonly kind: string; readonly summary: string }>>()
  for (const cx of counterexamples) {
    const cell = result.cells.find((c) => c.scenario === cx.scenario && c.variant === cx.variant)
    const json = cell?.counterexamples.find((c) => c.summary === cx.finding.summary && c.kind === cx.kind)?.path
    const page = findingPage(cx, json)
    pages.push(page)
    if (cell !== undefined) byCell.set(cell, [...(byCell.get(cell) ?? []), { page, kind: cx.kind, summary: cx.finding.summary }])
  }
  const lockPages = new Map<Cell, Page>()
  for (const cell of result.cells) {
    if (isLockOrder(cell.lockOrder) && cell.lockOrder.cycles.length > 0) {
      const page = lockOrderPage(cell, cell.lockOrder)
      pages.push(page)
      lockPages.set(cell, page)
    }
  }
  const cellOf = (s: string, v: string) => result.cells.find((c) => c.scenario === s && c.variant === v)
  const out: Array<string> = [
    `# Findings matrix: model ${mdEscape(result.model)}`,
    "",
    `Generated by \`${command}\` in ${(result.elapsedMs / 1000).toFixed(1)} s${result.interrupted ? " (interrupted: incomplete)" : ""}.`,
    "Each cell: the verdict, then the schedules explored and the strategy (and the depth, i.e. preemptions, of the shrunk",
    "counterexample). Every finding has a page with its trace, sequence diagram and replay command; shrinking minimises",
    "preemptions first, then steps, so a shrunk schedule can be longer than the one found.",
    "`verified`: DPOR explored every class of interleavings (one execution per class of equivalent schedules) and none fails.",
    "",
    `| scenario | ${result.variants.map(mdEscape).join(" | ")} |`,
    `|---|${result.variants.map(() => "---").join("|")}|`
  ]
  for (const s of result.scenarios) {
    const cells = result.variants.map((v) => {
      const c = cellOf(s, v)
      if (c === undefined) return "–"
      const first = byCell.get(c)?.[0]?.page ?? lockPages.get(c)
      const verdict =
        c.verdict === "clean"
          ? "clean"
          : first !== undefined
            ? `**[${mdEscape(verdictText(c))}](${first.path})**`
            : `**${mdEscape(verdictText(c))}**`
      return `${verdict}<br>${mdEscape(detailText(c))}`
    })
    out.push(`| ${mdEscape(s)} | ${cells.join(" | ")} |`)
  }
  out.push("", "## Cells", "", "| scenario | variant | verdict | explored | summary |", "|---|---|---|---|---|")
  for (const c of result.cells) {
    const found = byCell.get(c) ?? []
    const lock = lockPages.get(c)
    const summary = [
      ...found.map((f) => `[${mdEscape(f.kind)}](${f.page.path}): ${mdEscape(short(f.summary))}`),
      ...(lock !== undefined ? [`[lock order](${lock.path})`] : []),
      ...(c.verdict === "clean" ? [mdEscape(short(c.coverage.text))] : [])
    ].join("<br>")
    out.push(`| ${mdEscape(c.scenario)} | ${mdEscape(c.variant)} | ${mdEscape(verdictText(c))} | ${mdEscape(detailText(c))} | ${summary} |`)
  }
  return { readme: `${out.join("\n")}\n`, pages }
}
