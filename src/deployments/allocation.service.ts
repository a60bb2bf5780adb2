import { Injectable } from '@nestjs/common';
import { conflict, notFound } from '../common/errors/app-error';
import { fromMilli } from '../common/units';
import { Prisma } from '../generated/prisma/client';
import type { Tx } from '../prisma/prisma.service';
import type {
  Actor,
  ClusterTotals,
  LockedCluster,
  MovedDeployment,
  PendingReasonUpdate,
  TerminalStatus,
} from './allocation.types';
import { eventRow, type EventInput } from './ledger-events';

/** The columns a state change returns about the deployment it moved (a constant, never input). */
const MOVED = Prisma.raw(
  'id, organization_id, cluster_id, required_ram_milli, required_cpu_milli, required_gpu_milli',
);

/**
 * The ledger: the code that changes a cluster's availability or moves a deployment into or out of
 * `running` for user actions (contract §4.1); a scheduler pass applies its whole plan with the
 * set-based equivalent in src/scheduler/plan.committer.ts, under the same cluster row locks and
 * the same conditional-update rules. Every method runs inside the caller's transaction; capacity
 * and status changes are single conditional UPDATEs, so a double placement or a double free is
 * impossible even across processes, and the CHECK constraints on `clusters` are the last line.
 *
 * Lock order, everywhere: cluster rows (ascending id) before deployment rows. Cluster rows are
 * locked FOR NO KEY UPDATE, which serialises capacity changes without blocking the foreign-key
 * checks of concurrent inserts.
 */
@Injectable()
export class AllocationService {
  /** Locks the clusters (ascending id, so concurrent lockers never deadlock) and returns them. */
  async lockClusters(tx: Tx, clusterIds: number[]): Promise<LockedCluster[]> {
    if (clusterIds.length === 0) return [];
    return tx.$queryRaw<LockedCluster[]>`
      SELECT id, organization_id, total_ram_milli, total_cpu_milli, total_gpu_milli,
             available_ram_milli, available_cpu_milli, available_gpu_milli
      FROM clusters WHERE id = ANY(${clusterIds}::int[])
      ORDER BY id FOR NO KEY UPDATE`;
  }

  /** The `queued` event of a deployment just inserted (in the same transaction). */
  async recordQueued(tx: Tx, d: MovedDeployment, actor: Actor): Promise<void> {
    await this.event(tx, {
      deployment: d,
      clusterId: d.cluster_id,
      type: 'queued',
      from: null,
      to: 'pending',
      actor,
    });
  }

  /**
   * pending → running on `clusterId`, taking its resources. Returns false (changing nothing) when
   * the deployment is not pending, is pinned elsewhere, or the cluster has no room.
   */
  async place(tx: Tx, deploymentId: number, clusterId: number, actor: Actor): Promise<boolean> {
    await this.lockClusters(tx, [clusterId]);
    const [d] = await tx.$queryRaw<(MovedDeployment & { pinned: boolean; status: string })[]>`
      SELECT id, organization_id, cluster_id, pinned, status::text AS status,
             required_ram_milli, required_cpu_milli, required_gpu_milli
      FROM deployments WHERE id = ${deploymentId} FOR NO KEY UPDATE`;
    if (!d || d.status !== 'pending' || (d.pinned && d.cluster_id !== clusterId)) return false;
    const taken = await tx.$executeRaw`
      UPDATE clusters SET
        available_ram_milli = available_ram_milli - ${d.required_ram_milli},
        available_cpu_milli = available_cpu_milli - ${d.required_cpu_milli},
        available_gpu_milli = available_gpu_milli - ${d.required_gpu_milli}
      WHERE id = ${clusterId} AND organization_id = ${d.organization_id}
        AND available_ram_milli >= ${d.required_ram_milli}
        AND available_cpu_milli >= ${d.required_cpu_milli}
        AND available_gpu_milli >= ${d.required_gpu_milli}`;
    if (taken !== 1) return false;
    const moved = await tx.$executeRaw`
      UPDATE deployments SET status = 'running', cluster_id = ${clusterId}, started_at = now(),
        first_started_at = COALESCE(first_started_at, now()), pending_code = NULL,
        pending_reason = NULL, updated_at = now()
      WHERE id = ${deploymentId} AND status = 'pending'`;
    // The row is locked and was pending: anything else means the ledger is broken; roll back.
    if (moved !== 1) throw new Error(`ledger: deployment ${deploymentId} changed under its lock`);
    await this.event(tx, {
      deployment: d,
      clusterId,
      type: 'placed',
      from: 'pending',
      to: 'running',
      actor,
      reason: `placed on cluster ${clusterId}`,
    });
    return true;
  }

