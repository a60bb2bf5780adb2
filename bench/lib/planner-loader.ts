/**
 * Lazy access to the planner (src/scheduler/planner/index.ts), so the benchmarks type-check and
 * run (against the baselines only) before the planner exists.
 */
import path from 'node:path';
import type { Plan, Policy, Snapshot } from '../../src/scheduler/planner/types';

export type PlanFn = (snapshot: Snapshot, policy: Policy) => Plan;

/** Aging and the starvation bound off: the planner then follows plain priorities. */
export const PLAIN_POLICY: Policy = { agingSeconds: 0, starvationSeconds: 0 };

export function loadPlanner(): PlanFn | null {
  const entry = path.resolve(__dirname, '../../src/scheduler/planner/index');
  let mod: { plan?: unknown };
  try {
    // A computed path on purpose: a static import would not compile before the planner exists.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(entry) as { plan?: unknown };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND' && err.message.includes(entry)) return null;
    throw e;
  }
  return typeof mod.plan === 'function' ? (mod.plan as PlanFn) : null;
}
