import { Injectable } from '@nestjs/common';
import { assertRole } from '../common/auth/roles';
import { notFound, unprocessable } from '../common/errors/app-error';
import { fromMilli, toMilli } from '../common/units';
import { EventNotifier } from '../events/event-notifier.service';
import { Prisma, type Cluster, type Deployment } from '../generated/prisma/client';
import { MembershipsService } from '../organizations/memberships.service';
import { PrismaService, type Tx } from '../prisma/prisma.service';
import { AllocationService } from './allocation.service';
import { byUser } from './allocation.types';
import { DeploymentAccess } from './deployment-access.service';
import type { CreateDeploymentDto } from './dto/create-deployment.dto';
import type { DeploymentWithDeps } from './dto/deployment.dto';
import type { ListDeploymentsQueryDto } from './dto/list-deployments-query.dto';
import { type CreateCandidate, PlacementPort } from './placement.port';
import { runTx } from './run-tx';

type Need = Record<'ram' | 'cpu' | 'gpu', number>;

export interface PreparedDeployment {
  organizationId: number;
  /** The pinned cluster, or null when the scheduler picks. */
  cluster: Cluster | null;
  /** Requirements in milli-units. */
  need: Need;
  dependsOn: number[];
  priority: number;
}

/** Creating and reading deployments. State changes live in DeploymentActionsService. */
@Injectable()
export class DeploymentsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly memberships: MembershipsService,
    private readonly allocation: AllocationService,
    private readonly access: DeploymentAccess,
    private readonly placement: PlacementPort,
    private readonly notifier: EventNotifier,
  ) {}

  async create(userId: number, dto: CreateDeploymentDto): Promise<DeploymentWithDeps> {
    const ready = (dto.depends_on ?? []).length === 0;
    const prepared = await this.prepare(userId, dto, ready);
    if (ready) return this.createReady(userId, dto, prepared);
    const { organizationId, cluster, need, dependsOn } = prepared;
    const actor = byUser(userId);
    let id: number;
    try {
      id = await runTx(this.prisma, async (tx) => {
        // FOR SHARE waits out a dependency's in-flight cancel/fail (and makes a later one wait
        // for this insert), so its cascade can never miss the new dependant.
        const deps = await this.dependencies(tx, organizationId, dependsOn, true);
        const d = await tx.deployment.create({
          data: {
            name: dto.name,
            dockerImage: dto.docker_image,
            userId,
            organizationId,
            clusterId: cluster?.id ?? null,
            pinned: cluster !== null,
            priority: dto.priority ?? 0,
            requiredRamMilli: need.ram,
            requiredCpuMilli: need.cpu,
            requiredGpuMilli: need.gpu,
            pendingCode: 'queued',
            pendingReason: 'waiting to be scheduled',
            dependsOn: { create: dependsOn.map((dependsOnId) => ({ dependsOnId })) },
          },
        });
        const moved = {
          id: d.id,
          organization_id: d.organizationId,
          cluster_id: d.clusterId,
          required_ram_milli: d.requiredRamMilli,
          required_cpu_milli: d.requiredCpuMilli,
          required_gpu_milli: d.requiredGpuMilli,
        };
        await this.allocation.recordQueued(tx, moved, actor);
        const broken = deps.find((x) => x.status === 'failed' || x.status === 'cancelled');
        if (broken) {
          const why = `dependency ${broken.id} ${broken.status}`;
          await this.allocation.failPending(tx, [d.id], actor, 'dependency_failed', why);
        }
        return d.id;
      });
    } catch (err) {
      // The pinned cluster was deleted between the checks and the insert.
      if (isForeignKeyViolation(err)) throw notFound('cluster');
      throw err;
    }
    this.notifier.notify(organizationId); // committed its `queued` event: wake live streams
    await this.placement.afterCreate(organizationId, id);
    return this.access.reload(id);
  }

  /**
   * A create without dependencies: one transaction of two statements. The placement's choice,
   * under its hold on the organisation's pass lock (PlacementPort `chooseForCreate`: a cluster
   * only when a full pass would provably start the deployment there at once, else null), then one
   * statement that takes the room on that cluster if it is still free (the conditional debit of the
   * ledger, `available ≥ required`), inserts the deployment — `running` there if the room was
   * taken, else `pending` — with its events, and returns the row the response is built from. A
   * create that fits answers `running` with no pass and no reload; one that does not (or lost the
   * room to a concurrent create) is committed pending and the pass runs after the commit.
   */
  private async createReady(
    userId: number,
    dto: CreateDeploymentDto,
    { organizationId, cluster, need }: PreparedDeployment,
  ): Promise<DeploymentWithDeps> {
    const candidate: CreateCandidate = {
      priority: dto.priority ?? 0,
      need,
      pinnedClusterId: cluster?.id ?? null,
      hasDependencies: false,
    };
    let row: Deployment;
    try {
      row = await runTx(this.prisma, async (tx) => {
        const choice = await this.placement.chooseForCreate(tx, organizationId, candidate);
        // Unpinned, prepare() left the can-ever-fit check to here: the choice read every
        // cluster's totals in its own statement (or, without one, read them now). Nothing is
        // written yet, so a 422 here rolls back nothing but the hold.
        if (!cluster)
          this.checkCanEverFit(
            null,
            choice ? choice.totals : await this.totals(tx, organizationId),
            need,
          );
        const startOn = choice?.clusterId ?? null;
        return this.insertReady(tx, userId, dto, organizationId, cluster, need, startOn);
      });
    } catch (err) {
      // The pinned cluster was deleted between the checks and the insert.
      if (isForeignKeyViolation(err)) throw notFound('cluster');
      throw err;
    }
    const placed = row.status === 'running';
    this.notifier.notify(organizationId); // committed its `queued` event: wake live streams
    await this.placement.afterCreate(organizationId, row.id, placed);
    if (!placed) return this.access.reload(row.id);
    return { ...row, dependsOn: [] };
  }

  /**
   * One statement: the room on `startOn` taken if it is still free, and the deployment (running
   * there if it was, else pending) with its `queued` (and `placed`) events. `startOn` is only ever
   * a cluster the placement chose under its hold, in this transaction. Same conditional debit as
   * the ledger's (AllocationService.place, the pass's commitPlan): a cluster is never overcommitted,
   * whatever runs concurrently.
   */
  private async insertReady(
    tx: Tx,
    userId: number,
    dto: CreateDeploymentDto,
    organizationId: number,
    cluster: Cluster | null,
    need: Need,
    startOn: number | null,
  ): Promise<Deployment> {
    const running = startOn !== null;
    const [row] = await tx.$queryRaw<Deployment[]>`
      WITH debit AS (
        UPDATE clusters
           SET available_ram_milli = available_ram_milli - ${need.ram},
               available_cpu_milli = available_cpu_milli - ${need.cpu},
               available_gpu_milli = available_gpu_milli - ${need.gpu},
               updated_at = now()
         WHERE ${running} AND id = ${startOn ?? 0}::int AND organization_id = ${organizationId}
           AND available_ram_milli >= ${need.ram} AND available_cpu_milli >= ${need.cpu}
           AND available_gpu_milli >= ${need.gpu}
        RETURNING id
      ), d AS (
        INSERT INTO deployments
          (name, docker_image, user_id, organization_id, cluster_id, pinned, status, priority,
           required_ram_milli, required_cpu_milli, required_gpu_milli, pending_code,
           pending_reason, started_at, first_started_at, updated_at)
        SELECT ${dto.name}, ${dto.docker_image}, ${userId}, ${organizationId},
               COALESCE((SELECT id FROM debit), ${cluster?.id ?? null}::int), ${cluster !== null},
               CASE WHEN s.started THEN 'running' ELSE 'pending' END::deployment_status,
               ${dto.priority ?? 0}, ${need.ram}, ${need.cpu}, ${need.gpu},
               CASE WHEN s.started THEN NULL ELSE 'queued' END,
               CASE WHEN s.started THEN NULL ELSE 'waiting to be scheduled' END,
               CASE WHEN s.started THEN now() END, CASE WHEN s.started THEN now() END, now()
          FROM (SELECT EXISTS (SELECT 1 FROM debit) AS started) s
        RETURNING *
      ), ev AS (
        INSERT INTO deployment_events
          (deployment_id, organization_id, cluster_id, type, from_status, to_status, actor,
           actor_user_id, code, reason)
        SELECT id, organization_id, ${cluster?.id ?? null}::int, 'queued', NULL,
               'pending'::deployment_status, 'user', ${userId}::int, NULL, NULL
          FROM d
        UNION ALL
        SELECT id, organization_id, cluster_id, 'placed', 'pending'::deployment_status,
               'running'::deployment_status, 'scheduler', NULL, NULL,
               'placed on cluster ' || cluster_id
          FROM d WHERE status = 'running'
      )
      SELECT id, name, docker_image AS "dockerImage", user_id AS "userId",
             organization_id AS "organizationId", cluster_id AS "clusterId", pinned,
             status::text AS status, priority, required_ram_milli AS "requiredRamMilli",
             required_cpu_milli AS "requiredCpuMilli", required_gpu_milli AS "requiredGpuMilli",
             preemption_count AS "preemptionCount", pending_code AS "pendingCode",
             pending_reason AS "pendingReason", failure_reason AS "failureReason",
             created_at AS "createdAt", started_at AS "startedAt",
             first_started_at AS "firstStartedAt", completed_at AS "completedAt",
             updated_at AS "updatedAt"
        FROM d`;
    if (!row) throw new Error('insert returned no row');
    return row;
  }

  /**
   * Everything a create checks before it writes (role, pinned cluster, capacity that can ever
   * fit): shared with the dry run (POST /deployments/plan) so both answer the same 4xx.
   */
  async prepare(
    userId: number,
    dto: CreateDeploymentDto,
    /** Unpinned: leave the can-ever-fit check to the caller (createReady does it from its facts). */
    deferUnpinnedFit = false,
  ): Promise<PreparedDeployment> {
    const { organizationId, cluster } = await this.resolveTarget(userId, dto);
    const need: Need = {
      ram: toMilli(dto.required_ram),
      cpu: toMilli(dto.required_cpu),
      gpu: toMilli(dto.required_gpu ?? 0),
    };
    if (cluster || !deferUnpinnedFit) {
      await this.assertCanEverFit(organizationId, cluster, need);
    }
    const dependsOn = [...new Set(dto.depends_on ?? [])];
    return { organizationId, cluster, need, dependsOn, priority: dto.priority ?? 0 };
  }

  /** The dependencies' statuses; 422 unless every one is a deployment of the organization. */
  async dependencies(
    client: Tx,
    organizationId: number,
    dependsOn: number[],
    forShare: boolean,
  ): Promise<{ id: number; status: string }[]> {
    const deps = dependsOn.length
      ? await client.$queryRaw<{ id: number; status: string }[]>`
          SELECT id, status::text AS status FROM deployments
          WHERE id = ANY(${dependsOn}::int[]) AND organization_id = ${organizationId}
          ORDER BY id ${forShare ? Prisma.sql`FOR SHARE` : Prisma.empty}`
      : [];
    if (deps.length !== dependsOn.length) {
      const known = new Set(deps.map((d) => d.id));
      const unknown = dependsOn.filter((x) => !known.has(x));
      throw unprocessable(
        'deployment/invalid_dependency',
        `depends_on must name deployments of the same organization; unknown: ${unknown.join(', ')}`,
      );
    }
    return deps;
  }

  async list(
    userId: number,
    q: ListDeploymentsQueryDto,
  ): Promise<{ items: DeploymentWithDeps[]; next_cursor: string | null }> {
    const orgIds = await this.visibleOrgIds(userId, q.organization_id);
    if (q.cluster_id) {
      const c = await this.prisma.cluster.findUnique({ where: { id: q.cluster_id } });
      if (!c || !orgIds.includes(c.organizationId)) throw notFound('cluster');
    }
    const limit = q.limit ?? 50;
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const rows = await this.prisma.deployment.findMany({
      where: {
        organizationId: { in: orgIds },
        status: q.status,
        clusterId: q.cluster_id,
        id: before === undefined ? undefined : { lt: before },
      },
      include: { dependsOn: { select: { dependsOnId: true } } },
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null,
    };
  }

  get(userId: number, id: number): Promise<DeploymentWithDeps> {
    return this.access.readable(userId, id);
  }

  async events(userId: number, id: number) {
    await this.access.readable(userId, id);
    return this.prisma.deploymentEvent.findMany({
      where: { deploymentId: id },
      orderBy: { id: 'asc' },
    });
  }

  /** The one organization asked for (404 unless a member), or all of the caller's. */
  async visibleOrgIds(userId: number, organizationId?: number): Promise<number[]> {
    if (organizationId === undefined) return this.memberships.organizationIdsOf(userId);
    await this.memberships.requireRole(userId, organizationId, 'viewer');
    return [organizationId];
  }

  /** The organization it belongs to and the pinned cluster, checking the caller's role. */
  private async resolveTarget(
    userId: number,
    dto: CreateDeploymentDto,
  ): Promise<{ organizationId: number; cluster: Cluster | null }> {
    // JSON null means "not given", like an absent field.
    const clusterId = dto.cluster_id ?? undefined;
    const organizationId = dto.organization_id ?? undefined;
    if (clusterId !== undefined) {
      const cluster = await this.prisma.cluster.findUnique({ where: { id: clusterId } });
      const role = cluster && (await this.memberships.getRole(userId, cluster.organizationId));
      if (!cluster || !role) throw notFound('cluster');
      assertRole(role, 'developer');
      if (organizationId !== undefined && organizationId !== cluster.organizationId) {
        throw unprocessable('request/validation_failed', 'The request is invalid', [
          {
            field: 'organization_id',
            message: 'organization_id must be the cluster’s organization',
          },
        ]);
      }
      return { organizationId: cluster.organizationId, cluster };
    }
    if (organizationId === undefined) {
      throw unprocessable('request/validation_failed', 'The request is invalid', [
        {
          field: 'organization_id',
          message: 'organization_id is required when cluster_id is absent',
        },
      ]);
    }
    await this.memberships.requireRole(userId, organizationId, 'developer');
    return { organizationId, cluster: null };
  }

  /** Requirements beyond the pinned cluster's totals (or every cluster's) can never run → 422. */
  private async assertCanEverFit(
    organizationId: number,
    pinned: Cluster | null,
    need: Need,
  ): Promise<void> {
    const clusters = pinned
      ? [pinned]
      : await this.prisma.cluster.findMany({ where: { organizationId } });
    const totals = clusters.map((c) => ({
      ram: c.totalRamMilli,
      cpu: c.totalCpuMilli,
      gpu: c.totalGpuMilli,
    }));
    this.checkCanEverFit(pinned, totals, need);
  }

  private async totals(tx: Tx, organizationId: number): Promise<Need[]> {
    return tx.$queryRaw<Need[]>`
      SELECT total_ram_milli AS ram, total_cpu_milli AS cpu, total_gpu_milli AS gpu
        FROM clusters WHERE organization_id = ${organizationId}`;
  }

  private checkCanEverFit(pinned: Cluster | null, totals: Need[], need: Need): void {
    if (totals.some((t) => need.ram <= t.ram && need.cpu <= t.cpu && need.gpu <= t.gpu)) return;
    if (totals.length === 0) {
      throw unprocessable(
        'deployment/exceeds_cluster_capacity',
        'The organization has no cluster to run it on',
      );
    }
    const largest = (r: keyof Need) => Math.max(...totals.map((t) => t[r]));
    const over = (['ram', 'cpu', 'gpu'] as const)
      .filter((r) => need[r] > largest(r))
      .map((r) => `${r} ${fromMilli(need[r])} > ${fromMilli(largest(r))}`);
    const where = pinned ? 'the cluster’s total' : 'the largest cluster total';
    throw unprocessable(
      'deployment/exceeds_cluster_capacity',
      over.length > 0
        ? `Requirements exceed ${where}: ${over.join(', ')}`
        : 'No single cluster of the organization has enough ram, cpu and gpu together',
    );
  }
}

function encodeCursor(id: number): string {
  return Buffer.from(`d:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^d:(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const id = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(id)) {
    throw unprocessable('request/validation_failed', 'The request is invalid', [
      { field: 'cursor', message: 'cursor is not a cursor this API returned' },
    ]);
  }
  return id;
}

/**
 * A foreign key violation: P2003 from a Prisma query, or a raw query's (P2010) driver error with
 * SQLSTATE 23503 (the adapter reports it as a kind, or with the code).
 */
export function isForeignKeyViolation(err: unknown): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (err.code === 'P2003') return true;
  if (err.code !== 'P2010') return false;
  const cause = (err.meta as { driverAdapterError?: { cause?: { kind?: string; code?: string } } })
    ?.driverAdapterError?.cause;
  return (
    cause?.kind === 'ForeignKeyConstraintViolation' ||
    cause?.code === '23503' ||
    /foreign key/i.test(err.message)
  );
}
