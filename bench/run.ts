/**
 * `pnpm bench`: drvmodel's strategies against fast-check's scheduler on the
 * ABBA deadlock and the lost update, and the cost of exploring an Effect
 * program versus running it plainly. Writes docs/benchmarks.md (generated:
 * overwritten on every run).
 *
 * Wall-clock timing is used here only to measure; nothing measured feeds
 * back into a model, a schedule or a verdict.
 *
 * Run: npx pnpm@12.21.0 bench
 */

import { writeFileSync } from "node:fs"
import os from "node:os"
import * as Core from "@drvmodel/core"
import { Explorer, type OpObserver, type Scenario } from "@drvmodel/core"
import { model as mlx5 } from "@drvmodel/mlx5"
import { Effect } from "effect"
import { abba, abbaFixed } from "../examples/classic/abba.ts"
import { destroyConcurrentPattern } from "../examples/classic/destroy-under-lock.ts"
import { flushOrderedPattern } from "../examples/classic/flush-under-lock.ts"
import { lostUpdate, lostUpdateFixed } from "../examples/classic/lost-update.ts"
import * as Dpor from "./dpor.ts"
import * as FastCheck from "./fastcheck.ts"
import * as Plain from "./plain.ts"

/** Seeds per runs-to-first-failure median (odd: the median is one seed's value). */
const SEEDS = 31
/** Runs per seed before a seed counts as "not found". */
const CAP = 10_000
/** Executions per throughput measurement (each repeated, best kept). */
const EXEC_RUNS = 20_000
const REPEAT = 3
const PCT_DEPTH = 2
/** Executions per timing in the live-kernel comparison (each pays several setImmediate hops). */
const LIVE_RUNS = 5_000
/** Schedules per exploration in the lock-order overhead measurement. */
const LOCK_ORDER_RUNS = 10_000

