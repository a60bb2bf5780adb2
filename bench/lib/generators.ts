/**
 * Seeded Snapshot generators.
 *  - `smallInstance`: quality instances (2–6 clusters, 10–40 deployments, 3–4 priority classes,
 *    contended: pending demand usually exceeds free capacity so priority and preemption matter).
 *  - `tinyInstance`: ≤ 6 deployments on ≤ 2 clusters, for the MILP-vs-brute-force unit test.
 *  - `largeSnapshot`: N pending × C clusters for the planner scale benchmark.
 * Every snapshot is consistent: cluster.available = total − Σ req of its running deployments ≥ 0.
 */
import type {
  ClusterSnapshot,
  PendingSnapshot,
  Resources,
  RunningSnapshot,
  Snapshot,
} from '../../src/scheduler/planner/types';
import { Rng } from './prng';

const NOW = 1_750_000_000_000;
const HOUR = 3_600_000;

function sub(a: Resources, b: Resources): Resources {
  return { ram: a.ram - b.ram, cpu: a.cpu - b.cpu, gpu: a.gpu - b.gpu };
}

function fitsIn(req: Resources, free: Resources): boolean {
  return req.ram <= free.ram && req.cpu <= free.cpu && req.gpu <= free.gpu;
}

interface ClusterDraft {
  id: number;
  total: Resources;
  free: Resources;
}

/** Builds running deployments on a cluster until `fill` of its cpu and ram would be exceeded. */
function fillCluster(
  rng: Rng,
  cl: ClusterDraft,
  fill: number,
  nextId: () => number,
  makeReq: (cl: ClusterDraft) => Resources,
  priorities: readonly number[],
  pinnedChance: number,
  maxCount: number,
): RunningSnapshot[] {
  const out: RunningSnapshot[] = [];
  const budget: Resources = {
    ram: Math.floor(cl.total.ram * fill),
    cpu: Math.floor(cl.total.cpu * fill),
    gpu: Math.floor(cl.total.gpu * fill),
  };
  let misses = 0;
  while (out.length < maxCount && misses < 4) {
    const req = makeReq(cl);
    if (!fitsIn(req, budget)) {
      misses++;
      continue;
    }
    budget.ram -= req.ram;
    budget.cpu -= req.cpu;
    budget.gpu -= req.gpu;
    cl.free = sub(cl.free, req);
    out.push({
      id: nextId(),
      clusterId: cl.id,
      priority: rng.pick(priorities),
      req,
      startedAt: NOW - rng.int(1, 10 * HOUR),
      pinned: rng.chance(pinnedChance),
    });
  }
  return out;
}

function finish(
  clusters: ClusterDraft[],
  running: RunningSnapshot[],
  pending: PendingSnapshot[],
): Snapshot {
  const cs: ClusterSnapshot[] = clusters.map((c) => ({
    id: c.id,
    total: c.total,
    available: c.free,
  }));
  return { clusters: cs, running, pending, now: NOW };
}

const PRIORITY_POOL = [10, 50, 100, 200, 500];

/** Quality instance: 2–6 clusters, 10–40 deployments in total, 3–4 priority classes. */
export function smallInstance(seed: number): Snapshot {
  const rng = new Rng(seed);
  const nClusters = rng.int(2, 6);
  const total = rng.int(10, 40);
  const classes = rng.shuffle([...PRIORITY_POOL]).slice(0, rng.int(3, 4));
  let id = 0;
  const nextId = (): number => ++id;
  const clusters: ClusterDraft[] = [];
  for (let i = 0; i < nClusters; i++) {
    const t: Resources = {
      cpu: rng.pick([4000, 8000, 16000]),
      ram: rng.pick([8000, 16000, 32000]),
      gpu: rng.chance(0.4) ? rng.pick([1000, 2000, 4000]) : 0,
    };
    clusters.push({ id: 101 + i, total: t, free: { ...t } });
  }
  const anyGpu = clusters.some((c) => c.total.gpu > 0);
  const makeReq = (): Resources => ({
    cpu: rng.int(1, 16) * 250,
    ram: rng.int(1, 16) * 500,
    gpu: anyGpu && rng.chance(0.2) ? rng.int(1, 2) * 1000 : 0,
  });
  const running: RunningSnapshot[] = [];
  const perCluster = Math.max(1, Math.floor((total * rng.int(30, 55)) / 100 / nClusters));
  for (const cl of clusters) {
    running.push(
      ...fillCluster(rng, cl, rng.int(50, 95) / 100, nextId, makeReq, classes, 0.25, perCluster),
    );
  }
  const pending: PendingSnapshot[] = [];
  while (running.length + pending.length < total) {
    const r = rng.next();
    pending.push({
      id: nextId(),
      priority: rng.pick(classes),
      req: makeReq(),
      createdAt: NOW - rng.int(1, 2 * HOUR),
      pinnedClusterId: rng.chance(0.25) ? rng.pick(clusters).id : null,
      dependencyState: r < 0.05 ? 'waiting' : r < 0.07 ? 'failed' : 'ready',
      waitingFor: r < 0.07 && running.length > 0 ? [rng.pick(running).id] : [],
    });
  }
  return finish(clusters, running, pending);
}

