import { startApp, type TestContext } from '../support/app';
import { createCluster, createDeployment, createTeam } from '../support/factories';
import { PASS_LOCK_CLASS } from '../../src/scheduler/scheduler.constants';
import { ledgerViolations, recordedPasses, withClient } from '../support/ledger';

type Team = Awaited<ReturnType<typeof createTeam>>;

const passes = recordedPasses;

/**
 * The create fast path (src/scheduler/fast-path): in an organisation past the planner's
 * small-instance size (here 17 clusters), a create that fits free room with nothing waiting ahead
 * of it is placed without a scheduler pass; otherwise the pass runs as before.
 */
describe('Create fast path (e2e)', () => {
  let ctx: TestContext;
  let t: Team;
  let clusterIds: number[];

  beforeAll(async () => {
    ctx = await startApp({ env: { SCHEDULER_WORKER: 'false' } });
    t = await createTeam(ctx);
    clusterIds = [];
    for (let i = 0; i < 17; i++) {
      const c = await createCluster(ctx, t.admin, t.org.id, {
        total_ram: 8,
        total_cpu: 4,
        total_gpu: i === 16 ? 2 : 0,
      });
      clusterIds.push(c.id);
    }
  });
  afterAll(() => ctx.close());

  it('should answer running without a pass, with its placed event and the books balanced', async () => {
    const unpinned = await createDeployment(ctx, t.developer, {
      organization_id: t.org.id,
      required_ram: 1,
      required_cpu: 1,
    });
    const pinned = await createDeployment(ctx, t.developer, {
      cluster_id: clusterIds[5]!,
      required_ram: 1,
      required_cpu: 1,
      priority: 10,
    });
    expect(unpinned.status).toBe('running');
    expect(pinned).toMatchObject({ status: 'running', cluster_id: clusterIds[5] });
    // Equal scores everywhere: the planner's index order picks the first cluster without GPUs.
    expect(unpinned.cluster_id).toBe(clusterIds[0]);
    const events = await ctx
      .http()
      .get(`/deployments/${unpinned.id}/events`)
      .set(t.developer.auth)
      .expect(200);
    expect((events.body as { type: string }[]).map((e) => e.type)).toEqual(['queued', 'placed']);
    await withClient(ctx.databaseUrl, async (c) => {
      expect(await passes(c, t.org.id)).toBe(0);
      expect(await ledgerViolations(c)).toEqual([]);
    });
  });

  it('should run the full pass when work at an equal or higher priority is waiting', async () => {
    // Fills the GPU cluster's GPUs at priority 1000, then queues GPU work behind it (priority 500).
    await createDeployment(ctx, t.admin, {
      cluster_id: clusterIds[16]!,
      required_ram: 1,
      required_cpu: 1,
      required_gpu: 2,
      priority: 1000,
    });
    const blocked = await createDeployment(ctx, t.admin, {
      cluster_id: clusterIds[16]!,
      required_ram: 1,
      required_cpu: 1,
      required_gpu: 1,
      priority: 500,
    });
    expect(blocked.status).toBe('pending');
    const before = await withClient(ctx.databaseUrl, (c) => passes(c, t.org.id));
    const next = await createDeployment(ctx, t.developer, {
      organization_id: t.org.id,
      required_ram: 1,
      required_cpu: 1,
    });
    expect(next.status).toBe('running');
    await withClient(ctx.databaseUrl, async (c) => {
      expect(await passes(c, t.org.id)).toBeGreaterThan(before);
      expect(await ledgerViolations(c)).toEqual([]);
    });
  });

  it('should never overcommit when concurrent creates race for the last room', async () => {
    const room = await createCluster(ctx, t.admin, t.org.id, { total_ram: 4, total_cpu: 4 });
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        createDeployment(ctx, t.developer, {
          cluster_id: room.id,
          required_ram: 1,
          required_cpu: 1,
          priority: 900,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'running')).toHaveLength(4);
    await withClient(ctx.databaseUrl, async (c) => {
      expect(await ledgerViolations(c)).toEqual([]);
    });
  });
});

/**
 * The widened fast path: ready work that waits (here low-priority GPU work pinned to a cluster
 * whose GPUs are held by higher-priority work) no longer sends every create through a pass, as
 * long as none of it could run (it fits no free room it may use, and nothing running is below
 * its priority). Creates racing each other in one organisation are then placed in their own
 * transactions under the shared pass lock; the books must balance and every create must run.
 */
