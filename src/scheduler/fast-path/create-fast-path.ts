import { Injectable, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/configuration';
import type { CreateCandidate } from '../../deployments/placement.port';
import { EventNotifier } from '../../events/event-notifier.service';
import { Prisma } from '../../generated/prisma/client';
import { MetricsService } from '../../metrics/metrics.service';
import type { Tx } from '../../prisma/prisma.service';
import type { ClusterSnapshot } from '../planner/types';
import { PASS_LOCK_CLASS } from '../scheduler.constants';
import { fastPathCluster, fastPathEligible } from './decide';

interface Facts {
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

/**
 * Places a deployment being created without a full organisation pass when the pass would provably
 * decide the same (decide.ts says when, and fast-path.spec.ts checks it against plan()), inside
 * the create's own transaction:
 *
 * 1. `hold`: a shared hold on the organisation's pass lock. Passes take it exclusively, so no pass
 *    is between its snapshot and its commit while we decide, and creates do not wait for each
 *    other. It is the transaction's first statement, so the transaction holds no row lock a pass
 *    could need while it waits here.
 * 2. `choose`: one statement reads every fact the decision needs (aggregates over the pending
 *    rows, the lowest running priority through an index, the counters and the clusters; never the
 *    organisation's running rows, whose reload was the cost of a create) and the planner's own
 *    scorer picks the cluster.
 * 3. The caller inserts the deployment already running there, with its `queued` and `placed`
 *    events, so concurrent creates never see it pending.
 * 4. `takeRoom`, the last statement before COMMIT: debits the cluster only if the room is still
 *    free. The cluster row, which every create that picks the same cluster must update, is then
 *    locked for the shortest time (the insert's counter triggers have run already). When the room
 *    went meanwhile (a concurrent create took it), the caller rolls everything back and creates
 *    the deployment pending, for a full pass.
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

  async hold(tx: Tx, organizationId: number): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock_shared(${PASS_LOCK_CLASS}::int, ${organizationId}::int)`;
  }

  /** The cluster a full pass would place the candidate on now, or null when only a pass may say. */
  async choose(tx: Tx, organizationId: number, c: CreateCandidate): Promise<number | null> {
    if (c.hasDependencies) return null;
    const [f] = await tx.$queryRaw<Facts[]>(this.factsQuery(organizationId, c, Date.now()));
    return f ? this.decide(f, c) : null;
  }

  /** Debits the cluster if the room is still free; false (nothing changed) when it is not. */
  async takeRoom(
    tx: Tx,
    organizationId: number,
    clusterId: number,
    req: CreateCandidate['need'],
  ): Promise<boolean> {
    const taken = await tx.$executeRaw`
      UPDATE clusters
         SET available_ram_milli = available_ram_milli - ${req.ram},
             available_cpu_milli = available_cpu_milli - ${req.cpu},
             available_gpu_milli = available_gpu_milli - ${req.gpu},
             updated_at = now()
       WHERE id = ${clusterId} AND organization_id = ${organizationId}
         AND available_ram_milli >= ${req.ram} AND available_cpu_milli >= ${req.cpu}
         AND available_gpu_milli >= ${req.gpu}`;
    return taken === 1;
  }

  /** After the create's transaction committed: live streams and metrics see the placement. */
  placed(organizationId: number): void {
    this.notifier?.notify(organizationId);
    this.metrics?.observeFastPlacement(0);
  }

  private decide(f: Facts, c: CreateCandidate): number | null {
    const eligible = fastPathEligible({
      clusters: f.clusters.length,
      deployments: f.deployments,
      equalOrHigherWaiting: f.ahead,
      otherReadyMayRun: f.other_may_run,
      anyStarving: f.starving,
      hasDependencies: c.hasDependencies,
    });
    if (!eligible) return null;
    const clusters: ClusterSnapshot[] = f.clusters.map((x) => ({
      id: x.id,
      total: { ram: x.tr, cpu: x.tc, gpu: x.tg },
      available: { ram: x.ar, cpu: x.ac, gpu: x.ag },
    }));
    const demand = { ram: f.demand_ram, cpu: f.demand_cpu, gpu: f.demand_gpu };
    return fastPathCluster(clusters, c.need, c.pinnedClusterId, demand);
  }

  /**
   * Everything the decision needs in one statement, for a candidate not inserted yet: whether
   * anything pending is at an equal or higher effective priority (the planner's aging: priority +
   * ⌊waited / aging⌋) or starving; whether other ready work may run (decide.ts `otherReadyMayRun`:
   * it fits the free room of a cluster it may use, or its base priority is above the lowest running
   * priority, read through the `(organization_id, status, priority, created_at)` index); how big
   * the organisation is (counters, plus the candidate); the ready demand (the candidate's
   * included) and the clusters.
   */
  private factsQuery(organizationId: number, c: CreateCandidate, now: number): Prisma.Sql {
    const aging = this.agingMs;
    const starvation = this.starvationMs;
    return Prisma.sql`
      WITH waiting AS (
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
      )
      SELECT EXISTS (SELECT 1 FROM waiting w
                      WHERE w.priority + CASE WHEN ${aging}::bigint > 0
                                              THEN w.waited / ${aging}::bigint ELSE 0 END
                            >= ${c.priority}::int) AS ahead,
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
             1 + (SELECT COALESCE(sum(pending + running), 0)::int FROM deployment_counts
                   WHERE organization_id = ${organizationId}) AS deployments,
             ${c.need.ram}::int + (SELECT COALESCE(sum(ram), 0)::int FROM waiting WHERE ready)
               AS demand_ram,
             ${c.need.cpu}::int + (SELECT COALESCE(sum(cpu), 0)::int FROM waiting WHERE ready)
               AS demand_cpu,
             ${c.need.gpu}::int + (SELECT COALESCE(sum(gpu), 0)::int FROM waiting WHERE ready)
               AS demand_gpu,
             (SELECT COALESCE(json_agg(json_build_object(
                       'id', id, 'tr', total_ram_milli, 'tc', total_cpu_milli,
                       'tg', total_gpu_milli, 'ar', available_ram_milli,
                       'ac', available_cpu_milli, 'ag', available_gpu_milli) ORDER BY id),
                     '[]'::json)
                FROM clusters WHERE organization_id = ${organizationId}) AS clusters`;
  }
}
