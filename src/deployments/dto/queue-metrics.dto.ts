import { UtilizationDto } from '../../clusters/dto/cluster-resources.dto';

export class CountsByStatusDto {
  pending!: number;
  running!: number;
  completed!: number;
  failed!: number;
  cancelled!: number;
}

export class PriorityCountDto {
  priority!: number;
  count!: number;
}

export class WaitTimeDto {
  /** Seconds from creation to first start; null without samples. */
  p50!: number | null;
  p90!: number | null;
  p99!: number | null;
  /**
   * Deployments first started in the last hour, among the organisation's most recent first starts
   * (a bounded sample: the last 256 per writing connection stripe, at most 4,096).
   */
  samples!: number;
}

export class ClusterQueueDto {
  cluster_id!: number;
  name!: string;
  utilization!: UtilizationDto;
  running!: number;
  /** Pending deployments pinned to the cluster. */
  pending!: number;
}

export class SchedulerPassDto {
  /** null until the scheduler has run a pass for these organizations. */
  last_pass_at!: Date | null;
  last_pass_duration_ms!: number | null;
  last_pass_placements!: number | null;
  last_pass_preemptions!: number | null;
  passes_last_hour!: number;
}

export class QueueMetricsDto {
  counts_by_status!: CountsByStatusDto;
  /** Pending deployments per priority, highest first. */
  pending_by_priority!: PriorityCountDto[];
  /** Age of the oldest pending deployment (from its original creation); null when none. */
  oldest_pending_age_seconds!: number | null;
  wait_time_seconds!: WaitTimeDto;
  /** Σ preemption_count. */
  preemptions_total!: number;
  clusters!: ClusterQueueDto[];
  scheduler!: SchedulerPassDto;
}
