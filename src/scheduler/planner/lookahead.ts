import { fits } from './resources';
import type { PlanState } from './state';
import type { Resources } from './types';

/**
 * Look-ahead across priority classes (contract §4.4, last sentence), run on the final state of the
 * plan the engine chose.
 *
 * The engine settles each class before it looks at the next one, so of several placements that
 * give a class its largest count it may keep one that leaves no room for the class below (a
 * top-class deployment that fits anywhere taken to the only cluster a lower one could use). Here
 * the evictions of that plan are fixed, the running work that stays is fixed, and everything else
 * that may run (ready pending work, and victims on any cluster but the one they were evicted from)
 * is re-assigned by a depth-first branch-and-bound that maximises the number of running
 * deployments per base priority, lexicographically from the highest, among the states where no
 * class has fewer than in the engine's plan. The engine's plan is the incumbent and only a
 * strictly better vector replaces it, so on ties today's plan (and its tie-breaks: older first,
 * better packing) stands.
 *
 * Evictions stay exactly those of the engine's plan, and each must stay necessary in the new state
 * (the benchmark's rule R5, bench/lib/state.ts): the victim put back next to everything of higher
 * priority on its cluster and the work of its priority or lower that stays there overflows some
 * resource. Items are decided from the highest priority down, so each victim is checked as soon
 * as everything above it is decided.
 *
 * Bound: per class, the members still undecided that fit in the pooled remaining room (smallest
 * first, per resource) — a componentwise upper bound, so a node whose optimistic vector is not
 * lexicographically above the incumbent is cut. Identical consecutive members (same request,
 * priority and allowed clusters) take non-decreasing choices, which removes permutations.
 *
 * Every node counts against a fixed budget (deterministic, like the rest of the planner); when it
 * runs out the best vector found so far is used, which is never below the engine's.
 */

/** Above these sizes the look-ahead is not tried (see plan.ts for the speed argument). */
export const LOOKAHEAD_MAX_ITEMS = 96;
export const LOOKAHEAD_MAX_CLUSTERS = 16;

export interface LookAheadResult {
  /** Item id → cluster id, for every re-assignable item that runs in the better state. */
  assignment: Map<number, number>;
  /** Nodes spent (for tests and benchmarks). */
  nodes: number;
}

interface Cand {
  id: number;
  priority: number;
  cls: number;
  req: Resources;
  allowed: number[];
  /** Cluster position in today's plan, −1 when waiting. */
  today: number;
  /** Same request, priority and allowed clusters as the previous candidate. */
  sameAsPrev: boolean;
}

interface Victim {
  home: number;
  priority: number;
  req: Resources;
  /** Σ req of the work that stays on its cluster with priority ≤ its own. */
  staysLowerOrEqual: Resources;
}

