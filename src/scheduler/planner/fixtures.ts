import type {
  ClusterSnapshot,
  DependencyState,
  PendingSnapshot,
  Policy,
  Resources,
  RunningSnapshot,
  Snapshot,
} from './types';

/**
 * Builders for planner tests: amounts in whole units (ram/cpu/gpu), converted to milli-units;
 * `available` is always derived from the running work so snapshots are consistent.
 */

export type Units = [ram: number, cpu: number, gpu: number];

export const NOW = 1_000_000_000;
export const NO_AGING: Policy = { agingSeconds: 0, starvationSeconds: 0 };

export function units([ram, cpu, gpu]: Units): Resources {
  return { ram: ram * 1000, cpu: cpu * 1000, gpu: gpu * 1000 };
}

export interface RunningSpec {
  id: number;
  cluster: number;
  priority: number;
  req: Units;
  startedAt?: number;
  pinned?: boolean;
}

export interface PendingSpec {
  id: number;
  priority: number;
  req: Units;
  createdAt?: number;
  pin?: number;
  deps?: DependencyState;
  waitingFor?: number[];
}

export function snapshot(spec: {
  clusters: Array<[id: number, total: Units]>;
  running?: RunningSpec[];
  pending?: PendingSpec[];
  now?: number;
}): Snapshot {
  const now = spec.now ?? NOW;
  const running: RunningSnapshot[] = (spec.running ?? []).map((r) => ({
    id: r.id,
    clusterId: r.cluster,
    priority: r.priority,
    req: units(r.req),
    startedAt: r.startedAt ?? now - 60_000,
    pinned: r.pinned ?? false,
    createdAt: (r.startedAt ?? now - 60_000) - 1000,
  }));
  const pending: PendingSnapshot[] = (spec.pending ?? []).map((p) => ({
    id: p.id,
    priority: p.priority,
    req: units(p.req),
    createdAt: p.createdAt ?? now - 1000 + p.id,
    pinnedClusterId: p.pin ?? null,
    dependencyState: p.deps ?? 'ready',
    waitingFor: p.waitingFor ?? [],
  }));
  return withAvailable({
    clusters: spec.clusters.map(([id, total]) => ({
      id,
      total: units(total),
      available: units(total),
    })),
    running,
    pending,
    now,
  });
}

/** Recomputes every cluster's `available` from its running work. */
export function withAvailable(s: Snapshot): Snapshot {
  const clusters: ClusterSnapshot[] = s.clusters.map((c) => {
    const available = { ...c.total };
    for (const r of s.running) {
      if (r.clusterId !== c.id) continue;
      available.ram -= r.req.ram;
      available.cpu -= r.req.cpu;
      available.gpu -= r.req.gpu;
    }
    return { ...c, available };
  });
  return { ...s, clusters };
}
