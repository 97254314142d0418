/**
 * The invariants of domain.md §5.1 over a run's world. Safety checks run
 * after every step; completeness checks at quiescence. Deadlock, drain
 * progress and spins (§5.1 1, 2, 8, 11) are the engine's own checks.
 *
 * @since 0.1.0
 */
import type { Described } from "@drvmodel/core"
import type { Esw, LoadFate, World } from "./world.ts"
import { describeEsw, isIbDev, lagMembers, REP_TYPES, VF_VPORTS, VPORTS } from "./world.ts"

/** Invariant names used in the findings matrix as `invariant:<name>`. */
export type InvariantName =
  | "registry-transitions"
  | "no-loaded-outside-offloads"
  | "rep-dependencies"
  | "registration-completeness"
  | "no-stale-execution"
  | "no-post-teardown-execution"
  | "user-mode-preserved"
  | "failed-load-unwound"
  | "sriov-has-fdb"
  | "host-vfs-followed"
  | "lag-needs-switchdev"
  | "switchdev-profile-applied"
  | "vport-rules-in-live-fdb"
  | "lag-membership"

/**
 * One-line descriptions, as listed in `ScenarioInfo.invariants`.
 *
 * @category models
 * @since 0.1.0
 */
export const INVARIANTS: Record<InvariantName, Described> = {
  "registry-transitions": {
    name: "registry-transitions",
    description:
      "rep states move only UNREG→REG (register), REG→LOADED (load), LOADED→REG (unload), any→UNREG after unloading; ops->load/unload run on a rep in the matching state and, with a guard, by its holder"
  },
  "no-loaded-outside-offloads": {
    name: "no-loaded-outside-offloads",
    description: "at quiescence: outside OFFLOADS no rep is LOADED; a LOADED rep has its type's ops set and its vport enabled"
  },
  "rep-dependencies": {
    name: "rep-dependencies",
    description:
      "at quiescence: IB LOADED ⇒ ETH LOADED on the vport; a VF/SF rep LOADED ⇒ the uplink rep of that type LOADED; IB ports point at a live IB device"
  },
  "registration-completeness": {
    name: "registration-completeness",
    description:
      "at quiescence: in OFFLOADS with no operation in progress and the work queue drained, every registered type is LOADED on the uplink and every enabled vport"
  },
  "no-stale-execution": {
    name: "no-stale-execution",
    description: "a work item's function runs only with the devlink lock held and work_gen == generation observed under it"
  },
  "no-post-teardown-execution": {
    name: "no-post-teardown-execution",
    description:
      "no work item runs its function on an E-Switch configuration whose teardown (disable_locked, disable_sriov, cleanup) began after the item was queued; a function-change item belongs to the configuration that registered its notifier"
  },
  "user-mode-preserved": {
    name: "user-mode-preserved",
    description:
      "at quiescence: after a devlink reload or a health recovery that followed the user's last `devlink dev eswitch set`, the E-Switch mode equals the mode the user set. Checks the trade-off V1 patch 7's authors admit (domain.md §5.2: the profile overrides a user's runtime choice after reload/recovery); only meaningful where the user's last choice is legacy, since every variant leaves a reloaded device in legacy without the profile"
  },
  "failed-load-unwound": {
    name: "failed-load-unwound",
    description:
      "at quiescence: no rep is LOADED whose last ops->load returned an error (a failed load is not a REG→LOADED transition; reps V3 6/7 restores REGISTERED in __esw_offloads_load_rep). Registered in the fault scenarios only"
  },
  "sriov-has-fdb": {
    name: "sriov-has-fdb",
    description:
      "at quiescence: a PF with SR-IOV enabled (pci num_VFs > 0) has an E-Switch FDB (legacy or switchdev) with its VF vports enabled, i.e. the VFs are connected. Registered in mode-set-faults and health-recovery"
  },
  "host-vfs-followed": {
    name: "host-vfs-followed",
    description:
      "at quiescence: an ECPF E-Switch in switchdev with its function-change notifier registered has the host's VF count (esw_funcs.num_vfs == the firmware's host_num_of_vfs): no host VF-count event was lost. Registered in vf-event-faults only"
  },
  "lag-needs-switchdev": {
    name: "lag-needs-switchdev",
    description:
      "at quiescence: an active shared-FDB or MPESW LAG has every PF's E-Switch in switchdev (a mode change tears an active LAG down first, `mlx5_lag_disable_change`; activation checks the modes under devcom + ldev->lock). Registered in mpesw-vs-mode-set and reload-vs-lag-mode-set"
  },
  "lag-membership": {
    name: "lag-membership",
    description:
      "at quiescence: every PF of a LAG-capable NIC is registered in the HCA devcom component and a member of the one ldev they share (priv.lag, pfs, one reference each, not freed); the master is marked once every port is in; no mode_changes_in_progress is left raised — membership survives reloads and recoveries (mlx5_lag_remove_mdev / mlx5_lag_add_mdev). Registered in reload-vs-lag-mode-set only"
  },
  "switchdev-profile-applied": {
    name: "switchdev-profile-applied",
    description:
      "at quiescence: a device probed with the switchdev profile (V1 7/7's MLX5_PROF_MASK_DEF_SWITCHDEV) whose user never set an E-Switch mode is in switchdev — after boot and after every reload the profile's `mlx5_set_default_switchdev` ran. Registered in fw-reset-with-profile only"
  },
  "vport-rules-in-live-fdb": {
    name: "vport-rules-in-live-fdb",
    description:
      "after every step: every FDB rule a vport's UC address list holds (vport->uc_list entries' flow_rule, added by esw_vport_change_handle_locked under state_lock) is in the legacy FDB that exists now — none dangles after esw_legacy_disable destroyed its table. Registered in vport-change-vs-mode-set only"
  }
}

