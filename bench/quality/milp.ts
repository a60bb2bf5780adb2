/**
 * Exact optimum of one planning pass, as a MILP solved with HiGHS (WebAssembly).
 *
 * The rules are those of bench/lib/state.ts (R1–R5); the unit test
 * test/unit/bench/milp.spec.ts checks this model against brute force on tiny instances.
 *
 * Variables
 *   x[d,c] ∈ {0,1}  deployment d runs on cluster c after the pass, for c in allowedClusters(d):
 *                   pending pinned → its cluster; pending unpinned → every cluster;
 *                   running pinned → its current cluster h only (x[d,h] = 0 means evicted);
 *                   running unpinned → h (stays) or any other cluster (evicted from h and
 *                   re-placed in the same pass); pending with unready dependencies → none.
 *   z[v,r] ∈ {0,1}  for a running v and resource r: "r is the resource that makes v's eviction
 *                   necessary" (only where that is reachable at all).
 *
 * Constraints
 *   one[d]      Σ_c x[d,c] ≤ 1
 *   cap[c,r]    Σ_d req_r(d)·x[d,c] ≤ total_r(c)
 *   why[v]      x[v,h] + Σ_r z[v,r] ≥ 1                 (v stays, or some resource justifies eviction)
 *   need[v,r]   Σ_{d ∈ K(v)} req_r(d)·x[d,h] ≥ (total_r(h) + 1 − req_r(v))·z[v,r]
 *               with K(v) = {d ≠ v : prio(d) > prio(v)}  ∪  {u ≠ v running on h : prio(u) ≤ prio(v)}
 *               (for a running u on h, x[u,h] means "u stays"). With integer amounts this is
 *               exactly R5: "v put back next to the final higher-priority work and the staying
 *               lower-or-equal work overflows resource r". When z = 0 the row is slack
 *               (left side ≥ 0), so no big-M is needed. R5 implies the classic preemption rule:
 *               some deployment newly placed on h has strictly higher priority than v.
 *   w[v,r], lvl[v,r], lvlwhy[v]   the same form for R6 (the contract's victim rule: the victim's
 *               priority level was needed), with L(v) = {d newly on h : prio(d) > prio(v)} ∪
 *               {u running on h, u ≠ v : prio(u) ≥ prio(v)}.
 *
 * Objective (lexicographic, by sequential solves)
 *   for each priority class k, highest first: (victim rule on) maximise s_k = Σ_{v running of
 *   class k} x[v,home(v)], the class's running deployments that stay, and add s_k ≥ s_k*; then
 *   maximise n_k = Σ_{d of class k} Σ_c x[d,c],
 *   then add the row n_k ≥ n_k* and go on with the next class; finally maximise utilization
 *   Σ_d w_d Σ_c x[d,c] with w_d = mean_r req_r(d)/Σ_c total_r(c) (bench/lib/state.ts).
 *   Counts are integers, so fixing n_k ≥ n_k* after an exact solve is lexicographically exact.
 */
import highsLoader from 'highs';
import type { Snapshot } from '../../src/scheduler/planner/types';
import {
  type Assignment,
  RESOURCE_KEYS,
  allowedClusters,
  itemsOf,
  priorityClasses,
  utilization,
  utilizationWeights,
} from '../lib/state';

type Highs = Awaited<ReturnType<typeof highsLoader>>;

let highsPromise: Promise<Highs> | undefined;
/** One HiGHS instance per process (loading the WebAssembly takes ~100 ms). */
export function loadHighs(): Promise<Highs> {
  highsPromise ??= highsLoader();
  return highsPromise;
}

export interface OptimumResult {
  /** Distinct priorities, highest first. */
  classes: number[];
  /** Optimal number of running deployments per class (lexicographically maximal). */
  counts: number[];
  /** Maximal utilization among count-optimal final states. */
  utilization: number;
  /** One optimal final state. */
  assignment: Assignment;
  /** Number of HiGHS solves and total wall time. */
  solves: number;
  ms: number;
}

interface Term {
  coef: number;
  name: string;
}

function sum(terms: readonly Term[]): string {
  if (terms.length === 0) return '0 x_dummy';
  return terms
    .map((t, i) => {
      const sign = t.coef < 0 ? '-' : i === 0 ? '' : '+';
      return `${sign} ${Math.abs(t.coef)} ${t.name}`;
    })
    .join(' ');
}