const started = performance.now()
// Other processes compete for the CPU on a shared machine: recorded with the results.
const loadAtStart = os.loadavg()[0]!
const log = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`)

// ---------------------------------------------------------------------------
// Measuring

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Best (shortest) of `REPEAT` timings after one warm-up. */
const best = async (run: () => unknown): Promise<number> => {
  await run()
  let ms = Number.POSITIVE_INFINITY
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now()
    await run()
    ms = Math.min(ms, performance.now() - t0)
  }
  return ms
}

/** Best of `2 * REPEAT` timings of each of two runs, alternated after a warm-up of each, so drift and JIT tiering hit both alike. */
const bestPair = (a: () => unknown, b: () => unknown): readonly [number, number] => {
  a()
  b()
  let msA = Number.POSITIVE_INFINITY
  let msB = Number.POSITIVE_INFINITY
  for (let i = 0; i < 2 * REPEAT; i++) {
    const t0 = performance.now()
    a()
    const t1 = performance.now()
    b()
    msA = Math.min(msA, t1 - t0)
    msB = Math.min(msB, performance.now() - t1)
  }
  return [msA, msB]
}

interface FailureStats {
  /** Runs up to and including the first failing one, per seed that found it. */
  readonly runs: ReadonlyArray<number>
  readonly seeds: number
}

const summarize = (s: FailureStats): { median: string; range: string; found: string } => {
  // A seed that found nothing within CAP counts as CAP + 1 for the median (a lower bound).
  const all = [...s.runs, ...Array(s.seeds - s.runs.length).fill(CAP + 1)]
  const m = median(all)
  return {
    median: m > CAP ? `> ${CAP}` : String(m),
    range: s.runs.length === 0 ? "—" : `${Math.min(...s.runs)}–${Math.max(...s.runs)}`,
    found: `${s.runs.length}/${s.seeds}`
  }
}

type DrvStrategy = {
  readonly label: string
  readonly options: Partial<Explorer.ExploreOptions>
}

const drvStrategies: ReadonlyArray<DrvStrategy> = [
  { label: "drvmodel random", options: { strategy: "random" } },
  { label: `drvmodel PCT (d=${PCT_DEPTH})`, options: { strategy: "pct", depth: PCT_DEPTH } }
]

const drvExplore = (scenario: Scenario, s: DrvStrategy, o: Partial<Explorer.ExploreOptions>) => {
  const options = Explorer.options({ ...s.options, ...o })
  return Effect.runSync(Explorer.explore(scenario, options, {}, Effect.runSync(Explorer.strategyFor(options))))
}

const drvRunsToFailure = (scenario: Scenario, s: DrvStrategy): FailureStats => {
  const runs: Array<number> = []
  for (let seed = 0; seed < SEEDS; seed++) {
    const report = drvExplore(scenario, s, { seed, schedules: CAP, stopOnFirst: true })
    const found = report.counterexamples[0]
    if (found !== undefined) runs.push(found.run + 1)
  }
  return { runs, seeds: SEEDS }
}

const fcRunsToFailure = async (program: FastCheck.FcProgram): Promise<FailureStats> => {
  const runs: Array<number> = []
  for (let seed = 0; seed < SEEDS; seed++) {
    const n = await FastCheck.runsToFailure(program, seed, CAP)
    if (n !== undefined) runs.push(n)
  }
  return { runs, seeds: SEEDS }
}

// ---------------------------------------------------------------------------
// Part 1: finding the bugs, side by side with fast-check

interface FindRow {
  readonly bench: string
  readonly tool: string
  readonly execPerSec: number | undefined
  readonly failure: { median: string; range: string; found: string }
  readonly bugRate: number | undefined
  readonly stepsPerRun: number | undefined
}

const findRows: Array<FindRow> = []
const benches = [
  { bench: "ABBA deadlock", scenario: abba, fc: FastCheck.abba },
  { bench: "lost update", scenario: lostUpdate, fc: FastCheck.lostUpdate }
] as const

for (const b of benches) {
  for (const s of drvStrategies) {
    let report: Explorer.Report | undefined
    const ms = await best(() => {
      report = drvExplore(b.scenario, s, { seed: 0, schedules: EXEC_RUNS, maxFindings: 1 })
    })
    // Fraction of runs that show the bug, counted on a separate pass (explore keeps one counterexample per finding).
    const rate = bugRate(b.scenario, s)
    findRows.push({
      bench: b.bench,
      tool: s.label,
      execPerSec: (report!.runs / ms) * 1000,
      failure: summarize(drvRunsToFailure(b.scenario, s)),
      bugRate: rate,
      stepsPerRun: report!.steps / report!.runs
    })
    log(`${b.bench}: ${s.label} done`)
  }
  const dfs = Effect.runSync(
    Explorer.explore(b.scenario, Explorer.options({ strategy: "dfs", preemptions: 2, schedules: CAP, stopOnFirst: true }))
  )
  const dfsRun = dfs.counterexamples[0]
  findRows.push({
    bench: b.bench,
    tool: "drvmodel DFS (2 preemptions)",
    execPerSec: undefined,
    failure: { median: dfsRun ? String(dfsRun.run + 1) : `> ${CAP}`, range: "(deterministic)", found: dfsRun ? "—" : "0" },
    bugRate: undefined,
    stepsPerRun: undefined
  })
  let buggy = 0
  const fcMs = await best(async () => {
    buggy = await FastCheck.executeRuns(b.fc, 0, EXEC_RUNS)
  })
  findRows.push({
    bench: b.bench,
    tool: "fast-check 4.10.2 `fc.scheduler`",
    execPerSec: (EXEC_RUNS / fcMs) * 1000,
    failure: summarize(await fcRunsToFailure(b.fc)),
    bugRate: buggy / EXEC_RUNS,
    stepsPerRun: undefined
  })
  log(`${b.bench}: fast-check done`)
}

/** Fraction of the first 2,000 runs of seed 0 that show a finding. */
function bugRate(scenario: Scenario, s: DrvStrategy): number {
  const options = Explorer.options({ ...s.options, seed: 0 })
  const strategy = Effect.runSync(Explorer.strategyFor(options))
  const n = 2000
  let found = 0
  for (let i = 0; i < n; i++) {
    const r = Explorer.runOnce(scenario.program, strategy.next()!, options)
    strategy.finished?.({ steps: r.steps, hitStepLimit: r.outcome._tag === "StepLimit" })
    if (r.outcome._tag === "Found") found++
  }
  return found / n
}

// ---------------------------------------------------------------------------
// Part 2: exploring an Effect program versus running it plainly

interface CostRow {
  readonly program: string
  readonly plainUs: number
  readonly exploredUs: number
  readonly stepsPerRun: number
}

const costRows: Array<CostRow> = []
for (const c of [
  { program: "lost update (get, set)", plain: Plain.lostUpdate, scenario: lostUpdate },
  { program: "ABBA fixed (A then B)", plain: Plain.abbaFixed, scenario: abbaFixed }
] as const) {
  const plainMs = await best(() => Plain.timeRuns(c.plain, EXEC_RUNS))
  let report: Explorer.Report | undefined
  const exploredMs = await best(() => {
    report = Effect.runSync(Explorer.explore(c.scenario, Explorer.options({ strategy: "random", seed: 0, schedules: EXEC_RUNS })))
  })
  costRows.push({
    program: c.program,
    plainUs: (plainMs / EXEC_RUNS) * 1000,
    exploredUs: (exploredMs / report!.runs) * 1000,
    stepsPerRun: report!.steps / report!.runs
  })
  log(`cost: ${c.program} done`)
}

// The same scenario (examples/classic) run by LiveKernel.run on the default runtime
// (no explorer: fibers interleaved by Effect's scheduler, a yield after every point)
// and by Explorer.explore (random): what exploring costs over running the model itself.

interface LiveRow {
  readonly program: string
  readonly liveUs: number
  readonly exploredUs: number
  readonly liveSteps: number
  readonly exploredSteps: number
  readonly liveWithFinding: number
}

const liveRows: Array<LiveRow> = []
for (const c of [
  { program: "lost update fixed (atomic_inc)", scenario: lostUpdateFixed },
  { program: "ABBA fixed (A then B)", scenario: abbaFixed }
] as const) {
  let live: Awaited<ReturnType<typeof Plain.timeLive>> | undefined
  const liveMs = await best(async () => {
    live = await Plain.timeLive(c.scenario.program, LIVE_RUNS)
  })
  let report: Explorer.Report | undefined
  const exploredMs = await best(() => {
    report = Effect.runSync(Explorer.explore(c.scenario, Explorer.options({ strategy: "random", seed: 0, schedules: LIVE_RUNS })))
  })
  liveRows.push({
    program: c.program,
    liveUs: (liveMs / LIVE_RUNS) * 1000,
    exploredUs: (exploredMs / report!.runs) * 1000,
    liveSteps: live!.stepsPerRun,
    exploredSteps: report!.steps / report!.runs,
    liveWithFinding: live!.withFinding
  })
  log(`cost (live kernel): ${c.program} done`)
}

// ---------------------------------------------------------------------------
// Part 3: steps per second with and without the lock-order analysis.
// [placeholder for the lock-order engineer] This section measures it when
// @drvmodel/core exports `LockOrder.observer()` (an OpObserver passed as
// Explorer.explore's hooks.observers); until then it reports "not available".

interface LockOrderRow {
  readonly scenario: string
  readonly plainStepsPerSec: number
  readonly observedStepsPerSec: number
}

const lockOrderObserver = (): (() => OpObserver) | undefined => {
  const lockOrder = (Core as Record<string, unknown>).LockOrder as { readonly observer?: () => OpObserver } | undefined
  return typeof lockOrder?.observer === "function" ? lockOrder.observer : undefined
}

const lockOrderOverhead = (): ReadonlyArray<LockOrderRow> | undefined => {
  const makeObserver = lockOrderObserver()
  if (makeObserver === undefined) return undefined
  const rows: Array<LockOrderRow> = []
  for (const [name, scenario] of [
    ["abba", abba],
    ["flush-under-lock-ordered", flushOrderedPattern.buggy],
    ["destroy-under-lock-concurrent", destroyConcurrentPattern.buggy]
  ] as const) {
    const o = Explorer.options({ strategy: "random", seed: 0, schedules: LOCK_ORDER_RUNS })
    let steps = 0
    // A fresh observer per exploration: its graph accumulates across runs.
    const [plainMs, observedMs] = bestPair(
      () => {
        steps = Effect.runSync(Explorer.explore(scenario, o)).steps
      },
      () => Effect.runSync(Explorer.explore(scenario, o, { observers: [makeObserver()] }))
    )
    rows.push({ scenario: name, plainStepsPerSec: (steps / plainMs) * 1000, observedStepsPerSec: (steps / observedMs) * 1000 })
  }
  return rows
}

const lockOrderRows = lockOrderOverhead()
log("lock-order overhead done")

// ---------------------------------------------------------------------------
// On the reference model: the same strategies on real findings of the mlx5 model

/** Runs per seed at most, on the mlx5 findings (an execution there is ~100-300 steps). */
const MLX5_CAP = 2_000

interface ReferenceRow {
  readonly finding: string
  readonly cell: string
  readonly strategy: string
  readonly failure: { median: string; range: string; found: string }
}

const referenceRows: Array<ReferenceRow> = []
const referenceCases = [
  { finding: "defect (a) deadlock", scenario: "teardown-with-pending-work", variant: "baseline" },
  { finding: "F4 (depth 2)", scenario: "mode-change-vs-vf-events", variant: "v1@4" },
  { finding: "F3", scenario: "late-ib-load", variant: "v1@6" }
] as const
const referenceStrategies: ReadonlyArray<DrvStrategy> = [
  { label: "random", options: { strategy: "random" } },
  { label: "PCT (d=2)", options: { strategy: "pct", depth: 2 } },
  { label: "PCT (d=3)", options: { strategy: "pct", depth: 3 } }
]
for (const c of referenceCases) {
  const scenario = mlx5.scenario(c.scenario, c.variant)
  for (const s of referenceStrategies) {
    const runs: Array<number> = []
    for (let seed = 0; seed < SEEDS; seed++) {
      const report = drvExplore(scenario, s, { seed, schedules: MLX5_CAP, stopOnFirst: true })
      const found = report.counterexamples[0]
      if (found !== undefined) runs.push(found.run + 1)
    }
    const all = [...runs, ...Array(SEEDS - runs.length).fill(MLX5_CAP + 1)]
    const m = median(all)
    referenceRows.push({
      finding: c.finding,
      cell: `${c.scenario} × ${c.variant}`,
      strategy: s.label,
      failure: {
        median: m > MLX5_CAP ? `> ${MLX5_CAP}` : String(m),
        range: runs.length === 0 ? "—" : `${Math.min(...runs)}–${Math.max(...runs)}`,
        found: `${runs.length}/${SEEDS}`
      }
    })
  }
}
log("reference model done")
// Which strategy needed the fewest runs, per finding: computed, not written by hand.
const medianValue = (r: ReferenceRow) => (r.failure.median.startsWith(">") ? Number.POSITIVE_INFINITY : Number(r.failure.median))
const referenceSummary = referenceCases
  .map((c) => {
    const rows = referenceRows.filter((r) => r.finding === c.finding)
    const bestValue = Math.min(...rows.map(medianValue))
    const winners = rows.filter((r) => medianValue(r) === bestValue).map((r) => r.strategy)
    return `- ${c.finding}: fewest runs (median) with ${winners.join(" and ")}.`
  })
  .join("\n")

// ---------------------------------------------------------------------------
// The generated document

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined ? "—" : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
const pct = (n: number | undefined) => (n === undefined ? "—" : `${(n * 100).toFixed(1)} %`)
const cpus = os.cpus()
const runLengths = findRows.flatMap((r) => (r.stepsPerRun === undefined ? [] : [r.stepsPerRun]))
const totalSeconds = (performance.now() - started) / 1000

log("partial-order reduction: executions against the optimum, and µs/step as tasks grow")
const dporSection = Dpor.section()

const doc = `# Benchmarks