/** A vport address whose FDB rule is in a legacy FDB other than the live one (`VportChange`). */
const vportRulesInLiveFdb = (esw: Esw): string | undefined => {
  const vc = esw.vportChange
  if (vc === undefined) return undefined
  const fdb = vc.legacyFdb.peek()
  for (const vp of VPORTS) {
    for (const a of vc.vports[vp].ucList.peek()) {
      if (a.flowRule !== undefined && a.flowRule !== fdb)
        return `${esw.dev.name}: vport ${vp}'s address mac${a.mac} holds an FDB rule in legacy fdb#${a.flowRule}, but esw->fdb_table.legacy.fdb is ${fdb === undefined ? "NULL" : `fdb#${fdb}`}: the rule dangles`
    }
  }
  return undefined
}

/**
 * LAG membership after every unload / load has settled: each PF of a LAG-capable NIC is registered
 * in the HCA devcom component and a member of one ldev that all of them share (`dev->priv.lag`
 * pointing at it, one reference each, not freed), the ldev's master is marked exactly when every
 * port is in, and no mode-change fence is left raised.
 */
const lagMembership = (w: World): string | undefined => {
  const devs = w.devs.filter((d) => d.hcaComp !== undefined)
  if (devs.length === 0) return undefined
  const comp = devs[0]!.hcaComp!.members.peek()
  for (const d of devs) if (!comp.includes(d)) return `${d.name} is not registered in the HCA devcom component`
  const ldev = devs[0]!.lag.peek()
  if (ldev === undefined) return `${devs[0]!.name} has no ldev (dev->priv.lag NULL)`
  for (const d of devs) {
    const l = d.lag.peek()
    if (l !== ldev) return `${d.name}'s ldev is ${l?.name ?? "NULL"}, ${devs[0]!.name}'s is ${ldev.name}`
  }
  if (ldev.freed.peek()) return `${ldev.name} is in use after mlx5_ldev_free`
  const members = lagMembers(ldev.pfs.peek())
  for (const d of devs) if (!members.includes(d)) return `${d.name} points at ${ldev.name} but is not in its pfs`
  if (ldev.ref.peek() !== members.length) return `${ldev.name}->ref is ${ldev.ref.peek()} with ${members.length} PFs`
  const master = ldev.master.peek()
  if (members.length === ldev.ports && master === undefined) return `all ${ldev.ports} ports are in ${ldev.name} but no PF is marked master`
  if (master !== undefined && ldev.pfs.peek()[master] === undefined) return `${ldev.name}'s master mark is on a free index`
  const mcip = ldev.modeChangesInProgress.peek()
  if (mcip !== 0) return `${ldev.name}->mode_changes_in_progress is ${mcip}`
  return undefined
}

/** An active LAG (any mode but NONE) whose PFs are not all in switchdev. */
const lagNeedsSwitchdev = (w: World): string | undefined => {
  const lag = w.devs[0]?.lag.peek()
  if (lag === undefined) return undefined
  const mode = lag.mode.peek()
  if (mode === "NONE") return undefined
  const off = lagMembers(lag.pfs.peek()).filter((pf) => pf.esw.mode.peek() !== "OFFLOADS")
  return off.length === 0
    ? undefined
    : `LAG active in ${mode} mode while ${off.map((pf) => `${pf.name}'s E-Switch is ${pf.esw.mode.peek()}`).join(", ")}`
}

const loadedOutsideOffloads = (esw: Esw): string | undefined => {
  const mode = esw.mode.peek()
  for (const vp of VPORTS) {
    for (const t of REP_TYPES) {
      if (esw.reps[vp].data[t].state.peek() !== "LOADED") continue
      if (mode !== "OFFLOADS") return `${esw.name}:${vp}.${t} LOADED in ${mode}`
      if (esw.repOps[t].peek() === undefined) return `${esw.name}:${vp}.${t} LOADED with rep_ops[${t}] NULL`
      if (!esw.enabled[vp].peek()) return `${esw.name}:${vp}.${t} LOADED on a disabled vport`
    }
  }
  return undefined
}

