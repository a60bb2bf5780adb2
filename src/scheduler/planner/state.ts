import { indexWeights, MaxTree } from './cluster-index';
import { compareQueue, effectivePriority, isStarving } from './queue';
import { addInto, copy, fits, subInto } from './resources';
import type { DependencyState, Policy, Resources, Snapshot } from './types';

/**
 * One deployment while planning, running or not. Running and pending deployments share a record
 * because the same deployment can move several times in one plan (placed, evicted by a more
 * important one, re-placed elsewhere) and the plan is the difference between where it started and
 * where it ended.
 */
export interface Item {
  id: number;
  priority: number;
  /** Index of `priority` in the planner's sorted list of distinct priorities. */
  level: number;
  req: Resources;
  createdAt: number;
  /** When it started; `now` for work placed by this plan (evicting it loses no work). */
  startedAt: number;
  initialStartedAt: number;
  /** The only cluster it may run on, or null. */
  pin: number | null;
  eff: number;
  starving: boolean;
  dependencyState: DependencyState;
  waitingFor: number[];
  initialClusterId: number | null;
  clusterId: number | null;
  /** Position in its cluster's `running` array (swap-remove). */
  slot: number;
  /** Who evicted it from its initial cluster, for the Preemption record. */
  evictedFor: number | null;
}

export interface ClusterState {
  id: number;
  /** Leaf position in the indexes: clusters without GPUs first, so CPU work meets them first. */
  index: number;
  total: Resources;
  free: Resources;
  /** Held for starving deployments during the current pass. */
  held: Resources;
  running: Item[];
  /** Σ req of running work per priority level, three numbers per level. */
  levelSums: Float64Array;
}

export interface HeldRecord {
  item: Item;
  cluster: ClusterState;
  held: Resources;
}

/** Mutable planning state. Every change of a cluster goes through `touch` to keep the indexes. */
export class PlanState {
  readonly clusters: ClusterState[];
  readonly clusterById = new Map<number, ClusterState>();
  readonly items: Item[] = [];
  readonly itemById = new Map<number, Item>();
  /** Distinct base priorities, ascending. Level k of a tree means "running work below levels[k]". */
  readonly levels: number[];
  private readonly trees: (MaxTree | undefined)[];
  private readonly indexWeights: Resources;
  /**
   * Per level, requests known to fit on no cluster (an antichain of small ones). A request that
   * covers one of them cannot fit either, which answers most queries on a full system without
   * touching the index. An entry is dropped as soon as some cluster's potential grows to take it.
   */
  private readonly infeasible: Resources[][];
  private totalsTree: MaxTree | undefined;
  private freeTree: MaxTree | undefined;
  reservations: HeldRecord[] = [];
  /** Preemptor id → victims currently attributed to it. */
  private readonly attributed = new Map<number, Item[]>();
  /** Bumped on every placement or eviction; a pass that leaves it unchanged is a fixpoint. */
  version = 0;
  readonly now: number;
  /** Component-wise largest cluster total and sum of totals (for normalising sizes). */
  readonly maxTotal: Resources = { ram: 0, cpu: 0, gpu: 0 };
  readonly sumTotal: Resources = { ram: 0, cpu: 0, gpu: 0 };

