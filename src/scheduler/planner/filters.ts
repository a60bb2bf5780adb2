import { fits } from './resources';
import type { ClusterState, Item, PlanState } from './state';

/**
 * Filters, in the order the scheduling framework runs them: dependencies ready, a cluster the
 * deployment may use (its pin, or any), and capacity (free, or reachable by preemption).
 */

export function isReady(item: Item): boolean {
  return item.dependencyState === 'ready';
}

/** The pinned cluster, `null` for "any cluster", or `undefined` when the pin names no cluster. */
export function pinnedCluster(st: PlanState, item: Item): ClusterState | null | undefined {
  if (item.pin === null) return null;
  return st.clusterById.get(item.pin);
}

/** Could it run on some allowed cluster if that cluster were empty? */
export function fitsSomeTotal(st: PlanState, item: Item): boolean {
  const pinned = pinnedCluster(st, item);
  if (pinned === undefined) return false;
  if (pinned) return fits(item.req, pinned.total);
  return st.totals().anyFits(item.req);
}
