import type { DeploymentStatus } from '../generated/prisma/enums';
import type { Actor, MovedDeployment } from './allocation.types';

/** One row of a deployment's history, written in the transaction of the change it records. */
export interface EventInput {
  deployment: MovedDeployment;
  clusterId: number | null;
  type: 'queued' | 'placed' | 'preempted' | 'completed' | 'failed' | 'cancelled';
  from: DeploymentStatus | null;
  to: DeploymentStatus;
  actor: Actor;
  code?: string | null;
  reason?: string | null;
}

export function eventRow(e: EventInput) {
  return {
    deploymentId: e.deployment.id,
    organizationId: e.deployment.organization_id,
    clusterId: e.clusterId,
    type: e.type,
    fromStatus: e.from,
    toStatus: e.to,
    actor: e.actor.kind,
    actorUserId: e.actor.kind === 'user' ? e.actor.userId : null,
    code: e.code ?? null,
    reason: e.reason ?? null,
  };
}
