import type { Tx } from '../prisma/prisma.service';

export interface PlaceNowResult {
  placed: boolean;
  /** Why it stays pending (e.g. `insufficient_resources`), when not placed. */
  code?: string;
  reason?: string;
}

/** A deployment about to be inserted by a create, as the placement sees it. */
export interface CreateCandidate {
  priority: number;
  /** Requirements in milli-units. */
  need: { ram: number; cpu: number; gpu: number };
  pinnedClusterId: number | null;
  hasDependencies: boolean;
}

/** What `chooseForCreate` read: the cluster to start on (or null) and every cluster's totals. */
export interface CreateChoice {
  clusterId: number | null;
  /** Total capacity of each of the organisation's clusters (milli-units). */
  totals: { ram: number; cpu: number; gpu: number }[];
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
   * The first statement of a create's transaction (a create without dependencies), before its
   * insert, so it may take locks: the cluster the deployment is to start on at once, when that is
   * provably what a full pass would decide. The caller then inserts it running there if the room
   * is still free (a conditional debit in the insert's statement). Null (the default): insert it
   * pending, and `afterCreate` runs the pass after the commit. Also returns the clusters' totals
   * it read (the create's can-ever-fit check uses them); null when it read nothing.
   */
  chooseForCreate(
    _tx: Tx,
    _organizationId: number,
    _candidate: CreateCandidate,
  ): Promise<CreateChoice | null> {
    return Promise.resolve(null);
  }

  /**
   * After a create committed: `placed` when it was inserted running (`chooseForCreate`). By
   * default (not placed) the same as any change: a pass.
   */
  afterCreate(organizationId: number, _deploymentId: number, placed = false): Promise<void> {
    if (placed) return Promise.resolve();
    return this.afterChange(organizationId, 'deployment_created');
  }
}
