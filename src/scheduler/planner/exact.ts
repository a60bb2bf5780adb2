import type { Budget } from './budget';
import type { ClusterState, Item, PlanState } from './state';
import type { Resources } from './types';

/**
 * Exact "as many as possible" for one priority class on small snapshots.
 *
 * The free-capacity packing (improve.ts) and the one-at-a-time preemption that follows it can
 * leave a member waiting although the class as a whole had room: a member put into free room on
 * one cluster may have been the only one that could also have preempted lower-priority work on
 * another, while the one left over could only use that free room (pinned, or too big elsewhere).
 *
 * Here the room of cluster c for a member of base level L is what a level-L preemptor sees:
 * free capacity (minus holds) plus every running deployment of strictly lower base priority
 * (`PlanState.potential(c, L)`). A depth-first branch-and-bound over members (most constrained
 * and largest first; each goes to one allowed cluster or waits) finds the largest number of
 * members that fit together, and among those the assignment that disturbs least: per cluster, the
 * lowest priority level whose work must be evicted to hold its members (none when they fit in free
 * capacity), weighted so that a higher victim level always costs more than any number of clusters
 * at lower levels, then the normalised amount that must be evicted. The engine then realises the
 * assignment with the contract's own rules: members that fit in free capacity first, the others
 * each by preemption on its assigned cluster (lowest victim priority, fewest victims, least work
 * lost). Because each cluster's load fits its room, every one of those preemptions finds victims.
 *
 * Every node is charged to the plan's work budget: when it runs out the search returns nothing and
 * the class is handled by the heuristic passes alone, so the plan stays deterministic.
 */

/** Only classes and snapshots this small are searched exactly. */
export const EXACT_MAX_MEMBERS = 40;
export const EXACT_MAX_CLUSTERS = 16;
/** Nodes one class may spend (each node also takes one unit of the plan's budget). */
const NODE_LIMIT = 20_000;
/** Placed-by-this-plan work that may be moved; with more, none is. */
const MAX_MOVABLE = 24;

export interface ExactAssignment {
  /** Members to place, with the cluster each goes to. */
  place: Array<[Item, ClusterState]>;
  /** Work placed earlier in this plan that moves to another cluster. */
  move: Array<[Item, ClusterState]>;
}

