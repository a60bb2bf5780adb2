import { applyPlan } from './apply';
import { Budget } from './budget';
import { runEngine, type ClassOrder, type EngineResult } from './engine';
import { lookAhead, LOOKAHEAD_MAX_CLUSTERS } from './lookahead';
import { compareQueue } from './queue';
import { buildReasons } from './reasons';
import { SCORE_KINDS, type ScoreKind } from './scores';
import { improvePlacements } from './search';
import { PlanState, type Item } from './state';
import type { Placement, Plan, Policy, Preemption, Snapshot } from './types';

/**
 * Work units for the optional search (victim search, class improvement, whole-plan alternatives).
 * Sized so that the search never dominates the mandatory greedy work on large snapshots while
 * small ones (tens of deployments) get an exhaustive-feeling search.
 */
const BUDGET = 3_000_000;
/**
 * Search nodes for the exact class step (exact.ts), all its runs of one plan together: a node
 * costs about a microsecond, so this bounds the step to ~0.1–0.2 s on the largest snapshots it
 * runs on.
 */
const EXACT_BUDGET = 150_000;

/** Whole-plan alternatives (one per score) only on instances this small. */
const PORTFOLIO_MAX_CLUSTERS = 16;
const PORTFOLIO_MAX_DEPLOYMENTS = 400;

/**
 * Nodes of the look-ahead search (lookahead.ts) per plan. A node costs well under a microsecond
 * to a few microseconds (its bound scans the clusters and the classes), so this caps the step at
 * a few tens of milliseconds on the snapshots it runs on; most finish far below it.
 */
const LOOKAHEAD_NODES = 20_000;

/**
 * Work units of the improvement search (search.ts) per plan, where the look-ahead does not run. A
 * unit is one waiting deployment, candidate cluster or running deployment looked at (tens of
 * nanoseconds), so this is a few milliseconds at most: under 5% of a plan at 10k pending × 100
 * clusters, under 1% at 100k × 1,000.
 */
const SEARCH_WORK = 100_000;

export interface PlanOptions {
  /**
   * Among the plans that give each class its largest count, prefer the one that lets the classes
   * below place the most (lookahead.ts). On by default; off reproduces the planner without it
   * (the benchmarks compare both in one run).
   */
  lookAhead?: boolean;
  /** Node budget of the look-ahead search (default LOOKAHEAD_NODES; for benchmarks). */
  lookAheadNodes?: number;
  /**
   * Where the look-ahead does not run or finds nothing, the bounded move-and-insert search
   * (search.ts). On by default (off together with `lookAhead: false`); off for tests comparing
   * with and without it.
   */
  search?: boolean;
  /** Work budget of that search (default SEARCH_WORK; for tests and benchmarks). */
  searchWork?: number;
}

/**
 * Plans one scheduling round: which pending deployments to start where, which running ones to
 * evict for them, and why the rest wait. Pure and deterministic: same snapshot and policy, same
 * plan. Applying the plan and planning again yields no placements and no preemptions.
 */
export function plan(snapshot: Snapshot, policy: Policy, options: PlanOptions = {}): Plan {
  const best = engineOnly(snapshot, policy);
  if (options.lookAhead === false) return toPlan(best);
  const searchWork = options.search === false ? 0 : (options.searchWork ?? SEARCH_WORK);
  // Beyond the look-ahead's size only the bounded search runs: improve the state, then diff once.
  if (best.clusters.length > LOOKAHEAD_MAX_CLUSTERS) {
    if (searchWork > 0) improvePlacements(best, searchWork);
    return toPlan(best);
  }
  const today = toPlan(best);
  // A plan that changes nothing leaves nothing to rearrange: a better state would need a pending
  // deployment that fits free room on its own, and the engine places every such one.
  if (today.placements.length === 0 && today.preemptions.length === 0) return today;
  const nodes = options.lookAheadNodes ?? LOOKAHEAD_NODES;
  const ahead = withLookAhead(snapshot, policy, best, today, nodes);
  if (ahead) return ahead;
  if (searchWork > 0 && improvePlacements(best, searchWork).placed > 0) return toPlan(best);
  return today;
}

