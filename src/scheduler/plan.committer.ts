import type { Tx } from '../prisma/prisma.service';
import type { Plan, Resources, Snapshot } from './planner/types';

export class PlanConflictError extends Error {}

interface EventRow {
  deploymentId: number;
  clusterId: number | null;
  type: 'placed' | 'preempted' | 'failed';
  from: 'running' | 'pending';
  to: 'running' | 'pending' | 'failed';
  code: string | null;
  reason: string | null;
}

/**
 * Applies a plan inside the pass transaction with set-based statements (a few round trips per
 * pass, whatever its size). Every status change is conditional on the expected current status
 * and the row counts are verified, and the clusters' CHECK constraints (0 ≤ available ≤ total)
 * stand behind the arithmetic: a plan that no longer matches the data rolls the whole pass back.
 */
export async function commitPlan(
  tx: Tx,
  organizationId: number,
  snapshot: Snapshot,
  plan: Plan,
): Promise<void> {
  const req = new Map<number, Resources>();
  for (const r of snapshot.running) req.set(r.id, r.req);
  for (const p of snapshot.pending) req.set(p.id, p.req);
  const priority = new Map<number, number>();
  for (const r of snapshot.running) priority.set(r.id, r.priority);
  for (const p of snapshot.pending) priority.set(p.id, p.priority);

  const delta = new Map<number, Resources>();
  const bump = (clusterId: number, r: Resources, sign: 1 | -1): void => {
    const d = delta.get(clusterId) ?? { ram: 0, cpu: 0, gpu: 0 };
    d.ram += sign * r.ram;
    d.cpu += sign * r.cpu;
    d.gpu += sign * r.gpu;
    delta.set(clusterId, d);
  };
  const events: EventRow[] = [];

  if (plan.preemptions.length > 0) {
    const ids = plan.preemptions.map((p) => p.victimId);
    const clusterIds = plan.preemptions.map((p) => p.clusterId);
    const changed = await tx.$executeRaw`
      UPDATE deployments d
         SET status = 'pending',
             cluster_id = CASE WHEN d.pinned THEN d.cluster_id ELSE NULL END,
             preemption_count = d.preemption_count + 1,
             started_at = NULL,
             pending_code = 'preempted',
             pending_reason = 'preempted; waiting to be placed again',
             updated_at = now()
        FROM unnest(${ids}::int[], ${clusterIds}::int[]) AS v(id, cluster_id)
       WHERE d.id = v.id AND d.status = 'running' AND d.cluster_id = v.cluster_id
         AND d.organization_id = ${organizationId}`;
    if (changed !== ids.length)
      throw new PlanConflictError('a preemption victim changed under the pass');
    for (const p of plan.preemptions) {
      bump(p.clusterId, mustGet(req, p.victimId), 1);
      events.push({
        deploymentId: p.victimId,
        clusterId: p.clusterId,
        type: 'preempted',
        from: 'running',
        to: 'pending',
        code: 'preempted',
        reason: `preempted by deployment ${p.forDeploymentId} (priority ${priority.get(p.forDeploymentId) ?? '?'})`,
      });
    }
  }

  if (plan.placements.length > 0) {
    const ids = plan.placements.map((p) => p.deploymentId);
    const clusterIds = plan.placements.map((p) => p.clusterId);
    const changed = await tx.$executeRaw`
      UPDATE deployments d
         SET status = 'running',
             cluster_id = v.cluster_id,
             started_at = now(),
             first_started_at = COALESCE(d.first_started_at, now()),
             pending_code = NULL,
             pending_reason = NULL,
             updated_at = now()
        FROM unnest(${ids}::int[], ${clusterIds}::int[]) AS v(id, cluster_id)
       WHERE d.id = v.id AND d.status = 'pending' AND d.organization_id = ${organizationId}
         AND (NOT d.pinned OR d.cluster_id = v.cluster_id)`;
    if (changed !== ids.length)
      throw new PlanConflictError('a placed deployment changed under the pass');
    for (const p of plan.placements) {
      bump(p.clusterId, mustGet(req, p.deploymentId), -1);
      events.push({
        deploymentId: p.deploymentId,
        clusterId: p.clusterId,
        type: 'placed',
        from: 'pending',
        to: 'running',
        code: null,
        reason: `placed on cluster ${p.clusterId}`,
      });
    }
  }

  if (delta.size > 0) {
    const cids = [...delta.keys()];
    const ram = cids.map((c) => delta.get(c)!.ram);
    const cpu = cids.map((c) => delta.get(c)!.cpu);
    const gpu = cids.map((c) => delta.get(c)!.gpu);
    const changed = await tx.$executeRaw`
      UPDATE clusters c
         SET available_ram_milli = c.available_ram_milli + v.ram,
             available_cpu_milli = c.available_cpu_milli + v.cpu,
             available_gpu_milli = c.available_gpu_milli + v.gpu,
             updated_at = now()
        FROM unnest(${cids}::int[], ${ram}::int[], ${cpu}::int[], ${gpu}::int[]) AS v(id, ram, cpu, gpu)
       WHERE c.id = v.id AND c.organization_id = ${organizationId}`;
    if (changed !== cids.length) throw new PlanConflictError('a cluster changed under the pass');
  }

  if (plan.failures.length > 0) {
    const ids = plan.failures.map((f) => f.deploymentId);
    const failed = await tx.$queryRaw<{ id: number; cluster_id: number | null }[]>`
      WITH RECURSIVE doomed AS (
        SELECT unnest(${ids}::int[]) AS id
        UNION
        SELECT dd.deployment_id FROM deployment_dependencies dd JOIN doomed ON dd.depends_on_id = doomed.id
      )
      UPDATE deployments d
         SET status = 'failed', failure_reason = 'dependency_failed', completed_at = now(),
             pending_code = NULL, pending_reason = NULL, updated_at = now()
        FROM doomed
       WHERE d.id = doomed.id AND d.status = 'pending'
      RETURNING d.id, d.cluster_id`;
    for (const f of failed) {
      events.push({
        deploymentId: f.id,
        clusterId: f.cluster_id,
        type: 'failed',
        from: 'pending',
        to: 'failed',
        code: 'dependency_failed',
        reason: 'a dependency failed or was cancelled',
      });
    }
  }

  if (events.length > 0) {
    await tx.$executeRaw`
      INSERT INTO deployment_events
        (deployment_id, organization_id, cluster_id, type, from_status, to_status, actor, code, reason)
      SELECT v.deployment_id, ${organizationId}, v.cluster_id, v.type, v.from_status::deployment_status,
             v.to_status::deployment_status, 'scheduler', v.code, v.reason
        FROM unnest(${events.map((e) => e.deploymentId)}::int[], ${events.map((e) => e.clusterId)}::int[],
                    ${events.map((e) => e.type)}::text[], ${events.map((e) => e.from)}::text[],
                    ${events.map((e) => e.to)}::text[], ${events.map((e) => e.code)}::text[],
                    ${events.map((e) => e.reason)}::text[])
          AS v(deployment_id, cluster_id, type, from_status, to_status, code, reason)`;
  }

  const placed = new Set(plan.placements.map((p) => p.deploymentId));
  const reasons = plan.pending.filter((r) => !placed.has(r.deploymentId));
  if (reasons.length > 0) {
    // Only rows whose reason changed are written: an unchanged pass writes nothing.
    await tx.$executeRaw`
      UPDATE deployments d
         SET pending_code = v.code, pending_reason = v.reason, updated_at = now()
        FROM unnest(${reasons.map((r) => r.deploymentId)}::int[], ${reasons.map((r) => r.code)}::text[],
                    ${reasons.map((r) => r.reason)}::text[]) AS v(id, code, reason)
       WHERE d.id = v.id AND d.status = 'pending'
         AND (d.pending_code IS DISTINCT FROM v.code OR d.pending_reason IS DISTINCT FROM v.reason)`;
  }
}

function mustGet<T>(m: Map<number, T>, id: number): T {
  const v = m.get(id);
  if (v === undefined) throw new PlanConflictError(`deployment ${id} is not in the snapshot`);
  return v;
}
