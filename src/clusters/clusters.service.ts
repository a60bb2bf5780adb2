import { Injectable } from '@nestjs/common';
import { assertRole, type Role } from '../common/auth/roles';
import { FreshReadCoalescer } from '../common/coalescing/fresh-read-coalescer';
import { conflict, notFound } from '../common/errors/app-error';
import { toMilli } from '../common/units';
import { AllocationService } from '../deployments/allocation.service';
import { PlacementPort } from '../deployments/placement.port';
import { runTx } from '../deployments/run-tx';
import { Prisma, type Cluster } from '../generated/prisma/client';
import { MembershipsService } from '../organizations/memberships.service';
import { PrismaService } from '../prisma/prisma.service';
import type { CreateClusterDto } from './dto/create-cluster.dto';
import type { UpdateClusterDto } from './dto/update-cluster.dto';

export interface ClusterCounts {
  running: number;
  pending: number;
}

interface ResourcesKey {
  userId: number;
  clusterId: number;
}

type ResourcesRow = Cluster & ClusterCounts & { userId: number; role: Role | null };

const resourcesKey = (k: ResourcesKey): string => `${k.userId}:${k.clusterId}`;

@Injectable()
export class ClustersService {
  /**
   * GET /clusters/{id}/resources: the cluster, the caller's role in its organisation and its
   * counts (from deployment_counts, kept by triggers), for every (caller, cluster) of a batch in
   * one raw statement. Three Prisma queries before issue 9, whose client-side cost dominated the
   * route's profile; then one statement per request; now one per batch of concurrent requests,
   * each batch started after its requests arrived (FreshReadCoalescer: never a cached role).
   */
  private readonly resourceReads = new FreshReadCoalescer<ResourcesKey, ResourcesRow>(
    async (keys) => {
      const rows = await this.prisma.$queryRaw<ResourcesRow[]>`/* prepared */
        SELECT k.user_id AS "userId", c.id, c.name, c.organization_id AS "organizationId",
               c.total_ram_milli AS "totalRamMilli", c.total_cpu_milli AS "totalCpuMilli",
               c.total_gpu_milli AS "totalGpuMilli", c.available_ram_milli AS "availableRamMilli",
               c.available_cpu_milli AS "availableCpuMilli",
               c.available_gpu_milli AS "availableGpuMilli", c.created_at AS "createdAt",
               c.updated_at AS "updatedAt", m.role::text AS role,
               COALESCE(n.running, 0)::int AS running, COALESCE(n.pending, 0)::int AS pending
          FROM unnest(${keys.map((k) => k.userId)}::int[],
                      ${keys.map((k) => k.clusterId)}::int[]) AS k(user_id, cluster_id)
          JOIN clusters c ON c.id = k.cluster_id
          LEFT JOIN organization_members m
            ON m.organization_id = c.organization_id AND m.user_id = k.user_id
          LEFT JOIN LATERAL (
            SELECT sum(running) AS running, sum(pending) AS pending FROM deployment_counts
             WHERE organization_id = c.organization_id AND cluster_key = c.id) n ON true`;
      return new Map(rows.map((r) => [resourcesKey({ userId: r.userId, clusterId: r.id }), r]));
    },
    { keyOf: resourcesKey },
  );

  constructor(
    private readonly prisma: PrismaService,
    private readonly memberships: MembershipsService,
    private readonly allocation: AllocationService,
    private readonly placement: PlacementPort,
  ) {}

  /** A new cluster is fully available. */
  async create(userId: number, dto: CreateClusterDto): Promise<Cluster> {
    await this.memberships.requireRole(userId, dto.organization_id, 'admin');
    const [ram, cpu, gpu] = [
      toMilli(dto.total_ram),
      toMilli(dto.total_cpu),
      toMilli(dto.total_gpu),
    ];
    // In a transaction so an Idempotency-Key commits with the cluster (runTx).
    return this.nameTaken(() =>
      runTx(this.prisma, (tx) =>
        tx.cluster.create({
          data: {
            name: dto.name,
            organizationId: dto.organization_id,
            totalRamMilli: ram,
            totalCpuMilli: cpu,
            totalGpuMilli: gpu,
            availableRamMilli: ram,
            availableCpuMilli: cpu,
            availableGpuMilli: gpu,
          },
        }),
      ),
    );
  }

