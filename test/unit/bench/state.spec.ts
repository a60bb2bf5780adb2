import type { Snapshot } from '../../../src/scheduler/planner/types';
import { smallInstance } from '../../../bench/lib/generators';
import { deriveSeed } from '../../../bench/lib/prng';
import {
  type Assignment,
  applyPlanToAssignment,
  initialAssignment,
  blockedPending,
  violations,
} from '../../../bench/lib/state';
import { fifoFirstFit, priorityFirstFit } from '../../../bench/quality/baselines';

const cpu = (n: number): { cpu: number; ram: number; gpu: number } => ({
  cpu: n * 1000,
  ram: 0,
  gpu: 0,
});

/** Cluster 1 (cpu 10) runs v (prio 1, cpu 4, unpinned); pending d (prio 3, cpu 5, pinned to 1). */
const base: Snapshot = {
  clusters: [
    { id: 1, total: cpu(10), available: cpu(6) },
    { id: 2, total: cpu(4), available: cpu(4) },
  ],
  running: [{ id: 1, clusterId: 1, priority: 1, req: cpu(4), startedAt: 0, pinned: false }],
  pending: [
    {
      id: 2,
      priority: 3,
      req: cpu(5),
      createdAt: 0,
      pinnedClusterId: 1,
      dependencyState: 'ready',
      waitingFor: [],
    },
  ],
  now: 0,
};

const state = (entries: [number, number | null][]): Assignment => new Map(entries);

describe('bench rules (bench/lib/state.ts)', () => {
  it('accepts the initial state and a plain placement', () => {
    expect(violations(base, initialAssignment(base))).toEqual([]);
    expect(
      violations(
        base,
        state([
          [1, 1],
          [2, 1],
        ]),
      ),
    ).toEqual([]);
  });

  it('rejects capacity overflow, pins and unready dependencies', () => {
    const big = { ...base, pending: [{ ...base.pending[0]!, req: cpu(7) }] };
    expect(
      violations(
        big,
        state([
          [1, 1],
          [2, 1],
        ]),
      ).some((v) => v.startsWith('R1')),
    ).toBe(true);
    expect(
      violations(
        base,
        state([
          [1, 1],
          [2, 2],
        ]),
      ).some((v) => v.startsWith('R3')),
    ).toBe(true);
    const waiting = {
      ...base,
      pending: [{ ...base.pending[0]!, dependencyState: 'waiting' as const }],
    };
    expect(
      violations(
        waiting,
        state([
          [1, 1],
          [2, 1],
        ]),
      ).some((v) => v.startsWith('R4')),
    ).toBe(true);
  });

  it('rejects an eviction that the higher-priority placement did not need (R5)', () => {
    // d fits next to v, so moving v to cluster 2 is not allowed.
    expect(
      violations(
        base,
        state([
          [1, 2],
          [2, 1],
        ]),
      ),
    ).toEqual(['R5: eviction of 1 (prio 1) from cluster 1 not necessary']);
    // With d needing 7, v must go: evicting (and re-placing) it is fine.
    const big = { ...base, pending: [{ ...base.pending[0]!, req: cpu(7) }] };
    expect(
      violations(
        big,
        state([
          [1, 2],
          [2, 1],
        ]),
      ),
    ).toEqual([]);
    expect(
      violations(
        big,
        state([
          [1, null],
          [2, 1],
        ]),
      ),
    ).toEqual([]);
  });

  it('rejects eviction for equal priority', () => {
    const equal = { ...base, pending: [{ ...base.pending[0]!, priority: 1, req: cpu(7) }] };
    expect(
      violations(
        equal,
        state([
          [1, null],
          [2, 1],
        ]),
      ),
    ).toHaveLength(1);
  });

  it('tells inversions (lower-priority work keeps p out) from missed seats (p fits in free room)', () => {
    const big = { ...base, pending: [{ ...base.pending[0]!, req: cpu(7) }] };
    expect(blockedPending(big, initialAssignment(big))).toEqual({
      inversions: [2],
      missedSeats: [],
    });
    // v evicted for d and left pending although cluster 2 has room for it: a missed seat.
    expect(
      blockedPending(
        big,
        state([
          [1, null],
          [2, 1],
        ]),
      ),
    ).toEqual({
      inversions: [],
      missedSeats: [1],
    });
    expect(
      blockedPending(
        big,
        state([
          [1, 2],
          [2, 1],
        ]),
      ),
    ).toEqual({ inversions: [], missedSeats: [] });
  });

  it('reports malformed plans', () => {
    const { errors } = applyPlanToAssignment(base, {
      placements: [{ deploymentId: 2, clusterId: 1 }],
      preemptions: [{ victimId: 1, clusterId: 2, forDeploymentId: 2 }],
      pending: [],
      failures: [],
    });
    expect(errors).toEqual([
      'preemption of 1: not running on cluster 2',
      'preemption of 1 for 2, which is not placed on cluster 2',
    ]);
  });

  it('baselines never preempt and always produce legal states', () => {
    for (let i = 0; i < 60; i++) {
      const s = smallInstance(deriveSeed(99, i));
      for (const solver of [fifoFirstFit, priorityFirstFit]) {
        const p = solver(s);
        expect(p.preemptions).toEqual([]);
        const { assignment, errors } = applyPlanToAssignment(s, p);
        expect({ i, errors, violations: violations(s, assignment) }).toEqual({
          i,
          errors: [],
          violations: [],
        });
      }
    }
  });

  it('generates consistent snapshots (available = total − Σ running)', () => {
    for (let i = 0; i < 60; i++) {
      const s = smallInstance(deriveSeed(7, i));
      for (const c of s.clusters) {
        const used = s.running
          .filter((r) => r.clusterId === c.id)
          .reduce(
            (a, r) => ({ cpu: a.cpu + r.req.cpu, ram: a.ram + r.req.ram, gpu: a.gpu + r.req.gpu }),
            {
              cpu: 0,
              ram: 0,
              gpu: 0,
            },
          );
        expect(c.available).toEqual({
          cpu: c.total.cpu - used.cpu,
          ram: c.total.ram - used.ram,
          gpu: c.total.gpu - used.gpu,
        });
        expect(Math.min(c.available.cpu, c.available.ram, c.available.gpu)).toBeGreaterThanOrEqual(
          0,
        );
      }
      expect(s.running.length + s.pending.length).toBeGreaterThanOrEqual(10);
      expect(s.running.length + s.pending.length).toBeLessThanOrEqual(40);
    }
  });
});
