import { Prisma } from '../generated/prisma/client';
import type { Tx } from '../prisma/prisma.service';
import type { PendingSnapshot, RunningSnapshot, Snapshot, ClusterSnapshot } from './planner/types';

interface ClusterRow {
  id: number;
  total_ram_milli: number;
  total_cpu_milli: number;
  total_gpu_milli: number;
  available_ram_milli: number;
  available_cpu_milli: number;
  available_gpu_milli: number;
}

interface RunningRow {
  id: number;
  cluster_id: number;
  priority: number;
  required_ram_milli: number;
  required_cpu_milli: number;
  required_gpu_milli: number;
  started_at: Date;
  created_at: Date;
  pinned: boolean;
}

interface PendingRow {
  id: number;
  priority: number;
  required_ram_milli: number;
  required_cpu_milli: number;
  required_gpu_milli: number;
  created_at: Date;
  cluster_id: number | null;
  pinned: boolean;
  waiting: number[];
  dep_failed: boolean;
}

/**
 * Loads one organisation's scheduling state inside the pass transaction. The caller already
 * holds the organisation's advisory lock; the cluster rows are locked here in id order, so
 * API writers (which lock the same rows) and other passes cannot interleave.
 */
export async function loadSnapshot(
  tx: Tx,
  organizationId: number,
  now: number,
  /** False for a read-only look (the dry run, in one REPEATABLE READ snapshot): no row locks. */
  lock = true,
): Promise<Snapshot> {
  const clusterRows = await tx.$queryRaw<ClusterRow[]>`
    SELECT id, total_ram_milli, total_cpu_milli, total_gpu_milli,
           available_ram_milli, available_cpu_milli, available_gpu_milli
      FROM clusters WHERE organization_id = ${organizationId}
     ORDER BY id ${lock ? Prisma.sql`FOR NO KEY UPDATE` : Prisma.empty}`;
  const runningRows = await tx.$queryRaw<RunningRow[]>`
    SELECT id, cluster_id, priority, required_ram_milli, required_cpu_milli, required_gpu_milli,
           started_at, created_at, pinned
      FROM deployments
     WHERE organization_id = ${organizationId} AND status = 'running'`;
  const pendingRows = await tx.$queryRaw<PendingRow[]>`
    SELECT d.id, d.priority, d.required_ram_milli, d.required_cpu_milli, d.required_gpu_milli,
           d.created_at, d.cluster_id, d.pinned,
           COALESCE(array_agg(dep.id ORDER BY dep.id) FILTER (WHERE dep.status <> 'completed'),
                    '{}') AS waiting,
           COALESCE(bool_or(dep.status IN ('failed', 'cancelled')), false) AS dep_failed
      FROM deployments d
      LEFT JOIN deployment_dependencies dd ON dd.deployment_id = d.id
      LEFT JOIN deployments dep ON dep.id = dd.depends_on_id
     WHERE d.organization_id = ${organizationId} AND d.status = 'pending'
     GROUP BY d.id`;

  const clusters: ClusterSnapshot[] = clusterRows.map((c) => ({
    id: c.id,
    total: { ram: c.total_ram_milli, cpu: c.total_cpu_milli, gpu: c.total_gpu_milli },
    available: {
      ram: c.available_ram_milli,
      cpu: c.available_cpu_milli,
      gpu: c.available_gpu_milli,
    },
  }));
  const running: RunningSnapshot[] = runningRows.map((r) => ({
    id: r.id,
    clusterId: r.cluster_id,
    priority: r.priority,
    req: { ram: r.required_ram_milli, cpu: r.required_cpu_milli, gpu: r.required_gpu_milli },
    startedAt: r.started_at.getTime(),
    createdAt: r.created_at.getTime(),
    pinned: r.pinned,
  }));
  const pending: PendingSnapshot[] = pendingRows.map((p) => ({
    id: p.id,
    priority: p.priority,
    req: { ram: p.required_ram_milli, cpu: p.required_cpu_milli, gpu: p.required_gpu_milli },
    createdAt: p.created_at.getTime(),
    pinnedClusterId: p.pinned ? p.cluster_id : null,
    dependencyState: p.dep_failed ? 'failed' : p.waiting.length > 0 ? 'waiting' : 'ready',
    waitingFor: p.waiting,
  }));
  return { clusters, running, pending, now };
}
