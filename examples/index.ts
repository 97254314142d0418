/**
 * drvmodel examples: classic concurrency patterns with known answers, each
 * buggy and fixed, as runnable scenarios and as one `Model`.
 *
 * @since 0.1.0
 */
export { abba, abbaFixed, abbaPattern } from "./classic/abba.ts"
export { destroyConcurrentPattern, destroyOrderedPattern } from "./classic/destroy-under-lock.ts"
export { flushConcurrentPattern, flushOrderedPattern, type QueueKind } from "./classic/flush-under-lock.ts"
export { lostUpdate, lostUpdateFixed, lostUpdatePattern } from "./classic/lost-update.ts"
export { classic, patterns } from "./classic/model.ts"
export type { Pattern, Verdict } from "./classic/pattern.ts"
export { boundOf, describeVerdict, printVerdicts, verdict } from "./classic/pattern.ts"
export { trylockLivelock, trylockLivelockFixed, trylockLivelockPattern } from "./classic/trylock-livelock.ts"
export { Netdev, netdev } from "./netdev/model.ts"
