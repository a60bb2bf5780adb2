import fc from 'fast-check';
import { plan } from '../planner';
import type {
  ClusterSnapshot,
  PendingSnapshot,
  Policy,
  RunningSnapshot,
  Snapshot,
} from '../planner/types';
import { fastPathCluster, fastPathEligible, otherReadyMayRun, readyDemand } from './decide';

const NOW = 1_800_000_000_000;
const POLICY: Policy = { agingSeconds: 60, starvationSeconds: 600 };
const NEW_ID = 1_000_000;

const amount = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((x) => x * 250);

const clusterArb = fc.record({
  ram: amount(8, 256),
  cpu: amount(4, 128),
  gpu: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: amount(1, 32) }),
  load: fc.array(
    fc.record({
      ram: amount(1, 64),
      cpu: amount(1, 32),
      gpu: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: amount(1, 8) },
      ),
      priority: fc.constantFrom(-10, 0, 10, 50, 1000),
      pinned: fc.boolean(),
      age: fc.integer({ min: 1, max: 10_000 }),
    }),
    { maxLength: 5 },
  ),
});

const newArb = fc.record({
  priority: fc.constantFrom(0, 10, 50, 100),
  ram: amount(1, 64),
  cpu: amount(1, 32),
  gpu: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: amount(1, 8) }),
  pin: fc.option(fc.nat(), { nil: null }),
});

const otherArb = (readyWeight: number, maxBelow: number) =>
  fc.record({
    below: fc.integer({ min: 1, max: maxBelow }),
    ram: amount(1, 300),
    cpu: amount(1, 150),
    gpu: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: amount(1, 40) },
    ),
    waitedMs: fc.integer({ min: 0, max: 59_000 }),
    pin: fc.option(fc.nat(), { nil: null }),
    waiting: fc.oneof(
      { weight: 4, arbitrary: fc.constant(true) },
      { weight: readyWeight, arbitrary: fc.constant(false) },
    ),
  });

/**
 * A random organisation (2–40 clusters, and over 400 deployments when there are 16 or fewer, so
 * the planner runs the `scarce` scorer only) with
 * running work, the new deployment, and other pending work all at a lower effective priority
 * and none starving: the situation in which the fast path claims the pass would decide as it does.
 * `readyWeight` (against 4 waiting on dependencies) and `maxBelow` (how far below the new one
 * the others' priorities go) shape the other pending work: the second property makes most of it
 * ready and often below every running priority, the bench's blocked low-priority GPU queue.
 */
const snapshotArb = (readyWeight = 1, maxBelow = 200) =>
  fc
    .record({
      clusters: fc.array(clusterArb, { minLength: 2, maxLength: 40 }),
      created: newArb,
      others: fc.array(otherArb(readyWeight, maxBelow), { maxLength: 12 }),
    })
    .map(({ clusters, created, others }) => {
      let id = 1;
      const cs: ClusterSnapshot[] = [];
      const running: RunningSnapshot[] = [];
      clusters.forEach((c, i) => {
        const cid = 100 + i;
        const total = { ram: c.ram, cpu: c.cpu, gpu: c.gpu };
        const available = { ...total };
        for (const r of c.load) {
          const req = { ram: r.ram, cpu: r.cpu, gpu: r.gpu };
          if (req.ram > available.ram || req.cpu > available.cpu || req.gpu > available.gpu)
            continue;
          available.ram -= req.ram;
          available.cpu -= req.cpu;
          available.gpu -= req.gpu;
          running.push({
            id: id++,
            clusterId: cid,
            priority: r.priority,
            req,
            startedAt: NOW - r.age * 1000,
            createdAt: NOW - r.age * 1000 - 5000,
            pinned: r.pinned,
          });
        }
        cs.push({ id: cid, total, available });
      });
      // Up to 16 clusters: enough tiny running work (1 milli-unit each) that the snapshot is past
      // the planner's small-instance portfolio, as an organisation with ~1k running is.
      const roomy = () => cs.filter((x) => x.available.ram >= 1 && x.available.cpu >= 1);
      for (let k = 0; cs.length <= 16 && running.length + others.length < 401; k++) {
        const open = roomy();
        const c = open[k % Math.max(1, open.length)];
        if (!c) break;
        c.available.ram -= 1;
        c.available.cpu -= 1;
        running.push({
          id: id++,
          clusterId: c.id,
          priority: 1000,
          req: { ram: 1, cpu: 1, gpu: 0 },
          startedAt: NOW - 1000,
          createdAt: NOW - 2000,
          pinned: false,
        });
      }
      const pinOf = (n: number | null) => (n === null ? null : 100 + (n % cs.length));
      const pending: PendingSnapshot[] = others.map((o) => {
        const pid = id++;
        return {
          id: pid,
          // Waited under a minute: effective priority = priority, strictly below the new one's.
          priority: created.priority - o.below,
          req: { ram: o.ram, cpu: o.cpu, gpu: o.gpu },
          createdAt: NOW - o.waitedMs,
          pinnedClusterId: pinOf(o.pin),
          dependencyState: o.waiting ? ('waiting' as const) : ('ready' as const),
          waitingFor: o.waiting ? [1] : [],
        };
      });
      pending.push({
        id: NEW_ID,
        priority: created.priority,
        req: { ram: created.ram, cpu: created.cpu, gpu: created.gpu },
        createdAt: NOW,
        pinnedClusterId: pinOf(created.pin),
        dependencyState: 'ready',
        waitingFor: [],
      });
      const snapshot: Snapshot = { clusters: cs, running, pending, now: NOW };
      return snapshot;
    });