function engineOnly(snapshot: Snapshot, policy: Policy): PlanState {
  const budget = new Budget(BUDGET);
  const small =
    snapshot.clusters.length <= PORTFOLIO_MAX_CLUSTERS &&
    snapshot.pending.length + snapshot.running.length <= PORTFOLIO_MAX_DEPLOYMENTS;
  const kinds: readonly ScoreKind[] = small ? SCORE_KINDS : ['scarce'];
  const orders: readonly ClassOrder[] = small ? ['queue', 'largest', 'smallest'] : ['queue'];
  let best: EngineResult | null = null;
  for (const order of orders) {
    for (const kind of kinds) {
      const r = runEngine(snapshot, policy, { score: kind, order, improve: true }, budget);
      if (!best || better(r.st, best.st)) best = r;
    }
  }
  if (small) {
    // Exact per-class counts first (exact.ts), one run per score; kept only if strictly better.
    const exactBudget = new Budget(EXACT_BUDGET);
    for (const order of ['queue', 'smallest'] as const) {
      for (const exact of ['plain', 'moves'] as const) {
        for (const kind of kinds) {
          const opts = { score: kind, order, improve: true, exact, exactBudget };
          const r = runEngine(snapshot, policy, opts, budget);
          if (!best || better(r.st, best.st)) best = r;
        }
      }
    }
  }
  return best!.st;
}

/**
 * The engine's final state re-arranged by the look-ahead, when that is strictly better by class
 * counts. Same evictions, each still for strictly higher-priority work placed on the victim's
 * cluster; accepted only if planning its outcome again changes nothing (the idempotency every
 * plan keeps), else today's plan stands.
 */
function withLookAhead(
  snapshot: Snapshot,
  policy: Policy,
  best: PlanState,
  today: Plan,
  nodes: number,
): Plan | null {
  const found = lookAhead(best, nodes);
  if (!found) return null;
  const st = new PlanState(snapshot, policy);
  for (const p of today.preemptions) {
    const victim = st.itemById.get(p.victimId)!;
    const home = st.clusterById.get(p.clusterId)!;
    let preemptor: Item | null = null;
    for (const [id, cid] of found.assignment) {
      if (cid !== p.clusterId) continue;
      const it = st.itemById.get(id)!;
      if (it.priority <= victim.priority || it.initialClusterId === cid) continue;
      if (
        !preemptor ||
        it.priority > preemptor.priority ||
        (it.priority === preemptor.priority && it.id < preemptor.id)
      )
        preemptor = it;
    }
    if (!preemptor) return null;
    st.evict(victim, home, preemptor);
  }
  for (const [id, cid] of found.assignment)
    st.place(st.itemById.get(id)!, st.clusterById.get(cid)!);
  const better = toPlan(st);
  const again = engineOnly(applyPlan(snapshot, better), policy);
  if (again.items.some((it) => it.clusterId !== it.initialClusterId)) return null;
  return better;
}

/**
 * Per priority class from the highest down: more running, then fewer of the class evicted (a
 * victim re-placed elsewhere keeps the count but is still a victim, and the classes below must
 * not buy room with it); then utilisation, then fewer evictions, then older first.
 */
function better(a: PlanState, b: PlanState): boolean {
  const ca = countsByLevel(a);
  const cb = countsByLevel(b);
  const va = victimsByLevel(a);
  const vb = victimsByLevel(b);
  for (let k = ca.length - 1; k >= 0; k--) {
    if (ca[k] !== cb[k]) return ca[k]! > cb[k]!;
    if (va[k] !== vb[k]) return va[k]! < vb[k]!;
  }
  const ua = utilisation(a);
  const ub = utilisation(b);
  if (Math.abs(ua - ub) > 1e-9) return ua > ub;
  const ea = evictions(a);
  const eb = evictions(b);
  if (ea !== eb) return ea < eb;
  // Older work first at the first difference in queue order.
  const qa = a.items.filter((i) => i.initialClusterId === null).sort(compareQueue);
  for (const it of qa) {
    const other = b.itemById.get(it.id)!;
    const ra = it.clusterId !== null;
    const rb = other.clusterId !== null;
    if (ra !== rb) return ra;
  }
  return false;
}

