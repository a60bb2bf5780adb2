import { addInto, copy, subInto } from './resources';
import type { PendingSnapshot, Plan, RunningSnapshot, Snapshot } from './types';

/**
 * The state after the shell carries out a plan, as the next snapshot would show it (same `now`):
 * victims go back to pending with their creation time (their place in line) and their pin, placed
 * deployments run from `now`, failed ones leave the queue. A victim that is also placed runs on its
 * new cluster. Pure: the input is not modified.
 */
export function applyPlan(snapshot: Snapshot, plan: Plan): Snapshot {
  const evicted = new Set(plan.preemptions.map((p) => p.victimId));
  const placedOn = new Map(plan.placements.map((p) => [p.deploymentId, p.clusterId]));
  const failed = new Set(plan.failures.map((f) => f.deploymentId));

  const running: RunningSnapshot[] = [];
  const pending: PendingSnapshot[] = [];
  for (const r of snapshot.running) {
    if (!evicted.has(r.id)) {
      running.push({ ...r });
      continue;
    }
    const createdAt = r.createdAt ?? r.startedAt;
    const to = placedOn.get(r.id);
    if (to !== undefined) {
      running.push({ ...r, clusterId: to, startedAt: snapshot.now, createdAt });
      continue;
    }
    pending.push({
      id: r.id,
      priority: r.priority,
      req: r.req,
      createdAt,
      pinnedClusterId: r.pinned ? r.clusterId : null,
      dependencyState: 'ready',
      waitingFor: [],
    });
  }
  for (const p of snapshot.pending) {
    if (failed.has(p.id)) continue;
    const to = placedOn.get(p.id);
    if (to === undefined) {
      pending.push({ ...p });
      continue;
    }
    running.push({
      id: p.id,
      clusterId: to,
      priority: p.priority,
      req: p.req,
      startedAt: snapshot.now,
      pinned: p.pinnedClusterId !== null,
      createdAt: p.createdAt,
    });
  }

  const clusters = snapshot.clusters.map((c) => ({
    id: c.id,
    total: copy(c.total),
    available: copy(c.total),
  }));
  const byId = new Map(clusters.map((c) => [c.id, c]));
  for (const r of running) {
    const c = byId.get(r.clusterId);
    if (c) subInto(c.available, r.req);
  }
  // Keep whatever the snapshot could not explain (running work on clusters it does not list).
  for (const c of snapshot.clusters) {
    const sum = { ram: 0, cpu: 0, gpu: 0 };
    for (const r of snapshot.running) if (r.clusterId === c.id) addInto(sum, r.req);
    const unexplained = {
      ram: c.total.ram - sum.ram - c.available.ram,
      cpu: c.total.cpu - sum.cpu - c.available.cpu,
      gpu: c.total.gpu - sum.gpu - c.available.gpu,
    };
    subInto(byId.get(c.id)!.available, unexplained);
  }
  return { clusters, running, pending, now: snapshot.now };
}