const dependencies = (esw: Esw): string | undefined => {
  const st = (vp: (typeof VPORTS)[number], t: (typeof REP_TYPES)[number]) => esw.reps[vp].data[t].state.peek()
  for (const vp of VPORTS) {
    if (st(vp, "IB") === "LOADED" && st(vp, "ETH") !== "LOADED") return `${esw.name}:${vp}.IB LOADED but ETH ${st(vp, "ETH")}`
    for (const t of REP_TYPES) {
      if (vp !== "uplink" && st(vp, t) === "LOADED" && st("uplink", t) !== "LOADED")
        return `${esw.name}:${vp}.${t} LOADED but uplink.${t} ${st("uplink", t)}`
    }
    const priv = esw.reps[vp].data.IB.priv.peek()
    if (isIbDev(priv) && !priv.alive.peek()) return `${esw.name}:${vp}.IB points at removed ${priv.id}`
  }
  return undefined
}

const completeness = (esw: Esw): string | undefined => {
  if (esw.mode.peek() !== "OFFLOADS" || !esw.fdbCreated.peek() || esw.operationInProgress.peek()) return undefined
  if (esw.workQueue.pendingCount() > 0 || esw.workQueue.runningCount() > 0) return undefined
  for (const t of REP_TYPES) {
    const registered = esw.repOps[t].peek() !== undefined && VPORTS.some((vp) => esw.reps[vp].data[t].state.peek() !== "UNREGISTERED")
    if (!registered) continue
    for (const vp of VPORTS) {
      if (!esw.enabled[vp].peek()) continue
      const s = esw.reps[vp].data[t].state.peek()
      if (s !== "LOADED") {
        const cause = s === "REGISTERED" ? fateText(esw.loadFate[t].peek()) : undefined
        const failed = esw.reps[vp].data[t].loadFailed.peek() ? "; its last ops->load failed" : ""
        return `${esw.name}:${vp}.${t} is ${s} (registered, vport enabled, OFFLOADS, queue drained)${cause !== undefined ? `; ${cause}` : ""}${failed}`
      }
    }
  }
  return undefined
}

/**
 * What the last registration's load came to, as the run recorded it (never
 * from the variant's name): the two causes of late-ib-load (notes §6).
 */
const fateText = (f: LoadFate | undefined): string | undefined => {
  if (f === undefined) return undefined
  switch (f.kind) {
    case "no-loader":
      return `cause: no loader — ${f.by} only stored the ops and marked the reps REGISTERED; nothing queued a load`
    case "alloc-failed":
      return `cause: the load was never queued — ${f.by}: mlx5_esw_add_work's kzalloc(mlx5_host_work, ${f.gfp}) failed (-ENOMEM) and the return value is ignored`
    case "queued":
      return `cause: the load queued by ${f.by} (mlx5_eswitch_reload_reps, work_gen ${f.workGen}) has not run`
    case "ran":
      return `cause: the load queued by ${f.by} (mlx5_eswitch_reload_reps, work_gen ${f.workGen}) ran; nothing loaded the rep after it`
    case "dropped-stale":
      return `cause: load dropped as stale — ${f.by} queued mlx5_eswitch_reload_reps at work_gen ${f.workGen}; esw_wq_handler saw generation ${f.seenGen} ${f.where} and freed it${f.bump !== undefined ? ` (last bump: ${f.bump})` : ""}`
  }
}

const failedLoadUnwound = (esw: Esw): string | undefined => {
  for (const vp of VPORTS) {
    for (const t of REP_TYPES) {
      const d = esw.reps[vp].data[t]
      if (d.state.peek() === "LOADED" && d.loadFailed.peek())
        return `${esw.name}:${vp}.${t} is LOADED although its last ops->load failed (no ${t === "IB" ? "IB device" : "netdev"} behind it)`
    }
  }
  return undefined
}

const sriovHasFdb = (esw: Esw): string | undefined => {
  const dev = esw.dev
  const n = dev.sriovNumVfs.peek()
  if (dev.isEcpf || n === 0) return undefined
  if (!esw.fdbCreated.peek())
    return `${dev.name}: SR-IOV has ${n} VFs but the E-Switch has no FDB (mode ${esw.mode.peek()}): the VFs are not connected`
  const off = VF_VPORTS.slice(0, n).filter((vp) => !esw.enabled[vp].peek())
  return off.length === 0 ? undefined : `${dev.name}: SR-IOV has ${n} VFs but vport ${off.join(", ")} is not enabled`
}

