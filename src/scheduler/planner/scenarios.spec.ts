import { applyPlan } from './apply';
import { NO_AGING, NOW, snapshot, withAvailable, type PendingSpec } from './fixtures';
import { plan } from './index';
import type { PendingCode, Plan, Policy, Snapshot } from './types';

/** Plenty of whatever a scenario does not talk about. */
const AMPLE = 1000;

interface Scenario {
  name: string;
  snap: Snapshot;
  policy?: Policy;
  /** Exact placements as [deployment, cluster]. */
  placed: Array<[number, number]>;
  /** Exact victims. */
  evicted: number[];
  pending?: Record<number, PendingCode>;
  failed?: number[];
  reasonIncludes?: Record<number, string>;
}

const placedOf = (p: Plan): Array<[number, number]> =>
  p.placements.map((x) => [x.deploymentId, x.clusterId]);

const scenarios: Scenario[] = [
  {
    name: '(b) a preemptor waits rather than evict work of higher priority',
    snap: snapshot({
      clusters: [[1, [AMPLE, 8, AMPLE]]],
      running: [
        { id: 1, cluster: 1, priority: 1, req: [1, 4, 0] },
        { id: 2, cluster: 1, priority: 9, req: [1, 4, 0] },
      ],
      pending: [{ id: 3, priority: 5, req: [1, 6, 0] }],
    }),
    placed: [],
    evicted: [],
    pending: { 3: 'insufficient_resources' },
    reasonIncludes: { 3: 'insufficient cpu: needs 6, 0 free on cluster 1' },
  },
  {
    name: '(c) only the lower-priority victims that are needed are evicted',
    snap: snapshot({
      clusters: [[1, [20, 7, 4]]],
      running: [
        { id: 1, cluster: 1, priority: 1, req: [4, 2, 0] },
        { id: 2, cluster: 1, priority: 4, req: [4, 2, 0] },
        { id: 3, cluster: 1, priority: 2, req: [4, 2, 0] },
      ],
      pending: [{ id: 4, priority: 3, req: [8, 4, 0] }],
    }),
    placed: [[4, 1]],
    evicted: [1, 3],
    pending: { 1: 'queued_behind_higher_priority', 3: 'insufficient_resources' },
  },
  {
    name: '(d) two victims of the lowest priority are preferred over one of a higher priority',
    snap: snapshot({
      clusters: [[1, [10, 10, 10]]],
      running: [
        { id: 1, cluster: 1, priority: 1, req: [2, 2, 2] },
        { id: 2, cluster: 1, priority: 1, req: [3, 3, 3] },
        { id: 3, cluster: 1, priority: 2, req: [5, 5, 5] },
      ],
      pending: [{ id: 4, priority: 3, req: [5, 5, 5] }],
    }),
    placed: [[4, 1]],
    evicted: [1, 2],
  },
  {
    name: '(e) equal priority never preempts',
    snap: snapshot({
      clusters: [[1, [AMPLE, 4, AMPLE]]],
      running: [{ id: 1, cluster: 1, priority: 3, req: [1, 4, 0] }],
      pending: [{ id: 2, priority: 3, req: [1, 2, 0] }],
    }),
    placed: [],
    evicted: [],
    pending: { 2: 'insufficient_resources' },
  },
  {
    name: '(f) within one priority as many run as fit, not strict FIFO',
    snap: snapshot({
      clusters: [[1, [AMPLE, 4, AMPLE]]],
      pending: [
        { id: 2, priority: 1, req: [1, 3, 0], createdAt: NOW - 3000 },
        { id: 3, priority: 1, req: [1, 2, 0], createdAt: NOW - 2000 },
        { id: 4, priority: 1, req: [1, 2, 0], createdAt: NOW - 1000 },
      ],
    }),
    placed: [
      [3, 1],
      [4, 1],
    ],
    evicted: [],
    pending: { 2: 'insufficient_resources' },
  },
  {
    name: '(g) a deployment that does not fit never blocks a smaller one behind it',
    snap: snapshot({
      clusters: [[1, [AMPLE, 5, AMPLE]]],
      running: [{ id: 1, cluster: 1, priority: 10, req: [1, 4, 0] }],
      pending: [
        { id: 2, priority: 7, req: [1, 3, 0], createdAt: NOW - 5000 },
        { id: 3, priority: 2, req: [1, 1, 0] },
      ],
    }),
    placed: [[3, 1]],
    evicted: [],
    pending: { 2: 'insufficient_resources' },
  },
  {
    name: '(h) unpinned work goes where it packs best',
    snap: snapshot({
      clusters: [
        [1, [16, 8, 0]],
        [2, [16, 4, 0]],
      ],
      pending: [{ id: 1, priority: 1, req: [2, 3, 0] }],
    }),
    placed: [[1, 2]],
    evicted: [],
  },
  {
    name: '(h) CPU-only work avoids a GPU cluster even where it would pack tighter',
    snap: snapshot({
      clusters: [
        [1, [16, 8, 0]],
        [2, [16, 4, 2]],
      ],
      pending: [{ id: 1, priority: 1, req: [2, 3, 0] }],
    }),
    placed: [[1, 1]],
    evicted: [],
  },
  {
    name: '(h) victims are only taken on the cluster the preemptor is placed on',
    snap: snapshot({
      clusters: [
        [1, [AMPLE, 4, AMPLE]],
        [2, [AMPLE, 4, AMPLE]],
      ],
      running: [
        { id: 1, cluster: 1, priority: 2, req: [1, 2, 0] },
        { id: 2, cluster: 1, priority: 2, req: [1, 2, 0] },
        { id: 3, cluster: 2, priority: 1, req: [1, 2, 0] },
        { id: 4, cluster: 2, priority: 1, req: [1, 2, 0] },
      ],
      pending: [{ id: 5, priority: 5, req: [1, 3, 0] }],
    }),
    placed: [[5, 2]],
    evicted: [3, 4],
  },
  {
    name: '(i) unfinished dependencies keep a deployment pending',
    snap: snapshot({
      clusters: [[1, [AMPLE, AMPLE, AMPLE]]],
      pending: [{ id: 1, priority: 1, req: [1, 1, 0], deps: 'waiting', waitingFor: [12, 15] }],
    }),
    placed: [],
    evicted: [],
    pending: { 1: 'waiting_for_dependencies' },
    reasonIncludes: { 1: 'waiting for dependencies 12, 15' },
  },
  {
    name: '(i) a failed dependency fails the deployment',
    snap: snapshot({
      clusters: [[1, [AMPLE, AMPLE, AMPLE]]],
      pending: [{ id: 1, priority: 1, req: [1, 1, 0], deps: 'failed', waitingFor: [12] }],
    }),
    placed: [],
    evicted: [],
    pending: {},
    failed: [1],
  },
  {
    name: '(reasons) a deployment bigger than every cluster has no cluster',
    snap: snapshot({
      clusters: [[1, [8, 4, 0]]],
      pending: [{ id: 1, priority: 1, req: [1, 5, 0] }],
    }),
    placed: [],
    evicted: [],
    pending: { 1: 'no_cluster' },
  },
];