/** Runs the agreement property; returns how many snapshots the fast path decided. */
function agreesWithPlanner(
  arb: fc.Arbitrary<Snapshot>,
  numRuns: number,
): { checked: number; withOtherReady: number } {
  let checked = 0;
  let withOtherReady = 0;
  fc.assert(
    fc.property(arb, (snapshot) => {
      const created = snapshot.pending.find((p) => p.id === NEW_ID)!;
      const expected = fastPathCluster(
        snapshot.clusters,
        created.req,
        created.pinnedClusterId,
        readyDemand(snapshot.pending),
      );
      fc.pre(expected !== null);
      const lowest = snapshot.running.length
        ? Math.min(...snapshot.running.map((r) => r.priority))
        : null;
      fc.pre(
        fastPathEligible({
          clusters: snapshot.clusters.length,
          deployments: snapshot.running.length + snapshot.pending.length,
          equalOrHigherWaiting: false,
          otherReadyMayRun: otherReadyMayRun(
            snapshot.pending.filter((p) => p.id !== NEW_ID),
            snapshot.clusters,
            lowest,
          ),
          anyStarving: false,
          hasDependencies: false,
        }),
      );
      checked++;
      if (snapshot.pending.some((p) => p.id !== NEW_ID && p.dependencyState === 'ready')) {
        withOtherReady++;
      }
      const decided = plan(snapshot, POLICY);
      const placed = decided.placements.find((p) => p.deploymentId === NEW_ID);
      expect(placed?.clusterId).toBe(expected);
      // A free-room placement evicts nobody for it.
      expect(decided.preemptions.filter((p) => p.forDeploymentId === NEW_ID)).toEqual([]);
    }),
    { numRuns },
  );
  return { checked, withOtherReady };
}

describe('create fast path', () => {
  it('should place a new deployment on the cluster a full pass would choose, on random snapshots', () => {
    expect(agreesWithPlanner(snapshotArb(), 400).checked).toBeGreaterThan(100);
  });

  it('should agree with the planner when other ready work waits that can neither fit nor evict', () => {
    const { checked, withOtherReady } = agreesWithPlanner(snapshotArb(6, 2000), 600);
    expect(checked).toBeGreaterThan(100);
    // Most of them with blocked ready work waiting, the case this widening admits.
    expect(withOtherReady).toBeGreaterThan(checked / 2);
  });

  it('should count ready work that fits an allowed cluster or outranks running work as able to run', () => {
    const clusters: ClusterSnapshot[] = [
      {
        id: 1,
        total: { ram: 4000, cpu: 2000, gpu: 0 },
        available: { ram: 1000, cpu: 500, gpu: 0 },
      },
      {
        id: 2,
        total: { ram: 4000, cpu: 2000, gpu: 8 },
        available: { ram: 4000, cpu: 2000, gpu: 0 },
      },
    ];
    const gpuJob: PendingSnapshot = {
      id: 7,
      priority: -100,
      req: { ram: 500, cpu: 500, gpu: 1000 },
      createdAt: NOW,
      pinnedClusterId: 2,
      dependencyState: 'ready',
      waitingFor: [],
    };
    // Blocked: no free GPU anywhere, nothing running below -100.
    expect(otherReadyMayRun([gpuJob], clusters, 0)).toBe(false);
    expect(otherReadyMayRun([gpuJob], clusters, null)).toBe(false);
    // Running work below its priority: it may evict.
    expect(otherReadyMayRun([gpuJob], clusters, -200)).toBe(true);
    // Fits free room of its pin.
    const small = { ...gpuJob, req: { ram: 500, cpu: 500, gpu: 0 } };
    expect(otherReadyMayRun([small], clusters, 0)).toBe(true);
    // Fits only a cluster it may not use: blocked.
    expect(
      otherReadyMayRun(
        [{ ...small, req: { ram: 2000, cpu: 500, gpu: 0 }, pinnedClusterId: 1 }],
        clusters,
        0,
      ),
    ).toBe(false);
    // Waiting on dependencies: not in the queue at all.
    expect(
      otherReadyMayRun([{ ...small, dependencyState: 'waiting', waitingFor: [1] }], clusters, 0),
    ).toBe(false);
  });

  it('should leave the decision to a full pass when the new deployment fits no free room', () => {
    const clusters: ClusterSnapshot[] = [
      { id: 1, total: { ram: 4000, cpu: 2000, gpu: 0 }, available: { ram: 1000, cpu: 0, gpu: 0 } },
    ];
    expect(fastPathCluster(clusters, { ram: 500, cpu: 500, gpu: 0 }, null, ZERO)).toBeNull();
    expect(fastPathCluster(clusters, { ram: 500, cpu: 0, gpu: 0 }, 2, ZERO)).toBeNull();
    expect(fastPathCluster(clusters, { ram: 500, cpu: 0, gpu: 0 }, 1, ZERO)).toBe(1);
  });

  it.each([
    ['a small organisation (the planner tries its portfolio)', { clusters: 4, deployments: 400 }],
    ['more than 64 clusters', { clusters: 65, deployments: 10 }],
    ['work waiting at an equal or higher effective priority', { equalOrHigherWaiting: true }],
    ['other ready work that may run (a lower class may move it)', { otherReadyMayRun: true }],
    ['starving work (capacity may be held)', { anyStarving: true }],
    ['dependencies', { hasDependencies: true }],
  ])('should not take the fast path with %s', (_, facts) => {
    const base = {
      clusters: 4,
      deployments: 401,
      equalOrHigherWaiting: false,
      otherReadyMayRun: false,
      anyStarving: false,
      hasDependencies: false,
    };
    expect(fastPathEligible(base)).toBe(true);
    expect(fastPathEligible({ ...base, ...facts })).toBe(false);
  });
});

const ZERO = { ram: 0, cpu: 0, gpu: 0 };
