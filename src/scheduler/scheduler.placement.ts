import { Injectable, Logger } from '@nestjs/common';
import {
  type CreateCandidate,
  type CreateChoice,
  PlacementPort,
} from '../deployments/placement.port';
import { PrismaService, type Tx } from '../prisma/prisma.service';
import { CreateFastPath } from './fast-path/create-fast-path';
import { SchedulerService } from './scheduler.service';

/**
 * The scheduler behind the deployments module's placement seam: `start` and every change run
 * the same organisation pass, so one place decides placement.
 */
@Injectable()
export class SchedulerPlacement extends PlacementPort {
  private readonly logger = new Logger(SchedulerPlacement.name);

  constructor(
    private readonly scheduler: SchedulerService,
    private readonly prisma: PrismaService,
    private readonly fastPath: CreateFastPath,
  ) {
    super();
  }

  async placeNow(
    deploymentId: number,
  ): Promise<{ placed: boolean; code?: string; reason?: string }> {
    const before = await this.prisma.deployment.findUnique({
      where: { id: deploymentId },
      select: { organizationId: true },
    });
    if (!before) return { placed: false, code: 'not_found', reason: 'deployment not found' };
    await this.scheduler.requestPass(before.organizationId, 'start');
    const after = await this.prisma.deployment.findUnique({
      where: { id: deploymentId },
      select: { status: true, pendingCode: true, pendingReason: true },
    });
    if (after?.status === 'running') return { placed: true };
    return {
      placed: false,
      code: after?.pendingCode ?? 'not_placed',
      reason: after?.pendingReason ?? `deployment is ${after?.status ?? 'gone'}`,
    };
  }

  /** Runs the pass inline so the caller's response can already show the outcome. */
  async afterChange(organizationId: number, trigger: string): Promise<void> {
    try {
      await this.scheduler.requestPass(organizationId, trigger);
    } catch (err) {
      // The periodic pass catches up; the caller's own change is already committed.
      this.logger.error({ err, organizationId, trigger }, 'immediate scheduler pass failed');
    }
  }

  /**
   * A create that a full pass would place at once, on a known cluster, starts there in its own
   * transaction without one (fast-path/decide.ts); anything else runs the pass after the commit.
   */
  override chooseForCreate(
    tx: Tx,
    organizationId: number,
    candidate: CreateCandidate,
  ): Promise<CreateChoice | null> {
    return this.fastPath.holdAndChoose(tx, organizationId, candidate);
  }

  override async afterCreate(
    organizationId: number,
    _deploymentId: number,
    placed = false,
  ): Promise<void> {
    if (placed) {
      this.fastPath.placed(organizationId);
      return;
    }
    await this.afterChange(organizationId, 'deployment_created');
  }
}
