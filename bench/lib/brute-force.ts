/**
 * Exhaustive reference optimum for tiny snapshots: enumerates every final state (each deployment
 * pending or on one of its allowed clusters), keeps the legal ones per bench/lib/state.ts and
 * returns the lexicographic best. Exponential: only for ≤ ~8 deployments on ≤ 3 clusters.
 */
import type { Snapshot } from '../../src/scheduler/planner/types';
import {
  type Assignment,
  type RuleOptions,
  allowedClusters,
  classCounts,
  compareObjective,
  itemsOf,
  priorityClasses,
  utilization,
  violations,
} from './state';

export interface BruteForceResult {
  classes: number[];
  counts: number[];
  utilization: number;
  assignment: Assignment;
  /** Number of final states enumerated / legal. */
  enumerated: number;
  legal: number;
}

export function bruteForceOptimum(s: Snapshot, opts: RuleOptions = {}): BruteForceResult {
  const items = itemsOf(s);
  const options = items.map((i) => [null, ...allowedClusters(i, s.clusters)]);
  const classes = priorityClasses(s);
  let best: BruteForceResult | undefined;
  let enumerated = 0;
  let legal = 0;
  const choice: (number | null)[] = items.map(() => null);
  const victimRule = opts.victimRule ?? true;
  const stays = classes.map(
    (p) => (a: Assignment) =>
      s.running.filter((r) => r.priority === p && a.get(r.id) === r.clusterId).length,
  );
  let bestKey: number[] = [];

  const visit = (k: number): void => {
    if (k === items.length) {
      enumerated++;
      const a: Assignment = new Map(items.map((it, i) => [it.id, choice[i] ?? null]));
      if (violations(s, a, opts).length > 0) return;
      legal++;
      const counts = classCounts(s, a, classes);
      // Victim rule on: per class from the highest, first its running deployments that stay
      // (fewest evicted), then its count (the order of bench/quality/milp.ts).
      const key = victimRule ? classes.flatMap((_, k) => [stays[k]!(a), counts[k]!]) : counts;
      const candidate = { counts: key, utilization: utilization(s, a) };
      if (
        !best ||
        compareObjective(candidate, { counts: bestKey, utilization: best.utilization }) > 0
      ) {
        best = {
          classes,
          counts,
          utilization: candidate.utilization,
          assignment: a,
          enumerated: 0,
          legal: 0,
        };
        bestKey = key;
      }
      return;
    }
    for (const o of options[k] ?? [null]) {
      choice[k] = o;
      visit(k + 1);
    }
  };
  visit(0);
  if (!best) throw new Error('no legal final state (the initial state should always be legal)');
  return { ...best, enumerated, legal };
}
