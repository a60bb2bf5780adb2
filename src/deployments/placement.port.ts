export interface PlaceNowResult {
  placed: boolean;
  /** Why it stays pending (e.g. `insufficient_resources`), when not placed. */
  code?: string;
  reason?: string;
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

  /** After a create committed: by default the same as any change (a pass). */
  afterCreate(organizationId: number, _deploymentId: number): Promise<void> {
    return this.afterChange(organizationId, 'deployment_created');
  }
}
