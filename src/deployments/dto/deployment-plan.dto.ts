import { PendingReasonDto } from './deployment.dto';

/** A running deployment the new one would evict. */
export class PlannedPreemptionDto {
  id!: number;
  name!: string;
  priority!: number;
}

/** What would happen if the deployment were submitted now (POST /deployments/plan). */
export class DeploymentPlanDto {
  /** True when the scheduler's pass would start it at once. */
  would_run!: boolean;
  /** Where it would run; for work that would wait, its pinned cluster (null when unpinned). */
  cluster_id!: number | null;
  /** Running deployments it would evict (strictly lower priority, on that cluster). */
  preempts!: PlannedPreemptionDto[];
  /** Why it would wait (the same codes and words as a pending deployment); null when it runs. */
  pending_reason!: PendingReasonDto | null;
  /**
   * 1-based place in the organisation's queue of pending deployments after that pass (queue
   * order: effective priority, then age); null when it would run or fail at once.
   */
  queue_position!: number | null;
}
