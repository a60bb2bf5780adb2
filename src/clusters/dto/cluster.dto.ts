import type { Cluster } from '../../generated/prisma/client';
import { fromMilli } from '../../common/units';

export class ClusterDto {
  id!: number;
  name!: string;
  organization_id!: number;
  /** GiB */
  total_ram!: number;
  /** cores */
  total_cpu!: number;
  /** devices */
  total_gpu!: number;
  available_ram!: number;
  available_cpu!: number;
  available_gpu!: number;
  created_at!: Date;
  updated_at!: Date;

  static from(c: Cluster): ClusterDto {
    return {
      id: c.id,
      name: c.name,
      organization_id: c.organizationId,
      total_ram: fromMilli(c.totalRamMilli),
      total_cpu: fromMilli(c.totalCpuMilli),
      total_gpu: fromMilli(c.totalGpuMilli),
      available_ram: fromMilli(c.availableRamMilli),
      available_cpu: fromMilli(c.availableCpuMilli),
      available_gpu: fromMilli(c.availableGpuMilli),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
    };
  }
}