  constructor(
    snapshot: Snapshot,
    readonly policy: Policy,
  ) {
    const now = snapshot.now;
    this.now = now;
    const prios = new Set<number>();
    for (const r of snapshot.running) prios.add(r.priority);
    for (const p of snapshot.pending) prios.add(p.priority);
    this.levels = [...prios].sort((a, b) => a - b);
    const levelOf = new Map<number, number>();
    this.levels.forEach((p, i) => levelOf.set(p, i));
    const nLevels = this.levels.length;

    const sorted = [...snapshot.clusters].sort((a, b) => {
      const ga = a.total.gpu > 0 ? 1 : 0;
      const gb = b.total.gpu > 0 ? 1 : 0;
      return ga !== gb ? ga - gb : a.id - b.id;
    });
    this.clusters = sorted.map((c, index) => ({
      id: c.id,
      index,
      total: copy(c.total),
      free: copy(c.available),
      held: { ram: 0, cpu: 0, gpu: 0 },
      running: [],
      levelSums: new Float64Array(3 * nLevels),
    }));
    for (const c of this.clusters) {
      this.clusterById.set(c.id, c);
      addInto(this.sumTotal, c.total);
      this.maxTotal.ram = Math.max(this.maxTotal.ram, c.total.ram);
      this.maxTotal.cpu = Math.max(this.maxTotal.cpu, c.total.cpu);
      this.maxTotal.gpu = Math.max(this.maxTotal.gpu, c.total.gpu);
    }
    this.indexWeights = indexWeights(this.maxTotal);
    this.trees = new Array<MaxTree | undefined>(nLevels).fill(undefined);
    this.infeasible = this.levels.map(() => []);

    for (const r of snapshot.running) {
      const createdAt = r.createdAt ?? r.startedAt;
      const item: Item = {
        id: r.id,
        priority: r.priority,
        level: levelOf.get(r.priority)!,
        req: r.req,
        createdAt,
        startedAt: r.startedAt,
        initialStartedAt: r.startedAt,
        pin: r.pinned ? r.clusterId : null,
        eff: effectivePriority({ id: r.id, priority: r.priority, createdAt }, now, policy),
        starving: isStarving({ id: r.id, priority: r.priority, createdAt }, now, policy),
        dependencyState: 'ready',
        waitingFor: [],
        initialClusterId: r.clusterId,
        clusterId: null,
        slot: -1,
        evictedFor: null,
      };
      this.addItem(item);
      const c = this.clusterById.get(r.clusterId);
      // A running deployment on a cluster missing from the snapshot cannot be accounted for; the
      // shell never produces one, and dropping it keeps the rest of the plan sound.
      if (c) this.attach(item, c);
    }
    for (const p of snapshot.pending) {
      const item: Item = {
        id: p.id,
        priority: p.priority,
        level: levelOf.get(p.priority)!,
        req: p.req,
        createdAt: p.createdAt,
        startedAt: now,
        initialStartedAt: now,
        pin: p.pinnedClusterId,
        eff: effectivePriority(p, now, policy),
        starving: isStarving(p, now, policy),
        dependencyState: p.dependencyState,
        waitingFor: p.waitingFor,
        initialClusterId: null,
        clusterId: null,
        slot: -1,
        evictedFor: null,
      };
      this.addItem(item);
    }
  }

  private addItem(item: Item): void {
    this.items.push(item);
    this.itemById.set(item.id, item);
  }

  /** Adds to a cluster's running set without touching `free` (the snapshot already counts it). */
  private attach(item: Item, c: ClusterState): void {
    item.clusterId = c.id;
    item.slot = c.running.length;
    c.running.push(item);
    const o = 3 * item.level;
    c.levelSums[o] = c.levelSums[o]! + item.req.ram;
    c.levelSums[o + 1] = c.levelSums[o + 1]! + item.req.cpu;
    c.levelSums[o + 2] = c.levelSums[o + 2]! + item.req.gpu;
  }

  private detach(item: Item, c: ClusterState): void {
    const last = c.running.pop()!;
    if (last !== item) {
      c.running[item.slot] = last;
      last.slot = item.slot;
    }
    item.clusterId = null;
    item.slot = -1;
    const o = 3 * item.level;
    c.levelSums[o] = c.levelSums[o]! - item.req.ram;
    c.levelSums[o + 1] = c.levelSums[o + 1]! - item.req.cpu;
    c.levelSums[o + 2] = c.levelSums[o + 2]! - item.req.gpu;
  }

  avail(c: ClusterState): Resources {
    return {
      ram: c.free.ram - c.held.ram,
      cpu: c.free.cpu - c.held.cpu,
      gpu: c.free.gpu - c.held.gpu,
    };
  }

  /** avail + Σ req of running work with a priority below levels[k]: room a level-k preemptor sees. */
  potential(c: ClusterState, k: number): Resources {
    const p = this.avail(c);
    const s = c.levelSums;
    for (let j = 0; j < k; j++) {
      p.ram += s[3 * j]!;
      p.cpu += s[3 * j + 1]!;
      p.gpu += s[3 * j + 2]!;
    }
    return p;
  }

  place(item: Item, c: ClusterState): void {
    subInto(c.free, item.req);
    item.startedAt = item.initialClusterId === c.id ? item.initialStartedAt : this.now;
    this.attach(item, c);
    this.version++;
    this.touch(c, false);
  }