<!-- Generated by bench/run.ts (\`pnpm bench\`). Do not edit: rerun the command. -->

Command: \`npx pnpm@12.21.0 bench\` (= \`node bench/run.ts\`), generated ${new Date().toISOString().slice(0, 10)}, total ${totalSeconds.toFixed(0)} s.

Machine: Node ${process.version}, ${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.arch()}; 1-minute load average ${loadAtStart.toFixed(2)} at the start and ${os.loadavg()[0]!.toFixed(2)} at the end (other processes running on the machine slow both sides alike, but add noise).

## Finding the bug: drvmodel against fast-check's scheduler

| benchmark | tool / strategy | executions/s | runs to first failure (median of ${SEEDS} seeds) | range | seeds that found it | runs showing the bug |
|---|---|--:|--:|--:|--:|--:|
${findRows.map((r) => `| ${r.bench} | ${r.tool} | ${fmt(r.execPerSec)} | ${r.failure.median} | ${r.failure.range} | ${r.failure.found} | ${pct(r.bugRate)} |`).join("\n")}

## The cost of exploring: the same Effect program run plainly and under the explorer

| program | plain Effect, default runtime (µs/execution) | drvmodel random (µs/execution) | ratio | scheduling points per execution |
|---|--:|--:|--:|--:|
${costRows.map((r) => `| ${r.program} | ${fmt(r.plainUs, 1)} | ${fmt(r.exploredUs, 1)} | ${(r.exploredUs / r.plainUs).toFixed(1)}× | ${fmt(r.stepsPerRun, 1)} |`).join("\n")}

The same scenario (examples/classic, unchanged) run by \`LiveKernel.run\` (no explorer: a second
\`Kernel\` whose tasks are fibers on the default runtime, each point applied at once if enabled and
followed by \`Effect.yieldNow\`) and by \`Explorer.explore\` (random strategy, seed 0); ${fmt(LIVE_RUNS)}
executions per timing, best of ${REPEAT}:

| scenario | LiveKernel.run, default runtime (µs/execution) | drvmodel random (µs/execution) | explored / live | steps per execution, live / explored | live runs with a finding |
|---|--:|--:|--:|--:|--:|
${liveRows.map((r) => `| ${r.program} | ${fmt(r.liveUs, 1)} | ${fmt(r.exploredUs, 1)} | ${(r.exploredUs / r.liveUs).toFixed(2)}× | ${fmt(r.liveSteps, 1)} / ${fmt(r.exploredSteps, 1)} | ${r.liveWithFinding} |`).join("\n")}

## On the reference model: random and PCT on real mlx5 findings

Runs to the first execution that shows the finding, median over ${SEEDS} seeds (at most ${fmt(MLX5_CAP)} runs
per seed), with the scenario's own explorer options otherwise.

| finding | cell | strategy | runs to first failure | range | seeds that found it |
|---|---|---|--:|--:|--:|
${referenceRows.map((r) => `| ${r.finding} | ${r.cell} | ${r.strategy} | ${r.failure.median} | ${r.failure.range} | ${r.failure.found} |`).join("\n")}

${referenceSummary}

PCT's per-run guarantee, 1/(n·k^(d−1)) with n tasks and k steps per run (here a few tasks and
~100–300 steps), is a worst-case bound; a strategy can do much better than it on a given bug.

## Steps per second with and without the lock-order analysis

${
  lockOrderRows === undefined
    ? "Not available: `@drvmodel/core` does not export `LockOrder.observer()` yet (bench/run.ts, `lockOrderOverhead`)."
    : `Random strategy, seed 0, ${fmt(LOCK_ORDER_RUNS)} schedules, best of ${2 * REPEAT} alternating timings; the analysis is \`LockOrder.observer()\` passed as \`hooks.observers\` (a fresh observer per exploration).

| scenario (buggy variant) | steps/s without | steps/s with | overhead |
|---|--:|--:|--:|
${lockOrderRows.map((r) => `| ${r.scenario} | ${fmt(r.plainStepsPerSec)} | ${fmt(r.observedStepsPerSec)} | ${((r.plainStepsPerSec / r.observedStepsPerSec - 1) * 100).toFixed(0)} % |`).join("\n")}`
}

