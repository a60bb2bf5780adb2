import { Injectable, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/configuration';
import type { CreatePlacement } from '../../deployments/placement.port';
import { EventNotifier } from '../../events/event-notifier.service';
import { Prisma } from '../../generated/prisma/client';
import { MetricsService } from '../../metrics/metrics.service';
import type { Tx } from '../../prisma/prisma.service';
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
  other_may_run: boolean;
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

interface PlacedRow {
  placed: number;
  wait: number | null;
  started_at: Date | null;
  first_started_at: Date | null;
  updated_at: Date | null;
}

/** A create placed by the fast path: where, and the row's new timestamps (for the response). */
export type FastPlacement = CreatePlacement;

/**
 * Places a just-created deployment without a full organisation pass when the pass would provably
 * decide the same (decide.ts says when, and fast-path.spec.ts checks it against plan()), inside
 * the create's own transaction: `hold` (a shared hold on the organisation's pass lock; passes take
 * it exclusively, so no pass is between snapshot and commit while we decide, and creates do not
 * wait for each other), the insert, then `placeInTx`: one statement reads every fact the decision
 * needs (counters and aggregates, not the organisation's running rows: that reload was the cost of
 * a create) and one debits the cluster only if the room is still free, starts the deployment and
 * records its `placed` event. The deployment is committed already running, so concurrent creates
 * never see it pending. Anything else returns null and the caller runs the full pass.
 */
@Injectable()
export class CreateFastPath {
  private readonly agingMs: number;
  private readonly starvationMs: number;

  constructor(
    config: ConfigService<AppConfig, true>,
    @Optional() private readonly metrics?: MetricsService,
    @Optional() private readonly notifier?: EventNotifier,
  ) {
    this.agingMs = config.get('schedulerAgingSeconds', { infer: true }) * 1000;
    this.starvationMs = config.get('schedulerStarvationSeconds', { infer: true }) * 1000;
  }

  /**
   * First statement of a create's transaction: the shared hold on the organisation's pass lock.
   * Taken before the insert, so the transaction holds no row lock a pass could need while it
   * waits here (a pass holds the lock exclusively from its snapshot to its commit).
   */
  async hold(tx: Tx, organizationId: number): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock_shared(${PASS_LOCK_CLASS}::int, ${organizationId}::int)`;
  }

  /**
   * In the create's transaction, after its insert and with `hold` taken: places the deployment
   * when a pass would provably decide the same, in two statements (the facts, then the
   * conditional debit + start + `placed` event). Null: a full pass decides, after the commit.
   * The caller reports a placement (`placed`) only after its transaction committed.
   */
  async placeInTx(
    tx: Tx,
    organizationId: number,
    deploymentId: number,
  ): Promise<FastPlacement | null> {
    const [f] = await tx.$queryRaw<Facts[]>(
      this.factsQuery(organizationId, deploymentId, Date.now()),
    );
    const clusterId = f ? this.decide(f) : null;
    if (!f || clusterId === null) return null;
    const req = { ram: f.ram, cpu: f.cpu, gpu: f.gpu };
    const [done] = await tx.$queryRaw<PlacedRow[]>`
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
        RETURNING d.id, d.started_at, d.first_started_at, d.updated_at,
                  EXTRACT(EPOCH FROM d.first_started_at - d.created_at)::float8 AS wait
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
             s.wait, s.started_at, s.first_started_at, s.updated_at
        FROM (SELECT 1) one LEFT JOIN started s ON true`;
    if (!done || done.placed === 0) return null; // the room went meanwhile: full pass
    // The row was inserted by this transaction and is pending: anything else is a broken ledger.
    if (done.placed !== 2) throw new Error(`fast path: deployment ${deploymentId} changed`);
    return {
      clusterId,
      waitSeconds: Math.max(0, done.wait ?? 0),
      startedAt: done.started_at!,
      firstStartedAt: done.first_started_at!,
      updatedAt: done.updated_at!,
    };
  }

  /** After the create's transaction committed: live streams and metrics see the placement. */
  placed(organizationId: number, placement: FastPlacement): void {
    this.notifier?.notify(organizationId);
    this.metrics?.observeFastPlacement(placement.waitSeconds);
  }

  /** The cluster a full pass would place it on, or null when the fast path may not decide. */
  private decide(f: Facts): number | null {
    if (f.status !== 'pending') return null;
    const eligible = fastPathEligible({
      clusters: f.clusters.length,
      deployments: f.deployments,
      equalOrHigherWaiting: f.ahead,
      otherReadyMayRun: f.other_may_run,
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
   * starving, whether other ready work may run (decide.ts `otherReadyMayRun`: it fits the free room
   * of a cluster it may use, or its base priority is above the lowest running priority, read
   * through the `(organization_id, status, priority, created_at)` index), how big the organisation
   * is (counters), the ready demand and the clusters.
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
               CASE WHEN d.pinned THEN d.cluster_id END AS pin,
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
             EXISTS (SELECT 1 FROM waiting w
                      WHERE w.ready
                        AND (w.priority > (SELECT min(r.priority) FROM deployments r
                                            WHERE r.organization_id = ${organizationId}
                                              AND r.status = 'running')
                             OR EXISTS (SELECT 1 FROM clusters c
                                         WHERE c.organization_id = ${organizationId}
                                           AND (w.pin IS NULL OR c.id = w.pin)
                                           AND c.available_ram_milli >= w.ram
                                           AND c.available_cpu_milli >= w.cpu
                                           AND c.available_gpu_milli >= w.gpu)))
               AS other_may_run,
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
