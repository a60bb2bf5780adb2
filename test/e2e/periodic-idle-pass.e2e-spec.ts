import { startApp, type TestContext } from '../support/app';
import { createCluster, createDeployment, createTeam } from '../support/factories';
import { PASS_LOCK_CLASS } from '../../src/scheduler/scheduler.constants';
import { SchedulerService } from '../../src/scheduler/scheduler.service';
import { ledgerViolations, recordedPasses, withClient } from '../support/ledger';

type Team = Awaited<ReturnType<typeof createTeam>>;

const passes = recordedPasses;

/** Resolves with the promise's value, or rejects when it is still pending after `ms`. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms),
    ),
  ]);
}

/**
 * A periodic pass over waiting work that cannot move (GPU jobs behind a full cluster) plans on an
 * unlocked snapshot first and does not take the exclusive pass lock when there is nothing to
 * write, so creates of the organisation (which hold the lock shared) never wait behind it. When
 * there is something to do, it takes the lock and does it, as before.
 */
describe('Periodic pass with nothing to do (e2e)', () => {
  let ctx: TestContext;
  let t: Team;
  let scheduler: SchedulerService;
  let gpuCluster: number;

  beforeAll(async () => {
    ctx = await startApp({ env: { SCHEDULER_WORKER: 'false' } });
    scheduler = ctx.app.get(SchedulerService);
    t = await createTeam(ctx);
    const c = await createCluster(ctx, t.admin, t.org.id, {
      total_ram: 8,
      total_cpu: 4,
      total_gpu: 1,
    });
    gpuCluster = c.id;
    // The GPU is taken at the highest priority; two GPU jobs wait behind it and can never run.
    await createDeployment(ctx, t.admin, {
      cluster_id: gpuCluster,
      required_ram: 1,
      required_cpu: 1,
      required_gpu: 1,
      priority: 1000,
    });
    for (let i = 0; i < 2; i++) {
      const blocked = await createDeployment(ctx, t.admin, {
        cluster_id: gpuCluster,
        required_ram: 1,
        required_cpu: 1,
        required_gpu: 1,
      });
      expect(blocked.status).toBe('pending');
    }
  });
  afterAll(() => ctx.close());

  it('should finish and record itself while another session holds the pass lock shared', async () => {
    await withClient(ctx.databaseUrl, async (c) => {
      const before = await passes(c, t.org.id);
      await c.query('BEGIN');
      // What a create on the fast path holds while it decides and inserts.
      await c.query('SELECT pg_advisory_xact_lock_shared($1::int, $2::int)', [
        PASS_LOCK_CLASS,
        t.org.id,
      ]);
      try {
        // Before: the periodic pass took the lock exclusively and waited here until COMMIT.
        const pass = await within(5_000, scheduler.runPass(t.org.id, 'periodic'));
        expect(pass).toMatchObject({ placements: 0, preemptions: 0, failures: 0, pending: 2 });
      } finally {
        await c.query('COMMIT');
      }
      // Recorded like any pass with pending work (the watchdog reads "no pass" from there).
      expect(await passes(c, t.org.id)).toBe(before + 1);
    });
  });

  it('should still take the lock and place when room appeared without a pass of its own', async () => {
    const blocker = await withClient(ctx.databaseUrl, async (c) => {
      const rows = await c.query<{ id: number }>(
        `SELECT id FROM deployments WHERE organization_id = $1 AND status = 'running'`,
        [t.org.id],
      );
      return rows.rows[0]!.id;
    });
    // Completed behind the scheduler's back (a prompt pass that was lost): only the periodic
    // pass can place the waiting GPU job now.
    await withClient(ctx.databaseUrl, async (c) => {
      await c.query(
        `UPDATE deployments SET status = 'completed', completed_at = now() WHERE id = $1`,
        [blocker],
      );
      await c.query(
        `UPDATE clusters SET available_ram_milli = available_ram_milli + 1000,
                available_cpu_milli = available_cpu_milli + 1000,
                available_gpu_milli = available_gpu_milli + 1000 WHERE id = $1`,
        [gpuCluster],
      );
    });
    const pass = await scheduler.runPass(t.org.id, 'periodic');
    expect(pass).toMatchObject({ placements: 1, pending: 1 });
    await withClient(ctx.databaseUrl, async (c) => {
      expect(await ledgerViolations(c)).toEqual([]);
    });
  });

  it('should write a pending reason that went stale even when nothing can be placed', async () => {
    const stale = await withClient(ctx.databaseUrl, async (c) => {
      const rows = await c.query<{ id: number }>(
        `UPDATE deployments SET pending_code = 'queued', pending_reason = 'stale'
          WHERE organization_id = $1 AND status = 'pending' RETURNING id`,
        [t.org.id],
      );
      return rows.rows[0]!.id;
    });
    const pass = await scheduler.runPass(t.org.id, 'periodic');
    expect(pass).toMatchObject({ placements: 0, pending: 1 });
    const after = await ctx.http().get(`/deployments/${stale}`).set(t.admin.auth).expect(200);
    const body = after.body as { pending_reason: { code: string } | string | null };
    expect(JSON.stringify(body.pending_reason)).not.toContain('stale');
  });
});
