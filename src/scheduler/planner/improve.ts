import type { Budget } from './budget';
import { fits } from './resources';
import { score, type ScoreKind, type Weights } from './scores';
import type { ClusterState, Item, PlanState } from './state';
import type { Resources } from './types';

/**
 * Local improvement for one effective-priority class placed into free capacity.
 *
 * Greedy in queue order is fair but not "as many as possible": one large older deployment can take
 * the room two younger ones would share. On a copy of the free vectors the class is packed several
 * ways (queue order, smallest first, largest first), each refined by 1-out-2-in swaps, completed
 * by a queue-order fill (so that nothing that still fits is left out), and the best is kept by:
 * more deployments placed, then higher utilisation, then older deployments first. Queue order is
 * tried first and only a strictly better alternative replaces it, so ties stay with the older.
 * Everything is charged to the plan's work budget; when it is spent, classes get the queue-order
 * greedy only.
 */

/** Above these sizes the trial copy is not worth it and the plain greedy runs on the real state. */
export const MAX_TRIAL_MEMBERS = 64;
export const MAX_TRIAL_CLUSTERS = 64;
/** Extra shuffled orders tried per class, budget permitting. */
const SHUFFLES = 8;

interface Model {
  clusters: ClusterState[];
  /** Free capacity (minus holds) with the movable deployments taken out. */
  avail: Resources[];
  /** The class first (`m` of them), then the movable deployments. */
  members: Item[];
  m: number;
  /** Where the movable deployments are now. */
  start: Int32Array;
  /** Allowed cluster positions per member. */
  allowed: number[][];
  kind: ScoreKind;
  weights: Weights;
}

type Assignment = Int32Array;

export interface ClassAssignment {
  place: Array<[Item, ClusterState]>;
  /** Deployments placed earlier in this plan, moved to make room (they stay placed). */
  move: Array<[Item, ClusterState]>;
}

export function chooseClassAssignment(
  st: PlanState,
  classMembers: Item[],
  kind: ScoreKind,
  weights: Weights,
  budget: Budget,
): ClassAssignment | null {
  const clusters = st.clusters;
  if (classMembers.length < 1 || classMembers.length > MAX_TRIAL_MEMBERS) return null;
  if (clusters.length > MAX_TRIAL_CLUSTERS) return null;
  const m = classMembers.length;
  // Work placed earlier in this plan (higher classes) is not running yet: moving it to another
  // cluster costs nothing and can make room for this class. Running work never moves; see
  // isMovable for what else must stay.
  const movable: Item[] = [];
  for (const c of clusters) for (const it of c.running) if (st.isMovable(it)) movable.push(it);
  if (m + movable.length > 2 * MAX_TRIAL_MEMBERS) movable.length = 0;
  movable.sort((a, b) => a.id - b.id);
  const members = [...classMembers, ...movable];
  const all = clusters.map((_, i) => i);
  const avail = clusters.map((c) => st.avail(c));
  const start = new Int32Array(members.length).fill(-1);
  movable.forEach((it, j) => {
    const c = st.clusterById.get(it.clusterId!)!;
    start[m + j] = c.index;
    const a = avail[c.index]!;
    a.ram += it.req.ram;
    a.cpu += it.req.cpu;
    a.gpu += it.req.gpu;
  });
  const model: Model = {
    clusters,
    avail,
    members,
    m,
    start,
    allowed: members.map((it) => {
      if (it.pin === null) return all;
      const c = st.clusterById.get(it.pin);
      return c ? [c.index] : [];
    }),
    kind,
    weights,
  };
  // Rough cost of one variant: every member looks at every cluster a few times.
  if (!budget.take(4 * m * clusters.length)) return null;

  const queueOrder = classMembers.map((_, i) => i);
  const size = (it: Item): number => normalizedSize(it.req, st);
  const smallest = [...queueOrder].sort((a, b) => size(members[a]!) - size(members[b]!) || a - b);
  const largest = [...queueOrder].sort((a, b) => size(members[b]!) - size(members[a]!) || a - b);
  // Most constrained first: pinned work has one cluster, so let it claim that cluster before
  // unpinned work, which could have gone anywhere, fills it.
  const constrained = [...queueOrder].sort(
    (a, b) =>
      model.allowed[a]!.length - model.allowed[b]!.length ||
      size(members[b]!) - size(members[a]!) ||
      a - b,
  );

  // A few shuffled orders as well (a fixed-seed generator: the same input gives the same plan).
  const orders = [queueOrder, smallest, largest, constrained];
  let seed = 0x9e3779b9 ^ (m * 2654435761);
  for (let r = 0; r < SHUFFLES && m > 2; r++) {
    const o = [...queueOrder];
    for (let i = o.length - 1; i > 0; i--) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const j = seed % (i + 1);
      [o[i], o[j]] = [o[j]!, o[i]!];
    }
    orders.push(o);
  }

  let best: Assignment | null = null;
  for (const order of orders) {
    if (best && !budget.take(4 * members.length * clusters.length)) break;
    const a = greedy(model, order);
    moveImprove(model, a, budget);
    swapImprove(model, a, budget);
    moveImprove(model, a, budget);
    fill(model, a, queueOrder);
    if (!best || better(model, a, best, st)) best = a;
  }
  const out: ClassAssignment = { place: [], move: [] };
  for (let i = 0; i < members.length; i++) {
    const ci = best![i]!;
    if (i < m) {
      if (ci >= 0) out.place.push([members[i]!, clusters[ci]!]);
    } else if (ci !== start[i]) {
      out.move.push([members[i]!, clusters[ci]!]);
    }
  }
  return out;
}

