/**
 * Lock-order analysis (lockdep inside the explorer): a lock-class dependency
 * graph kept across every execution, strong-cycle search with lockdep's
 * read/write rules, confirmation of each cycle by targeted scheduling, and
 * lockdep-style reports. Import as `LockOrder` from `@drvmodel/core`.
 *
 * - `analyzeOnce(scenario)`: one run on the default non-preemptive schedule;
 * - `analyze(scenario, { explore })`: every run of an exploration;
 * - `observer(graph)` + `cycles(graph)` + `confirm(scenario, cycle)`: the
 *   pieces, to add the analysis to any `Explorer.explore` via `hooks.observers`;
 * - `irqViolations(graph)`: lockdep's irq rules (inconsistent lock state,
 *   irq-safe -> irq-unsafe order) over the usage bits the observer sets;
 * - `render(result)`: text; `LockOrderResult`: the Schema of the result.
 *
 * @since 0.1.0
 */
export { type AnalyzeOptions, analyze, analyzeOnce, cycleResult, irqResult, nonPreemptive, resultCycles } from "./Analysis.ts"
export { type Confirmation, type ConfirmOptions, confirm, lanesOf } from "./Confirm.ts"
export { type Cycle, type CycleEdge, type CycleOptions, cycles } from "./Cycles.ts"
export { type IrqViolation, irqViolations } from "./IrqUsage.ts"
export {
  type Dependency,
  type DepType,
  depType,
  LockGraph,
  type LockGraphData,
  type Mode,
  type Occurrence,
  type UsageBit,
  type UsageOccurrence
} from "./LockGraph.ts"
export { type HeldEntry, type LockObserver, observer } from "./Observer.ts"
export { type Overhead, overhead } from "./Overhead.ts"
export { render, renderCycle, renderIrq, scenarioTable } from "./Report.ts"
export { LockOrderCycle, LockOrderEdge, LockOrderIrq, LockOrderResult, LockOrderUsage, Tried } from "./Result.ts"
