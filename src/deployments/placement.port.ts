export interface PlaceNowResult {
  placed: boolean;
  /** Why it stays pending (e.g. `insufficient_resources`), when not placed. */
  code?: string;
  reason?: string;
}

/**
 * The one decision "can this pending deployment run now, and where". DeploymentsModule binds a
 * simple fit-now implementation; the scheduler replaces the binding with its own (priority,
 * preemption, bin packing) without the deployments code changing.
 */
export abstract class PlacementPort {
  /** Tries to place a pending deployment at once (POST …/start). */
  abstract placeNow(deploymentId: number, actorUserId: number): Promise<PlaceNowResult>;

  /**
   * Called after anything that may let pending work run: a deployment created, completed,
   * failed or cancelled, a cluster resized.
   */
  abstract afterChange(organizationId: number, trigger: string): Promise<void>;
}
