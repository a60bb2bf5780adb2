import type { Tx } from '../prisma/prisma.service';

export interface PlaceNowResult {
  placed: boolean;
  /** Why it stays pending (e.g. `insufficient_resources`), when not placed. */
  code?: string;
  reason?: string;
}

/** A create placed in its own transaction: the cluster and the row's new timestamps. */
export interface CreatePlacement {
  clusterId: number;
  waitSeconds: number;
  startedAt: Date;
  firstStartedAt: Date;
  updatedAt: Date;
}

/**
 * The one decision "can this pending deployment run now, and where". DeploymentsModule binds it
 * to the scheduler (SchedulerPlacement: priority, preemption, bin packing), so the deployments
 * code never decides placement itself.
 */
export abstract class PlacementPort {
  /** Tries to place a pending deployment at once (POST …/start). */
  abstract placeNow(deploymentId: number, actorUserId: number): Promise<PlaceNowResult>;

  /**
   * Called after anything that may let pending work run: a deployment created, completed,
   * failed or cancelled, a cluster resized.
   */
  abstract afterChange(organizationId: number, trigger: string): Promise<void>;

  /**
   * First statement of a create's transaction (a create without dependencies), before its insert:
   * whatever `placeInCreate` needs held. By default nothing.
   */
  beforeCreateInsert(_tx: Tx, _organizationId: number): Promise<void> {
    return Promise.resolve();
  }

  /**
   * In the create's transaction after its insert: places the deployment at once when that is
   * provably what a full pass would do, and says where. Null (the default): no decision here,
   * `afterCreate` runs the pass after the commit.
   */
  placeInCreate(
    _tx: Tx,
    _organizationId: number,
    _deploymentId: number,
  ): Promise<CreatePlacement | null> {
    return Promise.resolve(null);
  }

  /**
   * After a create committed: `placed` is what `placeInCreate` did in its transaction. By default
   * (not placed) the same as any change: a pass.
   */
  afterCreate(
    organizationId: number,
    _deploymentId: number,
    placed: CreatePlacement | null = null,
  ): Promise<void> {
    if (placed) return Promise.resolve();
    return this.afterChange(organizationId, 'deployment_created');
  }
}
