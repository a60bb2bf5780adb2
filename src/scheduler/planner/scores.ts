import type { Resources } from './types';

/**
 * How a fitting cluster is chosen; lower scores win, ties go to the earlier cluster in index order
 * (non-GPU clusters first, then by id).
 *
 * - `scarce` (the default): a non-GPU deployment on a cluster that still has free GPUs is ranked
 *   after every cluster without free GPUs, then most-allocated best fit weighted by scarcity.
 *   Greedy best fit alone happily fills a GPU cluster's CPU and RAM with CPU-only work because that
 *   cluster is the tightest, and the GPUs left behind can no longer be used by anybody: measured
 *   on our instance mix, that stranding was most of the gap between greedy and the optimum.
 * - `bestfit`: most-allocated without the GPU rule (wins when GPUs are plentiful).
 * - `tetris`: dot-product alignment of request and free vector, with the GPU rule; it packs
 *   differently shaped work into complementary holes.
 * - `worstfit`: least-allocated, with the GPU rule; occasionally keeps a big hole for a later class.
 *
 * The planner tries several of these on small instances and keeps the plan with the best
 * objective; large instances use `scarce` only.
 */
export type ScoreKind = 'scarce' | 'bestfit' | 'tetris' | 'worstfit';

export const SCORE_KINDS: readonly ScoreKind[] = ['scarce', 'bestfit', 'tetris', 'worstfit'];

/**
 * Per-resource weights: how contended a resource is (demand of the waiting work over the free
 * capacity), clamped so that an idle resource still counts a little and a hot one does not drown
 * the others. Floats are fine here: scores only rank clusters, they never account capacity.
 */
export interface Weights {
  ram: number;
  cpu: number;
  gpu: number;
}

export const UNIT_WEIGHTS: Weights = Object.freeze({ ram: 1, cpu: 1, gpu: 1 });

export function scarcityWeights(demand: Resources, supply: Resources): Weights {
  const w = (d: number, s: number): number => {
    if (d <= 0) return 0.25;
    if (s <= 0) return 4;
    return Math.min(4, Math.max(0.25, d / s));
  };
  return {
    ram: w(demand.ram, supply.ram),
    cpu: w(demand.cpu, supply.cpu),
    gpu: w(demand.gpu, supply.gpu),
  };
}

/** Large enough to dominate any packing term (those are sums of three weighted ratios ≤ 1). */
const STRAND_PENALTY = 1000;

function slack(req: Resources, avail: Resources, total: Resources, w: Weights): number {
  let s = 0;
  if (total.ram > 0) s += (w.ram * (avail.ram - req.ram)) / total.ram;
  if (total.cpu > 0) s += (w.cpu * (avail.cpu - req.cpu)) / total.cpu;
  if (total.gpu > 0) s += (w.gpu * (avail.gpu - req.gpu)) / total.gpu;
  return s;
}

/** Placing work that needs no GPU where GPUs are still free takes CPU/RAM the GPUs need. */
export function strands(req: Resources, avail: Resources): boolean {
  return req.gpu === 0 && avail.gpu > 0;
}

export function score(
  kind: ScoreKind,
  req: Resources,
  avail: Resources,
  total: Resources,
  w: Weights,
): number {
  const strand = strands(req, avail) ? STRAND_PENALTY : 0;
  switch (kind) {
    case 'scarce':
      return strand + slack(req, avail, total, w);
    case 'bestfit':
      return slack(req, avail, total, UNIT_WEIGHTS);
    case 'worstfit':
      return strand - slack(req, avail, total, w);
    case 'tetris': {
      let dot = 0;
      if (total.ram > 0) dot += (w.ram * req.ram * avail.ram) / (total.ram * total.ram);
      if (total.cpu > 0) dot += (w.cpu * req.cpu * avail.cpu) / (total.cpu * total.cpu);
      if (total.gpu > 0) dot += (w.gpu * req.gpu * avail.gpu) / (total.gpu * total.gpu);
      return strand - dot;
    }
  }
}