  /**
   * May this deployment, placed earlier in this plan, still be moved to another cluster? Not if it
   * evicted somebody, and not off a cluster where running work was evicted: each eviction must
   * stay necessary in the final state, judged by what ends up on that cluster.
   */
  isMovable(item: Item, offCluster = false): boolean {
    if (item.clusterId === null || item.clusterId === item.initialClusterId) return false;
    if (!offCluster && item.pin !== null) return false;
    if ((this.attributed.get(item.id)?.length ?? 0) > 0) return false;
    return offCluster || !this.evictedFrom.has(item.clusterId);
  }

  /** Takes back a placement made earlier in this plan: the deployment waits again. */
  unplace(item: Item): void {
    const c = this.clusterById.get(item.clusterId!)!;
    this.detach(item, c);
    addInto(c.free, item.req);
    this.version++;
    this.touch(c, true);
  }
  private readonly evictedFrom = new Set<number>();

  /** Moves work placed earlier in this plan (not yet running) to another cluster. */
  move(item: Item, to: ClusterState): void {
    const from = this.clusterById.get(item.clusterId!)!;
    this.detach(item, from);
    addInto(from.free, item.req);
    this.touch(from, true);
    this.place(item, to);
  }

  /** Sends a running deployment back to the queue to make room for `forItem` on the same cluster. */
  /**
   * Sends a deployment on `c` back to the queue to make room for `forItem` there. Returns the
   * running work the victim had itself evicted from `c` when the victim was only placed by this
   * plan: those evictions now stand for `forItem`, and the caller puts back whatever fits.
   */
  evict(victim: Item, c: ClusterState, forItem: Item): Item[] {
    this.detach(victim, c);
    addInto(c.free, victim.req);
    this.version++;
    this.touch(c, true);
    if (victim.initialClusterId === c.id) {
      this.attribute(victim, forItem);
      this.evictedFrom.add(c.id);
    }
    const owed = this.attributed.get(victim.id);
    if (!owed) return [];
    this.attributed.delete(victim.id);
    const inherited = owed.filter((v) => v.initialClusterId === c.id && v.clusterId !== c.id);
    for (const v of inherited) this.attribute(v, forItem);
    return inherited;
  }

  /**
   * Puts an evicted deployment back on `c`, where it was running, as if it had never been evicted,
   * when it fits there (its own holds do not count against it) and it can leave wherever this plan
   * has re-placed it meanwhile without undoing an eviction there.
   */
  tryRestore(victim: Item, c: ClusterState, ignoreHolds = false): boolean {
    if (victim.pin !== null && victim.pin !== c.id) return false;
    const room = ignoreHolds ? copy(c.free) : this.avail(c);
    if (!ignoreHolds) {
      for (const r of this.reservations)
        if (r.item === victim && r.cluster === c) addInto(room, r.held);
    }
    if (!fits(victim.req, room)) return false;
    if (victim.clusterId !== null) {
      if (!this.isMovable(victim)) return false;
      const from = this.clusterById.get(victim.clusterId)!;
      this.detach(victim, from);
      addInto(from.free, victim.req);
      this.touch(from, true);
    }
    if (victim.evictedFor !== null) {
      const list = this.attributed.get(victim.evictedFor);
      const i = list ? list.indexOf(victim) : -1;
      if (i >= 0) list!.splice(i, 1);
      victim.evictedFor = null;
    }
    this.dropHolds(victim);
    this.place(victim, c);
    return true;
  }

  private dropHolds(item: Item): void {
    const mine = this.reservations.filter((r) => r.item === item);
    if (mine.length === 0) return;
    this.reservations = this.reservations.filter((r) => r.item !== item);
    for (const r of mine) {
      subInto(r.cluster.held, r.held);
      this.touch(r.cluster, true);
    }
  }

  private attribute(victim: Item, forItem: Item): void {
    if (victim.evictedFor !== null) {
      const prev = this.attributed.get(victim.evictedFor);
      if (prev) {
        const i = prev.indexOf(victim);
        if (i >= 0) prev.splice(i, 1);
      }
    }
    victim.evictedFor = forItem.id;
    let list = this.attributed.get(forItem.id);
    if (!list) this.attributed.set(forItem.id, (list = []));
    list.push(victim);
  }