/** Builds the LP-format model once; objectives and fixing rows are appended per solve. */
class Model {
  readonly rows: string[] = [];
  readonly binaries: string[] = [];
  /** x variable name → [deployment id, cluster id]. */
  readonly x = new Map<string, [number, number]>();
  /** Per class (same order as classes): terms counting the running deployments of the class. */
  readonly classTerms: Term[][];
  readonly utilTerms: Term[] = [];
  /** Per class: terms counting its running deployments that stay where they run. */
  readonly stayTerms: Term[][];

  constructor(
    readonly s: Snapshot,
    readonly classes: number[],
    readonly options: Required<SolveOptions>,
  ) {
    const items = itemsOf(s);
    const classIdx = new Map(classes.map((p, i) => [p, i]));
    this.classTerms = classes.map(() => []);
    this.stayTerms = classes.map(() => []);
    const weight = utilizationWeights(s);
    const onCluster = new Map<number, { id: number; v: string }[]>(
      s.clusters.map((c) => [c.id, []]),
    );
    const xName = (d: number, c: number): string => `x_${d}_${c}`;

    for (const d of items) {
      let allowed = allowedClusters(d, s.clusters);
      if (d.home !== null && !options.moves) allowed = allowed.filter((c) => c === d.home);
      if (allowed.length === 0) continue;
      if (d.home !== null && !options.preemption)
        this.rows.push(`keep_${d.id}: x_${d.id}_${d.home} = 1`);
      const names = allowed.map((c) => xName(d.id, c));
      allowed.forEach((c, i) => {
        const n = names[i] as string;
        this.x.set(n, [d.id, c]);
        this.binaries.push(n);
        onCluster.get(c)?.push({ id: d.id, v: n });
        this.classTerms[classIdx.get(d.priority) ?? 0]?.push({ coef: 1, name: n });
        if (c === d.home) this.stayTerms[classIdx.get(d.priority) ?? 0]?.push({ coef: 1, name: n });
        const w = weight(d.req);
        if (w > 0) this.utilTerms.push({ coef: Number((w * 1e6).toPrecision(15)), name: n });
      });
      this.rows.push(`one_${d.id}: ${sum(names.map((name) => ({ coef: 1, name })))} <= 1`);
    }

    const byId = new Map(items.map((i) => [i.id, i]));
    for (const cl of s.clusters) {
      const vars = onCluster.get(cl.id) ?? [];
      for (const r of RESOURCE_KEYS) {
        const terms = vars
          .map(({ id, v }) => ({ coef: byId.get(id)?.req[r] ?? 0, name: v }))
          .filter((t) => t.coef > 0);
        const worst = terms.reduce((acc, t) => acc + t.coef, 0);
        if (worst > cl.total[r])
          this.rows.push(`cap_${cl.id}_${r}: ${sum(terms)} <= ${cl.total[r]}`);
      }
    }

    for (const v of items) {
      if (v.home === null) continue;
      const h = s.clusters.find((c) => c.id === v.home);
      if (!h) continue;
      const stay = xName(v.id, h.id);
      const kVars = (onCluster.get(h.id) ?? []).filter(({ id }) => {
        const d = byId.get(id);
        if (!d || d.id === v.id) return false;
        return d.priority > v.priority || (d.home === h.id && d.priority <= v.priority);
      });
      const zs: string[] = [];
      for (const r of RESOURCE_KEYS) {
        const threshold = h.total[r] + 1 - v.req[r];
        const terms = kVars
          .map(({ id, v: name }) => ({ coef: byId.get(id)?.req[r] ?? 0, name }))
          .filter((t) => t.coef > 0);
        const reachable = terms.reduce((acc, t) => acc + t.coef, 0) >= threshold;
        if (!reachable) continue; // z[v,r] would be forced to 0: leave it out
        const z = `z_${v.id}_${r}`;
        zs.push(z);
        this.binaries.push(z);
        this.rows.push(`need_${v.id}_${r}: ${sum([...terms, { coef: -threshold, name: z }])} >= 0`);
      }
      this.rows.push(
        `why_${v.id}: ${sum([{ coef: 1, name: stay }, ...zs.map((name) => ({ coef: 1, name }))])} >= 1`,
      );
      if (!options.victimRule) continue;
      // R6: the victim's level was needed (same form as need/why, with the smaller load).
      const lVars = (onCluster.get(h.id) ?? []).filter(({ id }) => {
        const d = byId.get(id);
        if (!d || d.id === v.id) return false;
        return d.home === h.id ? d.priority >= v.priority : d.priority > v.priority;
      });
      const ws: string[] = [];
      for (const r of RESOURCE_KEYS) {
        const threshold = h.total[r] + 1 - v.req[r];
        const terms = lVars
          .map(({ id, v: name }) => ({ coef: byId.get(id)?.req[r] ?? 0, name }))
          .filter((t) => t.coef > 0);
        if (terms.reduce((acc, t) => acc + t.coef, 0) < threshold) continue;
        const w = `w_${v.id}_${r}`;
        ws.push(w);
        this.binaries.push(w);
        this.rows.push(`lvl_${v.id}_${r}: ${sum([...terms, { coef: -threshold, name: w }])} >= 0`);
      }
      this.rows.push(
        `lvlwhy_${v.id}: ${sum([{ coef: 1, name: stay }, ...ws.map((name) => ({ coef: 1, name }))])} >= 1`,
      );
    }
  }