/** Unit-test instance: 1–6 deployments on 1–2 clusters with small capacities (heavy contention). */
export function tinyInstance(seed: number): Snapshot {
  const rng = new Rng(seed);
  const nClusters = rng.int(1, 2);
  const n = rng.int(2, 6);
  const classes = rng.shuffle([1, 2, 3]).slice(0, rng.int(1, 3));
  let id = 0;
  const nextId = (): number => ++id;
  const clusters: ClusterDraft[] = [];
  for (let i = 0; i < nClusters; i++) {
    const t: Resources = {
      cpu: rng.int(2, 6) * 1000,
      ram: rng.int(2, 6) * 1000,
      gpu: rng.chance(0.3) ? 1000 : 0,
    };
    clusters.push({ id: 1 + i, total: t, free: { ...t } });
  }
  const makeReq = (): Resources => ({
    cpu: rng.int(1, 4) * 1000,
    ram: rng.int(0, 3) * 1000,
    gpu: rng.chance(0.15) ? 1000 : 0,
  });
  const running: RunningSnapshot[] = [];
  for (const cl of clusters) {
    running.push(
      ...fillCluster(rng, cl, 1, nextId, makeReq, classes, 0.3, rng.int(0, Math.ceil(n / 2))),
    );
  }
  const pending: PendingSnapshot[] = [];
  while (running.length + pending.length < n) {
    pending.push({
      id: nextId(),
      priority: rng.pick(classes),
      req: makeReq(),
      createdAt: NOW - rng.int(1, HOUR),
      pinnedClusterId: rng.chance(0.3) ? rng.pick(clusters).id : null,
      dependencyState: rng.chance(0.08) ? 'waiting' : 'ready',
      waitingFor: [],
    });
  }
  return finish(clusters, running, pending);
}

/**
 * Scale snapshot: `nPending` pending deployments over `nClusters` clusters that running work
 * already fills to 60–90%. Priorities 0/100/200/500/1000 (skewed to the low end), ~10% of the
 * pending pinned, ~5% waiting for a dependency, ~20% of clusters with GPUs.
 */
export function largeSnapshot(seed: number, nPending: number, nClusters: number): Snapshot {
  const rng = new Rng(seed);
  const priorities = [0, 0, 0, 100, 100, 200, 500, 1000];
  let id = 0;
  const nextId = (): number => ++id;
  const clusters: ClusterDraft[] = [];
  for (let i = 0; i < nClusters; i++) {
    const t: Resources = {
      cpu: rng.int(4, 16) * 16000,
      ram: rng.int(4, 32) * 32000,
      gpu: rng.chance(0.2) ? rng.pick([4000, 8000]) : 0,
    };
    clusters.push({ id: 1 + i, total: t, free: { ...t } });
  }
  const makeRunningReq = (cl: ClusterDraft): Resources => ({
    cpu: rng.int(1, 16) * 1000,
    ram: rng.int(1, 32) * 1000,
    gpu: cl.total.gpu > 0 && rng.chance(0.3) ? 1000 : 0,
  });
  const running: RunningSnapshot[] = [];
  for (const cl of clusters) {
    running.push(
      ...fillCluster(rng, cl, rng.int(60, 90) / 100, nextId, makeRunningReq, priorities, 0.1, 1000),
    );
  }
  const pending: PendingSnapshot[] = [];
  for (let i = 0; i < nPending; i++) {
    const waiting = rng.chance(0.05);
    pending.push({
      id: nextId(),
      priority: rng.pick(priorities),
      req: {
        cpu: rng.int(1, 32) * 250,
        ram: rng.int(1, 32) * 500,
        gpu: rng.chance(0.05) ? 1000 : 0,
      },
      createdAt: NOW - rng.int(1, 24 * HOUR),
      pinnedClusterId: rng.chance(0.1) ? 1 + rng.int(0, nClusters - 1) : null,
      dependencyState: waiting ? 'waiting' : 'ready',
      waitingFor: waiting && running.length > 0 ? [rng.pick(running).id] : [],
    });
  }
  return finish(clusters, running, pending);
}
