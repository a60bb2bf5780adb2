/**
 * The benchmark's reading of the scheduling rules, as checks on a FINAL STATE.
 *
 * A final state (an `Assignment`) says, for every deployment of a snapshot (running or pending),
 * on which cluster it runs after the plan, or `null` when it is (or becomes) pending.
 * The same checks judge the planner, the baselines, the MILP optimum and the brute-force
 * enumerator of the unit test, so all four are measured against one definition.
 *
 * Rules (see `violations`):
 *  R1 capacity      for every cluster and resource, Σ req of the deployments on it ≤ total.
 *  R2 clusters      a deployment only runs on a cluster of the snapshot.
 *  R3 pinning       a pinned pending deployment only on its pinned cluster; a pinned running one
 *                   only on its current cluster (or evicted → pending).
 *  R4 dependencies  a pending deployment whose dependencyState is not 'ready' stays pending.
 *  R5 preemption    a running deployment v on cluster h that no longer runs on h (evicted, and
 *                   possibly re-placed elsewhere when unpinned) must have been NECESSARY to evict
 *                   for strictly higher-priority work on h: putting v back on h next to
 *                     – every deployment on h in the final state with priority > prio(v), and
 *                     – every deployment that was running on h, still is, with priority ≤ prio(v)
 *                   must exceed h's total in at least one resource.
 *                   Deployments newly placed on h with priority ≤ prio(v) are left out: they may
 *                   only use room that was free anyway (no eviction "for free", no eviction for
 *                   equal priority). R5 implies that some deployment newly placed on h has
 *                   priority > prio(v), since the running set alone always fits.
 *  R6 victim level  (contract §4.3: victims minimise the highest victim priority) v's level was
 *                   needed: without every deployment of lower priority on h, v still does not fit
 *                   beside the newcomers on h above prio(v) and the staying work of h at or above
 *                   prio(v). Together with R5 this is the "fair" model of bench:quality: an
 *                   eviction only for strictly higher-priority work placed on the victim's
 *                   cluster, taking the lowest priority level that makes room first.
 */
import type {
  ClusterSnapshot,
  PendingSnapshot,
  Plan,
  Resources,
  RunningSnapshot,
  Snapshot,
} from '../../src/scheduler/planner/types';

export const RESOURCE_KEYS = ['ram', 'cpu', 'gpu'] as const satisfies readonly (keyof Resources)[];
export type ResourceKey = (typeof RESOURCE_KEYS)[number];

/** deploymentId → clusterId it runs on after the plan, or null (pending). */
export type Assignment = Map<number, number | null>;

/** One deployment of the snapshot seen uniformly (running or pending). */
export interface Item {
  id: number;
  priority: number;
  req: Resources;
  /** Cluster it runs on before the plan, null when pending. */
  home: number | null;
  /** Cluster it may run on only, or null when any cluster of the snapshot. */
  pinnedTo: number | null;
  /** False for pending deployments whose dependencies are not ready. */
  eligible: boolean;
}

export function itemsOf(s: Snapshot): Item[] {
  const running = s.running.map((r: RunningSnapshot): Item => ({
    id: r.id,
    priority: r.priority,
    req: r.req,
    home: r.clusterId,
    pinnedTo: r.pinned ? r.clusterId : null,
    eligible: true,
  }));
  const pending = s.pending.map((p: PendingSnapshot): Item => ({
    id: p.id,
    priority: p.priority,
    req: p.req,
    home: null,
    pinnedTo: p.pinnedClusterId,
    eligible: p.dependencyState === 'ready',
  }));
  return [...running, ...pending];
}

/** Clusters an item may run on after the plan (its home first when running). */
export function allowedClusters(item: Item, clusters: readonly ClusterSnapshot[]): number[] {
  if (!item.eligible) return [];
  const ids = clusters.map((c) => c.id);
  if (item.pinnedTo !== null) return ids.includes(item.pinnedTo) ? [item.pinnedTo] : [];
  if (item.home === null) return ids;
  return [item.home, ...ids.filter((id) => id !== item.home)];
}