describe('Create fast path with blocked ready work waiting (e2e)', () => {
  let ctx: TestContext;
  let t: Team;
  let clusterIds: number[];
  let gpuCluster: number;

  beforeAll(async () => {
    ctx = await startApp({ env: { SCHEDULER_WORKER: 'false' } });
    t = await createTeam(ctx);
    clusterIds = [];
    for (let i = 0; i < 17; i++) {
      const c = await createCluster(ctx, t.admin, t.org.id, {
        total_ram: 64,
        total_cpu: 32,
        total_gpu: i === 16 ? 2 : 0,
      });
      clusterIds.push(c.id);
    }
    gpuCluster = clusterIds[16]!;
    // The GPUs taken at priority 0 (the lowest running priority), then GPU work queued behind
    // them at priority -100: ready, but it fits no free room and may evict nobody.
    await createDeployment(ctx, t.admin, {
      cluster_id: gpuCluster,
      required_ram: 1,
      required_cpu: 1,
      required_gpu: 2,
      priority: 0,
    });
    for (let i = 0; i < 3; i++) {
      const blocked = await createDeployment(ctx, t.admin, {
        cluster_id: gpuCluster,
        required_ram: 1,
        required_cpu: 1,
        required_gpu: 1,
        priority: -100,
      });
      expect(blocked.status).toBe('pending');
    }
  });
  afterAll(() => ctx.close());

  it('should place concurrent creates without a pass, every one running, the books balanced', async () => {
    const before = await withClient(ctx.databaseUrl, (c) => passes(c, t.org.id));
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        createDeployment(ctx, i % 2 ? t.developer : t.admin, {
          ...(i % 4 === 0 ? { cluster_id: clusterIds[i % 16]! } : { organization_id: t.org.id }),
          required_ram: 0.5,
          required_cpu: 0.25,
          priority: [0, 10, 100][i % 3],
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 'running'));
    await withClient(ctx.databaseUrl, async (c) => {
      expect(await passes(c, t.org.id)).toBe(before);
      expect(await ledgerViolations(c)).toEqual([]);
      const stored = await c.query<{ id: number; status: string; cluster_id: number }>(
        'SELECT id, status::text AS status, cluster_id FROM deployments WHERE id = ANY($1::int[])',
        [results.map((r) => r.id)],
      );
      // The response says what was committed.
      for (const r of results) {
        const row = stored.rows.find((x) => x.id === r.id)!;
        expect({ status: row.status, cluster_id: row.cluster_id }).toEqual({
          status: r.status,
          cluster_id: r.cluster_id,
        });
      }
      const events = await c.query<{ deployment_id: number; types: string[] }>(
        `SELECT deployment_id, array_agg(type ORDER BY id) AS types FROM deployment_events
          WHERE deployment_id = ANY($1::int[]) GROUP BY deployment_id`,
        [results.map((r) => r.id)],
      );
      expect(events.rows.map((e) => e.types)).toEqual(results.map(() => ['queued', 'placed']));
    });
    // The blocked GPU work still waits where it was.
    const pending = await withClient(ctx.databaseUrl, (c) =>
      c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deployments WHERE organization_id = $1 AND status = 'pending'`,
        [t.org.id],
      ),
    );
    expect(pending.rows[0]!.n).toBe(3);
  });

  it('should not wait for a running pass inside its transaction but go to the pass', async () => {
    const before = await withClient(ctx.databaseUrl, (c) => passes(c, t.org.id));
    // Holds the organisation's pass lock as a pass does, until released below.
    await withClient(ctx.databaseUrl, async (c) => {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [PASS_LOCK_CLASS, t.org.id]);
      let settled = false;
      const created = createDeployment(ctx, t.developer, {
        organization_id: t.org.id,
        required_ram: 0.5,
        required_cpu: 0.25,
        priority: 100,
      }).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 400));
      // Committed pending (no fast path without the hold); its pass waits for the lock.
      const row = await withClient(ctx.databaseUrl, (d) =>
        d.query<{ status: string }>(
          `SELECT status::text AS status FROM deployments
            WHERE organization_id = $1 ORDER BY id DESC LIMIT 1`,
          [t.org.id],
        ),
      );
      expect(row.rows[0]?.status).toBe('pending');
      expect(settled).toBe(false);
      await c.query('COMMIT');
      expect((await created).status).toBe('running');
    });
    await withClient(ctx.databaseUrl, async (c) => {
      expect(await passes(c, t.org.id)).toBeGreaterThan(before);
      expect(await ledgerViolations(c)).toEqual([]);
    });
  });

  it('should run the full pass when waiting work could evict something running below it', async () => {
    // Something running below the blocked work's priority: it may now evict, so a pass decides.
    await createDeployment(ctx, t.admin, {
      cluster_id: clusterIds[3]!,
      required_ram: 1,
      required_cpu: 1,
      priority: -1000,
    });
    const before = await withClient(ctx.databaseUrl, (c) => passes(c, t.org.id));
    const next = await createDeployment(ctx, t.developer, {
      organization_id: t.org.id,
      required_ram: 1,
      required_cpu: 1,
    });
    expect(next.status).toBe('running');
    await withClient(ctx.databaseUrl, async (c) => {
      expect(await passes(c, t.org.id)).toBeGreaterThan(before);
      expect(await ledgerViolations(c)).toEqual([]);
    });
  });
  it('should never overcommit when concurrent fast-path creates race for the last room', async () => {
    // Room for exactly 4; every create fits it alone, so all of them may choose it at once under
    // the shared hold. The debit is conditional: the losers roll back and are created pending.
    const room = await createCluster(ctx, t.admin, t.org.id, { total_ram: 4, total_cpu: 4 });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        createDeployment(ctx, i % 2 ? t.developer : t.admin, {
          cluster_id: room.id,
          required_ram: 1,
          required_cpu: 1,
          priority: 0,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'running')).toHaveLength(4);
    expect(results.filter((r) => r.status === 'pending')).toHaveLength(8);
    await withClient(ctx.databaseUrl, async (c) => {
      expect(await ledgerViolations(c)).toEqual([]);
      const rows = await c.query<{ status: string; n: number }>(
        `SELECT status::text AS status, count(*)::int AS n FROM deployments
          WHERE cluster_id = $1 GROUP BY 1 ORDER BY 1`,
        [room.id],
      );
      expect(rows.rows).toEqual([
        { status: 'pending', n: 8 },
        { status: 'running', n: 4 },
      ]);
      // Each was written once: one `queued` event per create, `placed` only for the 4 running.
      const ev = await c.query<{ type: string; n: number }>(
        `SELECT type, count(*)::int AS n FROM deployment_events
          WHERE deployment_id = ANY($1::int[]) GROUP BY 1 ORDER BY 1`,
        [results.map((r) => r.id)],
      );
      expect(ev.rows).toEqual([
        { type: 'placed', n: 4 },
        { type: 'queued', n: 12 },
      ]);
    });
  });
});
