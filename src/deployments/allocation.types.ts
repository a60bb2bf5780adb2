/** Who caused a state change; recorded on every deployment event. */
export type Actor = { kind: 'user'; userId: number } | { kind: 'scheduler' };

export const SCHEDULER: Actor = { kind: 'scheduler' };
export const byUser = (userId: number): Actor => ({ kind: 'user', userId });

export type TerminalStatus = 'completed' | 'failed' | 'cancelled';

/** A cluster row as locked for a capacity decision (amounts in milli-units). */
export interface LockedCluster {
  id: number;
  organization_id: number;
  total_ram_milli: number;
  total_cpu_milli: number;
  total_gpu_milli: number;
  available_ram_milli: number;
  available_cpu_milli: number;
  available_gpu_milli: number;
}

/** What a state change returns about the deployment it moved. */
export interface MovedDeployment {
  id: number;
  organization_id: number;
  cluster_id: number | null;
  required_ram_milli: number;
  required_cpu_milli: number;
  required_gpu_milli: number;
}

export interface PendingReasonUpdate {
  id: number;
  code: string;
  reason: string;
}

/** New cluster totals in milli-units; an omitted resource keeps its total. */
export interface ClusterTotals {
  ram?: number;
  cpu?: number;
  gpu?: number;
}