  text(objective: readonly Term[], extraRows: readonly string[]): string {
    const rows = [...this.rows, ...extraRows];
    const binaries = this.binaries.length > 0 ? this.binaries : ['x_dummy'];
    return [
      'Maximize',
      ` obj: ${sum(objective)}`,
      'Subject To',
      ...(rows.length > 0 ? rows.map((r) => ` ${r}`) : [' none: 0 x_dummy >= 0']),
      'Binaries',
      ` ${binaries.join(' ')}`,
      'End',
    ].join('\n');
  }
}

const OPTIONS = { output_flag: false, mip_rel_gap: 0, mip_abs_gap: 1e-7, time_limit: 60 } as const;

/** Solves the lexicographic optimum of one planning pass. */
/**
 * Variants used to explain a gap (both true = the rules of bench/lib/state.ts):
 * moves = an evicted unpinned running deployment may be re-placed elsewhere in the same pass;
 * preemption = running deployments may be evicted at all.
 */
export interface SolveOptions {
  moves?: boolean;
  preemption?: boolean;
  /** R6, the contract's victim rule (default on); off is the looser model used before. */
  victimRule?: boolean;
}

export async function solveOptimum(s: Snapshot, opts: SolveOptions = {}): Promise<OptimumResult> {
  const highs = await loadHighs();
  const started = performance.now();
  const classes = priorityClasses(s);
  const model = new Model(s, classes, {
    moves: opts.moves ?? true,
    preemption: opts.preemption ?? true,
    victimRule: opts.victimRule ?? true,
  });
  const fixed: string[] = [];
  const counts: number[] = [];
  let solves = 0;
  let last: Record<string, { Primal?: number }> = {};

  const run = (
    objective: readonly Term[],
  ): { value: number; columns: Record<string, { Primal?: number }> } => {
    solves++;
    const result = highs.solve(model.text(objective, fixed), OPTIONS);
    if (result.Status !== 'Optimal') {
      throw new Error(
        `HiGHS status ${result.Status} (expected Optimal; the initial state is always feasible)`,
      );
    }
    return {
      value: result.ObjectiveValue,
      columns: result.Columns,
    };
  };

  for (const [k, terms] of model.classTerms.entries()) {
    // The contract's victim order (§4.3: lowest highest-victim priority, then fewest victims):
    // the higher classes' counts being fixed, class k loses as few running deployments as they
    // need, and only then is its own count maximised.
    const stays = model.stayTerms[k] ?? [];
    if (model.options.victimRule && model.options.preemption && stays.length > 0) {
      const kept = Math.round(run(stays).value);
      fixed.push(`keep_class_${k}: ${sum(stays)} >= ${kept}`);
    }
    if (terms.length === 0) {
      counts.push(0);
      continue;
    }
    const { value, columns } = run(terms);
    const n = Math.round(value);
    counts.push(n);
    last = columns;
    fixed.push(`fix_class_${k}: ${sum(terms)} >= ${n}`);
  }
  if (model.utilTerms.length > 0) last = run(model.utilTerms).columns;

  const assignment: Assignment = new Map(itemsOf(s).map((i) => [i.id, null]));
  for (const [name, [d, c]] of model.x) {
    if ((last[name]?.Primal ?? 0) > 0.5) assignment.set(d, c);
  }
  return {
    classes,
    counts,
    utilization: utilization(s, assignment),
    assignment,
    solves,
    ms: performance.now() - started,
  };
}
