import { Injectable } from '@nestjs/common';
import { conflict, type AppError } from '../common/errors/app-error';
import { EventNotifier } from '../events/event-notifier.service';
import { PrismaService } from '../prisma/prisma.service';
import { AllocationService } from './allocation.service';
import { byUser, type TerminalStatus } from './allocation.types';
import { DeploymentAccess } from './deployment-access.service';
import type { DeploymentWithDeps } from './dto/deployment.dto';
import { PlacementPort } from './placement.port';
import { runTx } from './run-tx';

/**
 * The user's state transitions (start, complete, fail, cancel). Capacity and status changes go
 * through AllocationService inside one transaction each; the placement decision through
 * PlacementPort.
 */
@Injectable()
export class DeploymentActionsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly allocation: AllocationService,
    private readonly access: DeploymentAccess,
    private readonly placement: PlacementPort,
    private readonly notifier: EventNotifier,
  ) {}

  /** pending → running now, if the placement rules allow it; else 409 with the pending reason. */
  async start(userId: number, id: number): Promise<DeploymentWithDeps> {
    const d = await this.access.actionable(userId, id);
    if (d.status !== 'pending') throw illegal('start', d.status);
    const result = await this.placement.placeNow(id, userId);
    const after = await this.access.reload(id);
    if (result.placed || after.status === 'running') return after;
    if (after.status !== 'pending') throw illegal('start', after.status);
    const pendingReason = {
      code: result.code ?? after.pendingCode ?? 'queued',
      message: result.reason ?? after.pendingReason ?? 'waiting to be scheduled',
    };
    throw conflict(
      'deployment/cannot_place',
      `Deployment ${id} cannot be placed now: ${pendingReason.message}`,
      { pending_reason: pendingReason },
    );
  }

  complete(userId: number, id: number): Promise<DeploymentWithDeps> {
    return this.finish(userId, id, 'completed');
  }

  fail(userId: number, id: number, reason?: string): Promise<DeploymentWithDeps> {
    return this.finish(userId, id, 'failed', reason);
  }

  /** pending or running → cancelled; a running one frees its resources. */
  async cancel(userId: number, id: number): Promise<DeploymentWithDeps> {
    const d = await this.access.actionable(userId, id);
    const actor = byUser(userId);
    const done = await runTx(this.prisma, async (tx) => {
      // A scheduler pass may move it between pending and running (placement, preemption)
      // between the two conditional updates: try again while it is still cancellable.
      for (let attempt = 0; attempt < 5; attempt++) {
        const moved =
          (await this.allocation.release(tx, id, 'cancelled', actor)) ??
          (await this.allocation.cancelPending(tx, id, actor));
        if (moved) {
          await this.allocation.failDependants(tx, id, actor);
          return true;
        }
        const now = await tx.deployment.findUnique({ where: { id }, select: { status: true } });
        if (now?.status !== 'pending' && now?.status !== 'running') return false;
      }
      return false;
    });
    if (!done) throw illegal('cancel', (await this.access.reload(id)).status);
    this.notifier.notify(d.organizationId); // committed its events: wake live streams
    await this.placement.afterChange(d.organizationId, 'deployment_cancelled');
    return this.access.reload(id);
  }

  /** running → completed | failed, freeing its resources once; a failure cascades. */
  private async finish(
    userId: number,
    id: number,
    to: Extract<TerminalStatus, 'completed' | 'failed'>,
    reason?: string,
  ): Promise<DeploymentWithDeps> {
    const d = await this.access.actionable(userId, id);
    const actor = byUser(userId);
    const done = await runTx(this.prisma, async (tx) => {
      const moved = await this.allocation.release(tx, id, to, actor, reason);
      if (moved && to === 'failed') await this.allocation.failDependants(tx, id, actor);
      return moved !== null;
    });
    const verb = to === 'completed' ? 'complete' : 'fail';
    if (!done) throw illegal(verb, (await this.access.reload(id)).status);
    this.notifier.notify(d.organizationId); // committed its events: wake live streams
    await this.placement.afterChange(d.organizationId, `deployment_${to}`);
    return this.access.reload(id);
  }
}

function illegal(verb: string, status: string): AppError {
  return conflict(
    'deployment/illegal_transition',
    `Cannot ${verb} a deployment that is ${status}`,
    { current_status: status },
  );
}
