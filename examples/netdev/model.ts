/**
 * A second driver model, written as components with the public API only: a
 * netdev's close racing its reset worker under `rtnl_lock`.
 *
 *   watchdog: netif_tx_lock; if netif_running: ndo_tx_timeout → queue_work(reset_work)
 *   worker:   mydrv_reset_task: rtnl_lock; if priv->up { mydrv_down; mydrv_up }; rtnl_unlock
 *   user:     dev_close [rtnl]: clear_bit(START); dev_watchdog_down; ndo_stop
 *
 * Buggy: `ndo_stop` does `cancel_work_sync(&priv->reset_work)` with rtnl held;
 * a reset already waiting for rtnl never finishes: deadlock. Fixed: `ndo_stop`
 * only brings the device down, the reset re-checks it under rtnl, and
 * `remove` cancels the work with rtnl released, then frees the device (its
 * scope runs `destroy_workqueue`).
 * @since 0.2.0
 */
import { Cell, Component, Kernel, LockContract, type Model, Mutex, UnknownName, Workqueue } from "@drvmodel/core"
import { Context, Effect, Layer } from "effect"

/** `rtnl_mutex` as a lock class: the ndo and dev_* functions require it. */
const Rtnl = LockContract.lockClass("rtnl_mutex")
type Rtnl = LockContract.Held<"rtnl_mutex">

/**
 * `struct net_device` + `struct mydrv_priv`: `__LINK_STATE_START` (test_bit / clear_bit: marked),
 * `priv->up` [rtnl], `netif_tx_lock` (the watchdog runs under it), the workqueue owned by its lifetime.
 */
interface Priv {
  readonly start: Cell.Cell<boolean>
  readonly up: Cell.Cell<boolean>
  readonly txLock: Mutex.Mutex
  readonly wq: Workqueue.Workqueue
  readonly resetWork: Workqueue.Work
  readonly life: Component.Instance
}

/** The driver's kernel functions (and the net core's that call them). */
export class Netdev extends Context.Service<
  Netdev,
  {
    readonly rtnl: LockContract.Guard<"rtnl_mutex">
    readonly mydrv_probe: (name: string) => Effect.Effect<Priv, never, Kernel>
    readonly dev_open: (priv: Priv) => Effect.Effect<void, never, Kernel | Rtnl>
    readonly dev_close: (priv: Priv) => Effect.Effect<void, never, Kernel | Rtnl>
    readonly dev_watchdog: (priv: Priv) => Effect.Effect<void>
    readonly mydrv_remove: (priv: Priv) => Effect.Effect<void>
  }
>()("@drvmodel/examples/netdev/Netdev") {}