  resetHeld(): void {
    const held = new Set<ClusterState>();
    for (const r of this.reservations) held.add(r.cluster);
    for (const c of held) {
      c.held = { ram: 0, cpu: 0, gpu: 0 };
      this.touch(c, true);
    }
    this.reservations = [];
  }

  /** Every deployment in queue order, computed once: effective priorities do not change. */
  queueOrder(): Item[] {
    this.sortedItems ??= [...this.items].sort(compareQueue);
    return this.sortedItems;
  }
  private sortedItems: Item[] | undefined;

  hold(item: Item, c: ClusterState, amount: Resources): void {
    this.reservations.push({ item, cluster: c, held: amount });
    if (amount.ram === 0 && amount.cpu === 0 && amount.gpu === 0) return;
    addInto(c.held, amount);
    this.touch(c, false);
  }

  /** Index over potentials at level k, built on first use and kept current by `touch`. */
  tree(k: number): MaxTree {
    let t = this.trees[k];
    if (!t) {
      t = new MaxTree(this.clusters.length, this.indexWeights);
      for (const c of this.clusters) t.setLeaf(c.index, this.potential(c, k));
      t.rebuild();
      this.trees[k] = t;
    }
    return t;
  }

  /** Static index over cluster totals ("could it ever run there?"). */
  totals(): MaxTree {
    if (!this.totalsTree) {
      const t = new MaxTree(this.clusters.length, this.indexWeights);
      for (const c of this.clusters) t.setLeaf(c.index, c.total);
      t.rebuild();
      this.totalsTree = t;
    }
    return this.totalsTree;
  }

  /** Index over free capacity ignoring reservations; used only for the final reasons. */
  freeIndex(): MaxTree {
    if (!this.freeTree) {
      const t = new MaxTree(this.clusters.length, this.indexWeights);
      for (const c of this.clusters) t.setLeaf(c.index, c.free);
      t.rebuild();
      this.freeTree = t;
    }
    return this.freeTree;
  }

  /** Could `req` fit on some cluster at level k? Answers from the memo when it can. */
  fitsSomewhere(k: number, req: Resources): boolean {
    const memo = this.infeasible[k]!;
    for (let i = 0; i < memo.length; i++) {
      const f = memo[i]!;
      if (req.ram >= f.ram && req.cpu >= f.cpu && req.gpu >= f.gpu) return false;
    }
    if (this.tree(k).first(req) >= 0) return true;
    this.remember(k, req);
    return false;
  }

  private remember(k: number, req: Resources): void {
    // Keep the antichain small and general: the new entry replaces those it is below.
    const memo = this.infeasible[k]!;
    const kept = memo.filter((f) => !(f.ram >= req.ram && f.cpu >= req.cpu && f.gpu >= req.gpu));
    kept.push(req);
    if (kept.length > MEMO_SIZE) kept.shift();
    this.infeasible[k] = kept;
  }

  /** Up to `limit` clusters (in index order) whose level-k potential covers `req`. */
  fittingClusters(k: number, req: Resources, limit: number): ClusterState[] {
    const memo = this.infeasible[k]!;
    for (let i = 0; i < memo.length; i++) {
      const f = memo[i]!;
      if (req.ram >= f.ram && req.cpu >= f.cpu && req.gpu >= f.gpu) return [];
    }
    const found = this.tree(k).collect(req, limit);
    if (found.length === 0) this.remember(k, req);
    return found.map((i) => this.clusters[i]!);
  }

  /** Refreshes the indexes after a change of `c`; `grew` when some potential may have increased. */
  private touch(c: ClusterState, grew: boolean): void {
    this.freeTree = undefined;
    const acc = this.avail(c);
    const s = c.levelSums;
    for (let k = 0; k < this.trees.length; k++) {
      const t = this.trees[k];
      if (t) t.set(c.index, acc);
      if (grew) {
        const memo = this.infeasible[k]!;
        if (memo.length > 0 && memo.some((f) => fits(f, acc))) {
          this.infeasible[k] = memo.filter((f) => !fits(f, acc));
        }
      }
      acc.ram += s[3 * k]!;
      acc.cpu += s[3 * k + 1]!;
      acc.gpu += s[3 * k + 2]!;
    }
  }
}

const MEMO_SIZE = 32;
