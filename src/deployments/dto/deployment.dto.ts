import type { Deployment, DeploymentEvent } from '../../generated/prisma/client';
import { DeploymentStatus } from '../../generated/prisma/enums';
import { fromMilli } from '../../common/units';

export class PendingReasonDto {
  /** e.g. `insufficient_resources`, `waiting_for_dependencies`, `queued_behind_higher_priority`. */
  code!: string;
  /** In words, e.g. "insufficient cpu: needs 4, 2 free". */
  message!: string;
}

export type DeploymentWithDeps = Deployment & { dependsOn: { dependsOnId: number }[] };

export class DeploymentDto {
  id!: number;
  name!: string;
  docker_image!: string;
  /** The owner (its creator). */
  user_id!: number;
  organization_id!: number;
  /** The pinned cluster, or where it runs (ran); null while unpinned work waits. */
  cluster_id!: number | null;
  /** True when the owner pinned it to `cluster_id`. */
  pinned!: boolean;
  status!: DeploymentStatus;
  priority!: number;
  required_ram!: number;
  required_cpu!: number;
  required_gpu!: number;
  depends_on!: number[];
  preemption_count!: number;
  /** Why a pending deployment is not running; null otherwise. */
  pending_reason!: PendingReasonDto | null;
  /** Why it failed (`dependency_failed` when a dependency failed or was cancelled). */
  failure_reason!: string | null;
  created_at!: Date;
  started_at!: Date | null;
  completed_at!: Date | null;
  updated_at!: Date;

  static from(d: DeploymentWithDeps): DeploymentDto {
    return {
      id: d.id,
      name: d.name,
      docker_image: d.dockerImage,
      user_id: d.userId,
      organization_id: d.organizationId,
      cluster_id: d.clusterId,
      pinned: d.pinned,
      status: d.status,
      priority: d.priority,
      required_ram: fromMilli(d.requiredRamMilli),
      required_cpu: fromMilli(d.requiredCpuMilli),
      required_gpu: fromMilli(d.requiredGpuMilli),
      depends_on: d.dependsOn.map((x) => x.dependsOnId).sort((a, b) => a - b),
      preemption_count: d.preemptionCount,
      pending_reason:
        d.status === 'pending'
          ? {
              code: d.pendingCode ?? 'queued',
              message: d.pendingReason ?? 'waiting to be scheduled',
            }
          : null,
      failure_reason: d.failureReason,
      created_at: d.createdAt,
      started_at: d.startedAt,
      completed_at: d.completedAt,
      updated_at: d.updatedAt,
    };
  }
}

export class DeploymentPageDto {
  items!: DeploymentDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor!: string | null;
}

export class DeploymentEventDto {
  id!: number;
  /** queued | placed | preempted | completed | failed | cancelled */
  type!: string;
  from_status!: DeploymentStatus | null;
  to_status!: DeploymentStatus;
  /** `user` or `scheduler`. */
  actor!: string;
  actor_user_id!: number | null;
  code!: string | null;
  reason!: string | null;
  cluster_id!: number | null;
  created_at!: Date;

  static from(e: DeploymentEvent): DeploymentEventDto {
    return {
      id: e.id,
      type: e.type,
      from_status: e.fromStatus,
      to_status: e.toStatus,
      actor: e.actor,
      actor_user_id: e.actorUserId,
      code: e.code,
      reason: e.reason,
      cluster_id: e.clusterId,
      created_at: e.createdAt,
    };
  }
}