describe('plan', () => {
  it.each(scenarios)('$name', (s) => {
    const result = plan(s.snap, s.policy ?? NO_AGING);

    expect(placedOf(result)).toEqual(s.placed);
    expect(result.preemptions.map((p) => p.victimId)).toEqual(s.evicted);
    for (const p of result.preemptions) {
      expect(s.placed).toContainEqual([p.forDeploymentId, p.clusterId]);
    }
    if (s.pending) {
      const codes = Object.fromEntries(result.pending.map((r) => [r.deploymentId, r.code]));
      expect(codes).toEqual(s.pending);
    }
    expect(result.failures.map((f) => f.deploymentId)).toEqual(s.failed ?? []);
    for (const [id, words] of Object.entries(s.reasonIncludes ?? {})) {
      expect(result.pending.find((r) => r.deploymentId === Number(id))?.reason).toContain(words);
    }
    // Whatever the scenario, planning the outcome again changes nothing.
    const again = plan(applyPlan(s.snap, result), s.policy ?? NO_AGING);
    expect(again.placements).toEqual([]);
    expect(again.preemptions).toEqual([]);
  });
});

/** Completes running deployments (drops them from the snapshot) and recomputes capacity. */
function complete(s: Snapshot, ids: number[]): Snapshot {
  return withAvailable({ ...s, running: s.running.filter((r) => !ids.includes(r.id)) });
}