  async list(userId: number, organizationId?: number): Promise<Cluster[]> {
    if (organizationId !== undefined) {
      await this.memberships.requireRole(userId, organizationId, 'viewer');
    }
    const orgIds =
      organizationId !== undefined
        ? [organizationId]
        : await this.memberships.organizationIdsOf(userId);
    return this.prisma.cluster.findMany({
      where: { organizationId: { in: orgIds } },
      orderBy: { id: 'asc' },
    });
  }

  get(userId: number, id: number): Promise<Cluster> {
    return this.visible(userId, id, 'viewer');
  }

  /**
   * The cluster with its running and (pinned) pending deployment counts, and the caller's role
   * in its organisation, read by a statement that started after this call (resourceReads). Not a
   * member → 404 (also for a cluster that does not exist).
   */
  async resources(
    userId: number,
    id: number,
  ): Promise<{ cluster: Cluster; counts: ClusterCounts }> {
    const row = await this.resourceReads.load({ userId, clusterId: id });
    if (!row?.role) throw notFound('cluster');
    assertRole(row.role, 'viewer');
    const { role: _role, userId: _userId, running, pending, ...cluster } = row;
    return { cluster, counts: { running, pending } };
  }

  /** Rename and/or resize under the row lock; shrinking below what is allocated → 409. */
  async update(userId: number, id: number, dto: UpdateClusterDto): Promise<Cluster> {
    const before = await this.visible(userId, id, 'admin');
    const totals = {
      ram: dto.total_ram === undefined ? undefined : toMilli(dto.total_ram),
      cpu: dto.total_cpu === undefined ? undefined : toMilli(dto.total_cpu),
      gpu: dto.total_gpu === undefined ? undefined : toMilli(dto.total_gpu),
    };
    const resized =
      totals.ram !== undefined || totals.cpu !== undefined || totals.gpu !== undefined;
    const cluster = await this.nameTaken(() =>
      runTx(this.prisma, async (tx) => {
        if (resized) await this.allocation.resizeCluster(tx, id, totals);
        return dto.name === undefined
          ? tx.cluster.findUniqueOrThrow({ where: { id } })
          : tx.cluster.update({ where: { id }, data: { name: dto.name } });
      }),
    );
    if (resized) await this.placement.afterChange(before.organizationId, 'cluster_resized');
    return cluster;
  }

  /** 409 while any deployment runs on it or waits pinned to it (checked under the row lock). */
  async remove(userId: number, id: number): Promise<void> {
    await this.visible(userId, id, 'admin');
    await runTx(this.prisma, async (tx) => {
      // FOR UPDATE also blocks inserts that reference the cluster until this commits.
      const locked = await tx.$queryRaw<{ id: number }[]>`
        SELECT id FROM clusters WHERE id = ${id} FOR UPDATE`;
      if (locked.length === 0) throw notFound('cluster');
      const active = await tx.deployment.count({
        where: { clusterId: id, status: { in: ['pending', 'running'] } },
      });
      if (active > 0) {
        throw conflict(
          'cluster/has_active_deployments',
          `The cluster has ${active} pending or running deployment(s); finish or cancel them first`,
          { active_deployments: active },
        );
      }
      await tx.cluster.delete({ where: { id } });
    });
  }

  /** Another organization's cluster is a 404; a member below `min` gets 403. */
  private async visible(userId: number, id: number, min: Role): Promise<Cluster> {
    const cluster = await this.prisma.cluster.findUnique({ where: { id } });
    const role = cluster && (await this.memberships.getRole(userId, cluster.organizationId));
    if (!cluster || !role) throw notFound('cluster');
    assertRole(role, min);
    return cluster;
  }

  private async nameTaken<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw conflict(
          'cluster/name_taken',
          'The organization already has a cluster with this name',
        );
      }
      throw err;
    }
  }
}
