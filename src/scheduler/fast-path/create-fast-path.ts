import { Injectable, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/configuration';
import { EventNotifier } from '../../events/event-notifier.service';
import { Prisma } from '../../generated/prisma/client';
import { MetricsService } from '../../metrics/metrics.service';
import { PrismaService } from '../../prisma/prisma.service';
import type { ClusterSnapshot } from '../planner/types';
import { PASS_LOCK_CLASS } from '../scheduler.constants';
import { fastPathCluster, fastPathEligible } from './decide';

interface Facts {
  status: string;
  priority: number;
  ram: number;
  cpu: number;
  gpu: number;
  pin: number | null;
  has_deps: boolean;
  ahead: boolean;
  other_ready: boolean;
  starving: boolean;
  deployments: number;
  demand_ram: number;
  demand_cpu: number;
  demand_gpu: number;
  clusters: {
    id: number;
    tr: number;
    tc: number;
    tg: number;
    ar: number;
    ac: number;
    ag: number;
  }[];
}

/** Thrown inside the transaction to roll the placement back (the deployment changed meanwhile). */
class Changed extends Error {}

/**
 * Places a just-created deployment without a full organisation pass when the pass would provably
 * decide the same (decide.ts says when, and fast-path.spec.ts checks it against plan()).
 *
 * One statement reads every fact the decision needs (counters, not the organisation's running
 * rows: that reload was the cost of a create); when it says no, that is all. Otherwise one
 * transaction: a shared hold on the organisation's pass lock (passes take it exclusively, so no
 * pass is between snapshot and commit while we decide, and fast paths do not wait for each
 * other), the facts again, and one statement that debits the cluster only if the room is still
 * free, starts the deployment and records its `placed` event. Anything else returns false and the
 * caller runs the full pass.
 */
@Injectable()
export class CreateFastPath {
  private readonly agingMs: number;
  private readonly starvationMs: number;

  constructor(
    private readonly prisma: PrismaService,
    config: ConfigService<AppConfig, true>,
    @Optional() private readonly metrics?: MetricsService,
    @Optional() private readonly notifier?: EventNotifier,
  ) {
    this.agingMs = config.get('schedulerAgingSeconds', { infer: true }) * 1000;
    this.starvationMs = config.get('schedulerStarvationSeconds', { infer: true }) * 1000;
  }

  async tryPlace(organizationId: number, deploymentId: number): Promise<boolean> {
    // Outside any transaction first: most creates that cannot take the fast path (a small
    // organisation, work waiting ahead) cost this one statement, not a transaction.
    const [seen] = await this.prisma.$queryRaw<Facts[]>(
      this.factsQuery(organizationId, deploymentId, Date.now()),
    );
    if (!seen || this.decide(seen) === null) return false;
    let placed: { clusterId: number; waitSeconds: number } | null;
    try {
      placed = await this.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock_shared(${PASS_LOCK_CLASS}::int, ${organizationId}::int)`;
        // Again under the lock: no pass is between its snapshot and its commit now.
        const [f] = await tx.$queryRaw<Facts[]>(
          this.factsQuery(organizationId, deploymentId, Date.now()),
        );
        const clusterId = f ? this.decide(f) : null;
        if (!f || clusterId === null) return null;
        const req = { ram: f.ram, cpu: f.cpu, gpu: f.gpu };
        const [done] = await tx.$queryRaw<{ placed: number; wait: number | null }[]>`
          WITH debit AS (
            UPDATE clusters
               SET available_ram_milli = available_ram_milli - ${req.ram},
                   available_cpu_milli = available_cpu_milli - ${req.cpu},
                   available_gpu_milli = available_gpu_milli - ${req.gpu},
                   updated_at = now()
             WHERE id = ${clusterId} AND organization_id = ${organizationId}
               AND available_ram_milli >= ${req.ram} AND available_cpu_milli >= ${req.cpu}
               AND available_gpu_milli >= ${req.gpu}
            RETURNING id
          ), started AS (
            UPDATE deployments d
               SET status = 'running', cluster_id = ${clusterId}, started_at = now(),
                   first_started_at = COALESCE(d.first_started_at, now()),
                   pending_code = NULL, pending_reason = NULL, updated_at = now()
             WHERE d.id = ${deploymentId} AND d.status = 'pending'
               AND (NOT d.pinned OR d.cluster_id = ${clusterId})
               AND EXISTS (SELECT 1 FROM debit)
            RETURNING d.id, EXTRACT(EPOCH FROM d.first_started_at - d.created_at)::float8 AS wait
          ), ev AS (
            INSERT INTO deployment_events
              (deployment_id, organization_id, cluster_id, type, from_status, to_status, actor,
               code, reason)
            SELECT id, ${organizationId}, ${clusterId}, 'placed', 'pending', 'running',
                   'scheduler', NULL, ${`placed on cluster ${clusterId}`}
              FROM started
            RETURNING 1
          )
          SELECT (SELECT count(*)::int FROM debit) + (SELECT count(*)::int FROM ev) AS placed,
                 (SELECT wait FROM started) AS wait`;
        if (!done || done.placed === 0) return null; // the room went meanwhile: full pass
        if (done.placed !== 2) throw new Changed('deployment changed under the fast path');
        return { clusterId, waitSeconds: Math.max(0, done.wait ?? 0) };
      });
    } catch (err) {
      if (err instanceof Changed) return false;
      throw err;
    }
    if (!placed) return false;
    this.notifier?.notify(organizationId);
    this.metrics?.observeFastPlacement(placed.waitSeconds);
    return true;
  }

  /** The cluster a full pass would place it on, or null when the fast path may not decide. */
  private decide(f: Facts): number | null {
    if (f.status !== 'pending') return null;
    const eligible = fastPathEligible({
      clusters: f.clusters.length,
      deployments: f.deployments,
      equalOrHigherWaiting: f.ahead,
      otherReadyWaiting: f.other_ready,
      anyStarving: f.starving,
      hasDependencies: f.has_deps,
    });
    if (!eligible) return null;
    const clusters: ClusterSnapshot[] = f.clusters.map((c) => ({
      id: c.id,
      total: { ram: c.tr, cpu: c.tc, gpu: c.tg },
      available: { ram: c.ar, cpu: c.ac, gpu: c.ag },
    }));
    const req = { ram: f.ram, cpu: f.cpu, gpu: f.gpu };
    const demand = { ram: f.demand_ram, cpu: f.demand_cpu, gpu: f.demand_gpu };
    return fastPathCluster(clusters, req, f.pin, demand);
  }

  /**
   * Everything the decision needs in one statement: the new row, whether anything pending is at
   * an equal or higher effective priority (the planner's aging: priority + ⌊waited / aging⌋) or
   * starving, how big the organisation is (counters), the ready demand and the clusters.
   */
  private factsQuery(organizationId: number, deploymentId: number, now: number): Prisma.Sql {
    const aging = this.agingMs;
    const starvation = this.starvationMs;
    return Prisma.sql`
      WITH me AS (
        SELECT status::text AS status, priority, required_ram_milli AS ram,
               required_cpu_milli AS cpu, required_gpu_milli AS gpu,
               CASE WHEN pinned THEN cluster_id END AS pin,
               EXISTS (SELECT 1 FROM deployment_dependencies WHERE deployment_id = ${deploymentId})
                 AS has_deps
          FROM deployments WHERE id = ${deploymentId} AND organization_id = ${organizationId}
      ), waiting AS (
        SELECT d.priority,
               GREATEST(0, ${now}::bigint
                 - (EXTRACT(EPOCH FROM d.created_at) * 1000)::bigint) AS waited,
               d.required_ram_milli AS ram, d.required_cpu_milli AS cpu,
               d.required_gpu_milli AS gpu,
               NOT EXISTS (SELECT 1 FROM deployment_dependencies dd
                             JOIN deployments dep ON dep.id = dd.depends_on_id
                            WHERE dd.deployment_id = d.id AND dep.status <> 'completed') AS ready
          FROM deployments d
         WHERE d.organization_id = ${organizationId} AND d.status = 'pending'
           AND d.id <> ${deploymentId}
      )
      SELECT me.*,
             EXISTS (SELECT 1 FROM waiting w
                      WHERE w.priority + CASE WHEN ${aging}::bigint > 0
                                              THEN w.waited / ${aging}::bigint ELSE 0 END
                            >= me.priority) AS ahead,
             EXISTS (SELECT 1 FROM waiting WHERE ready) AS other_ready,
             (${starvation}::bigint > 0
               AND EXISTS (SELECT 1 FROM waiting w WHERE w.waited > ${starvation}::bigint))
               AS starving,
             (SELECT COALESCE(sum(pending + running), 0)::int FROM deployment_counts
               WHERE organization_id = ${organizationId}) AS deployments,
             me.ram + (SELECT COALESCE(sum(ram), 0)::int FROM waiting WHERE ready) AS demand_ram,
             me.cpu + (SELECT COALESCE(sum(cpu), 0)::int FROM waiting WHERE ready) AS demand_cpu,
             me.gpu + (SELECT COALESCE(sum(gpu), 0)::int FROM waiting WHERE ready) AS demand_gpu,
             (SELECT COALESCE(json_agg(json_build_object(
                       'id', id, 'tr', total_ram_milli, 'tc', total_cpu_milli,
                       'tg', total_gpu_milli, 'ar', available_ram_milli,
                       'ac', available_cpu_milli, 'ag', available_gpu_milli) ORDER BY id),
                     '[]'::json)
                FROM clusters WHERE organization_id = ${organizationId}) AS clusters
        FROM me`;
  }
}
