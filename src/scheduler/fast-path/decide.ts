import { fits } from '../planner/resources';
import { scarcityWeights, score } from '../planner/scores';
import type { ClusterSnapshot, PendingSnapshot, Resources } from '../planner/types';

/**
 * The create fast path's decision, pure. A create places its deployment at once, without a full
 * organisation pass, only when that pass would provably make the same decision for it:
 *
 * - it is ready (no dependencies) and nothing else pending in the organisation is at an equal
 *   or higher effective priority, so the pass would take it first, in a class of its own;
 * - no other ready pending deployment can run in this pass (`otherReadyMayRun`): a lower class may
 *   otherwise move work placed earlier in the same plan to make room for itself (improve.ts), so
 *   the pass could end with the new deployment elsewhere (the property test found exactly that).
 *   Ready work that fits no allowed cluster's free room (before the new deployment takes any) and
 *   may evict nobody (its base priority is not above the organisation's lowest running priority)
 *   places, moves and evicts nothing in any pass: no eviction ever frees room, placements only
 *   take room, and moving the new deployment away leaves at most the room it did not fit before;
 * - nothing pending is starving, so no capacity is held when it is considered;
 * - it fits the free room of an allowed cluster, so the pass would place it without evicting;
 * - the snapshot is too big for the planner's small-instance portfolio (more than 16 clusters or
 *   400 deployments) and has at most 64 clusters, so the pass runs the `scarce` scorer over
 *   every cluster, as here;
 *
 * and then it picks the cluster the planner's scorer picks: the lowest `scarce` score with the
 * planner's scarcity weights (demand of every ready pending deployment against the free capacity),
 * ties to the earlier cluster in the planner's index order (clusters without GPUs first, then by
 * id). fast-path.spec.ts checks on random snapshots that plan() agrees.
 * Small organisations take the full pass, which is cheap for them.
 */

/** Mirrors plan.ts (PORTFOLIO_MAX_*) and engine.ts (SCAN_ALL_CLUSTERS). */
export const PORTFOLIO_MAX_CLUSTERS = 16;
export const PORTFOLIO_MAX_DEPLOYMENTS = 400;
export const MAX_SCAN_CLUSTERS = 64;

export interface FastPathFacts {
  clusters: number;
  /** Running + pending deployments of the organisation (the new one included). */
  deployments: number;
  /** Another pending deployment at an equal or higher effective priority. */
  equalOrHigherWaiting: boolean;
  /** Another ready pending deployment that may run in this pass (`otherReadyMayRun`). */
  otherReadyMayRun: boolean;
  anyStarving: boolean;
  /** The new deployment has dependencies (not ready, or not known to be). */
  hasDependencies: boolean;
}

export function fastPathEligible(f: FastPathFacts): boolean {
  const small = f.clusters <= PORTFOLIO_MAX_CLUSTERS && f.deployments <= PORTFOLIO_MAX_DEPLOYMENTS;
  return (
    !small &&
    f.clusters <= MAX_SCAN_CLUSTERS &&
    !f.equalOrHigherWaiting &&
    !f.otherReadyMayRun &&
    !f.anyStarving &&
    !f.hasDependencies
  );
}

/** What the planner weighs against the free capacity: every ready pending deployment's needs. */
export function readyDemand(pending: readonly PendingSnapshot[]): Resources {
  const d = { ram: 0, cpu: 0, gpu: 0 };
  for (const p of pending) {
    if (p.dependencyState !== 'ready') continue;
    d.ram += p.req.ram;
    d.cpu += p.req.cpu;
    d.gpu += p.req.gpu;
  }
  return d;
}

/**
 * The cluster the pass would place the deployment on, or null when it fits no allowed cluster's
 * free room (then only a full pass can decide).
 */
export function fastPathCluster(
  clusters: readonly ClusterSnapshot[],
  req: Resources,
  pinnedClusterId: number | null,
  demand: Resources,
): number | null {
  const supply = { ram: 0, cpu: 0, gpu: 0 };
  for (const c of clusters) {
    supply.ram += c.available.ram;
    supply.cpu += c.available.cpu;
    supply.gpu += c.available.gpu;
  }
  const weights = scarcityWeights(demand, supply);
  const ordered = [...clusters].sort((a, b) => {
    const ga = a.total.gpu > 0 ? 1 : 0;
    const gb = b.total.gpu > 0 ? 1 : 0;
    return ga !== gb ? ga - gb : a.id - b.id;
  });
  let pick: number | null = null;
  let best = Infinity;
  for (const c of ordered) {
    if (pinnedClusterId !== null && c.id !== pinnedClusterId) continue;
    if (!fits(req, c.available)) continue;
    const s = score('scarce', req, c.available, c.total, weights);
    if (s < best) {
      best = s;
      pick = c.id;
    }
  }
  return pick;
}

/**
 * Whether another ready pending deployment could be placed, move a placement or evict anybody in
 * a pass: it fits the free room of a cluster it may use (its pin, or any), or running work below
 * its base priority exists (it may then evict). `lowestRunningPriority` is the organisation's
 * lowest running priority (null: nothing runs), so the test is conservative: work that could evict
 * only on a cluster it may not use still counts. create-fast-path.ts computes the same in SQL.
 */
export function otherReadyMayRun(
  others: readonly PendingSnapshot[],
  clusters: readonly ClusterSnapshot[],
  lowestRunningPriority: number | null,
): boolean {
  return others.some(
    (p) =>
      p.dependencyState === 'ready' &&
      ((lowestRunningPriority !== null && p.priority > lowestRunningPriority) ||
        clusters.some(
          (c) =>
            (p.pinnedClusterId === null || c.id === p.pinnedClusterId) && fits(p.req, c.available),
        )),
  );
}