function normalizedSize(r: Resources, st: PlanState): number {
  let s = 0;
  const big = st.maxTotal;
  if (big.ram > 0) s += r.ram / big.ram;
  if (big.cpu > 0) s += r.cpu / big.cpu;
  if (big.gpu > 0) s += r.gpu / big.gpu;
  return s;
}

function availAfter(model: Model, a: Assignment): Resources[] {
  const av = model.avail.map((r) => ({ ...r }));
  for (let i = 0; i < a.length; i++) {
    const ci = a[i]!;
    if (ci < 0) continue;
    const r = model.members[i]!.req;
    const x = av[ci]!;
    x.ram -= r.ram;
    x.cpu -= r.cpu;
    x.gpu -= r.gpu;
  }
  return av;
}

function bestCluster(model: Model, i: number, av: Resources[]): number {
  const req = model.members[i]!.req;
  let pick = -1;
  let pickScore = Infinity;
  for (const ci of model.allowed[i]!) {
    const a = av[ci]!;
    if (!fits(req, a)) continue;
    const s = score(model.kind, req, a, model.clusters[ci]!.total, model.weights);
    if (s < pickScore) {
      pick = ci;
      pickScore = s;
    }
  }
  return pick;
}

function put(model: Model, av: Resources[], a: Assignment, i: number, ci: number): void {
  const r = model.members[i]!.req;
  const x = av[ci]!;
  x.ram -= r.ram;
  x.cpu -= r.cpu;
  x.gpu -= r.gpu;
  a[i] = ci;
}

function unput(model: Model, av: Resources[], a: Assignment, i: number): void {
  const ci = a[i]!;
  const r = model.members[i]!.req;
  const x = av[ci]!;
  x.ram += r.ram;
  x.cpu += r.cpu;
  x.gpu += r.gpu;
  a[i] = -1;
}

function greedy(model: Model, order: number[]): Assignment {
  const a = Int32Array.from(model.start);
  const av = availAfter(model, a);
  for (const i of order) {
    const ci = bestCluster(model, i, av);
    if (ci >= 0) put(model, av, a, i, ci);
  }
  return a;
}