/** The driver, buggy or fixed (build it `{ local: true }`: one per run). */
const netdevLayer = (fixed: boolean): Layer.Layer<Netdev, never, Kernel> =>
  Layer.effect(
    Netdev,
    Effect.gen(function* () {
      const kernel = yield* Kernel
      const c = yield* Component.make("mydrv")
      const rtnl = LockContract.mutex(Rtnl, yield* Mutex.make("rtnl_mutex", { lockClass: Rtnl.lockClass }))
      const underRtnl = <A>(fn: string, body: (p: Priv) => Effect.Effect<void, never, A>) =>
        LockContract.requires("mydrv", fn, Rtnl, (_p: Priv) => rtnl.id, body)
      const up = underRtnl("mydrv_up", (p) => p.up.set(true))
      const down = underRtnl("mydrv_down", (p) => p.up.set(false))
      const ndoStop = underRtnl("mydrv_stop", (p) =>
        Effect.gen(function* () {
          yield* down(p)
          if (!fixed) yield* p.wq.cancelWorkSync(p.resetWork) // waits for a reset that waits for rtnl
        })
      )
      const resetTask = (p: Priv) =>
        c.fn(
          "mydrv_reset_task",
          LockContract.withLock(
            rtnl,
            Effect.gen(function* () {
              if (!(yield* p.up.get)) return // closed meanwhile
              yield* down(p)
              yield* up(p)
            })
          )
        )
      return Netdev.of({
        rtnl,
        mydrv_probe: (name) =>
          Effect.gen(function* () {
            const life = yield* Component.instance(name)
            const wq = yield* Component.workqueue(life, `${name}/mydrv_wq`)
            const [start, isUp] = [yield* Cell.make(`${name}->state.START`, false), yield* Cell.make(`${name}->priv.up`, false)]
            const txLock = yield* Mutex.make(`${name}->tx_global_lock`, { lockClass: "_xmit_ETHER" })
            const reset = Effect.suspend(() => Effect.provideService(resetTask(priv), Kernel, kernel))
            const priv: Priv = { start, up: isUp, txLock, wq, life, resetWork: Workqueue.work("mydrv_reset_task", reset) }
            return priv
          }),
        dev_open: underRtnl("dev_open", (p) => Effect.andThen(p.start.writeOnce(true), up(p))),
        dev_close: underRtnl("dev_close", (p) =>
          Effect.gen(function* () {
            yield* p.start.writeOnce(false) // clear_bit(__LINK_STATE_START)
            yield* p.txLock.lock // dev_deactivate → dev_watchdog_down
            yield* p.txLock.unlock
            yield* ndoStop(p)
          })
        ),
        dev_watchdog: (p) =>
          Effect.gen(function* () {
            yield* p.txLock.lock
            if (yield* p.start.readOnce) yield* c.fn("mydrv_tx_timeout", Effect.asVoid(p.wq.queueWork(p.resetWork)))
            yield* p.txLock.unlock
          }),
        mydrv_remove: (p) => c.fn("mydrv_remove", Effect.andThen(p.wq.cancelWorkSync(p.resetWork), p.life.close)) // rtnl not held
      })
    })
  )

/** An open device; the watchdog fires while the user closes it (fixed: and removes it). */
const program = (fixed: boolean): Effect.Effect<void, never, Kernel> =>
  Effect.gen(function* () {
    const kernel = yield* Kernel
    const drv = yield* Netdev
    const priv = yield* drv.mydrv_probe("eth0")
    yield* LockContract.withLock(drv.rtnl, drv.dev_open(priv))
    yield* kernel.spawn("watchdog", drv.dev_watchdog(priv))
    const close = LockContract.withLock(drv.rtnl, drv.dev_close(priv)) // ip link set dev eth0 down
    yield* kernel.spawn("ip-link-down", fixed ? Effect.andThen(close, drv.mydrv_remove(priv)) : close)
  }).pipe(Effect.provide(netdevLayer(fixed), { local: true }))

const info = { name: "reset-vs-close", description: "reset work vs link down", defaults: { strategy: "dfs", preemptions: 2 } } as const

/**
 * The model: scenario `reset-vs-close`, variants `buggy` and `fixed`.
 * @example
 * ```ts
 * import { netdev } from "@drvmodel/examples"
 * const s = netdev.scenario("reset-vs-close", "buggy")
 * ```
 * @category models
 * @since 0.2.0
 */
export const netdev: Model = {
  name: "netdev",
  description: "a netdev's close racing its reset worker under rtnl_lock (cancel_work_sync under rtnl), buggy and fixed",
  variants: [
    { name: "buggy", description: "ndo_stop cancels the reset work with rtnl held" },
    { name: "fixed", description: "the reset re-checks the device under rtnl; remove cancels with rtnl released" }
  ],
  scenarios: [{ ...info, invariants: [] }],
  scenario: (name, variant) => {
    if (name !== info.name) throw new UnknownName("scenario", name, [info.name])
    if (variant !== "buggy" && variant !== "fixed") throw new UnknownName("variant", variant, ["buggy", "fixed"])
    return { ...info, program: program(variant === "fixed") }
  }
}
