import { Injectable, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../../config/configuration';
import type { CreateCandidate, CreateChoice } from '../../deployments/placement.port';
import { EventNotifier } from '../../events/event-notifier.service';
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
 * 1. `holdAndChoose`, the transaction's first statement: a shared hold on the organisation's pass
 *    lock (passes take it exclusively, so no pass is between its snapshot and its commit while we
 *    decide, and creates do not wait for each other), taken only if it is free at once: a create
 *    never waits for a pass inside its transaction, holding a pooled connection; it goes to the
 *    pass instead. Then every fact the decision needs (aggregates over the pending rows, the
 *    lowest running priority through an index, the counters and the clusters; never the
 *    organisation's running rows, whose reload was the cost of a create); the planner's own
 *    scorer then picks the cluster.
 * 2. The caller (DeploymentsService.createReady), in one statement: debits the cluster only if
 *    the room is still free and inserts the deployment already running there, with its `queued`
 *    and `placed` events, so concurrent creates never see it pending; when the room went
 *    meanwhile (a concurrent create took it) it inserts it pending instead, for a full pass.
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
   * Takes the hold and chooses, in one round trip: the migration's `create_fast_path_facts` takes
   * the shared pass lock if it is free at once (no row when a pass holds it or waits for it: then
   * null, and the create goes to the pass without having waited), then reads the facts in a statement of its own (so with a snapshot taken
   * after the hold): whether anything pending is at an equal or higher effective priority (the
   * planner's aging: priority + ⌊waited / aging⌋) or starving; whether other ready work may run
   * (decide.ts `otherReadyMayRun`: it fits the free room of a cluster it may use, or its base
   * priority is above the lowest running priority, read through the `(organization_id, status,
   * priority, created_at)` index); how big the organisation is (counters, plus the candidate);
   * the ready demand (the candidate's included) and the clusters. Returns the cluster a full pass
   * would place the candidate on now (null when only a pass may say) and the clusters' totals.
   */
  async holdAndChoose(
    tx: Tx,
    organizationId: number,
    c: CreateCandidate,
  ): Promise<CreateChoice | null> {
    if (c.hasDependencies) return null;
    const [f] = await tx.$queryRaw<Facts[]>`
      SELECT * FROM create_fast_path_facts(${PASS_LOCK_CLASS}::int, ${organizationId}::int,
        ${c.priority}::int, ${c.need.ram}::int, ${c.need.cpu}::int, ${c.need.gpu}::int,
        ${Date.now()}::bigint, ${this.agingMs}::bigint, ${this.starvationMs}::bigint)`;
    if (!f) return null;
    return {
      clusterId: this.decide(f, c),
      totals: f.clusters.map((x) => ({ ram: x.tr, cpu: x.tc, gpu: x.tg })),
    };
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
}
