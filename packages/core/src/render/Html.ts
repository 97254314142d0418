/**
 * A self-contained HTML report of a counterexample: no network, no CDN, CSS
 * and JS inline. Swimlanes, one per task, run down the step axis; each lane
 * shows its operations and, as coloured bars, the locks it holds; the wait-for
 * edges of the end state are arrows between lanes; the failing step is
 * highlighted and explained in words (the cycle, the spin, or the invariant
 * and its message). A step slider shows the model state after any step (every
 * snapshot key: modes, generations, states, lock owners) and what each task
 * holds.
 *
 * Layout: the timeline is a CSS grid in its own scrolling pane; the row of
 * lane titles is sticky at the top of that pane, so the task names stay in
 * view at the failing step; lanes share the width equally and truncate long
 * labels with an ellipsis (full text in the tooltip), so a report with half
 * a dozen tasks needs no horizontal scrolling in a 1400 px window.
 *
 * Every string that comes from the model is escaped (text and attributes);
 * the data for the slider is embedded as JSON with `<` escaped.
 *
 * Stable hooks for tests: `data-testid` = `lanes`, `lanes-head`,
 * `lane-title` and `lane` (both with `data-task`), `op` (with
 * `data-index`), `stuck-op`, `hold`, `wait-edge`, `cursor`,
 * `failing-step`, `explanation`, `cycle-explanation` /
 * `invariant-explanation` / `livelock-explanation` / `defect-explanation`,
 * `step-slider`, `step-label`, `state-panel`, `holds-panel`.
 *
 * @since 0.1.0
 */
import type { Counterexample } from "../Explorer.ts"
import type { BlockedTask } from "../Finding.ts"
import type { Trace } from "../Trace.ts"
import * as Timeline from "./Timeline.ts"

/**
 * Escapes text for HTML text and attribute values.
 *
 * @example
 * ```ts
 * import { Render } from "@drvmodel/core"
 * Render.Html.escapeHtml('<b a="1">') // => "&lt;b a=&quot;1&quot;&gt;"
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;"))

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")

const PALETTE = ["#d1495b", "#00798c", "#edae49", "#66a182", "#8d5a97", "#2e4057", "#f28482", "#84a59d", "#b56576", "#6d597a"]

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const ROW = 24
const HEAD = 32
const STEP_COL = 56
const BAR = 7
const BAR_GAP = 3
const EDGE = 20
/** Width a lane would like before the inspector moves below the timeline. */
const LANE_PREFERRED = 190
const INSPECTOR = 420