export function exactClassAssignment(
  st: PlanState,
  members: Item[],
  budget: Budget,
  /** Let work placed earlier in this plan move (see isMovable). */
  withMoves: boolean,
  /** Among equally constrained members, decide the smallest first instead of the largest. */
  smallestFirst: boolean,
  /** The engine's cluster score (lower is better): orders equally costly choices. */
  scoreOn: (req: Resources, c: ClusterState, avail: Resources) => number,
): ExactAssignment | null {
  const clusters = st.clusters;
  if (members.length < 1 || members.length > EXACT_MAX_MEMBERS) return null;
  if (clusters.length > EXACT_MAX_CLUSTERS) return null;
  const level = members[0]!.level;
  if (members.some((it) => it.level !== level)) return null;
  const nC = clusters.length;

  // Work placed earlier in this plan (higher classes, not running yet, see isMovable) may move to
  // make room: it must stay placed, anywhere its room allows. Its own room is counted out first.
  const movable: Item[] = [];
  if (withMoves)
    for (const c of clusters) for (const it of c.running) if (st.isMovable(it)) movable.push(it);
  movable.sort((a, b) => a.id - b.id);
  if (movable.length > MAX_MOVABLE) movable.length = 0;

  // Room per cluster at every victim level 0..level (0 = free capacity only).
  const rooms: Resources[][] = clusters.map((c) => {
    const out: Resources[] = [];
    for (let j = 0; j <= level; j++) out.push(st.potential(c, j));
    for (const it of movable) {
      if (it.clusterId !== c.id) continue;
      for (const r of out) {
        r.ram += it.req.ram;
        r.cpu += it.req.cpu;
        r.gpu += it.req.gpu;
      }
    }
    return out;
  });
  const tot = st.sumTotal;
  const norm = (r: Resources): number =>
    (tot.ram > 0 ? r.ram / tot.ram : 0) +
    (tot.cpu > 0 ? r.cpu / tot.cpu : 0) +
    (tot.gpu > 0 ? r.gpu / tot.gpu : 0);

  const allowedOf = (it: Item): number[] => {
    if (it.pin === null) return clusters.map((_, i) => i);
    const c = st.clusterById.get(it.pin);
    return c ? [clusters.indexOf(c)] : [];
  };
  const cand = members
    .map((it, q) => ({ it, q, allowed: allowedOf(it), size: norm(it.req), start: -1 }))
    .filter(
      (x) => x.allowed.length > 0 && x.allowed.some((ci) => fitsRes(x.it.req, rooms[ci]![level]!)),
    );
  if (cand.length === 0) return null;
  // Most constrained first, then largest, then queue order.
  // (The order decides which of several equally good assignments is found first, and so which
  // room is left to the classes below; the portfolio tries both.)
  const sign = smallestFirst ? -1 : 1;
  cand.sort((a, b) => a.allowed.length - b.allowed.length || sign * (b.size - a.size) || a.q - b.q);
  const forced = movable.map((it, q) => ({
    it,
    q,
    allowed: allowedOf(it),
    size: norm(it.req),
    start: clusters.indexOf(st.clusterById.get(it.clusterId!)!),
  }));
  cand.unshift(...forced);
  const nForced = forced.length;
  const n = cand.length;
  const req = cand.map((x) => x.it.req);

  // For the count bound: per depth and resource, the requests of the members still to decide,
  // ascending.
  const suffixSorted: Float64Array[][] = [];
  for (let i = 0; i <= n; i++) {
    const rest = req.slice(Math.max(i, nForced));
    suffixSorted.push(
      (['ram', 'cpu', 'gpu'] as const).map((k) =>
        Float64Array.from(rest.map((r) => r[k]).sort((a, b) => a - b)),
      ),
    );
  }

  const load: Resources[] = clusters.map(() => ({ ram: 0, cpu: 0, gpu: 0 }));
  const levelOf = new Int32Array(nC); // victim level currently needed per cluster
  const assign = new Int32Array(n).fill(-1);
  let bestCount = -1;
  let bestCost = Infinity;
  let best: Int32Array | null = null;
  let nodes = 0;
  let exhausted = false;
  const LEVEL_WEIGHT = 64; // > clusters: one cluster at level j+1 costs more than all at ≤ j

  const clusterCost = (ci: number, j: number, l: Resources): number => {
    if (j === 0) return 0;
    const free = rooms[ci]![0]!;
    const over = {
      ram: Math.max(0, l.ram - free.ram),
      cpu: Math.max(0, l.cpu - free.cpu),
      gpu: Math.max(0, l.gpu - free.gpu),
    };
    // The amount only breaks ties between equal level counts: norm ≤ 3 per cluster, so the
    // amounts of all clusters together stay below one unit of the lowest level.
    return LEVEL_WEIGHT ** j + norm(over) / (4 * EXACT_MAX_CLUSTERS);
  };
  const neededLevel = (ci: number, l: Resources): number => {
    const r = rooms[ci]!;
    for (let j = 0; j <= level; j++) if (fitsRes(l, r[j]!)) return j;
    return -1;
  };

  const costNow = new Float64Array(nC);
  let totalCost = 0;

  const bound = (i: number, placed: number): number => {
    // Members still to decide that can fit together in the pooled remaining room, per resource
    // (work still to re-place is left out of the load: a looser but valid bound).
    let ub = n - Math.max(i, nForced);
    const keys = ['ram', 'cpu', 'gpu'] as const;
    for (let k = 0; k < 3; k++) {
      const key = keys[k]!;
      let room = 0;
      for (let ci = 0; ci < nC; ci++) room += Math.max(0, rooms[ci]![level]![key] - load[ci]![key]);
      const arr = suffixSorted[i]![k]!;
      let cnt = 0;
      let s = 0;
      while (cnt < arr.length && cnt < ub && s + arr[cnt]! <= room) {
        s += arr[cnt]!;
        cnt++;
      }
      ub = Math.min(ub, cnt);
    }
    return placed + ub;
  };

  const dfs = (i: number, placed: number): void => {
    if (exhausted) return;
    if (++nodes > NODE_LIMIT || !budget.take(1)) {
      exhausted = true;
      return;
    }
    if (i === n) {
      if (placed > bestCount || (placed === bestCount && totalCost < bestCost - 1e-12)) {
        bestCount = placed;
        bestCost = totalCost;
        best = Int32Array.from(assign);
      }
      return;
    }
    const ub = bound(i, placed);
    if (ub < bestCount || (ub === bestCount && totalCost >= bestCost - 1e-12)) return;
    const it = cand[i]!;
    const r = req[i]!;
    // Children: every allowed cluster it fits on, cheapest first; then "waits".
    const kids: Array<[number, number, number, number]> = [];
    for (const ci of it.allowed) {
      const l = load[ci]!;
      const nl = { ram: l.ram + r.ram, cpu: l.cpu + r.cpu, gpu: l.gpu + r.gpu };
      const j = neededLevel(ci, nl);
      if (j < 0) continue;
      const c = clusterCost(ci, j, nl);
      const free = rooms[ci]![0]!;
      const after = { ram: free.ram - l.ram, cpu: free.cpu - l.cpu, gpu: free.gpu - l.gpu };
      const sc = j === 0 ? scoreOn(r, clusters[ci]!, after) : 0;
      kids.push([ci, j, c - costNow[ci]!, ci === it.start ? -Infinity : sc]);
    }
    kids.sort((a, b) => a[2] - b[2] || a[3] - b[3] || a[0] - b[0]);
    for (const [ci, j, dc] of kids) {
      const l = load[ci]!;
      const prevLevel = levelOf[ci]!;
      const prevCost = costNow[ci]!;
      l.ram += r.ram;
      l.cpu += r.cpu;
      l.gpu += r.gpu;
      levelOf[ci] = j;
      costNow[ci] = prevCost + dc;
      totalCost += dc;
      assign[i] = ci;
      dfs(i + 1, i < nForced ? placed : placed + 1);
      assign[i] = -1;
      totalCost -= dc;
      costNow[ci] = prevCost;
      levelOf[ci] = prevLevel;
      l.ram -= r.ram;
      l.cpu -= r.cpu;
      l.gpu -= r.gpu;
      if (exhausted) return;
    }
    if (i >= nForced) dfs(i + 1, placed);
  };
  dfs(0, 0);
  // Out of budget: the best assignment found so far is still legal (the budget is a work count,
  // so this stays deterministic).
  if (!best) return null;
  const chosen: Int32Array = best;
  const out: ExactAssignment = { place: [], move: [] };
  for (let i = 0; i < n; i++) {
    const ci = chosen[i]!;
    if (i < nForced) {
      if (ci !== cand[i]!.start) out.move.push([cand[i]!.it, clusters[ci]!]);
    } else if (ci >= 0) out.place.push([cand[i]!.it, clusters[ci]!]);
  }
  return out;
}

function fitsRes(r: Resources, room: Resources): boolean {
  return r.ram <= room.ram && r.cpu <= room.cpu && r.gpu <= room.gpu;
}
