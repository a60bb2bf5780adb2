/** The planner under test (src/scheduler/planner), with the policy the benchmarks use. */
import { plan } from '../../src/scheduler/planner';
import type { Plan, Policy, Snapshot } from '../../src/scheduler/planner/types';

export type PlanFn = (snapshot: Snapshot, policy: Policy) => Plan;

/** Aging and the starvation bound off: the planner then follows plain priorities. */
export const PLAIN_POLICY: Policy = { agingSeconds: 0, starvationSeconds: 0 };

/**
 * Kept as a function so the benchmarks can also run with baselines only (returns the planner).
 * `lookAhead: false` is the planner as it was before the look-ahead across classes
 * (src/scheduler/planner/lookahead.ts): the same code with that one step switched off, so the two
 * can be compared in one run on the same snapshots.
 */
export function loadPlanner(opts: { lookAhead?: boolean } = {}): PlanFn | null {
  const lookAhead = opts.lookAhead ?? true;
  return (snapshot, policy) => plan(snapshot, policy, { lookAhead });
}