describe('plan over several rounds', () => {
  it.each([
    {
      name: '(a) the preemptor runs, only the lowest victim goes, and it comes back when room returns',
      run: () => {
        const s0 = snapshot({
          clusters: [[1, [10, 5, 2]]],
          running: [
            { id: 1, cluster: 1, priority: 1, req: [6, 3, 1] },
            { id: 2, cluster: 1, priority: 2, req: [2, 1, 0] },
          ],
          pending: [{ id: 3, priority: 5, req: [3, 2, 1] }],
        });
        const p1 = plan(s0, NO_AGING);
        const s1 = applyPlan(s0, p1);
        const p2 = plan(complete(s1, [3]), NO_AGING);
        return { p1, s1, p2 };
      },
      check: ({ p1, s1, p2 }: { p1: Plan; s1: Snapshot; p2: Plan }) => {
        expect(p1.placements).toEqual([{ deploymentId: 3, clusterId: 1 }]);
        expect(p1.preemptions).toEqual([{ victimId: 1, clusterId: 1, forDeploymentId: 3 }]);
        expect(s1.pending.map((p) => p.id)).toEqual([1]);
        expect(s1.pending[0]!.createdAt).toBe(s0CreatedAt());
        expect(p2.placements).toEqual([{ deploymentId: 1, clusterId: 1 }]);
        expect(p2.preemptions).toEqual([]);
      },
    },
  ])('$name', ({ run, check }) => {
    check(run());
  });

  /**
   * One cpu-4 cluster shared by a steady stream of cpu-2 work of one priority and a single cpu-3
   * deployment: every round the oldest running job completes (2 cpu free up) and a new cpu-2 job
   * arrives. Returns the round in which the cpu-3 deployment starts, or null.
   */
  function stream(policy: Policy, rounds: number): number | null {
    const BIG = 100;
    let now = NOW;
    let s: Snapshot = snapshot({
      now,
      clusters: [[1, [AMPLE, 4, 0]]],
      running: [
        { id: 1, cluster: 1, priority: 1, req: [1, 2, 0], startedAt: now - 60_000 },
        { id: 2, cluster: 1, priority: 1, req: [1, 2, 0], startedAt: now - 30_000 },
      ],
      pending: [{ id: BIG, priority: 1, req: [1, 3, 0], createdAt: now }],
    });
    let nextId = 3;
    for (let round = 1; round <= rounds; round++) {
      now += 30_000;
      const oldest = [...s.running]
        .filter((r) => r.id !== BIG)
        .sort((a, b) => a.startedAt - b.startedAt)[0];
      s = complete({ ...s, now }, oldest ? [oldest.id] : []);
      const arrival: PendingSpec = { id: nextId++, priority: 1, req: [1, 2, 0], createdAt: now };
      s = {
        ...s,
        pending: [...s.pending, ...snapshot({ clusters: [], pending: [arrival], now }).pending],
      };
      s = applyPlan(s, plan(s, policy));
      if (s.running.some((r) => r.id === BIG)) return round;
    }
    return null;
  }

  it.each([
    {
      name: '(j) with a starvation bound the large deployment starts within the bound',
      policy: { agingSeconds: 60, starvationSeconds: 120 },
      // Waited > 120 s after round 5 (150 s); its hold fills up by the next completion.
      expectRound: (r: number | null) => {
        expect(r).not.toBeNull();
        expect(r!).toBeLessThanOrEqual(120 / 30 + 2);
      },
    },
    {
      name: '(j) without the bound smaller work of the same priority starves it indefinitely',
      policy: { agingSeconds: 60, starvationSeconds: 0 },
      expectRound: (r: number | null) => expect(r).toBeNull(),
    },
  ])('$name', ({ policy, expectRound }) => {
    expectRound(stream(policy, 50));
  });
});

function s0CreatedAt(): number {
  // fixtures.snapshot gives running work createdAt = startedAt − 1 s, startedAt = now − 60 s.
  return NOW - 61_000;
}
