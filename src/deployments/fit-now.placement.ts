import { Injectable } from '@nestjs/common';
import { fromMilli } from '../common/units';
import { PrismaService, type Tx } from '../prisma/prisma.service';
import { AllocationService } from './allocation.service';
import { byUser, type LockedCluster } from './allocation.types';
import { PlacementPort, type PlaceNowResult } from './placement.port';
import { runTx } from './run-tx';

interface Need {
  ram: number;
  cpu: number;
  gpu: number;
}

/**
 * The placement used until the scheduler lands: place now if it fits (pinned: its cluster;
 * unpinned: the fitting cluster with the least free cpu, i.e. best fit), otherwise record why
 * not. No priorities, no preemption; afterChange does nothing.
 */
@Injectable()
export class FitNowPlacement extends PlacementPort {
  constructor(
    private readonly prisma: PrismaService,
    private readonly allocation: AllocationService,
  ) {
    super();
  }

  placeNow(deploymentId: number, actorUserId: number): Promise<PlaceNowResult> {
    return runTx(this.prisma, (tx) => this.tryPlace(tx, deploymentId, actorUserId));
  }

  async afterChange(): Promise<void> {}

  private async tryPlace(tx: Tx, id: number, actorUserId: number): Promise<PlaceNowResult> {
    const d = await tx.deployment.findUnique({ where: { id } });
    if (!d || d.status !== 'pending') {
      return { placed: false, code: 'not_pending', reason: `deployment is ${d?.status ?? 'gone'}` };
    }
    const waiting = await tx.$queryRaw<{ id: number }[]>`
      SELECT dep.id FROM deployment_dependencies dd
      JOIN deployments dep ON dep.id = dd.depends_on_id
      WHERE dd.deployment_id = ${id} AND dep.status <> 'completed' ORDER BY dep.id`;
    if (waiting.length > 0) {
      return this.stayPending(
        tx,
        id,
        'waiting_for_dependencies',
        `waiting for dependencies ${waiting.map((w) => w.id).join(', ')}`,
      );
    }
    const candidateIds = d.pinned
      ? [d.clusterId ?? 0]
      : (
          await tx.cluster.findMany({
            where: { organizationId: d.organizationId },
            select: { id: true },
          })
        ).map((c) => c.id);
    const clusters = await this.allocation.lockClusters(tx, candidateIds);
    if (clusters.length === 0) {
      return this.stayPending(tx, id, 'no_cluster', 'the organization has no cluster');
    }
    const need = { ram: d.requiredRamMilli, cpu: d.requiredCpuMilli, gpu: d.requiredGpuMilli };
    const best = clusters
      .filter((c) => shortages(c, need).length === 0)
      .sort((a, b) => a.available_cpu_milli - b.available_cpu_milli || a.id - b.id)[0];
    if (best && (await this.allocation.place(tx, id, best.id, byUser(actorUserId)))) {
      return { placed: true };
    }
    const reason =
      clusters.length === 1 && clusters[0]
        ? shortages(clusters[0], need).join('; ')
        : `no cluster has room: ${clusters
            .map((c) => `cluster ${c.id} (${shortages(c, need).join('; ')})`)
            .join(', ')}`;
    return this.stayPending(tx, id, 'insufficient_resources', reason);
  }

  private async stayPending(
    tx: Tx,
    id: number,
    code: string,
    reason: string,
  ): Promise<PlaceNowResult> {
    await this.allocation.setPendingReasons(tx, [{ id, code, reason }]);
    return { placed: false, code, reason };
  }
}

/** "insufficient cpu: needs 4, 2 free" for each resource that does not fit. */
function shortages(c: LockedCluster, need: Need): string[] {
  const free: Need = {
    ram: c.available_ram_milli,
    cpu: c.available_cpu_milli,
    gpu: c.available_gpu_milli,
  };
  return (['cpu', 'ram', 'gpu'] as const)
    .filter((r) => need[r] > free[r])
    .map((r) => `insufficient ${r}: needs ${fromMilli(need[r])}, ${fromMilli(free[r])} free`);
}
