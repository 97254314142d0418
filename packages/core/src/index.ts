/**
 * drvmodel core: kernel primitives as Effect actors and a deterministic
 * interleaving explorer.
 *
 * @since 0.1.0
 */

export type { Counterexample, Report, Scenario } from "./Explorer.ts"
export * as Explorer from "./Explorer.ts"
export * as Finding from "./Finding.ts"
export type { Invariant } from "./Invariant.ts"
export type { Candidate, ChoicePoint, Chooser, ExecutionResult, OpObserver, Outcome, StepRecord } from "./internal/engine.ts"
export type { Access, LockEvent, Op, Resource, SpawnOptions, TaskHandle } from "./Kernel.ts"
export { Kernel } from "./Kernel.ts"
export * as LiveKernel from "./LiveKernel.ts"
export * as LockOrder from "./lockdep/LockOrder.ts"
export type { Described, Model, ScenarioInfo } from "./Model.ts"
export { UnknownName } from "./Model.ts"
export * as Prng from "./Prng.ts"
export * as Atomic from "./primitives/Atomic.ts"
export * as Cell from "./primitives/Cell.ts"
export * as Completion from "./primitives/Completion.ts"
export * as Mutex from "./primitives/Mutex.ts"
export * as RwSemaphore from "./primitives/RwSemaphore.ts"
export * as Sched from "./primitives/Sched.ts"
export * as WaitQueue from "./primitives/WaitQueue.ts"
export * as Workqueue from "./primitives/Workqueue.ts"
export * as Render from "./render/index.ts"
export * as Schedule from "./Schedule.ts"
export * as Shrink from "./Shrink.ts"
export type { Coverage, Strategy } from "./Strategy.ts"
export * as DfsStrategy from "./strategy/Dfs.ts"
export * as DporStrategy from "./strategy/Dpor.ts"
export * as PctStrategy from "./strategy/Pct.ts"
export * as RandomStrategy from "./strategy/Random.ts"
export * as ReplayStrategy from "./strategy/Replay.ts"
export * as TargetedStrategy from "./strategy/Targeted.ts"
export * as Trace from "./Trace.ts"