  /**
   * running → completed | failed | cancelled, freeing its resources exactly once. Returns the
   * deployment, or null (changing nothing) when it was not running.
   */
  async release(
    tx: Tx,
    deploymentId: number,
    to: TerminalStatus,
    actor: Actor,
    reason?: string,
  ): Promise<MovedDeployment | null> {
    const failureReason = to === 'failed' ? (reason ?? 'failed') : null;
    return this.leaveRunning(tx, deploymentId, async (clusterId) => {
      const [d] = await tx.$queryRaw<MovedDeployment[]>`
        UPDATE deployments SET status = ${to}::deployment_status, completed_at = now(),
          failure_reason = ${failureReason}, updated_at = now()
        WHERE id = ${deploymentId} AND status = 'running' AND cluster_id = ${clusterId}
        RETURNING ${MOVED}`;
      if (!d) return null;
      await this.free(tx, clusterId, d);
      const type = to;
      await this.event(tx, { deployment: d, clusterId, type, from: 'running', to, actor, reason });
      return d;
    });
  }

  /**
   * running → pending for a higher-priority deployment: frees its resources, keeps created_at
   * (its place in line), counts the preemption; unpinned work forgets its cluster.
   */
  async preempt(
    tx: Tx,
    victimId: number,
    forDeploymentId: number,
    actor: Actor = { kind: 'scheduler' },
  ): Promise<boolean> {
    const reason = `preempted by deployment ${forDeploymentId}`;
    const done = await this.leaveRunning(tx, victimId, async (clusterId) => {
      const [d] = await tx.$queryRaw<MovedDeployment[]>`
        UPDATE deployments SET status = 'pending',
          cluster_id = CASE WHEN pinned THEN cluster_id ELSE NULL END, started_at = NULL,
          preemption_count = preemption_count + 1, pending_code = 'preempted',
          pending_reason = ${reason}, updated_at = now()
        WHERE id = ${victimId} AND status = 'running' AND cluster_id = ${clusterId}
        RETURNING ${MOVED}`;
      if (!d) return null;
      await this.free(tx, clusterId, d);
      await this.event(tx, {
        deployment: d,
        clusterId,
        type: 'preempted',
        from: 'running',
        to: 'pending',
        actor,
        code: 'preempted',
        reason,
      });
      return d;
    });
    return done !== null;
  }

  /** pending → cancelled (nothing to free). Returns null when it was not pending. */
  async cancelPending(
    tx: Tx,
    deploymentId: number,
    actor: Actor,
    reason?: string,
  ): Promise<MovedDeployment | null> {
    const [d] = await tx.$queryRaw<MovedDeployment[]>`
      UPDATE deployments SET status = 'cancelled', completed_at = now(), pending_code = NULL,
        pending_reason = NULL, updated_at = now()
      WHERE id = ${deploymentId} AND status = 'pending'
      RETURNING ${MOVED}`;
    if (!d) return null;
    await this.event(tx, {
      deployment: d,
      clusterId: d.cluster_id,
      type: 'cancelled',
      from: 'pending',
      to: 'cancelled',
      actor,
      reason,
    });
    return d;
  }

  /** pending → failed for each id still pending (nothing to free). Returns the ids failed. */
  async failPending(
    tx: Tx,
    ids: number[],
    actor: Actor,
    code: string,
    reason: string,
  ): Promise<number[]> {
    if (ids.length === 0) return [];
    const rows = await tx.$queryRaw<MovedDeployment[]>`
      UPDATE deployments SET status = 'failed', failure_reason = ${code}, completed_at = now(),
        pending_code = NULL, pending_reason = NULL, updated_at = now()
      WHERE id = ANY(${ids}::int[]) AND status = 'pending'
      RETURNING ${MOVED}`;
    await tx.deploymentEvent.createMany({
      data: rows.map((d) =>
        eventRow({
          deployment: d,
          clusterId: d.cluster_id,
          type: 'failed',
          from: 'pending',
          to: 'failed',
          actor,
          code,
          reason,
        }),
      ),
    });
    return rows.map((d) => d.id);
  }

  /**
   * Fails, in this transaction, every pending deployment that depends on `rootId` directly or
   * transitively (contract §4.6). Returns the ids failed.
   */
  async failDependants(tx: Tx, rootId: number, actor: Actor): Promise<number[]> {
    const [root] = await tx.$queryRaw<{ status: string }[]>`
      SELECT status::text AS status FROM deployments WHERE id = ${rootId}`;
    const rows = await tx.$queryRaw<{ id: number }[]>`
      WITH RECURSIVE dependants(id) AS (
        SELECT deployment_id FROM deployment_dependencies WHERE depends_on_id = ${rootId}
        UNION
        SELECT dd.deployment_id FROM deployment_dependencies dd
        JOIN dependants x ON dd.depends_on_id = x.id
      )
      SELECT d.id FROM deployments d JOIN dependants x ON x.id = d.id
      WHERE d.status = 'pending' ORDER BY d.id`;
    const why = `dependency ${rootId} ${root?.status ?? 'failed'}`;
    return this.failPending(
      tx,
      rows.map((r) => r.id),
      actor,
      'dependency_failed',
      why,
    );
  }