const hostVfsFollowed = (esw: Esw): string | undefined => {
  const dev = esw.dev
  if (!dev.isEcpf || esw.funcsNb === undefined || esw.mode.peek() !== "OFFLOADS" || !esw.fdbCreated.peek()) return undefined
  if (esw.workQueue.pendingCount() > 0 || esw.workQueue.runningCount() > 0) return undefined
  const host = dev.fw.hostNumVfs.peek()
  const mine = esw.numVfs.peek()
  return host === mine
    ? undefined
    : `${dev.name}: the host has ${host} VFs, the E-Switch ${mine} (esw_funcs.num_vfs): a host VF-count change was lost`
}

const userModePreserved = (esw: Esw): string | undefined => {
  const dev = esw.dev
  const userMode = dev.userMode.peek()
  if (userMode === undefined || !dev.reloadedSinceUserMode.peek()) return undefined
  const mode = esw.mode.peek()
  return mode === userMode
    ? undefined
    : `${dev.name}: the user set ${userMode}; after devlink reload or health recovery the E-Switch is in ${mode} (the profile's default overrode the user's choice)`
}

/** A device with the switchdev profile, no mode set by its user, not in switchdev. */
const switchdevProfileApplied = (esw: Esw): string | undefined => {
  const dev = esw.dev
  if (!dev.profileDefSwitchdev.peek() || dev.userMode.peek() !== undefined) return undefined
  const mode = esw.mode.peek()
  return mode === "OFFLOADS"
    ? undefined
    : `${dev.name}: probed with the switchdev profile, no user mode set, but the E-Switch is in ${mode}`
}

/** The probe text for the devlink user's last requested mode. */
const describeUser = (esw: Esw): string => {
  const dev = esw.dev
  const userMode = dev.userMode.peek()
  return userMode === undefined ? "none" : `mode=${userMode}${dev.reloadedSinceUserMode.peek() ? " reloaded-since" : ""}`
}

/**
 * Registers the named invariants and a state probe per E-Switch for this run.
 *
 * @example
 * ```ts
 * // inside a scenario program, after building the world:
 * // registerInvariants(w, ["registry-transitions", "registration-completeness"])
 * ```
 * @category constructors
 * @since 0.1.0
 */
export const registerInvariants = (w: World, names: ReadonlyArray<InvariantName>): void => {
  for (const dev of w.devs) {
    w.kernel.probe(dev.esw.name, () => describeEsw(dev.esw))
    w.kernel.probe(`${dev.name}.devlink-user`, () => describeUser(dev.esw))
  }
  const first = (f: (esw: Esw) => string | undefined) => {
    for (const dev of w.devs) {
      const r = f(dev.esw)
      if (r !== undefined) return `${r} [${describeEsw(dev.esw)}]`
    }
    return true as const
  }
  for (const name of names) {
    const d = INVARIANTS[name]
    switch (name) {
      case "registry-transitions":
        w.kernel.invariant({ ...d, when: "safety", check: () => w.ghost.registry.peek()[0] ?? true })
        break
      case "no-stale-execution":
        w.kernel.invariant({ ...d, when: "safety", check: () => w.ghost.stale.peek()[0] ?? true })
        break
      case "no-post-teardown-execution":
        w.kernel.invariant({ ...d, when: "safety", check: () => w.ghost.postTeardown.peek()[0] ?? true })
        break
      case "no-loaded-outside-offloads":
        w.kernel.invariant({ ...d, when: "eventual", check: () => first(loadedOutsideOffloads) })
        break
      case "rep-dependencies":
        w.kernel.invariant({ ...d, when: "eventual", check: () => first(dependencies) })
        break
      case "registration-completeness":
        w.kernel.invariant({ ...d, when: "eventual", check: () => first(completeness) })
        break
      case "user-mode-preserved":
        w.kernel.invariant({ ...d, when: "eventual", check: () => first(userModePreserved) })
        break
      case "failed-load-unwound":
        w.kernel.invariant({ ...d, when: "eventual", check: () => first(failedLoadUnwound) })
        break
      case "sriov-has-fdb":
        w.kernel.invariant({ ...d, when: "eventual", check: () => first(sriovHasFdb) })
        break
      case "host-vfs-followed":
        w.kernel.invariant({ ...d, when: "eventual", check: () => first(hostVfsFollowed) })
        break
      case "switchdev-profile-applied":
        w.kernel.invariant({ ...d, when: "eventual", check: () => first(switchdevProfileApplied) })
        break
      case "vport-rules-in-live-fdb":
        w.kernel.invariant({ ...d, when: "safety", check: () => first(vportRulesInLiveFdb) })
        break
      case "lag-needs-switchdev":
        w.kernel.invariant({ ...d, when: "eventual", check: () => lagNeedsSwitchdev(w) ?? true })
        break
      case "lag-membership":
        w.kernel.invariant({ ...d, when: "eventual", check: () => lagMembership(w) ?? true })
        break
    }
  }
}
