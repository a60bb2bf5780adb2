import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/configuration';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { compareQueue, effectivePriority, plan } from '../scheduler/planner';
import type { DependencyState, PendingSnapshot, Policy } from '../scheduler/planner/types';
import { loadSnapshot } from '../scheduler/snapshot.loader';
import { DeploymentsService } from './deployments.service';
import type { CreateDeploymentDto } from './dto/create-deployment.dto';
import type { DeploymentPlanDto } from './dto/deployment-plan.dto';

/** Stands for the deployment that is not created: above every real id (int4), so it is youngest. */
const WHAT_IF_ID = 2 ** 31;

/**
 * The dry run of a create (POST /deployments/plan): the same checks as a create, then the same
 * pure planner as a pass, on the organisation's current state with the new deployment added.
 *
 * It writes nothing and takes no lock a pass or a create would wait for: one REPEATABLE READ,
 * READ ONLY transaction gives a consistent snapshot (clusters, running and pending work read at
 * one instant) without the pass's advisory lock or its FOR NO KEY UPDATE on the clusters.
 */
@Injectable()
export class DeploymentPlanService {
  private readonly policy: Policy;

  constructor(
    private readonly prisma: PrismaService,
    private readonly deployments: DeploymentsService,
    config: ConfigService<AppConfig, true>,
  ) {
    // The pass's policy (SchedulerService reads the same two settings).
    this.policy = {
      agingSeconds: config.get('schedulerAgingSeconds', { infer: true }),
      starvationSeconds: config.get('schedulerStarvationSeconds', { infer: true }),
    };
  }

  async plan(userId: number, dto: CreateDeploymentDto): Promise<DeploymentPlanDto> {
    const target = await this.deployments.prepare(userId, dto);
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SET TRANSACTION READ ONLY`;
        const deps = await this.deployments.dependencies(
          tx,
          target.organizationId,
          target.dependsOn,
          false,
        );
        const broken = deps.find((d) => d.status === 'failed' || d.status === 'cancelled');
        if (broken) {
          // A create would fail it at once (contract §4.6).
          return {
            would_run: false,
            cluster_id: target.cluster?.id ?? null,
            preempts: [],
            pending_reason: {
              code: 'dependency_failed',
              message: `dependency ${broken.id} ${broken.status}`,
            },
            queue_position: null,
          };
        }
        const waitingFor = deps.filter((d) => d.status !== 'completed').map((d) => d.id);
        const now = Date.now();
        const snapshot = await loadSnapshot(tx, target.organizationId, now, false);
        const dependencyState: DependencyState = waitingFor.length > 0 ? 'waiting' : 'ready';
        const whatIf: PendingSnapshot = {
          id: WHAT_IF_ID,
          priority: target.priority,
          req: target.need,
          createdAt: now,
          pinnedClusterId: target.cluster?.id ?? null,
          dependencyState,
          waitingFor,
        };
        snapshot.pending.push(whatIf);
        const decisions = plan(snapshot, this.policy);

        const placed = decisions.placements.find((p) => p.deploymentId === WHAT_IF_ID);
        if (placed) {
          const victimIds = decisions.preemptions
            .filter((p) => p.forDeploymentId === WHAT_IF_ID)
            .map((p) => p.victimId);
          const victims = victimIds.length
            ? await tx.deployment.findMany({
                where: { id: { in: victimIds } },
                select: { id: true, name: true, priority: true },
                orderBy: { id: 'asc' },
              })
            : [];
          return {
            would_run: true,
            cluster_id: placed.clusterId,
            preempts: victims,
            pending_reason: null,
            queue_position: null,
          };
        }

        const reason = decisions.pending.find((r) => r.deploymentId === WHAT_IF_ID);
        // Its place in line among everything that would still wait after that pass.
        const stillPending = new Set(decisions.pending.map((r) => r.deploymentId));
        const evicted = new Map(
          snapshot.running
            .filter((r) => stillPending.has(r.id))
            .map((r) => [r.id, { ...r, createdAt: r.createdAt ?? r.startedAt }]),
        );
        const queued = [
          ...snapshot.pending.filter((p) => stillPending.has(p.id)),
          ...evicted.values(),
        ].map((p) => ({ ...p, eff: effectivePriority(p, now, this.policy) }));
        const me = { ...whatIf, eff: effectivePriority(whatIf, now, this.policy) };
        const ahead = queued.filter((q) => q.id !== WHAT_IF_ID && compareQueue(q, me) < 0).length;
        return {
          would_run: false,
          cluster_id: target.cluster?.id ?? null,
          preempts: [],
          pending_reason: reason
            ? { code: reason.code, message: reason.reason }
            : { code: 'queued', message: 'waiting to be scheduled' },
          queue_position: ahead + 1,
        };
      },
      { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, maxWait: 10_000 },
    );
  }
}
