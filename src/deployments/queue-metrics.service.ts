import { Injectable } from '@nestjs/common';
import { notFound } from '../common/errors/app-error';
import { utilization } from '../clusters/dto/cluster-resources.dto';
import { Prisma, type Cluster } from '../generated/prisma/client';
import { MembershipsService } from '../organizations/memberships.service';
import { PrismaService } from '../prisma/prisma.service';
import type { QueueMetricsQueryDto } from './dto/list-deployments-query.dto';
import type { QueueMetricsDto } from './dto/queue-metrics.dto';

interface Summary {
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
  preemptions_total: number;
  oldest_pending_age_seconds: number | null;
}

type ClusterRow = Pick<
  Cluster,
  'id' | 'name' | 'organizationId' | 'totalRamMilli' | 'totalCpuMilli' | 'totalGpuMilli'
> &
  Pick<Cluster, 'availableRamMilli' | 'availableCpuMilli' | 'availableGpuMilli'> & {
    running: number;
    pending: number;
  };

/**
 * The queue's health in SQL aggregates (nothing loads every row), read in one REPEATABLE READ
 * snapshot so the numbers agree with each other.
 */
@Injectable()
export class QueueMetricsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly memberships: MembershipsService,
  ) {}

  async metrics(userId: number, q: QueueMetricsQueryDto): Promise<QueueMetricsDto> {
    const { orgIds, clusterId } = await this.scope(userId, q);
    const byCluster = clusterId === null ? Prisma.empty : Prisma.sql`AND cluster_id = ${clusterId}`;
    const inScope = Prisma.sql`organization_id = ANY(${orgIds}::int[]) ${byCluster}`;
    const [summary, byPriority, wait, clusters, lastPass, passes] = await this.prisma.$transaction(
      [
        this.prisma.$queryRaw<Summary[]>`
          SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
                 count(*) FILTER (WHERE status = 'running')::int AS running,
                 count(*) FILTER (WHERE status = 'completed')::int AS completed,
                 count(*) FILTER (WHERE status = 'failed')::int AS failed,
                 count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
                 COALESCE(sum(preemption_count), 0)::int AS preemptions_total,
                 EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE status = 'pending'))::float8
                   AS oldest_pending_age_seconds
          FROM deployments WHERE ${inScope}`,
        this.prisma.$queryRaw<{ priority: number; count: number }[]>`
          SELECT priority, count(*)::int AS count FROM deployments
          WHERE ${inScope} AND status = 'pending'
          GROUP BY priority ORDER BY priority DESC`,
        this.prisma.$queryRaw<
          { p50: number | null; p90: number | null; p99: number | null; samples: number }[]
        >`
          SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY w) AS p50,
                 percentile_cont(0.9) WITHIN GROUP (ORDER BY w) AS p90,
                 percentile_cont(0.99) WITHIN GROUP (ORDER BY w) AS p99,
                 count(*)::int AS samples
          FROM (SELECT EXTRACT(EPOCH FROM first_started_at - created_at)::float8 AS w
                FROM deployments
                WHERE ${inScope} AND first_started_at >= now() - interval '1 hour') s`,
        this.prisma.$queryRaw<ClusterRow[]>`
          SELECT c.id, c.name, c.organization_id AS "organizationId",
                 c.total_ram_milli AS "totalRamMilli", c.total_cpu_milli AS "totalCpuMilli",
                 c.total_gpu_milli AS "totalGpuMilli",
                 c.available_ram_milli AS "availableRamMilli",
                 c.available_cpu_milli AS "availableCpuMilli",
                 c.available_gpu_milli AS "availableGpuMilli",
                 (SELECT count(*)::int FROM deployments d
                   WHERE d.cluster_id = c.id AND d.status = 'running') AS running,
                 (SELECT count(*)::int FROM deployments d
                   WHERE d.cluster_id = c.id AND d.status = 'pending') AS pending
          FROM clusters c
          WHERE c.organization_id = ANY(${orgIds}::int[])
            ${clusterId === null ? Prisma.empty : Prisma.sql`AND c.id = ${clusterId}`}
          ORDER BY c.id`,
        this.prisma.$queryRaw<
          { started_at: Date; duration_ms: number; placements: number; preemptions: number }[]
        >`
          SELECT started_at, duration_ms, placements, preemptions FROM scheduler_passes
          WHERE organization_id = ANY(${orgIds}::int[])
          ORDER BY started_at DESC LIMIT 1`,
        this.prisma.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM scheduler_passes
          WHERE organization_id = ANY(${orgIds}::int[])
            AND started_at >= now() - interval '1 hour'`,
      ],
      { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead },
    );
    const s = summary[0];
    const w = wait[0];
    const last = lastPass[0];
    return {
      counts_by_status: {
        pending: s?.pending ?? 0,
        running: s?.running ?? 0,
        completed: s?.completed ?? 0,
        failed: s?.failed ?? 0,
        cancelled: s?.cancelled ?? 0,
      },
      pending_by_priority: byPriority,
      oldest_pending_age_seconds: s?.oldest_pending_age_seconds ?? null,
      wait_time_seconds: {
        p50: w?.p50 ?? null,
        p90: w?.p90 ?? null,
        p99: w?.p99 ?? null,
        samples: w?.samples ?? 0,
      },
      preemptions_total: s?.preemptions_total ?? 0,
      clusters: clusters.map((c) => ({
        cluster_id: c.id,
        name: c.name,
        utilization: utilization(c),
        running: c.running,
        pending: c.pending,
      })),
      scheduler: {
        last_pass_at: last?.started_at ?? null,
        last_pass_duration_ms: last?.duration_ms ?? null,
        last_pass_placements: last?.placements ?? null,
        last_pass_preemptions: last?.preemptions ?? null,
        passes_last_hour: passes[0]?.n ?? 0,
      },
    };
  }

  /** The caller's organizations, narrowed to one organization or one cluster (404 if foreign). */
  private async scope(
    userId: number,
    q: QueueMetricsQueryDto,
  ): Promise<{ orgIds: number[]; clusterId: number | null }> {
    let orgIds: number[];
    if (q.organization_id !== undefined) {
      await this.memberships.requireRole(userId, q.organization_id, 'viewer');
      orgIds = [q.organization_id];
    } else {
      orgIds = await this.memberships.organizationIdsOf(userId);
    }
    if (q.cluster_id === undefined) return { orgIds, clusterId: null };
    const c = await this.prisma.cluster.findUnique({ where: { id: q.cluster_id } });
    if (!c || !orgIds.includes(c.organizationId)) throw notFound('cluster');
    return { orgIds: [c.organizationId], clusterId: c.id };
  }
}
