import type { Cluster } from '../../generated/prisma/client';
import { fromMilli } from '../../common/units';

export class UtilizationDto {
  /** allocated / total, 0..1 */
  ram!: number;
  cpu!: number;
  /** 0 when the cluster has no GPU. */
  gpu!: number;
}

export type Capacity = Pick<
  Cluster,
  | 'totalRamMilli'
  | 'totalCpuMilli'
  | 'totalGpuMilli'
  | 'availableRamMilli'
  | 'availableCpuMilli'
  | 'availableGpuMilli'
>;

export function utilization(c: Capacity): UtilizationDto {
  const ratio = (total: number, available: number) => (total > 0 ? (total - available) / total : 0);
  return {
    ram: ratio(c.totalRamMilli, c.availableRamMilli),
    cpu: ratio(c.totalCpuMilli, c.availableCpuMilli),
    gpu: ratio(c.totalGpuMilli, c.availableGpuMilli),
  };
}

export class ClusterResourcesDto {
  cluster_id!: number;
  total_ram!: number;
  total_cpu!: number;
  total_gpu!: number;
  available_ram!: number;
  available_cpu!: number;
  available_gpu!: number;
  /** Held by running deployments: total − available. */
  allocated_ram!: number;
  allocated_cpu!: number;
  allocated_gpu!: number;
  utilization!: UtilizationDto;
  running_deployments!: number;
  /** Pending deployments pinned to this cluster. */
  pending_deployments!: number;

  static from(c: Cluster, counts: { running: number; pending: number }): ClusterResourcesDto {
    return {
      cluster_id: c.id,
      total_ram: fromMilli(c.totalRamMilli),
      total_cpu: fromMilli(c.totalCpuMilli),
      total_gpu: fromMilli(c.totalGpuMilli),
      available_ram: fromMilli(c.availableRamMilli),
      available_cpu: fromMilli(c.availableCpuMilli),
      available_gpu: fromMilli(c.availableGpuMilli),
      allocated_ram: fromMilli(c.totalRamMilli - c.availableRamMilli),
      allocated_cpu: fromMilli(c.totalCpuMilli - c.availableCpuMilli),
      allocated_gpu: fromMilli(c.totalGpuMilli - c.availableGpuMilli),
      utilization: utilization(c),
      running_deployments: counts.running,
      pending_deployments: counts.pending,
    };
  }
}