${dporSection}

## What the columns mean

- **executions/s**: complete executions (schedules) per second, each from the start of the
  program to its end or to the finding, on the buggy model; ${fmt(EXEC_RUNS)} executions, seed 0,
  best of ${REPEAT} timings after a warm-up. For drvmodel this is \`Explorer.explore\` with
  \`stopOnFirst: false\` (it keeps exploring after a finding); for fast-check it is \`fc.check\` over
  an async property whose body runs the model and records the bug instead of failing, so every run
  executes. Both include their runner's per-run overhead.
- **runs to first failure**: for each seed 0…${SEEDS - 1}, the 1-based index of the first
  execution that shows the bug, searching at most ${fmt(CAP)} executions; the median over the seeds
  (a seed that found nothing would count as more than ${fmt(CAP)}). drvmodel: \`Explorer.explore\`
  with \`{ seed, stopOnFirst: true }\`, the counterexample's \`run\` + 1. fast-check:
  \`fc.check(fc.asyncProperty(fc.scheduler(), …), { seed, numRuns: ${CAP}, endOnFailure: true })\`,
  whose \`numRuns\` counts the runs up to and including the failing one (\`endOnFailure\` skips
  shrinking, which fast-check cannot do on schedules anyway). DFS is deterministic: one number.
- **range**: fewest and most runs over the seeds. **seeds that found it**: how many seeds found the
  bug within the cap. **runs showing the bug**: the fraction of executions (seed 0, first 2,000 for
  drvmodel, the ${fmt(EXEC_RUNS)} timed ones for fast-check) in which the bug occurs; runs to first
  failure is roughly geometric in it.
- **µs/execution** (cost table): the same program logic written once with drvmodel's primitives
  (examples/classic) and once with Effect's own \`Ref\` / \`Semaphore\` and \`Effect.forkChild\` /
  \`Fiber.join\` (bench/plain.ts), ${fmt(EXEC_RUNS)} executions, best of ${REPEAT}. Plain runs
  ${fmt(EXEC_RUNS)} executions in sequence inside one \`Effect.runPromise\` on the default runtime;
  explored runs them through \`Explorer.explore\` (random strategy), each execution a fresh engine
  that parks every fiber at each scheduling point, checks deadlock and invariants after every step,
  and records the schedule and the trace. ABBA is run fixed on both sides because the buggy version
  deadlocks the default runtime.
- **live kernel rows**: unlike the hand-written plain rows, both sides run the *same* scenario code.
  \`LiveKernel.run\` executions run in sequence inside one \`Effect.runPromise\`; each builds a fresh
  kernel, forks the tasks into its scope, and returns at quiescence (results checked: a WARN,
  invariant violation or defect would be counted in the last column). Live steps exclude the
  explorer's "start" step per task, hence fewer steps. The default runtime's yields are
  \`setImmediate\` hops, which the explorer's synchronous dispatcher does not pay.

## How the models are made equivalent

- The fast-check programs (bench/fastcheck.ts) have the same threads and the same scheduling points
  as the drvmodel scenarios (examples/classic/abba.ts, lost-update.ts): a start point per thread,
  then one point per \`mutex_lock\` / \`mutex_unlock\` / \`atomic_read\` / \`atomic_set\`, each a
  \`s.schedule(Promise.resolve(), label)\` after whose release the operation takes effect.
- drvmodel only offers a blocked \`mutex_lock\` when the mutex is free; the fast-check mutex likewise
  schedules a lock attempt only while the lock looks free (a sleeping thread waits on an unscheduled
  promise that \`unlock\` resolves) and retries if another thread took the lock in between.
- fast-check has no deadlock detection: the ABBA deadlock is "after \`s.waitIdle()\` a thread has
  not finished" (both sleep on a lock with nothing scheduled). The lost update is "the counter is
  not 2 after \`s.waitIdle()\`".
- Both drvmodel random and fast-check pick uniformly among the runnable tasks at every point, so on
  these models they should show the bug in about the same fraction of runs (last column; the exact
  value for both models is 3/8); their runs-to-first-failure then differ only by the seeds' random
  streams.
- PCT (depth 2, one priority change point) draws its change point uniformly in [0, k), where k is
  the longest run seen so far (the first run has no change point and measures it). These executions
  average ${fmt(Math.min(...runLengths), 1)}–${fmt(Math.max(...runLengths), 1)} steps. With two threads, a random scheduler already
  hits these depth-2 bugs in 3 runs out of 8, which PCT's guarantee (1/(n·k)) cannot beat;
  PCT's strength is bugs that need a specific, rare ordering among many threads and steps.
- Nothing in the models was changed to win a row: they are the example scenarios as written.
`

writeFileSync(new URL("../docs/benchmarks.md", import.meta.url), doc)
console.log(doc)
log("wrote docs/benchmarks.md")
