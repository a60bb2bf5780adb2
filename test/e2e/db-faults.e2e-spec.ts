import { startApp, type TestContext } from '../support/app';
import { createCluster, createTeam, createUser } from '../support/factories';
import { withClient } from '../support/ledger';

/**
 * Issue 11, defect 4: a database that goes away answers 503 with Retry-After, never 500, and a
 * token check that cannot reach the database never turns into 401.
 */
describe('Database faults (HTTP)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp();
  });
  afterAll(() => ctx.close());

  it('should never answer 500 while backends are terminated under concurrent creates, and every 201 is a row', async () => {
    const team = await createTeam(ctx);
    const cluster = await createCluster(ctx, team.admin, team.org.id, {
      total_ram: 1000,
      total_cpu: 1000,
    });
    const dbName = new URL(ctx.databaseUrl).pathname.slice(1);
    let stop = false;
    let terminated = 0;
    const terminator = withClient(ctx.databaseUrl, async (c) => {
      while (!stop) {
        const r = await c.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [dbName],
        );
        terminated += r.rowCount ?? 0;
        await new Promise((res) => setTimeout(res, 150));
      }
    });
    const statuses: number[] = [];
    const created: number[] = [];
    const until = Date.now() + 4_000;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; Date.now() < until; i++) {
          const res = await ctx
            .http()
            .post('/deployments/')
            .set(team.admin.auth)
            .send({
              name: `f-${w}-${i}`,
              docker_image: 'nginx:1.27',
              cluster_id: cluster.id,
              required_ram: 0.5,
              required_cpu: 0.5,
            });
          statuses.push(res.status);
          if (res.status === 201) created.push((res.body as { id: number }).id);
          if (res.status === 503) expect(res.headers['retry-after']).toMatch(/^\d+$/);
        }
      }),
    );
    stop = true;
    await terminator;
    expect(terminated).toBeGreaterThan(0);
    const counts = statuses.reduce<Record<number, number>>(
      (m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }),
      {},
    );
    expect(counts).not.toHaveProperty('500');
    expect(Object.keys(counts).every((s) => s === '201' || s === '503')).toBe(true);
    const rows = await withClient(ctx.databaseUrl, async (c) => {
      const r = await c.query<{ id: number }>(
        `SELECT id FROM deployments WHERE id = ANY($1::int[])`,
        [created],
      );
      return r.rows.length;
    });
    expect(rows).toBe(created.length);
  });

  // Last: the other app's passport strategy replaces this one's in the process (one 'jwt').
  it('should answer 503 with Retry-After, not 401, when the token check cannot reach the database', async () => {
    const user = await createUser(ctx);
    // Another replica with the same signing key whose database is unreachable (nothing listens).
    const down = await startApp({
      databaseUrl: 'postgresql://postgres@127.0.0.1:19198/berth_fault_none?connect_timeout=2',
    });
    try {
      const res = await down.http().get('/users/me').set(user.auth);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.body).toMatchObject({ status: 503, code: 'service/unavailable' });
      // A bad token is still a 401 there: nothing to look up.
      await down.http().get('/users/me').set({ Authorization: 'Bearer nope' }).expect(401);
    } finally {
      await down.app.close();
    }
  });
});
