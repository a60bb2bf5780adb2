import { Budget } from './budget';
import { fitsSomeTotal, isReady, pinnedCluster } from './filters';
import { exactClassAssignment } from './exact';
import { chooseClassAssignment } from './improve';
import { chooseVictims, compareVictimSets, isTentative, type VictimSet } from './preemption';
import { compareQueue } from './queue';
import { add, fits, min, shortfall } from './resources';
import { score, scarcityWeights, type ScoreKind, type Weights } from './scores';
import { PlanState, type ClusterState, type Item } from './state';
import type { Policy, Resources, Snapshot } from './types';

/**
 * The planning loop: passes over the queue until a pass changes nothing.
 *
 * One pass walks the ready queue class by class (one effective priority at a time):
 *   1. starving members (the oldest of the class) in queue order: free capacity, else
 *      preemption, else capacity is held for them;
 *   2. the rest of the class into free capacity, as many as fit (see improve.ts);
 *   3. whoever is left, in queue order: free capacity again (evictions may have left room),
 *      else preemption of strictly lower base priority on one cluster.
 * Victims re-enter the queue at their own place and may be re-placed later in the same pass.
 *
 * Why a fixpoint: within a pass the queue order (effective priority) and the preemption right
 * (base priority) disagree when aging has lifted old low-priority work, and an eviction late in
 * the pass can open room a deployment handled earlier could have used. Repeating the pass on the
 * resulting state until nothing moves makes "plan again → nothing to do" true by construction.
 * It terminates: every placement adds to the running set and every eviction swaps running work
 * for work of strictly higher base priority, so the running set's priorities, sorted descending,
 * grow lexicographically with every change and cannot cycle.
 */

/** With more clusters than this, candidate clusters come from the index and are capped. */
const SCAN_ALL_CLUSTERS = 64;
/** How many fitting clusters are scored per decision on large instances. */
const CANDIDATES = 32;
/** How many clusters are compared for victims per preemptor on large instances. */
const PREEMPT_CANDIDATES = 4;
/** How many clusters big enough are compared for a reservation on large instances. */
const RESERVE_CANDIDATES = 8;
/** Passes in which the exact class step (exact.ts) runs, when enabled. */
const EXACT_PASSES = 2;
/** A safety net far above what the termination argument needs in practice. */
const MAX_PASSES = 1000;

/**
 * Order in which the members of one class left over after the free-capacity step try to preempt.
 * Each preemption follows the contract's victim rules on its own; which member goes first decides
 * where the next one still finds room, so small instances try several and keep the best plan.
 */
export type ClassOrder = 'queue' | 'largest' | 'smallest';

export interface EngineOptions {
  score: ScoreKind;
  order: ClassOrder;
  /** Try alternative packings per class (improve.ts). */
  improve: boolean;
  /**
   * First search each class's largest placeable set exactly, counting lower-priority running work
   * as room (exact.ts), and realise it by the contract's preemption rules; small snapshots only.
   */
  exact?: 'plain' | 'moves';
  /** Nodes the exact searches of this plan may still spend (shared by all runs of one plan). */
  exactBudget?: Budget;
}

export interface EngineResult {
  st: PlanState;
  passes: number;
}

export function runEngine(
  snapshot: Snapshot,
  policy: Policy,
  opts: EngineOptions,
  budget: Budget,
): EngineResult {
  const st = new PlanState(snapshot, policy);
  const engine = new Engine(st, opts, budget);
  let passes = 0;
  while (passes < MAX_PASSES) {
    passes++;
    const before = st.version;
    engine.pass();
    if (st.version !== before) continue;
    // Fixpoint. An eviction can have become unnecessary since (its preemptor displaced in turn,
    // room freed by later evictions); whoever fits back where it was running goes back there,
    // even into capacity held for starving work (holds are for new work). Each restore adds a
    // running deployment without removing any, so the termination argument still holds.
    if (!engine.restoreVictims()) break;
  }
  return { st, passes };
}

