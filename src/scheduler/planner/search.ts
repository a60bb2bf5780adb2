import { fitsSomeTotal } from './filters';
import { fits } from './resources';
import type { ClusterState, Item, PlanState } from './state';

/**
 * Bounded improvement search above the look-ahead's size (issue 12: "a bounded improvement search
 * beyond … seeded by today's plan"), run on the final state of the plan the engine chose.
 *
 * Move-and-insert: a ready deployment P that still waits takes a cluster c where it does not fit
 * because a deployment Q placed earlier in this plan sits there; Q moves to another cluster's free
 * room and P takes its place. Every accepted step adds one running deployment and removes none, so
 * no class's count ever goes down (lexicographic acceptance is trivially strict), and nothing is
 * evicted that the plan did not already evict (no step evicts).
 *
 * A step is taken only when it keeps the plan a fixpoint ("apply, plan again → nothing"), checked
 * locally instead of re-planning (a second plan would double the cost on large snapshots):
 *  - Q is no larger than P in any resource and of no higher base priority. Then on c, free
 *    capacity and every preemption potential (free + running work below a level) shrink or stay:
 *    for levels up to Q's the change is Q − P ≤ 0, between Q's and P's it is −P, above both 0.
 *    On Q's new cluster both only shrink. Every other cluster is unchanged. What could not fit or
 *    preempt anywhere before still cannot, so the next pass finds nothing to do.
 *  - Q may be moved at all: it was not running on c before this plan, it evicted nobody, and it is
 *    not pinned. Each eviction V from c must stay necessary, judged by what ends up on c: V must
 *    not fit back beside the work above it there and the work at or below it that stayed (or is of
 *    its priority and ahead of it in line). Q is a newcomer, so it counts in that load only if it
 *    is at or above V's priority; then P, at or above Q's priority and at least as large, counts
 *    too and the load does not shrink — unless P, Q and V are all of one priority (P might be
 *    behind V in line), which is the one case refused. (`isMovable` forbids every move off a
 *    cluster with evictions; on large busy snapshots nearly every cluster has one.)
 *    P, if it is a victim of this plan, never goes back to its own cluster (that would undo its
 *    eviction).
 *  - No capacity is held for starving work (holds depend on queue positions the steps change).
 *
 * Cost: deterministic work units (waiting deployments looked at, clusters and their running work
 * scanned), like the rest of the planner; see plan.ts for the budget and the speed argument.
 */

/** Clusters tried per waiting deployment (from the index: those where it could fit at all). */
const CANDIDATE_CLUSTERS = 8;

export interface SearchResult {
  /** Waiting deployments the search placed. */
  placed: number;
  /** Work units spent. */
  work: number;
}

export function improvePlacements(st: PlanState, workLimit: number): SearchResult {
  const result: SearchResult = { placed: 0, work: 0 };
  if (st.reservations.length > 0 || st.clusters.length === 0) return result;
  const nLevels = st.levels.length;
  // Every step moves a deployment placed in this plan into free room: if not even the componentwise
  // smallest of them fits anywhere, no step exists (the common case on a full system).
  const smallest = { ram: Infinity, cpu: Infinity, gpu: Infinity };
  for (const it of st.items) {
    if (it.clusterId === null || it.clusterId === it.initialClusterId || it.pin !== null) continue;
    smallest.ram = Math.min(smallest.ram, it.req.ram);
    smallest.cpu = Math.min(smallest.cpu, it.req.cpu);
    smallest.gpu = Math.min(smallest.gpu, it.req.gpu);
  }
  result.work += 1 + (st.items.length >> 6);
  if (smallest.ram === Infinity || st.fittingClusters(0, smallest, 1).length === 0) return result;
  // Per cluster, the base priorities this plan evicted from it.
  const victimPrios = new Array<Set<number> | undefined>(st.clusters.length);
  for (const it of st.items) {
    const home = it.initialClusterId;
    if (home === null || it.clusterId === home) continue;
    const c = st.clusterById.get(home);
    if (c) (victimPrios[c.index] ??= new Set()).add(it.priority);
  }
  for (const p of st.queueOrder()) {
    if (result.work >= workLimit) break;
    result.work++;
    if (p.clusterId !== null || p.dependencyState !== 'ready') continue;
    if (!fitsSomeTotal(st, p)) continue;
    // Clusters where P fits once every deployment of its base priority or lower is gone: a
    // superset of those where moving one such deployment makes room.
    const above = p.level + 1;
    let cands: ClusterState[];
    if (p.pin !== null) {
      const c = st.clusterById.get(p.pin);
      cands = c ? [c] : [];
    } else if (above < nLevels) {
      cands = st.fittingClusters(above, p.req, CANDIDATE_CLUSTERS);
    } else {
      cands = st.clusters.filter((c) => fits(p.req, c.total)).slice(0, CANDIDATE_CLUSTERS);
    }
    result.work += 1 + cands.length;
    for (const c of cands) {
      if (c.id === p.initialClusterId) continue;
      const samePrioVictim = victimPrios[c.index]?.has(p.priority) ?? false;
      const q = movableFor(st, p, c, samePrioVictim, result, workLimit);
      if (!q) continue;
      const to = destination(st, q, c);
      result.work++;
      if (!to) continue;
      st.move(q, to);
      st.place(p, c);
      result.placed++;
      break;
    }
  }
  return result;
}

/** A deployment on `c` whose place P could take (see the file comment for the conditions). */
function movableFor(
  st: PlanState,
  p: Item,
  c: ClusterState,
  samePrioVictim: boolean,
  result: SearchResult,
  workLimit: number,
): Item | null {
  const avail = st.avail(c);
  const need = {
    ram: p.req.ram - avail.ram,
    cpu: p.req.cpu - avail.cpu,
    gpu: p.req.gpu - avail.gpu,
  };
  for (const q of c.running) {
    if (++result.work > workLimit) return null;
    if (q.priority > p.priority || q.pin !== null) continue;
    if (samePrioVictim && q.priority === p.priority) continue;
    const r = q.req;
    if (r.ram > p.req.ram || r.cpu > p.req.cpu || r.gpu > p.req.gpu) continue;
    if (r.ram < need.ram || r.cpu < need.cpu || r.gpu < need.gpu) continue;
    // Placed by this plan (not where it was running) and evicted nobody.
    if (!st.isMovable(q, true)) continue;
    return q;
  }
  return null;
}

/** Another cluster whose free room (outside holds) takes Q; the first in index order. */
function destination(st: PlanState, q: Item, from: ClusterState): ClusterState | null {
  for (const c of st.fittingClusters(0, q.req, 2)) if (c !== from) return c;
  return null;
}