const explanation = (cx: Counterexample, t: Timeline.Timeline): string => {
  const p = t.problem
  const blockedList = (list: ReadonlyArray<BlockedTask>) =>
    list.length === 0
      ? ""
      : `<ul class="blocked">${list
          .map(
            (b) =>
              `<li><b>${escapeHtml(b.task)}</b>${b.func !== undefined ? ` in <code>${escapeHtml(b.func)}()</code>` : ""} ${b.spinning ? "spins" : "is blocked"} at <code>${escapeHtml(b.op)}</code>${
                b.resource !== undefined
                  ? `, waiting for <code>${escapeHtml(b.resource)}</code>${b.holders.length > 0 ? ` held by <b>${escapeHtml(b.holders.join(", "))}</b>` : ""}`
                  : ""
              }; holds ${b.holds.length > 0 ? b.holds.map((h) => `<code>${escapeHtml(h)}</code>`).join(", ") : "no locks"}.</li>`
          )
          .join("")}</ul>`
  switch (p._tag) {
    case "Deadlock": {
      const words = Timeline.cycleInWords(p) ?? "No wait-for cycle: the tasks wait for events that nobody will signal."
      return `<p id="cycle-explanation" data-testid="cycle-explanation" class="why">${escapeHtml(words)}</p>${blockedList(p.blocked)}`
    }
    case "Livelock": {
      const lead =
        p.reason === "endless-spin"
          ? "These tasks busy-wait for a condition that nothing left running can make true:"
          : `These tasks only retried for ${p.steps} steps without any progress:`
      const cycle = Timeline.cycleInWords(p)
      return `<p id="livelock-explanation" data-testid="livelock-explanation" class="why">${escapeHtml(lead)}</p>${blockedList([...p.spinning, ...p.blocked])}${
        cycle !== undefined ? `<p id="cycle-explanation" data-testid="cycle-explanation" class="why">${escapeHtml(cycle)}</p>` : ""
      }`
    }
    case "InvariantViolation":
      return `<p id="invariant-explanation" data-testid="invariant-explanation" class="why">The ${p.when} invariant <code>${escapeHtml(p.invariant)}</code> is broken after step ${cx.finding.step}: ${escapeHtml(p.message)}</p>`
    case "Defect":
      return `<p id="defect-explanation" data-testid="defect-explanation" class="why">Task <b>${escapeHtml(p.task)}</b>: ${escapeHtml(p.message)}</p>`
    case "DataRace":
      return `<p id="race-explanation" data-testid="race-explanation" class="why">${escapeHtml(Timeline.raceInWords(p))}</p>`
    case "Runaway":
      return `<p id="runaway-explanation" data-testid="runaway-explanation" class="why">Task <b>${escapeHtml(p.task)}</b> ran ${p.ops} Effect operations without reaching a scheduling point${p.func !== undefined ? ` in <code>${escapeHtml(p.func)}()</code>` : ""}: it loops on something no kernel primitive models (a plain variable?), so no other task can run.</p>`
  }
}

/**
 * Renders a counterexample as one self-contained HTML page. Pass a trace
 * replayed with `captureState: true` for the state panel.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Explorer, Render, type Counterexample, type Scenario } from "@drvmodel/core"
 * declare const scenario: Scenario
 * declare const cx: Counterexample
 * const html = Explorer.replay(scenario, cx.schedule, { captureState: true }).pipe(
 *   Effect.map(({ trace }) => Render.Html.render(cx, { trace }))
 * )
 * ```
 * @category rendering
 * @since 0.1.0
 */