/** The state before the plan: running deployments where they are, pending ones pending. */
export function initialAssignment(s: Snapshot): Assignment {
  const a: Assignment = new Map();
  for (const r of s.running) a.set(r.id, r.clusterId);
  for (const p of s.pending) a.set(p.id, null);
  return a;
}

/**
 * Pure apply of a plan: preemption victims become pending, placed deployments run where placed.
 * Structural errors (unknown ids, victims not running there, double placements) are returned,
 * not thrown, so the benchmark can count them.
 */
export function applyPlanToAssignment(
  s: Snapshot,
  plan: Plan,
): { assignment: Assignment; errors: string[] } {
  const a = initialAssignment(s);
  const errors: string[] = [];
  const byId = new Map(itemsOf(s).map((i) => [i.id, i]));
  for (const p of plan.preemptions) {
    const victim = byId.get(p.victimId);
    if (!victim || victim.home !== p.clusterId) {
      errors.push(`preemption of ${p.victimId}: not running on cluster ${p.clusterId}`);
      continue;
    }
    const winner = byId.get(p.forDeploymentId);
    if (!winner || winner.priority <= victim.priority) {
      errors.push(
        `preemption of ${p.victimId} (prio ${victim.priority}) for ${p.forDeploymentId}: not strictly higher priority`,
      );
    }
    a.set(p.victimId, null);
  }
  const placed = new Set<number>();
  for (const pl of plan.placements) {
    if (!byId.has(pl.deploymentId)) {
      errors.push(`placement of unknown deployment ${pl.deploymentId}`);
      continue;
    }
    if (placed.has(pl.deploymentId)) errors.push(`deployment ${pl.deploymentId} placed twice`);
    if (a.get(pl.deploymentId) !== null) {
      errors.push(`placement of ${pl.deploymentId}, which is still running`);
    }
    placed.add(pl.deploymentId);
    a.set(pl.deploymentId, pl.clusterId);
  }
  for (const p of plan.preemptions) {
    const winner = plan.placements.find((pl) => pl.deploymentId === p.forDeploymentId);
    if (!winner || winner.clusterId !== p.clusterId) {
      errors.push(
        `preemption of ${p.victimId} for ${p.forDeploymentId}, which is not placed on cluster ${p.clusterId}`,
      );
    }
  }
  return { assignment: a, errors };
}

function zero(): Resources {
  return { ram: 0, cpu: 0, gpu: 0 };
}

function add(into: Resources, r: Resources): void {
  into.ram += r.ram;
  into.cpu += r.cpu;
  into.gpu += r.gpu;
}

/** Σ req per cluster in a final state. */
export function loads(s: Snapshot, a: Assignment): Map<number, Resources> {
  const out = new Map<number, Resources>(s.clusters.map((c) => [c.id, zero()]));
  for (const item of itemsOf(s)) {
    const c = a.get(item.id);
    if (c === null || c === undefined) continue;
    const load = out.get(c);
    if (load) add(load, item.req);
  }
  return out;
}

/** Every rule (R1–R5 above) the final state breaks; empty when it is legal. */
export interface RuleOptions {
  /** Check R6 (the contract's victim rule); false gives the looser model of R1–R5 only. */
  victimRule?: boolean;
}

