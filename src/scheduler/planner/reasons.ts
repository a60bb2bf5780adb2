import { fitsSomeTotal, pinnedCluster } from './filters';
import { compareQueue } from './queue';
import { fits, formatResources, formatUnits, RESOURCE_NAMES } from './resources';
import type { ClusterState, HeldRecord, Item, PlanState } from './state';
import type { Failure, PendingReason, Resources } from './types';

/**
 * Why each deployment is still pending, worded for people. Computed once on the final state, so
 * the words describe what the shell will see, not some intermediate step of the plan.
 *
 * Codes, first match wins:
 * - waiting_for_dependencies: a dependency has not completed;
 * - no_cluster: no allowed cluster is big enough even when empty (or the pin names no cluster);
 * - capacity_held_for_starving: it would fit in free capacity that is held for an older
 *   starving deployment;
 * - queued_behind_higher_priority: a deployment of higher effective priority is also waiting for
 *   capacity on a cluster this one may use, so it would be served first anyway;
 * - insufficient_resources: otherwise, with the closest allowed cluster and what is missing.
 */

const REASON_CANDIDATES = 16;
const HELD_CANDIDATES = 64;

export function buildReasons(
  st: PlanState,
  scanAll: boolean,
): { pending: PendingReason[]; failures: Failure[] } {
  const pending: PendingReason[] = [];
  const failures: Failure[] = [];
  const waiting = st.queueOrder().filter((i) => i.clusterId === null);

  const holdsByCluster = new Map<ClusterState, HeldRecord[]>();
  const holdOf = new Map<Item, HeldRecord>();
  for (const r of st.reservations) {
    let list = holdsByCluster.get(r.cluster);
    if (!list) holdsByCluster.set(r.cluster, (list = []));
    list.push(r);
    holdOf.set(r.item, r);
  }

  // First waiting deployment seen per scope; entries are published one effective priority later,
  // so that only strictly higher effective priority counts as "ahead".
  let aheadUnpinned: Item | null = null;
  const aheadPinned = new Map<number, Item>();
  let aheadAnyPinned: Item | null = null;
  let batch: Item[] = [];
  let batchEff: number | null = null;
  const publish = (): void => {
    for (const h of batch) {
      if (h.pin === null) aheadUnpinned ??= h;
      else {
        aheadAnyPinned ??= h;
        if (!aheadPinned.has(h.pin)) aheadPinned.set(h.pin, h);
      }
    }
    batch = [];
  };

  for (const it of waiting) {
    if (it.dependencyState === 'failed') {
      failures.push({
        deploymentId: it.id,
        code: 'dependency_failed',
        reason:
          it.waitingFor.length > 0
            ? `a dependency failed (not completed: ${it.waitingFor.join(', ')})`
            : 'a dependency failed',
      });
      continue;
    }
    if (it.dependencyState === 'waiting') {
      pending.push({
        deploymentId: it.id,
        code: 'waiting_for_dependencies',
        reason:
          it.waitingFor.length > 0
            ? `waiting for dependencies ${it.waitingFor.join(', ')}`
            : 'waiting for dependencies',
      });
      continue;
    }
    if (batchEff !== it.eff) {
      publish();
      batchEff = it.eff;
    }
    const pinned = pinnedCluster(st, it);
    if (pinned === undefined) {
      pending.push({
        deploymentId: it.id,
        code: 'no_cluster',
        reason: `no cluster: pinned cluster ${it.pin} is not in the snapshot`,
      });
      continue;
    }
    if (!fitsSomeTotal(st, it)) {
      pending.push({
        deploymentId: it.id,
        code: 'no_cluster',
        reason: pinned
          ? `no cluster: pinned cluster ${pinned.id} is too small (needs ${formatResources(it.req)}; total ${formatResources(pinned.total)})`
          : `no cluster: none is big enough for ${formatResources(it.req)}`,
      });
      continue;
    }
    batch.push(it);

    const holder = heldAgainst(st, it, pinned, holdsByCluster);
    if (holder) {
      pending.push({
        deploymentId: it.id,
        code: 'capacity_held_for_starving',
        reason: `capacity held for starving deployment ${holder.item.id} on cluster ${holder.cluster.id}`,
      });
      continue;
    }

    const own = holdOf.get(it);
    const closest = pinned ?? closestCluster(st, it, scanAll);
    const words =
      insufficientWords(it.req, closest.free, closest.id) +
      (own ? ` (capacity held for it on cluster ${own.cluster.id})` : '');
    const ahead =
      it.pin === null
        ? (aheadUnpinned ?? aheadAnyPinned)
        : (aheadUnpinned ?? aheadPinned.get(it.pin));
    if (ahead) {
      pending.push({
        deploymentId: it.id,
        code: 'queued_behind_higher_priority',
        reason: `queued behind higher priority deployment ${ahead.id}; ${words}`,
      });
      continue;
    }
    pending.push({ deploymentId: it.id, code: 'insufficient_resources', reason: words });
  }
  pending.sort((a, b) => a.deploymentId - b.deploymentId);
  failures.sort((a, b) => a.deploymentId - b.deploymentId);
  return { pending, failures };
}

/** The reservation (by somebody ahead in the queue) that keeps it out of free capacity, if any. */
function heldAgainst(
  st: PlanState,
  it: Item,
  pinned: ClusterState | null,
  holdsByCluster: Map<ClusterState, HeldRecord[]>,
): HeldRecord | null {
  if (holdsByCluster.size === 0) return null;
  const check = (c: ClusterState): HeldRecord | null => {
    if (!fits(it.req, c.free)) return null;
    const holds = holdsByCluster.get(c);
    if (!holds) return null;
    return holds.find((h) => h.item !== it && compareQueue(h.item, it) < 0) ?? null;
  };
  if (pinned) return check(pinned);
  for (const i of st.freeIndex().collect(it.req, HELD_CANDIDATES)) {
    const found = check(st.clusters[i]!);
    if (found) return found;
  }
  return null;
}

function closestCluster(st: PlanState, it: Item, scanAll: boolean): ClusterState {
  const candidates = scanAll
    ? st.clusters.filter((c) => fits(it.req, c.total))
    : st
        .totals()
        .collect(it.req, REASON_CANDIDATES)
        .map((i) => st.clusters[i]!);
  let pick = candidates[0]!;
  let best = Infinity;
  const req = it.req;
  for (const c of candidates) {
    const t = c.total;
    const f = c.free;
    const v =
      (t.ram > 0 ? Math.max(0, req.ram - f.ram) / t.ram : 0) +
      (t.cpu > 0 ? Math.max(0, req.cpu - f.cpu) / t.cpu : 0) +
      (t.gpu > 0 ? Math.max(0, req.gpu - f.gpu) / t.gpu : 0);
    if (v < best) {
      best = v;
      pick = c;
    }
  }
  return pick;
}

/** "insufficient cpu: needs 4, 2 free on cluster 3" (several resources joined with "; "). */
export function insufficientWords(req: Resources, free: Resources, clusterId: number): string {
  const parts = RESOURCE_NAMES.filter((n) => req[n] > free[n]).map(
    (n) => `${n}: needs ${formatUnits(req[n])}, ${formatUnits(Math.max(0, free[n]))} free`,
  );
  if (parts.length === 0) return `insufficient capacity on cluster ${clusterId}`;
  return `insufficient ${parts.join('; ')} on cluster ${clusterId}`;
}