export const render = (cx: Counterexample, options: { readonly trace?: Trace } = {}): string => {
  const t = Timeline.of(cx, options.trace)
  const lanes = t.tasks
  const laneIndex = new Map(lanes.map((task, i) => [task, i]))
  const rows = t.ops.filter((o) => laneIndex.has(o.task) && !(o.task === "setup" && o.name === "start"))
  const locks = [...new Set(rows.flatMap((o) => o.holds))]
  const color = new Map(locks.map((l, i) => [l, PALETTE[i % PALETTE.length]!]))
  // Lock slots per lane: one bar position per lock the lane ever holds.
  const slots = lanes.map((task) => [...new Set(rows.filter((o) => o.task === task).flatMap((o) => o.holds))])
  const stuckRow = t.endsStuck ? rows.length : -1
  const rowCount = rows.length + (t.endsStuck ? 1 : 0)
  const edges = t.endsStuck
    ? Timeline.waitEdges(t).filter((e) => e.task !== e.holder && laneIndex.has(e.task) && laneIndex.has(e.holder))
    : []
  const failing = t.endsStuck ? stuckRow : Math.max(0, rows.length - 1)
  const top = (r: number) => `top:${r * ROW}px`
  // Lanes share the available width in proportion to what they show (their
  // longest text, within bounds, and their lock bars), never more than it:
  // minmax(0, w fr) lets a lane shrink below its text, which is then cut with
  // an ellipsis and given in full as a tooltip. With no gaps the columns are
  // exactly proportional to the weights, so a lane's centre is a fixed
  // percentage of the lanes' width: the wait-for arrows rely on that.
  const weights = lanes.map((task, i) => {
    const longest = Math.max(
      task.length,
      ...rows.filter((o) => o.task === task).map((o) => o.label.length),
      ...[...t.stuck.values()].filter((b) => b.task === task).map((b) => b.op.length + 10)
    )
    return Math.min(40, Math.max(12, longest)) + slots[i]!.length * 1.5 + 2
  })
  const total = weights.reduce((a, b) => a + b, 0)
  const before = weights.map((_, i) => weights.slice(0, i).reduce((a, b) => a + b, 0))
  const percent = (at: number) => `${((at / total) * 100).toFixed(4)}%`
  const centre = (lane: number) => percent(before[lane]! + weights[lane]! / 2)
  const columns = `${STEP_COL}px ${lanes.length > 0 ? weights.map((w) => `minmax(0, ${w.toFixed(1)}fr)`).join(" ") : "minmax(0, 1fr)"}`
  const head = [
    `<div class="lanes-head" data-testid="lanes-head"><div class="corner">step</div>`,
    ...lanes.map(
      (task) =>
        `<div class="lane-title" data-testid="lane-title" data-task="${escapeHtml(task)}" title="${escapeHtml(task)}">${escapeHtml(task)}</div>`
    ),
    "</div>"
  ]
  const body: Array<string> = [`<div class="lanes-body" style="height:${rowCount * ROW}px">`]
  // Row stripes and step numbers; a click on a row selects its step.
  for (let r = 0; r < rowCount; r++) {
    const op = rows[r]
    body.push(
      `<div class="row${r % 2 ? " odd" : ""}" data-row="${r}" style="${top(r)}"><span class="stepno">${op !== undefined ? op.index : "end"}</span></div>`
    )
  }
  body.push(`<div id="failing-step" data-testid="failing-step" class="failing" data-row="${failing}" style="${top(failing)}"></div>`)
  lanes.forEach((task, i) => {
    body.push(`<div class="lane" data-testid="lane" data-task="${escapeHtml(task)}" style="grid-column:${i + 2}">`)
    // Lock-hold bars: consecutive rows during which the lane holds the lock.
    const held = new Set<string>()
    const since = new Map<string, number>()
    const close = (lock: string, until: number) => {
      const from = since.get(lock)!
      const slot = slots[i]!.indexOf(lock)
      body.push(
        `<div class="hold" data-testid="hold" data-lock="${escapeHtml(lock)}" style="left:${6 + slot * (BAR + BAR_GAP)}px;top:${from * ROW + 3}px;height:${Math.max(ROW, (until - from) * ROW) - 6}px;background:${color.get(lock)}" title="${escapeHtml(`${task} holds ${lock} (steps ${rows[from]?.index ?? "end"}–${rows[until - 1]?.index ?? "end"})`)}"></div>`
      )
      since.delete(lock)
    }
    rows.forEach((o, r) => {
      if (o.task !== task) return
      const now = new Set(o.holds)
      for (const l of [...held]) {
        if (!now.has(l)) {
          close(l, r + 1)
          held.delete(l)
        }
      }
      for (const l of now) {
        if (!held.has(l)) {
          held.add(l)
          since.set(l, r)
        }
      }
    })
    for (const l of held) close(l, rowCount)
    const textX = `left:${10 + slots[i]!.length * (BAR + BAR_GAP)}px`
    rows.forEach((o, r) => {
      if (o.task !== task) return
      const cls = `op${o.preempted ? " preempted" : ""}${o.name === "start" ? " start" : ""}`
      const tip = `step ${o.index}: ${o.task} ${o.label}${o.func !== undefined ? ` in ${o.func}()` : ""}${o.preempted ? " (preemption)" : ""}; holds ${o.holds.join(", ") || "nothing"}`
      body.push(
        `<div class="${cls}" data-testid="op" data-index="${o.index}" data-row="${r}" style="${top(r)};${textX}" title="${escapeHtml(tip)}">${escapeHtml(o.label)}</div>`
      )
    })
    const b = t.stuck.get(task)
    if (b !== undefined) {
      body.push(
        `<div class="op stuck" data-testid="stuck-op" data-row="${stuckRow}" style="${top(stuckRow)};${textX}" title="${escapeHtml(`${b.task} ${b.spinning ? "spins" : "is blocked"} at ${b.op}`)}">${escapeHtml(`${b.op} ${b.spinning ? "(spins)" : "(blocked)"}`)}</div>`
      )
    }
    body.push("</div>")
  })
  body.push(`<div id="cursor" data-testid="cursor" class="cursor" style="${top(failing)}"></div>`, "</div>")
  // Wait-for edges at the end: arrows from the waiter's lane to the holder's,
  // each on its own level below the last row so that a 2-cycle shows two
  // arrows, and each shifted sideways by its own offset so that no two
  // verticals in a lane overlap. Lane centres are percentages of the lanes'
  // width (see `centre`), the offsets pixels: hence lines and a translate.
  const svg: Array<string> = []
  if (edges.length > 0) {
    const height = 16 + EDGE * edges.length + 8
    svg.push(
      `<div class="edges"><svg id="wait-edges" width="100%" height="${height}" role="img" aria-label="wait-for edges">`,
      `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker></defs>`
    )
    edges.forEach((e, k) => {
      const a = laneIndex.get(e.task)!
      const h = laneIndex.get(e.holder)!
      const shift = `translate(${(k - (edges.length - 1) / 2) * 14} 0)`
      const level = 16 + EDGE * k
      const mid = percent((before[a]! + weights[a]! / 2 + before[h]! + weights[h]! / 2) / 2)
      svg.push(
        `<g class="wait${e.inCycle ? " cycle" : ""}" data-testid="wait-edge" data-from="${escapeHtml(e.task)}" data-to="${escapeHtml(e.holder)}" transform="${shift}"><title>${escapeHtml(`${e.task} waits for ${e.resource} held by ${e.holder}`)}</title>`,
        `<line x1="${centre(a)}" y1="0" x2="${centre(a)}" y2="${level}"/>`,
        `<line x1="${centre(a)}" y1="${level}" x2="${centre(h)}" y2="${level}"/>`,
        `<line x1="${centre(h)}" y1="${level}" x2="${centre(h)}" y2="2" marker-end="url(#arrow)"/>`,
        `<text class="wait-label" x="${mid}" y="${level - 4}" text-anchor="middle">${escapeHtml(`${e.task} waits for ${e.resource}`)}</text></g>`
      )
    })
    svg.push("</svg></div>")
  }
  const timeline = [
    `<div id="lanes" data-testid="lanes" class="lanes" role="group" aria-label="swimlanes" style="--cols:${columns}">`,
    ...head,
    ...body,
    ...svg,
    "</div>"
  ].join("\n")

  const data = {
    lanes,
    rows: rows.map((o) => ({
      index: o.index,
      task: o.task,
      label: o.label,
      func: o.func ?? null,
      holds: o.holds,
      state: o.state ?? null,
      time: o.time
    })),
    failing,
    stuck: t.endsStuck
  }
  const legend = locks.map((l) => `<span class="lock"><i style="background:${color.get(l)}"></i>${escapeHtml(l)}</span>`).join(" ")
  const where = `${cx.scenario}${cx.variant !== undefined ? ` · variant ${cx.variant}` : ""}`
  const shrunk =
    cx.original !== undefined
      ? `, shrunk from ${plural(cx.original.steps, "step")} and ${plural(cx.original.preemptions, "preemption")}`
      : ""
  const verdict = t.verdict.replace(/\*/g, "").trim()
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`drvmodel: ${cx.kind} in ${where}`)}</title>
<style>
:root{--fg:#1d2330;--muted:#667085;--bg:#fff;--stripe:#f6f7f9;--bad:#c0392b;--cursor:#2f6fed}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:20px 28px}
h1{font-size:20px;margin:0 0 4px}
h1 .verdict{color:var(--bad)}
h2{font-size:15px;margin:18px 0 6px}
.meta{color:var(--muted);margin:0 0 12px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f5;padding:1px 4px;border-radius:3px}
#explanation{border-left:4px solid var(--bad);background:#fdf3f2;padding:8px 14px;margin:12px 0;max-width:1100px}
#explanation .why{font-weight:600;margin:4px 0}
#explanation ul{margin:4px 0;padding-left:20px}
.layout{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}
/* The timeline scrolls inside its own pane; its lane header stays on top. */
.lanes-wrap{flex:1 1 var(--basis);min-width:0;overflow:auto;max-height:78vh;border:1px solid #e4e7ec;border-radius:6px;background:#fff}
/* Room below the last row, so that the pane can centre the failing step (the
   last rows) and show it on the first screen, below the sticky lane titles. */
.lanes{--mono:12px/${ROW}px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;min-width:0;padding-bottom:38vh}
.lanes-head,.lanes-body{display:grid;grid-template-columns:var(--cols)}
.lanes-head{position:sticky;top:0;z-index:4;height:${HEAD}px;background:#fff;border-bottom:1px solid #d0d5dd;box-shadow:0 2px 4px rgba(16,24,40,.06)}
.lanes-head .corner{align-self:center;padding-right:8px;text-align:right;color:var(--muted);font-size:12px}
.lane-title{align-self:stretch;padding:0 8px;line-height:${HEAD}px;font-weight:700;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;border-left:1px dashed #d0d5dd}
.lanes-body{position:relative}
.row{position:absolute;left:0;right:0;height:${ROW}px;background:#fff;cursor:pointer}
.row.odd{background:var(--stripe)}
.stepno{display:block;width:${STEP_COL - 8}px;text-align:right;font:var(--mono);color:var(--muted)}
.failing{position:absolute;left:0;right:0;height:${ROW}px;background:rgba(192,57,43,.16);border:1.5px solid var(--bad);pointer-events:none}
.cursor{position:absolute;left:0;right:0;height:${ROW}px;border:2px solid var(--cursor);pointer-events:none;z-index:2}
.lane{position:relative;grid-row:1;min-width:0;border-left:1px dashed #d0d5dd;pointer-events:none}
.lane>*{pointer-events:auto}
.op{position:absolute;right:4px;height:${ROW}px;font:var(--mono);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:pointer}
.op.start{color:var(--muted)}
.op.preempted{font-weight:700}
.op.stuck{color:var(--bad);font-weight:700}
.hold{position:absolute;width:${BAR}px;border-radius:1px;opacity:.9}
.edges{padding-left:${STEP_COL}px}
.edges svg{display:block;overflow:hidden}
.wait{fill:none;stroke:var(--bad);stroke-width:2}
.wait.cycle{stroke-width:2.5}
.wait-label{font:700 12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;fill:var(--bad);stroke:#fff;stroke-width:3px;paint-order:stroke}
.legend .lock{margin-right:12px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
#inspector{flex:0 1 ${INSPECTOR}px;min-width:min(320px,100%);max-width:520px;position:sticky;top:12px}
#step-slider{width:100%}
#step-label{display:block;font-weight:600;margin:4px 0 8px;min-height:1.4em}
table{border-collapse:collapse;width:100%;margin-bottom:12px}
td,th{border-bottom:1px solid #e4e7ec;padding:3px 6px;text-align:left;vertical-align:top;font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
th{font-family:system-ui,sans-serif;color:var(--muted);font-weight:600}
td+td{overflow-wrap:anywhere}
tr.changed td{background:#fff6d6}
.hint{color:var(--muted);font-size:12.5px}
</style>
</head>
<body>
<header>
<h1><span class="verdict">${escapeHtml(verdict)}</span> · ${escapeHtml(where)}</h1>
<p class="meta">${escapeHtml(cx.finding.summary)}<br>${plural(cx.steps, "step")}, ${plural(cx.preemptions, "preemption")} (depth ${cx.preemptions}${escapeHtml(shrunk)}); found by ${escapeHtml(cx.strategy)}, run ${cx.run}.</p>
</header>
<section id="explanation" data-testid="explanation">
<h2>What went wrong</h2>
${explanation(cx, t)}
</section>
<p class="legend">${legend !== "" ? `Locks held: ${legend}` : "No locks held in this run."} <span class="hint">Rows are steps; the highlighted row is where it failed; click a row or move the slider.</span></p>
<div class="layout">
<div class="lanes-wrap" style="--basis:${Math.max(600, STEP_COL + lanes.length * LANE_PREFERRED)}px">
${timeline}
</div>
<section id="inspector">
<h2><label for="step-slider">Model state after step</label></h2>
<input id="step-slider" data-testid="step-slider" type="range" min="0" max="${Math.max(0, rows.length - 1)}" step="1" value="${Math.max(0, Math.min(failing, rows.length - 1))}">
<output id="step-label" data-testid="step-label" for="step-slider"></output>
<table id="state-panel" data-testid="state-panel"><thead><tr><th>state</th><th>value</th></tr></thead><tbody></tbody></table>
<table id="holds-panel" data-testid="holds-panel"><thead><tr><th>task</th><th>holds</th></tr></thead><tbody></tbody></table>
</section>
</div>
<script type="application/json" id="drvmodel-data">${scriptJson(data)}</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("drvmodel-data").textContent);
  var slider = document.getElementById("step-slider");
  var label = document.getElementById("step-label");
  var stateBody = document.querySelector("#state-panel tbody");
  var holdsBody = document.querySelector("#holds-panel tbody");
  var cursor = document.getElementById("cursor");
  var ROW = ${ROW};
  function cell(tr, text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); }
  function show(r) {
    var row = data.rows[r];
    cursor.style.top = r * ROW + "px";
    if (!row) { label.textContent = "no steps"; return; }
    label.textContent = "step " + row.index + ": " + row.task + " " + row.label + (row.func ? " in " + row.func + "()" : "") + " (t=" + row.time + " ms)";
    var prev = r > 0 ? data.rows[r - 1].state : null;
    stateBody.textContent = "";
    if (row.state) {
      Object.keys(row.state).forEach(function (k) {
        var tr = document.createElement("tr");
        if (prev && prev[k] !== row.state[k]) tr.className = "changed";
        cell(tr, k); cell(tr, row.state[k]); stateBody.appendChild(tr);
      });
    } else {
      var tr = document.createElement("tr"); cell(tr, "(no state captured: render from a replay with captureState)"); cell(tr, ""); stateBody.appendChild(tr);
    }
    holdsBody.textContent = "";
    data.lanes.forEach(function (task) {
      var holds = [];
      for (var i = r; i >= 0; i--) if (data.rows[i].task === task) { holds = data.rows[i].holds; break; }
      var tr = document.createElement("tr"); cell(tr, task); cell(tr, holds.length ? holds.join(", ") : "-"); holdsBody.appendChild(tr);
    });
  }
  slider.addEventListener("input", function () { show(Number(slider.value)); });
  document.getElementById("lanes").addEventListener("click", function (ev) {
    var g = ev.target.closest("[data-row]");
    if (!g) return;
    var r = Math.min(Number(g.getAttribute("data-row")), data.rows.length - 1);
    slider.value = String(r); show(r);
  });
  show(Number(slider.value));
  // Bring the failing step into view inside the lanes pane.
  var wrap = document.querySelector(".lanes-wrap");
  var failing = document.getElementById("failing-step");
  if (wrap && failing) wrap.scrollTop += failing.getBoundingClientRect().top - wrap.getBoundingClientRect().top - wrap.clientHeight / 2;
})();
</script>
</body>
</html>
`
}