function countsByLevel(st: PlanState): number[] {
  const counts = new Array<number>(st.levels.length).fill(0);
  for (const it of st.items) if (it.clusterId !== null) counts[it.level]!++;
  return counts;
}

function victimsByLevel(st: PlanState): number[] {
  const counts = new Array<number>(st.levels.length).fill(0);
  for (const it of st.items)
    if (it.initialClusterId !== null && it.clusterId !== it.initialClusterId) counts[it.level]!++;
  return counts;
}

function utilisation(st: PlanState): number {
  const t = st.sumTotal;
  let ram = 0;
  let cpu = 0;
  let gpu = 0;
  for (const c of st.clusters) {
    ram += c.total.ram - c.free.ram;
    cpu += c.total.cpu - c.free.cpu;
    gpu += c.total.gpu - c.free.gpu;
  }
  return (
    (t.ram > 0 ? ram / t.ram : 0) + (t.cpu > 0 ? cpu / t.cpu : 0) + (t.gpu > 0 ? gpu / t.gpu : 0)
  );
}

function evictions(st: PlanState): number {
  let n = 0;
  for (const it of st.items)
    if (it.initialClusterId !== null && it.clusterId !== it.initialClusterId) n++;
  return n;
}

/** The plan is the difference between where each deployment started and where it ended. */
function toPlan(st: PlanState): Plan {
  const placements: Placement[] = [];
  const preemptions: Preemption[] = [];
  for (const it of st.items) {
    if (it.clusterId !== null && it.clusterId !== it.initialClusterId) {
      placements.push({ deploymentId: it.id, clusterId: it.clusterId });
    }
    if (it.initialClusterId !== null && it.clusterId !== it.initialClusterId) {
      preemptions.push({
        victimId: it.id,
        clusterId: it.initialClusterId,
        forDeploymentId: preemptorOf(st, it),
      });
    }
  }
  placements.sort((a, b) => a.deploymentId - b.deploymentId);
  preemptions.sort((a, b) => a.victimId - b.victimId);
  const { pending, failures } = buildReasons(st, st.clusters.length <= 64);
  const result: Plan = { placements, preemptions, pending, failures };
  if (st.reservations.length > 0) {
    result.reservations = st.reservations
      .map((r) => ({ deploymentId: r.item.id, clusterId: r.cluster.id, held: { ...r.held } }))
      .sort((a, b) => a.deploymentId - b.deploymentId);
  }
  return result;
}

/**
 * Names a preemptor that the plan places on the victim's cluster. The recorded one normally is;
 * if it was itself displaced there later by more important work (or only came back to its own
 * cluster), follow who displaced it: each step is strictly higher base priority, so this ends.
 */
function preemptorOf(st: PlanState, victim: Item): number {
  const c = victim.initialClusterId;
  let id = victim.evictedFor;
  for (let guard = 0; id !== null && guard < st.items.length; guard++) {
    const p = st.itemById.get(id);
    if (!p) break;
    if (p.clusterId === c && p.initialClusterId !== c) return p.id;
    id = p.evictedFor;
  }
  // The chain can end at a victim that evicted lower work to get back onto its own cluster: in the
  // final state it was never evicted, so it is no placement. The eviction then stands for the room
  // the newcomers on that cluster take; name the most important of them that outranks the victim.
  let named: Item | null = null;
  const onCluster = c === null ? undefined : st.clusterById.get(c);
  for (const p of onCluster?.running ?? []) {
    if (p.initialClusterId === c || p.priority <= victim.priority) continue;
    if (!named || p.priority > named.priority || (p.priority === named.priority && p.id < named.id))
      named = p;
  }
  return named?.id ?? victim.evictedFor ?? -1;
}
