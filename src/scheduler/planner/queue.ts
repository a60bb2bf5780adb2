import type { Policy } from './types';

/** What the queue sort needs to know about a waiting deployment. */
export interface Queued {
  id: number;
  priority: number;
  createdAt: number;
}

/** Milliseconds waited; a createdAt in the future (clock skew between writers) counts as no wait. */
export function waitedMs(createdAt: number, now: number): number {
  return Math.max(0, now - createdAt);
}

/**
 * priority + floor(waitSeconds / agingSeconds). Aging only reorders the queue so that old work
 * eventually overtakes newer work of a higher base priority; it never grants the right to preempt
 * (preemption compares base priority), otherwise a long wait would let work evict more important
 * work and the running set would churn.
 */
export function effectivePriority(item: Queued, now: number, policy: Policy): number {
  if (policy.agingSeconds <= 0) return item.priority;
  return item.priority + Math.floor(waitedMs(item.createdAt, now) / (policy.agingSeconds * 1000));
}

/** Waited strictly longer than the starvation bound; a bound of 0 disables the mechanism. */
export function isStarving(item: Queued, now: number, policy: Policy): boolean {
  if (policy.starvationSeconds <= 0) return false;
  return waitedMs(item.createdAt, now) > policy.starvationSeconds * 1000;
}

/**
 * Queue order: higher effective priority first, then older first, then lower id. The id makes the
 * order total so that equal inputs always give the same plan.
 */
export function compareQueue(a: Queued & { eff: number }, b: Queued & { eff: number }): number {
  if (a.eff !== b.eff) return b.eff - a.eff;
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id - b.id;
}