function fill(model: Model, a: Assignment, order: number[]): void {
  const av = availAfter(model, a);
  for (const i of order) {
    if (a[i]! >= 0) continue;
    const ci = bestCluster(model, i, av);
    if (ci >= 0) put(model, av, a, i, ci);
  }
}

/**
 * 1-out-2-in: take one placed member out and try to place two waiting ones instead (anywhere they
 * fit). Each success raises the count by one, so the loop ends; the budget bounds each attempt.
 */
function swapImprove(model: Model, a: Assignment, budget: Budget): void {
  const m = model.m;
  const av = availAfter(model, a);
  let improved = true;
  while (improved) {
    improved = false;
    const waiting: number[] = [];
    for (let i = 0; i < m; i++) if (a[i]! < 0) waiting.push(i);
    if (waiting.length < 2) return;
    // Youngest placed first: if a swap must displace somebody, let it be the newest.
    outer: for (let x = m - 1; x >= 0; x--) {
      if (a[x]! < 0) continue;
      for (let p = 0; p < waiting.length; p++) {
        for (let q = p + 1; q < waiting.length; q++) {
          if (!budget.take(2 * model.clusters.length)) return;
          const y = waiting[p]!;
          const z = waiting[q]!;
          const cx = a[x]!;
          unput(model, av, a, x);
          const cy = bestCluster(model, y, av);
          if (cy >= 0) {
            put(model, av, a, y, cy);
            const cz = bestCluster(model, z, av);
            if (cz >= 0) {
              put(model, av, a, z, cz);
              improved = true;
              break outer;
            }
            unput(model, av, a, y);
          }
          put(model, av, a, x, cx);
        }
      }
    }
  }
}

/**
 * Move-and-insert: a waiting member that fits nowhere gets a cluster by moving one placed member
 * elsewhere (where it still fits). Each success raises the count by one.
 */
function moveImprove(model: Model, a: Assignment, budget: Budget): void {
  const m = model.m;
  const n = model.members.length;
  const av = availAfter(model, a);
  let improved = true;
  while (improved) {
    improved = false;
    outer: for (let y = 0; y < m; y++) {
      if (a[y]! >= 0) continue;
      for (const cy of model.allowed[y]!) {
        for (let x = n - 1; x >= 0; x--) {
          if (a[x] !== cy) continue;
          if (!budget.take(2 * model.clusters.length)) return;
          unput(model, av, a, x);
          if (fits(model.members[y]!.req, av[cy]!)) {
            put(model, av, a, y, cy);
            const cx = bestCluster(model, x, av);
            if (cx >= 0) {
              put(model, av, a, x, cx);
              improved = true;
              break outer;
            }
            unput(model, av, a, y);
          }
          put(model, av, a, x, cy);
        }
      }
    }
  }
}

/** More placed, then higher utilisation, then the older member wins at the first difference. */
function better(model: Model, a: Assignment, b: Assignment, st: PlanState): boolean {
  let ca = 0;
  let cb = 0;
  let ua = 0;
  let ub = 0;
  const tot = st.sumTotal;
  const u = (r: Resources): number =>
    (tot.ram > 0 ? r.ram / tot.ram : 0) +
    (tot.cpu > 0 ? r.cpu / tot.cpu : 0) +
    (tot.gpu > 0 ? r.gpu / tot.gpu : 0);
  for (let i = 0; i < model.m; i++) {
    const r = model.members[i]!.req;
    if (a[i]! >= 0) {
      ca++;
      ua += u(r);
    }
    if (b[i]! >= 0) {
      cb++;
      ub += u(r);
    }
  }
  if (ca !== cb) return ca > cb;
  // Sums of the same ratios in different orders can differ in the last bits.
  if (Math.abs(ua - ub) > 1e-9) return ua > ub;
  for (let i = 0; i < model.m; i++) {
    const pa = a[i]! >= 0;
    const pb = b[i]! >= 0;
    if (pa !== pb) return pa;
  }
  return false;
}
