/**
 * The planner's input and output. Pure data: no Nest, no Prisma, no clock.
 * Every resource amount is an integer number of milli-units (1 cpu = 1000, 1 GiB = 1000).
 * Times are epoch milliseconds.
 */
export interface Resources {
  ram: number;
  cpu: number;
  gpu: number;
}

export interface ClusterSnapshot {
  id: number;
  total: Resources;
  /** Must equal total − Σ req of the running deployments on it (the shell guarantees it). */
  available: Resources;
}

export interface RunningSnapshot {
  id: number;
  clusterId: number;
  priority: number;
  req: Resources;
  startedAt: number;
  /** True when the deployment may only run on clusterId (pinned by its owner). */
  pinned: boolean;
  /**
   * Place in line if it is preempted (createdAt survives preemption). Optional for callers that
   * predate it; the planner falls back to startedAt, which is never earlier than the creation.
   */
  createdAt?: number;
}

export type DependencyState = 'ready' | 'waiting' | 'failed';

export interface PendingSnapshot {
  id: number;
  priority: number;
  req: Resources;
  /** Place in line: the original creation time, kept across preemptions. */
  createdAt: number;
  /** Pinned cluster, or null when the planner picks among all clusters of the snapshot. */
  pinnedClusterId: number | null;
  dependencyState: DependencyState;
  /** Ids of dependencies not yet completed (for the pending reason). */
  waitingFor: number[];
}

export interface Snapshot {
  /** The bins: every cluster of one organisation. */
  clusters: ClusterSnapshot[];
  running: RunningSnapshot[];
  pending: PendingSnapshot[];
  now: number;
}

export interface Policy {
  /** One step of effective priority per this many seconds waited; 0 disables aging. */
  agingSeconds: number;
  /** Past this wait, capacity is held for the deployment; 0 disables the bound. */
  starvationSeconds: number;
}

export interface Placement {
  deploymentId: number;
  clusterId: number;
}

export interface Preemption {
  victimId: number;
  clusterId: number;
  forDeploymentId: number;
}

export type PendingCode =
  | 'waiting_for_dependencies'
  | 'insufficient_resources'
  | 'queued_behind_higher_priority'
  | 'capacity_held_for_starving'
  | 'no_cluster';

export interface PendingReason {
  deploymentId: number;
  code: PendingCode;
  /** Words a person reads, e.g. "insufficient cpu on cluster 3: needs 4, 2 free". */
  reason: string;
}

export interface Failure {
  deploymentId: number;
  code: 'dependency_failed';
  reason: string;
}

/**
 * Capacity held on a cluster for a starving deployment: work behind it in queue order may only use
 * available minus the held amount there. Informational for the shell; the tests check against it.
 */
export interface Reservation {
  deploymentId: number;
  clusterId: number;
  held: Resources;
}

export interface Plan {
  placements: Placement[];
  preemptions: Preemption[];
  /** One entry for every deployment left pending (including preempted victims not re-placed). */
  pending: PendingReason[];
  failures: Failure[];
  /** Capacity held for starving deployments in the resulting state (absent when none). */
  reservations?: Reservation[];
}
