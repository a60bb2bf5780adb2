import fc from 'fast-check';
import { applyPlan } from './apply';
import { Budget } from './budget';
import { indexWeights, MaxTree } from './cluster-index';
import { snapshot, units } from './fixtures';
import { chooseVictims, lowestSufficientPriority } from './preemption';
import { effectivePriority, isStarving } from './queue';
import { insufficientWords } from './reasons';
import { fits, formatUnits } from './resources';
import type { Item } from './state';
import type { Resources } from './types';

const policy = (agingSeconds: number, starvationSeconds = 0) => ({
  agingSeconds,
  starvationSeconds,
});

describe('queue sort', () => {
  it.each([
    { priority: 3, waitedS: 0, aging: 60, eff: 3 },
    { priority: 3, waitedS: 59, aging: 60, eff: 3 },
    { priority: 3, waitedS: 60, aging: 60, eff: 4 },
    { priority: 3, waitedS: 250, aging: 60, eff: 7 },
    { priority: 3, waitedS: 10_000, aging: 0, eff: 3 },
    { priority: 3, waitedS: -30, aging: 60, eff: 3 },
  ])('ages priority $priority after $waitedS s with aging $aging s to $eff', (c) => {
    const now = 1_000_000;
    const item = { id: 1, priority: c.priority, createdAt: now - c.waitedS * 1000 };
    expect(effectivePriority(item, now, policy(c.aging))).toBe(c.eff);
  });

  it.each([
    { waitedS: 600, bound: 600, starving: false },
    { waitedS: 601, bound: 600, starving: true },
    { waitedS: 1e6, bound: 0, starving: false },
  ])('counts a wait of $waitedS s against a bound of $bound s as starving: $starving', (c) => {
    const item = { id: 1, priority: 0, createdAt: 0 };
    expect(isStarving(item, c.waitedS * 1000, policy(0, c.bound))).toBe(c.starving);
  });
});

function victim(
  id: number,
  priority: number,
  req: [number, number, number],
  startedAt: number,
): Item {
  return {
    id,
    priority,
    level: priority,
    req: units(req),
    createdAt: 0,
    startedAt,
    initialStartedAt: startedAt,
    pin: null,
    eff: priority,
    starving: false,
    dependencyState: 'ready',
    waitingFor: [],
    initialClusterId: 1,
    clusterId: 1,
    slot: 0,
    evictedFor: null,
  };
}

describe('victim selection', () => {
  it('finds the lowest priority level whose work covers the deficit', () => {
    const pool = [
      victim(1, 1, [0, 2, 0], 0),
      victim(2, 2, [0, 2, 0], 0),
      victim(3, 2, [0, 2, 0], 0),
    ];
    expect(lowestSufficientPriority(pool, units([0, 2, 0]))).toBe(1);
    expect(lowestSufficientPriority(pool, units([0, 3, 0]))).toBe(2);
    expect(lowestSufficientPriority(pool, units([0, 7, 0]))).toBeNull();
  });

  it.each([
    {
      name: 'prefers one victim over two',
      pool: [victim(1, 1, [0, 2, 0], 50), victim(2, 1, [0, 2, 0], 60), victim(3, 1, [0, 4, 0], 10)],
      deficit: [0, 4, 0] as [number, number, number],
      expected: [3],
    },
    {
      name: 'among equally many, loses the least work (latest start)',
      pool: [victim(1, 1, [0, 4, 0], 10), victim(2, 1, [0, 4, 0], 90), victim(3, 1, [0, 4, 0], 50)],
      deficit: [0, 4, 0] as [number, number, number],
      expected: [2],
    },
    {
      name: 'covers every short resource at once with the fewest victims',
      pool: [
        victim(1, 1, [3, 3, 0], 90),
        victim(2, 1, [4, 0, 0], 10),
        victim(3, 1, [0, 4, 0], 10),
        victim(4, 1, [1, 1, 0], 90),
      ],
      deficit: [4, 4, 0] as [number, number, number],
      expected: [1, 4],
    },
  ])('$name', ({ pool, deficit, expected }) => {
    const set = chooseVictims(pool, units(deficit), 100, new Budget(1e6));
    expect(set?.victims.map((v) => v.id).sort((a, b) => a - b)).toEqual(expected);
  });
});

