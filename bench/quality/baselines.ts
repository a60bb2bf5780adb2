/**
 * Baselines without preemption, producing a `Plan` like the planner does:
 *  - fifoFirstFit: pending deployments by createdAt (then id), each on the first cluster
 *    (snapshot order) it may run on that has room; priority ignored.
 *  - priorityFirstFit: the same but by priority (highest first), then createdAt, then id.
 * Running deployments are never touched; deployments with unready dependencies stay pending
 * (failed ones are reported as failures).
 */
import type {
  PendingReason,
  PendingSnapshot,
  Plan,
  Resources,
  Snapshot,
} from '../../src/scheduler/planner/types';

function firstFit(s: Snapshot, order: PendingSnapshot[]): Plan {
  const free = new Map<number, Resources>(s.clusters.map((c) => [c.id, { ...c.available }]));
  const plan: Plan = { placements: [], preemptions: [], pending: [], failures: [] };
  const pendingReason = (p: PendingSnapshot, code: PendingReason['code'], reason: string): void => {
    plan.pending.push({ deploymentId: p.id, code, reason });
  };
  for (const p of order) {
    if (p.dependencyState === 'failed') {
      plan.failures.push({
        deploymentId: p.id,
        code: 'dependency_failed',
        reason: 'a dependency failed',
      });
      continue;
    }
    if (p.dependencyState === 'waiting') {
      pendingReason(p, 'waiting_for_dependencies', `waiting for ${p.waitingFor.join(', ')}`);
      continue;
    }
    const candidates =
      p.pinnedClusterId === null
        ? s.clusters
        : s.clusters.filter((c) => c.id === p.pinnedClusterId);
    if (candidates.length === 0) {
      pendingReason(p, 'no_cluster', `pinned cluster ${p.pinnedClusterId} is not in the snapshot`);
      continue;
    }
    const target = candidates.find((c) => {
      const f = free.get(c.id);
      return f !== undefined && p.req.cpu <= f.cpu && p.req.ram <= f.ram && p.req.gpu <= f.gpu;
    });
    const f = target ? free.get(target.id) : undefined;
    if (!target || !f) {
      pendingReason(p, 'insufficient_resources', 'no cluster has room');
      continue;
    }
    f.cpu -= p.req.cpu;
    f.ram -= p.req.ram;
    f.gpu -= p.req.gpu;
    plan.placements.push({ deploymentId: p.id, clusterId: target.id });
  }
  return plan;
}

export function fifoFirstFit(s: Snapshot): Plan {
  const order = [...s.pending].sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
  return firstFit(s, order);
}

export function priorityFirstFit(s: Snapshot): Plan {
  const order = [...s.pending].sort(
    (a, b) => b.priority - a.priority || a.createdAt - b.createdAt || a.id - b.id,
  );
  return firstFit(s, order);
}
