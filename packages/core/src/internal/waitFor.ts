import type { BlockedTask, WaitEdge } from "../Finding.ts"

/**
 * Finds one cycle in the wait-for graph of stuck tasks. A task has an edge to
 * every holder of the resource it waits for that is itself stuck (or to
 * itself): a rw-semaphore held by several readers gives several edges, and a
 * cycle may run through any of them, not only the first (issue 14, item 7).
 * A task also has an edge to each queued waiter it waits behind (`behind`: a
 * new reader behind a waiting writer), marked `queued`, tried first.
 *
 * Depth-first search with the usual white/grey/black colouring, so the graph
 * is walked once: O(tasks + edges). Deterministic: start tasks in the given
 * order, holders in the order the resource lists them.
 */
export const findCycle = (blocked: ReadonlyArray<BlockedTask>): ReadonlyArray<WaitEdge> => {
  const byTask = new Map(blocked.map((b) => [b.task, b]))
  const done = new Set<string>()
  const onPath = new Map<string, number>()
  const path: Array<WaitEdge> = []
  const visit = (b: BlockedTask): ReadonlyArray<WaitEdge> | undefined => {
    if (b.resource === undefined) return undefined
    onPath.set(b.task, path.length)
    // Queued waiters first: a reader blocked behind a queued writer waits for that writer, not
    // for the other readers (itself included) that hold the semaphore.
    const behind = b.behind ?? []
    const next = behind.length === 0 ? b.holders : [...behind, ...b.holders]
    for (let i = 0; i < next.length; i++) {
      const holder = next[i]!
      if (holder !== b.task && !byTask.has(holder)) continue
      path.push(
        i < behind.length ? { task: b.task, resource: b.resource, holder, queued: true } : { task: b.task, resource: b.resource, holder }
      )
      const at = onPath.get(holder)
      if (at !== undefined) return path.slice(at)
      if (!done.has(holder)) {
        const found = visit(byTask.get(holder)!)
        if (found !== undefined) return found
      }
      path.pop()
    }
    onPath.delete(b.task)
    done.add(b.task)
    return undefined
  }
  for (const start of blocked) {
    if (done.has(start.task)) continue
    const found = visit(start)
    if (found !== undefined) return found
  }
  return []
}
