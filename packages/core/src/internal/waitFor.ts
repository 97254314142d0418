import type { BlockedTask, WaitEdge } from "../Finding.ts"

/**
 * Finds one cycle in the wait-for graph of stuck tasks (task -> holder of the
 * resource it waits for). Deterministic: tasks are visited in the given order.
 */
export const findCycle = (blocked: ReadonlyArray<BlockedTask>): ReadonlyArray<WaitEdge> => {
  const byTask = new Map(blocked.map((b) => [b.task, b]))
  for (const start of blocked) {
    const path: Array<WaitEdge> = []
    const seen = new Map<string, number>()
    let cur: BlockedTask | undefined = start
    while (cur !== undefined && cur.resource !== undefined) {
      seen.set(cur.task, path.length)
      const holder: string | undefined = cur.holders.find((h) => byTask.has(h) || h === cur!.task)
      if (holder === undefined) break
      path.push({ task: cur.task, resource: cur.resource, holder })
      const at = seen.get(holder)
      if (at !== undefined) return path.slice(at)
      cur = byTask.get(holder)
    }
  }
  return []
}