describe('cluster index', () => {
  const vec = fc.record({
    ram: fc.integer({ min: 0, max: 64_000 }),
    cpu: fc.integer({ min: 0, max: 32_000 }),
    gpu: fc.integer({ min: 0, max: 8_000 }),
  });

  it('returns exactly the clusters a request fits, in index order, after any updates', () => {
    fc.assert(
      fc.property(
        fc.array(vec, { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(), vec), { maxLength: 20 }),
        vec,
        (leaves, updates, req) => {
          const w = indexWeights({ ram: 64_000, cpu: 32_000, gpu: 8_000 });
          const t = new MaxTree(leaves.length, w);
          const current: Resources[] = [...leaves];
          current.forEach((r, i) => t.setLeaf(i, r));
          t.rebuild();
          for (const [i, r] of updates) {
            current[i % current.length] = r;
            t.set(i % current.length, r);
          }
          const expected = current.flatMap((r, i) => (fits(req, r) ? [i] : []));
          expect(t.collect(req, Infinity)).toEqual(expected);
          expect(t.anyFits(req)).toBe(expected.length > 0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('reason words', () => {
  it.each([
    [4000, '4'],
    [1500, '1.5'],
    [250, '0.25'],
    [1, '0.001'],
    [0, '0'],
  ])('shows %i milli-units as "%s"', (milli, text) => {
    expect(formatUnits(milli)).toBe(text);
  });

  it('names every short resource with what is needed and what is free', () => {
    expect(insufficientWords(units([8, 4, 0]), units([6, 2, 0]), 3)).toBe(
      'insufficient ram: needs 8, 6 free; cpu: needs 4, 2 free on cluster 3',
    );
  });
});

describe('applyPlan', () => {
  it('returns victims to the queue with their creation time, runs placements and drops failures', () => {
    const s = snapshot({
      clusters: [
        [1, [10, 10, 0]],
        [2, [10, 10, 0]],
      ],
      running: [
        { id: 1, cluster: 1, priority: 1, req: [5, 5, 0], pinned: true },
        { id: 2, cluster: 1, priority: 1, req: [5, 5, 0] },
      ],
      pending: [
        { id: 3, priority: 5, req: [10, 10, 0], pin: 1 },
        { id: 4, priority: 1, req: [1, 1, 0], deps: 'failed' },
      ],
    });
    const after = applyPlan(s, {
      placements: [
        { deploymentId: 3, clusterId: 1 },
        { deploymentId: 2, clusterId: 2 },
      ],
      preemptions: [
        { victimId: 1, clusterId: 1, forDeploymentId: 3 },
        { victimId: 2, clusterId: 1, forDeploymentId: 3 },
      ],
      pending: [{ deploymentId: 1, code: 'insufficient_resources', reason: 'x' }],
      failures: [{ deploymentId: 4, code: 'dependency_failed', reason: 'x' }],
    });
    expect(after.pending).toEqual([
      {
        id: 1,
        priority: 1,
        req: units([5, 5, 0]),
        createdAt: s.running[0]!.createdAt,
        pinnedClusterId: 1,
        dependencyState: 'ready',
        waitingFor: [],
      },
    ]);
    expect(after.running.map((r) => [r.id, r.clusterId, r.startedAt === s.now])).toEqual([
      [2, 2, true],
      [3, 1, true],
    ]);
    expect(after.clusters.map((c) => c.available)).toEqual([units([0, 0, 0]), units([5, 5, 0])]);
    // The input is left as it was.
    expect(s.running.map((r) => r.clusterId)).toEqual([1, 1]);
  });
});
