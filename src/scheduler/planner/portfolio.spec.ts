import { applyPlan } from './apply';
import { NO_AGING, units, withAvailable, type Units } from './fixtures';
import { plan } from './index';
import type { DependencyState, Snapshot } from './types';

/**
 * The portfolio's objective (plan.ts, `better`): per class from the highest, more running, then
 * fewer of the class evicted, before any class below. bench/quality instance #79 (seed 617719179
 * of smallInstance), verbatim. Before the victim term the chosen plan evicted deployment 2
 * (priority 100) and ran pending 12 (priority 100) in its place elsewhere: class 100 kept its
 * count, and the room let one more priority-10 deployment in. The contract (§4.3) minimises the
 * highest victim priority and the number of victims; the plan now evicts only deployment 3
 * (priority 10) and keeps 2 running, one priority-10 seat fewer (the fair optimum's choice).
 */

const NOW = 1_750_000_000_000;
const clusters: Array<[number, Units]> = [
  [101, [8, 4, 1]],
  [102, [32, 4, 2]],
  [103, [32, 8, 0]],
  [104, [16, 4, 0]],
  [105, [8, 8, 2]],
];
// [id, cluster, priority, req, seconds running, pinned]
const running: Array<[number, number, number, Units, number, boolean]> = [
  [1, 102, 500, [8, 1, 0], 16534.08, false],
  [2, 102, 100, [2.5, 1, 1], 16449.152, false],
  [3, 103, 10, [7.5, 1, 0], 13348.896, false],
  [4, 104, 100, [7, 2.75, 0], 29408.562, false],
  [5, 104, 500, [0.5, 0.5, 0], 21842.073, false],
  [6, 105, 100, [3, 0.25, 0], 27123.73, true],
  [7, 105, 100, [2, 2.25, 0], 33225.72, false],
];
// [id, priority, req, seconds waiting, pin, dependencies, waiting for]
const pending: Array<[number, number, Units, number, number | null, DependencyState, number[]]> = [
  [8, 10, [7.5, 1.5, 0], 2692.297, null, 'waiting', [4]],
  [9, 100, [1, 1.5, 0], 4110.076, null, 'waiting', [4]],
  [10, 500, [0.5, 3.75, 0], 5347.397, 104, 'ready', []],
  [11, 100, [3.5, 3, 0], 5196.831, 102, 'ready', []],
  [12, 100, [2, 0.75, 0], 1209.616, null, 'ready', []],
  [13, 100, [7.5, 0.25, 1], 2371.367, 104, 'ready', []],
  [14, 500, [1.5, 1.25, 0], 4714.259, null, 'ready', []],
  [15, 500, [2, 0.75, 0], 4993.094, 105, 'ready', []],
  [16, 10, [6, 3.75, 0], 2993.282, null, 'waiting', [3]],
  [17, 500, [5, 3.25, 0], 4768.34, null, 'ready', []],
  [18, 100, [1, 1.5, 0], 5889.867, 102, 'ready', []],
  [19, 500, [6, 1.75, 0], 427.988, null, 'ready', []],
  [20, 500, [1.5, 1.25, 0], 806.091, null, 'ready', []],
  [21, 100, [7.5, 1, 1], 6208.543, null, 'ready', []],
  [22, 10, [1.5, 1.25, 0], 3183.165, 104, 'ready', []],
  [23, 10, [6, 0.75, 0], 3669.622, 103, 'waiting', [6]],
  [24, 100, [8, 2.75, 0], 7125.128, 104, 'ready', []],
  [25, 500, [8, 3.5, 0], 3884.968, null, 'ready', []],
  [26, 10, [4, 0.5, 0], 1459.97, null, 'ready', []],
  [27, 100, [0.5, 3.5, 0], 5423.986, 102, 'ready', []],
  [28, 10, [2.5, 3.5, 0], 5218.351, null, 'ready', []],
  [29, 10, [4, 2.5, 0], 2430.189, 102, 'ready', []],
  [30, 500, [1, 3.75, 0], 5038.534, null, 'ready', []],
  [31, 500, [7.5, 2.25, 0], 575.088, null, 'ready', []],
  [32, 10, [3.5, 2.5, 0], 5628.856, null, 'ready', []],
  [33, 10, [3.5, 1.75, 1], 1994.991, null, 'ready', []],
  [34, 500, [5, 0.5, 0], 5964.397, null, 'ready', []],
  [35, 10, [5.5, 1, 0], 246.252, null, 'ready', []],
  [36, 100, [1, 2.75, 0], 163.639, null, 'ready', []],
];

const snap: Snapshot = withAvailable({
  now: NOW,
  clusters: clusters.map(([id, t]) => ({ id, total: units(t), available: units(t) })),
  running: running.map(([id, clusterId, priority, req, secs, pinned]) => ({
    id,
    clusterId,
    priority,
    req: units(req),
    startedAt: NOW - Math.round(secs * 1000),
    pinned,
  })),
  pending: pending.map(([id, priority, req, secs, pin, dependencyState, waitingFor]) => ({
    id,
    priority,
    req: units(req),
    createdAt: NOW - Math.round(secs * 1000),
    pinnedClusterId: pin,
    dependencyState,
    waitingFor,
  })),
});

function countsByPriority(p: ReturnType<typeof plan>): Record<number, number> {
  const evicted = new Set(p.preemptions.map((e) => e.victimId));
  const prio = new Map<number, number>();
  for (const r of snap.running) prio.set(r.id, r.priority);
  for (const d of snap.pending) prio.set(d.id, d.priority);
  const out: Record<number, number> = {};
  for (const q of prio.values()) out[q] = 0;
  for (const r of snap.running) if (!evicted.has(r.id)) out[r.priority]!++;
  for (const x of p.placements) out[prio.get(x.deploymentId)!]!++;
  return out;
}

describe('portfolio objective: fewer victims of a class before more work below it', () => {
  it.each([
    {
      name: 'keeps a priority-100 deployment running rather than swap it for another of its class',
      expected: {
        preemptions: [{ victimId: 3, clusterId: 103, forDeploymentId: 20 }],
        counts: { 500: 11, 100: 4, 10: 0 },
        placed: [
          [14, 103],
          [15, 105],
          [17, 103],
          [19, 102],
          [20, 103],
          [25, 101],
          [30, 105],
          [31, 103],
          [34, 104],
        ],
      },
    },
  ])('$name', ({ expected }) => {
    const p = plan(snap, NO_AGING);
    expect(p.preemptions).toEqual(expected.preemptions);
    expect(countsByPriority(p)).toEqual(expected.counts);
    expect(p.placements.map((x) => [x.deploymentId, x.clusterId])).toEqual(expected.placed);
    const again = plan(applyPlan(snap, p), NO_AGING);
    expect(again.placements).toEqual([]);
    expect(again.preemptions).toEqual([]);
  });
});