class MinHeap<T> {
  private readonly a: T[] = [];
  constructor(private readonly cmp: (x: T, y: T) => number) {}
  get size(): number {
    return this.a.length;
  }
  peek(): T | undefined {
    return this.a[0];
  }
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.cmp(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.cmp(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.cmp(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

class Engine {
  private weights: Weights = { ram: 1, cpu: 1, gpu: 1 };
  private readonly victims = new MinHeap<Item>(compareQueue);
  private readonly queued = new Set<Item>();
  private readonly scanAll: boolean;
  private passes = 0;

  constructor(
    private readonly st: PlanState,
    private readonly opts: EngineOptions,
    private readonly budget: Budget,
  ) {
    this.scanAll = st.clusters.length <= SCAN_ALL_CLUSTERS;
  }

  pass(): void {
    const st = this.st;
    this.passes++;
    st.resetHeld();
    const queue = st.queueOrder().filter((i) => i.clusterId === null && isReady(i));
    this.weights = this.computeWeights(queue);
    let qi = 0;
    const next = (): Item | undefined => {
      const a = queue[qi];
      const b = this.victims.peek();
      if (a && (!b || compareQueue(a, b) <= 0)) return a;
      return b;
    };
    const take = (x: Item): void => {
      if (x === queue[qi]) qi++;
      else {
        this.victims.pop();
        this.queued.delete(x);
      }
    };
    for (;;) {
      const head = next();
      if (!head) break;
      const group: Item[] = [];
      for (let x = next(); x && x.eff === head.eff; x = next()) {
        take(x);
        // A victim may have been re-placed already through another route.
        if (x.clusterId === null) group.push(x);
      }
      this.processClass(group);
    }
  }

  /** Demand of the waiting work against free capacity: what is scarce right now. */
  private computeWeights(queue: Item[]): Weights {
    const demand = { ram: 0, cpu: 0, gpu: 0 };
    for (const it of queue) {
      demand.ram += it.req.ram;
      demand.cpu += it.req.cpu;
      demand.gpu += it.req.gpu;
    }
    const supply = { ram: 0, cpu: 0, gpu: 0 };
    for (const c of this.st.clusters) {
      supply.ram += c.free.ram;
      supply.cpu += c.free.cpu;
      supply.gpu += c.free.gpu;
    }
    return scarcityWeights(demand, supply);
  }

  private processClass(group: Item[]): void {
    // Starving members, and victims of this plan (their eviction must stay necessary, so nobody of
    // their own class may take their room first), go first, in queue order.
    const first = (it: Item): boolean => it.starving || it.initialClusterId !== null;
    for (const it of group) {
      if (!first(it)) continue;
      if (this.placeFree(it) || this.preempt(it)) continue;
      if (it.starving) this.reserve(it);
    }
    const rest = group.filter((it) => !first(it));
    // Only the first passes search exactly (moves only the first): later passes are the plain
    // engine, whose every change adds running work, so the fixpoint is still reached.
    if (this.opts.exact && this.passes <= EXACT_PASSES) {
      const chosen = exactClassAssignment(
        this.st,
        rest,
        this.opts.exactBudget ?? this.budget,
        this.opts.exact === 'moves' && this.passes === 1,
        this.opts.order === 'smallest',
        (req, c, avail) => this.scoreOn(req, c, avail),
      );
      // Moves alone gain nothing (and could swap work back and forth between passes): only an
      // assignment that places somebody is carried out, so every pass that changes the state
      // still adds running work and the fixpoint argument holds.
      if (chosen && chosen.place.length > 0) {
        // Moved work leaves first; then free capacity: whoever fits there evicts nobody.
        for (const [it] of chosen.move) this.st.unplace(it);
        const later: Array<[Item, ClusterState]> = [];
        for (const [it, c] of [...chosen.move, ...chosen.place]) {
          if (fits(it.req, this.st.avail(c))) this.st.place(it, c);
          else later.push([it, c]);
        }
        for (const [it, c] of later) {
          if (!fits(it.req, this.st.avail(c))) this.preempt(it, c);
          else this.st.place(it, c);
        }
      }
    }
    const waiting = this.opts.exact ? rest.filter((it) => it.clusterId === null) : rest;
    if (this.opts.improve) {
      const chosen = chooseClassAssignment(
        this.st,
        waiting,
        this.opts.score,
        this.weights,
        this.budget,
      );
      if (chosen) {
        for (const [it, c] of chosen.move) this.st.move(it, c);
        for (const [it, c] of chosen.place) this.st.place(it, c);
      }
    }
    for (const it of this.ordered(waiting)) {
      if (it.clusterId !== null) continue;
      if (!this.placeFree(it)) this.preempt(it);
    }
  }

  private ordered(items: Item[]): Item[] {
    if (this.opts.order === 'queue' || items.length < 2) return items;
    const big = this.st.maxTotal;
    const size = (r: Resources): number =>
      (big.ram > 0 ? r.ram / big.ram : 0) +
      (big.cpu > 0 ? r.cpu / big.cpu : 0) +
      (big.gpu > 0 ? r.gpu / big.gpu : 0);
    const sign = this.opts.order === 'largest' ? -1 : 1;
    // Stable sort: equal sizes stay in queue order (older first).
    return [...items].sort((a, b) => sign * (size(a.req) - size(b.req)));
  }

  private candidates(req: Resources, k: number, limit: number): ClusterState[] {
    const st = this.st;
    if (this.scanAll) {
      const out: ClusterState[] = [];
      for (const c of st.clusters) if (fits(req, st.potential(c, k))) out.push(c);
      return out;
    }
    return st.fittingClusters(k, req, limit);
  }

  private scoreOn(req: Resources, c: ClusterState, avail: Resources): number {
    return score(this.opts.score, req, avail, c.total, this.weights);
  }

  /** Filters then scores: the best cluster whose free capacity (minus holds) takes it. */
  placeFree(it: Item): boolean {
    const st = this.st;
    const pinned = pinnedCluster(st, it);
    if (pinned === undefined) return false;
    // A victim that fits where it was running goes back there: then it was never evicted.
    if (
      it.initialClusterId !== null &&
      st.tryRestore(it, st.clusterById.get(it.initialClusterId)!)
    ) {
      return true;
    }
    let pick: ClusterState | null = null;
    if (pinned) {
      if (fits(it.req, st.avail(pinned))) pick = pinned;
    } else {
      let best = Infinity;
      for (const c of this.candidates(it.req, 0, CANDIDATES)) {
        const s = this.scoreOn(it.req, c, st.avail(c));
        if (s < best) {
          best = s;
          pick = c;
        }
      }
    }
    if (!pick) return false;
    st.place(it, pick);
    return true;
  }

  /**
   * Evicts strictly lower base priority work on one allowed cluster, all or nothing. Across
   * clusters the same order as within one applies: lowest highest-victim-priority, then fewest
   * victims, then least work lost, then the better packing.
   */
  preempt(it: Item, only?: ClusterState): boolean {
    const st = this.st;
    if (it.level === 0) return false;
    const pinned = only ?? pinnedCluster(st, it);
    if (pinned === undefined) return false;
    let k = -1;
    let clusters: ClusterState[];
    if (pinned) {
      for (let j = 1; j <= it.level; j++) {
        if (fits(it.req, st.potential(pinned, j))) {
          k = j;
          break;
        }
      }
      clusters = [pinned];
    } else {
      if (this.scanAll) {
        // Lowest level at which some cluster suffices, found per cluster in one sweep.
        let bestK = Infinity;
        const found: Array<[ClusterState, number]> = [];
        for (const c of st.clusters) {
          if (!fits(it.req, st.potential(c, it.level))) continue;
          for (let j = 1; j <= it.level && j <= bestK; j++) {
            if (fits(it.req, st.potential(c, j))) {
              found.push([c, j]);
              bestK = Math.min(bestK, j);
              break;
            }
          }
        }
        if (found.length === 0) return false;
        k = bestK;
        clusters = found.filter(([, j]) => j === bestK).map(([c]) => c);
      } else {
        if (!st.fitsSomewhere(it.level, it.req)) return false;
        let lo = 1;
        let hi = it.level;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (st.fitsSomewhere(mid, it.req)) hi = mid;
          else lo = mid + 1;
        }
        k = lo;
        clusters = this.candidates(it.req, k, PREEMPT_CANDIDATES);
      }
    }
    if (k < 0) return false;

    let best: { c: ClusterState; set: VictimSet; score: number } | null = null;
    for (const c of clusters) {
      const avail = st.avail(c);
      const deficit = shortfall(it.req, avail);
      const pool = c.running.filter((v) => v.level < k);
      const set = chooseVictims(pool, deficit, st.now, this.budget);
      if (!set) continue;
      const after = { ...avail };
      for (const v of set.victims) {
        after.ram += v.req.ram;
        after.cpu += v.req.cpu;
        after.gpu += v.req.gpu;
      }
      const s = this.scoreOn(it.req, c, after);
      if (!best) {
        best = { c, set, score: s };
        continue;
      }
      const cmp = compareVictimSets(set, best.set);
      if (cmp < 0 || (cmp === 0 && s < best.score)) best = { c, set, score: s };
    }
    if (!best) return false;
    const inherited: Item[] = [];
    for (const v of best.set.victims) {
      inherited.push(...st.evict(v, best.c, it));
      this.requeue(v);
    }
    st.place(it, best.c);
    // A displaced newcomer's own victims were evicted for room the preemptor may not need: put
    // back whatever fits (most important and least disruptive first), so that every eviction left
    // in the plan is one the final state needs.
    inherited.sort((a, b) => b.priority - a.priority || b.startedAt - a.startedAt || a.id - b.id);
    for (const v of inherited) st.tryRestore(v, best.c);
    return true;
  }

  restoreVictims(): boolean {
    const st = this.st;
    const evicted = st.items
      .filter((v) => v.initialClusterId !== null && v.clusterId !== v.initialClusterId)
      .sort((a, b) => b.priority - a.priority || b.startedAt - a.startedAt || a.id - b.id);
    let any = false;
    for (const v of evicted) {
      const home = st.clusterById.get(v.initialClusterId!);
      if (!home) continue;
      if (st.tryRestore(v, home, true)) {
        any = true;
        continue;
      }
      // Making way below only helps if the victim can then leave wherever this plan re-placed it
      // (it cannot once it evicted somebody there). Otherwise the newcomers would be taken out for
      // nothing: the sweep would end with them waiting beside free room they fit in, and a fresh
      // plan of the result would place them (not idempotent).
      if (v.clusterId !== null && !st.isMovable(v)) continue;
      // Newcomers of lower priority, or a single one of the same priority, only had a right to
      // room that was free before the plan: they make way for the running work they crowd out.
      const lower = home.running
        .filter((t) => isTentative(t) && st.isMovable(t, true) && t.priority < v.priority)
        .sort((a, b) => a.priority - b.priority || b.createdAt - a.createdAt || b.id - a.id);
      const room = { ...home.free };
      const out: Item[] = [];
      for (const t of lower) {
        if (fits(v.req, room)) break;
        out.push(t);
        room.ram += t.req.ram;
        room.cpu += t.req.cpu;
        room.gpu += t.req.gpu;
      }
      if (!fits(v.req, room)) {
        out.length = 0;
        const equal = home.running
          .filter((t) => isTentative(t) && st.isMovable(t, true) && t.priority === v.priority)
          .filter((t) => fits(v.req, add(home.free, t.req)))
          .sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
        if (equal.length === 0) continue;
        out.push(equal[0]!);
      }
      for (const t of out) st.unplace(t);
      if (st.tryRestore(v, home, true)) any = true;
      // Not expected (room and movability were checked), but never leave them out for nothing.
      else for (const t of out) st.place(t, home);
    }
    return any;
  }

  private requeue(v: Item): void {
    if (!this.queued.has(v)) {
      this.queued.add(v);
      this.victims.push(v);
    }
  }

  /**
   * Holds capacity for a starving deployment on its pinned cluster, or on the allowed cluster where
   * the shortfall is smallest: what is free there now (up to its request) is withheld from
   * everything behind it, so the cluster fills up for it as running work completes.
   */
  reserve(it: Item): void {
    const st = this.st;
    if (!fitsSomeTotal(st, it)) return;
    const pinned = pinnedCluster(st, it);
    let pick: ClusterState | null = pinned ?? null;
    if (!pick) {
      const candidates = this.scanAll
        ? st.clusters.filter((c) => fits(it.req, c.total))
        : st
            .totals()
            .collect(it.req, RESERVE_CANDIDATES)
            .map((i) => st.clusters[i]!);
      let best = Infinity;
      for (const c of candidates) {
        const s = normalizedShortfall(it.req, st.avail(c), c.total);
        if (s < best) {
          best = s;
          pick = c;
        }
      }
    }
    if (!pick) return;
    const avail = st.avail(pick);
    const amount = min(it.req, {
      ram: Math.max(0, avail.ram),
      cpu: Math.max(0, avail.cpu),
      gpu: Math.max(0, avail.gpu),
    });
    st.hold(it, pick, amount);
  }
}

export function normalizedShortfall(req: Resources, avail: Resources, total: Resources): number {
  const s = shortfall(req, avail);
  return (
    (total.ram > 0 ? s.ram / total.ram : 0) +
    (total.cpu > 0 ? s.cpu / total.cpu : 0) +
    (total.gpu > 0 ? s.gpu / total.gpu : 0)
  );
}