export function lookAhead(st: PlanState, nodeLimit: number): LookAheadResult | null {
  const clusters = st.clusters;
  const nC = clusters.length;
  if (nC === 0 || nC > LOOKAHEAD_MAX_CLUSTERS) return null;
  if (st.reservations.length > 0) return null;
  const posOf = new Map<number, number>(clusters.map((c, i) => [c.id, i]));

  const victims: Victim[] = [];
  const rawCands: Omit<Cand, 'cls' | 'sameAsPrev'>[] = [];
  // Room per cluster: its total minus the running work that stays.
  const room: Resources[] = clusters.map((c) => ({ ...c.total }));
  for (const it of st.items) {
    const home = it.initialClusterId;
    const stays = home !== null && it.clusterId === home;
    if (stays) {
      const r = room[posOf.get(home)!];
      if (r) {
        r.ram -= it.req.ram;
        r.cpu -= it.req.cpu;
        r.gpu -= it.req.gpu;
      }
      continue;
    }
    if (home === null && it.dependencyState !== 'ready') continue;
    // Aging or the starvation bound would order this work by more than its base priority: the
    // lexicographic order by base priority is then not the pass's order, so leave the plan as is.
    if (it.starving || it.eff !== it.priority) return null;
    if (home !== null) {
      const hp = posOf.get(home);
      if (hp === undefined) return null;
      victims.push({
        home: hp,
        priority: it.priority,
        req: it.req,
        staysLowerOrEqual: { ram: 0, cpu: 0, gpu: 0 },
      });
    }
    let allowed: number[];
    if (it.pin !== null) {
      const p = posOf.get(it.pin);
      allowed = p === undefined ? [] : [p];
    } else allowed = clusters.map((_, i) => i);
    // A victim back on its own cluster would undo its eviction.
    if (home !== null) allowed = allowed.filter((ci) => ci !== posOf.get(home));
    const today = it.clusterId === null ? -1 : posOf.get(it.clusterId)!;
    rawCands.push({ id: it.id, priority: it.priority, req: it.req, allowed, today });
  }
  if (rawCands.length === 0 || rawCands.length > LOOKAHEAD_MAX_ITEMS) return null;
  for (const it of st.items) {
    const home = it.initialClusterId;
    if (home === null || it.clusterId !== home) continue;
    const hp = posOf.get(home);
    for (const v of victims) {
      if (v.home !== hp || it.priority > v.priority) continue;
      v.staysLowerOrEqual.ram += it.req.ram;
      v.staysLowerOrEqual.cpu += it.req.cpu;
      v.staysLowerOrEqual.gpu += it.req.gpu;
    }
  }

  // Only what fits on some allowed cluster alone can ever run; the rest is left out.
  const kept = rawCands.filter(
    (c) => c.allowed.some((ci) => fits(c.req, room[ci]!)) || c.today >= 0,
  );
  kept.sort((a, b) => b.priority - a.priority || a.id - b.id);
  const prios = [...new Set(kept.map((c) => c.priority))];
  const clsOf = new Map(prios.map((p, i) => [p, i]));
  const K = prios.length;
  const cands: Cand[] = [];
  for (const c of kept) {
    const prev = cands[cands.length - 1];
    const same =
      prev !== undefined &&
      prev.priority === c.priority &&
      prev.req.ram === c.req.ram &&
      prev.req.cpu === c.req.cpu &&
      prev.req.gpu === c.req.gpu &&
      prev.allowed.length === c.allowed.length &&
      prev.allowed.every((x, i) => x === c.allowed[i]);
    cands.push({ ...c, cls: clsOf.get(c.priority)!, sameAsPrev: same });
  }
  const n = cands.length;
  if (n === 0) return null;

  // Victims to check once everything of higher priority is decided: at the first candidate with
  // priority ≤ the victim's, or at the end.
  const checkAt: Victim[][] = Array.from({ length: n + 1 }, () => []);
  for (const v of victims) {
    let at = n;
    for (let i = 0; i < n; i++) {
      if (cands[i]!.priority <= v.priority) {
        at = i;
        break;
      }
    }
    checkAt[at]!.push(v);
  }

  // Per class, the first index and, per position, the requests still undecided in its class,
  // ascending per resource (for the bound).
  const keys = ['ram', 'cpu', 'gpu'] as const;
  const classEnd = new Int32Array(K);
  for (let i = 0; i < n; i++) classEnd[cands[i]!.cls] = i + 1;
  const suffixSorted: Float64Array[][] = [];
  for (let i = 0; i <= n; i++) {
    const end = i < n ? classEnd[cands[i]!.cls]! : n;
    const rest = cands.slice(i, end).map((c) => c.req);
    suffixSorted.push(
      keys.map((k) => Float64Array.from(rest.map((r) => r[k]).sort((a, b) => a - b))),
    );
  }
  const classStart = new Int32Array(K);
  for (let i = n - 1; i >= 0; i--) classStart[cands[i]!.cls] = i;

  // Incumbent: today's plan.
  const incumbent = new Int32Array(K);
  for (const c of cands) if (c.today >= 0) incumbent[c.cls]!++;
  // No class may end with fewer than today's plan gives it, even for a lexicographic gain.
  const todays = Int32Array.from(incumbent);
  let best: Int32Array | null = null;
  const assign = new Int32Array(n).fill(-1);
  const counts = new Int32Array(K);
  const load: Resources[] = clusters.map(() => ({ ram: 0, cpu: 0, gpu: 0 }));
  let nodes = 0;
  let exhausted = false;

  const countFit = (arr: Float64Array, limit: number, space: number): number => {
    let cnt = 0;
    let s = 0;
    while (cnt < arr.length && cnt < limit && s + arr[cnt]! <= space) {
      s += arr[cnt]!;
      cnt++;
    }
    return cnt;
  };

  /** True when no completion of this node can beat the incumbent lexicographically. */
  const cut = (i: number): boolean => {
    const k = i < n ? cands[i]!.cls : K;
    for (let j = 0; j < k; j++) if (counts[j]! < todays[j]!) return true;
    let above = false;
    for (let j = 0; j < k && !above; j++) {
      if (counts[j]! !== incumbent[j]!) {
        if (counts[j]! < incumbent[j]!) return true;
        above = true;
      }
    }
    if (k === K) return !above; // equal everywhere: not strictly better
    const pooled: [number, number, number] = [0, 0, 0];
    for (let ci = 0; ci < nC; ci++) {
      const r = room[ci]!;
      const l = load[ci]!;
      pooled[0] += Math.max(0, r.ram - l.ram);
      pooled[1] += Math.max(0, r.cpu - l.cpu);
      pooled[2] += Math.max(0, r.gpu - l.gpu);
    }
    for (let j = k; j < K; j++) {
      const from = j === k ? i : classStart[j]!;
      const arrs = suffixSorted[from]!;
      let ub = classEnd[j]! - from;
      for (let x = 0; x < 3; x++) ub = Math.min(ub, countFit(arrs[x]!, ub, pooled[x]!));
      const opt = counts[j]! + ub;
      if (opt < todays[j]!) return true;
      if (!above && opt !== incumbent[j]!) {
        if (opt < incumbent[j]!) return true;
        above = true;
      }
    }
    return !above;
  };

  const necessary = (v: Victim, upTo: number): boolean => {
    const l = {
      ram: v.req.ram + v.staysLowerOrEqual.ram,
      cpu: v.req.cpu + v.staysLowerOrEqual.cpu,
      gpu: v.req.gpu + v.staysLowerOrEqual.gpu,
    };
    for (let j = 0; j < upTo; j++) {
      const c = cands[j]!;
      if (c.priority <= v.priority) break;
      if (assign[j] !== v.home) continue;
      l.ram += c.req.ram;
      l.cpu += c.req.cpu;
      l.gpu += c.req.gpu;
    }
    return !fits(l, clusters[v.home]!.total);
  };

  const dfs = (i: number): void => {
    if (exhausted) return;
    if (++nodes > nodeLimit) {
      exhausted = true;
      return;
    }
    for (const v of checkAt[i]!) if (!necessary(v, i)) return;
    if (cut(i)) return;
    if (i === n) {
      best = Int32Array.from(assign);
      incumbent.set(counts);
      return;
    }
    const c = cands[i]!;
    // Identical to the previous one: choices never decrease (waiting counts as the largest).
    const floor = c.sameAsPrev ? (assign[i - 1]! < 0 ? nC : assign[i - 1]!) : -1;
    const kids: number[] = [];
    if (c.today >= 0 && c.today >= floor) kids.push(c.today);
    for (const ci of c.allowed) if (ci !== c.today && ci >= floor) kids.push(ci);
    for (const ci of kids) {
      const l = load[ci]!;
      const r = room[ci]!;
      if (l.ram + c.req.ram > r.ram || l.cpu + c.req.cpu > r.cpu || l.gpu + c.req.gpu > r.gpu)
        continue;
      l.ram += c.req.ram;
      l.cpu += c.req.cpu;
      l.gpu += c.req.gpu;
      counts[c.cls]!++;
      assign[i] = ci;
      dfs(i + 1);
      assign[i] = -1;
      counts[c.cls]!--;
      l.ram -= c.req.ram;
      l.cpu -= c.req.cpu;
      l.gpu -= c.req.gpu;
      if (exhausted) return;
    }
    dfs(i + 1);
  };
  dfs(0);
  if (!best) return null;
  const chosen: Int32Array = best;
  const assignment = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const ci = chosen[i]!;
    if (ci >= 0) assignment.set(cands[i]!.id, clusters[ci]!.id);
  }
  return { assignment, nodes };
}