export function violations(s: Snapshot, a: Assignment, opts: RuleOptions = {}): string[] {
  const victimRule = opts.victimRule ?? true;
  const out: string[] = [];
  const items = itemsOf(s);
  const clusterById = new Map(s.clusters.map((c) => [c.id, c]));
  for (const item of items) {
    const c = a.get(item.id) ?? null;
    if (c === null) continue;
    if (!clusterById.has(c)) out.push(`R2: ${item.id} on unknown cluster ${c}`);
    if (item.pinnedTo !== null && c !== item.pinnedTo) {
      out.push(`R3: ${item.id} pinned to ${item.pinnedTo} but on ${c}`);
    }
    if (!item.eligible) out.push(`R4: ${item.id} has unready dependencies but runs on ${c}`);
  }
  const load = loads(s, a);
  for (const cl of s.clusters) {
    const l = load.get(cl.id) ?? zero();
    for (const k of RESOURCE_KEYS) {
      if (l[k] > cl.total[k]) out.push(`R1: cluster ${cl.id} ${k} ${l[k]} > ${cl.total[k]}`);
    }
  }
  for (const v of items) {
    if (v.home === null || a.get(v.id) === v.home) continue;
    const h = clusterById.get(v.home);
    if (!h) continue;
    if (!evictionNecessary(items, a, v, h)) {
      out.push(`R5: eviction of ${v.id} (prio ${v.priority}) from cluster ${v.home} not necessary`);
    } else if (victimRule && !victimLevelNeeded(items, a, v, h)) {
      // R6 implies R5: reported only for an eviction R5 lets through.
      out.push(
        `R6: eviction of ${v.id} (prio ${v.priority}) from cluster ${v.home} where lower-priority victims would do`,
      );
    }
  }
  return out;
}

/**
 * R6 (contract §4.3, victims minimise the highest victim priority): v's priority level had to be
 * touched at all. Even with every deployment of lower priority gone from h, v does not fit back
 * beside the work newly placed on h with priority > prio(v) and the running work of h with
 * priority ≥ prio(v) that stays. Implies R5 (its load is a subset of R5's).
 */
function victimLevelNeeded(
  items: readonly Item[],
  a: Assignment,
  v: Item,
  h: ClusterSnapshot,
): boolean {
  return overflowsWith(items, a, v, h, (d) => {
    const newcomerAbove = d.home !== h.id && d.priority > v.priority;
    const stayingAtOrAbove = d.home === h.id && d.priority >= v.priority;
    return newcomerAbove || stayingAtOrAbove;
  });
}

/** R5 for one evicted running deployment v with home cluster h. */
function evictionNecessary(
  items: readonly Item[],
  a: Assignment,
  v: Item,
  h: ClusterSnapshot,
): boolean {
  return overflowsWith(items, a, v, h, (d) => {
    const stayingLowerOrEqual = d.home === h.id && d.priority <= v.priority;
    return d.priority > v.priority || stayingLowerOrEqual;
  });
}

/**
 * Whether evicted v, put back on its home cluster h beside the deployments assigned to h that
 * `counts` selects, would exceed one of h's totals.
 */
function overflowsWith(
  items: readonly Item[],
  a: Assignment,
  v: Item,
  h: ClusterSnapshot,
  counts: (d: Item) => boolean,
): boolean {
  const l = zero();
  add(l, v.req);
  for (const d of items) {
    if (d.id !== v.id && a.get(d.id) === h.id && counts(d)) add(l, d.req);
  }
  return RESOURCE_KEYS.some((k) => l[k] > h.total[k]);
}

/** Distinct priorities of the snapshot, highest first: the classes of the objective. */
export function priorityClasses(s: Snapshot): number[] {
  const set = new Set(itemsOf(s).map((i) => i.priority));
  return [...set].sort((x, y) => y - x);
}