  /** Records why pending deployments wait; rows whose reason is unchanged are left alone. */
  async setPendingReasons(tx: Tx, updates: PendingReasonUpdate[]): Promise<number> {
    if (updates.length === 0) return 0;
    return tx.$executeRaw`
      UPDATE deployments d SET pending_code = v.code, pending_reason = v.reason,
        updated_at = now()
      FROM (SELECT unnest(${updates.map((u) => u.id)}::int[]) AS id,
                   unnest(${updates.map((u) => u.code)}::text[]) AS code,
                   unnest(${updates.map((u) => u.reason)}::text[]) AS reason) v
      WHERE d.id = v.id AND d.status = 'pending'
        AND (d.pending_code IS DISTINCT FROM v.code OR d.pending_reason IS DISTINCT FROM v.reason)`;
  }

  /**
   * Sets new totals under the row lock: available moves by the same amount as total, so what is
   * allocated stays allocated. Shrinking below the allocated amount → 409.
   */
  async resizeCluster(tx: Tx, clusterId: number, totals: ClusterTotals): Promise<void> {
    const [c] = await tx.$queryRaw<LockedCluster[]>`
      SELECT id, organization_id, total_ram_milli, total_cpu_milli, total_gpu_milli,
             available_ram_milli, available_cpu_milli, available_gpu_milli
      FROM clusters WHERE id = ${clusterId} FOR UPDATE`;
    if (!c) throw notFound('cluster');
    const ram = totals.ram ?? c.total_ram_milli;
    const cpu = totals.cpu ?? c.total_cpu_milli;
    const gpu = totals.gpu ?? c.total_gpu_milli;
    const short = (
      [
        ['ram', ram, c.total_ram_milli - c.available_ram_milli],
        ['cpu', cpu, c.total_cpu_milli - c.available_cpu_milli],
        ['gpu', gpu, c.total_gpu_milli - c.available_gpu_milli],
      ] as const
    )
      .filter(([, total, allocated]) => total < allocated)
      .map(
        ([r, total, allocated]) =>
          `${r}: ${fromMilli(allocated)} allocated, new total ${fromMilli(total)}`,
      );
    if (short.length > 0) {
      throw conflict(
        'cluster/shrink_below_allocated',
        `Cannot shrink below what running deployments hold (${short.join('; ')})`,
      );
    }
    const changed = await tx.$executeRaw`
      UPDATE clusters SET
        available_ram_milli = available_ram_milli + (${ram}::int - total_ram_milli),
        available_cpu_milli = available_cpu_milli + (${cpu}::int - total_cpu_milli),
        available_gpu_milli = available_gpu_milli + (${gpu}::int - total_gpu_milli),
        total_ram_milli = ${ram}, total_cpu_milli = ${cpu}, total_gpu_milli = ${gpu},
        updated_at = now()
      WHERE id = ${clusterId}
        AND available_ram_milli + (${ram}::int - total_ram_milli) >= 0
        AND available_cpu_milli + (${cpu}::int - total_cpu_milli) >= 0
        AND available_gpu_milli + (${gpu}::int - total_gpu_milli) >= 0`;
    if (changed !== 1) throw new Error(`ledger: cluster ${clusterId} changed under its lock`);
  }

  /**
   * Moves a running deployment out of `running` with its cluster locked first (the lock order).
   * Retries when it was moved to another cluster between the read and the lock.
   */
  private async leaveRunning<T>(
    tx: Tx,
    deploymentId: number,
    move: (clusterId: number) => Promise<T | null>,
  ): Promise<T | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const [cur] = await tx.$queryRaw<{ cluster_id: number | null; status: string }[]>`
        SELECT cluster_id, status::text AS status FROM deployments WHERE id = ${deploymentId}`;
      if (!cur || cur.status !== 'running' || cur.cluster_id === null) return null;
      await this.lockClusters(tx, [cur.cluster_id]);
      const moved = await move(cur.cluster_id);
      if (moved !== null) return moved;
    }
    return null;
  }

  private async free(tx: Tx, clusterId: number, d: MovedDeployment): Promise<void> {
    const freed = await tx.$executeRaw`
      UPDATE clusters SET
        available_ram_milli = available_ram_milli + ${d.required_ram_milli},
        available_cpu_milli = available_cpu_milli + ${d.required_cpu_milli},
        available_gpu_milli = available_gpu_milli + ${d.required_gpu_milli}
      WHERE id = ${clusterId}
        AND available_ram_milli + ${d.required_ram_milli} <= total_ram_milli
        AND available_cpu_milli + ${d.required_cpu_milli} <= total_cpu_milli
        AND available_gpu_milli + ${d.required_gpu_milli} <= total_gpu_milli`;
    // A running deployment always holds its requirements; failing this means the ledger is broken.
    if (freed !== 1)
      throw new Error(`ledger: freeing deployment ${d.id} overflows cluster ${clusterId}`);
  }

  private async event(tx: Tx, e: EventInput): Promise<void> {
    await tx.deploymentEvent.create({ data: eventRow(e) });
  }
}