/** Number of running deployments per class (same order as `priorityClasses`). */
export function classCounts(s: Snapshot, a: Assignment, classes = priorityClasses(s)): number[] {
  const idx = new Map(classes.map((p, i) => [p, i]));
  const counts = classes.map(() => 0);
  for (const item of itemsOf(s)) {
    const c = a.get(item.id);
    if (c === null || c === undefined) continue;
    const i = idx.get(item.priority);
    if (i !== undefined) counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

/**
 * Utilization in [0, 1]: mean, over the resources with non-zero total capacity in the snapshot,
 * of (Σ req of running deployments) / (Σ total of all clusters). It only depends on WHICH
 * deployments run, not where, so it is linear in the MILP's variables (see `utilizationWeight`).
 */
export function utilization(s: Snapshot, a: Assignment): number {
  const weights = utilizationWeights(s);
  let u = 0;
  for (const item of itemsOf(s)) {
    const c = a.get(item.id);
    if (c !== null && c !== undefined) u += weights(item.req);
  }
  return u;
}

/** req ↦ its contribution to `utilization`. */
export function utilizationWeights(s: Snapshot): (req: Resources) => number {
  const total = zero();
  for (const c of s.clusters) add(total, c.total);
  const keys = RESOURCE_KEYS.filter((k) => total[k] > 0);
  return (req) => keys.reduce((sum, k) => sum + req[k] / total[k], 0) / Math.max(1, keys.length);
}

/**
 * Eligible deployments left pending although they could run, in two disjoint kinds:
 *  - missedSeats: p fits in the FREE capacity of some cluster it may run on (nothing to evict);
 *  - inversions:  no free seat, but some cluster c that p may run on would have room for p if
 *    every deployment on c with priority strictly lower than prio(p) were removed (evicted if it
 *    was running, or not placed if this plan placed it). This covers both kinds of inversion:
 *    a pending deployment that could run by evicting lower-priority running work, and a lower
 *    class placed while a higher one is pending and would fit in its place.
 * A priority-first planner following the rules should have neither; the lexicographic optimum
 * has neither (the unit test checks it on tiny instances), since fixing one improves a class
 * without touching any higher class.
 */
export function blockedPending(
  s: Snapshot,
  a: Assignment,
): { inversions: number[]; missedSeats: number[] } {
  const items = itemsOf(s);
  const load = loads(s, a);
  const out = { inversions: [] as number[], missedSeats: [] as number[] };
  const freeOn = (cid: number): { cl: ClusterSnapshot; free: Resources } | undefined => {
    const cl = s.clusters.find((c) => c.id === cid);
    if (!cl) return undefined;
    const free = { ...cl.total };
    const l = load.get(cid) ?? zero();
    for (const k of RESOURCE_KEYS) free[k] -= l[k];
    return { cl, free };
  };
  const fitsIn = (req: Resources, free: Resources): boolean =>
    RESOURCE_KEYS.every((k) => req[k] <= free[k]);
  for (const p of items) {
    if (a.get(p.id) !== null || !p.eligible) continue;
    const allowed = allowedClusters(p, s.clusters);
    if (allowed.some((cid) => fitsIn(p.req, freeOn(cid)?.free ?? zero()))) {
      out.missedSeats.push(p.id);
      continue;
    }
    const blocked = allowed.some((cid) => {
      const f = freeOn(cid);
      if (!f) return false;
      for (const d of items) {
        if (a.get(d.id) === cid && d.priority < p.priority) add(f.free, d.req);
      }
      return fitsIn(p.req, f.free);
    });
    if (blocked) out.inversions.push(p.id);
  }
  return out;
}

/** Priority inversions only (see `blockedPending`). */
export function inversions(s: Snapshot, a: Assignment): number[] {
  return blockedPending(s, a).inversions;
}

/** Running deployments that the final state evicted (moved or made pending). */
export function evictions(s: Snapshot, a: Assignment): number[] {
  return s.running.filter((r) => a.get(r.id) !== r.clusterId).map((r) => r.id);
}

/** Lexicographic comparison of objective values (class counts high→low, then utilization). */
export function compareObjective(
  x: { counts: number[]; utilization: number },
  y: { counts: number[]; utilization: number },
  eps = 1e-9,
): number {
  for (let i = 0; i < Math.max(x.counts.length, y.counts.length); i++) {
    const d = (x.counts[i] ?? 0) - (y.counts[i] ?? 0);
    if (d !== 0) return d;
  }
  const du = x.utilization - y.utilization;
  return Math.abs(du) <= eps ? 0 : du;
}
