import type { Client } from 'pg';
import { startApp, type TestContext } from '../support/app';
import { createCluster, createDeployment, createTeam } from '../support/factories';
import { withClient } from '../support/ledger';

type Team = Awaited<ReturnType<typeof createTeam>>;

/** What the counters must equal: a full recount of the deployments table, per organisation/cluster. */
async function countsDrift(c: Client): Promise<unknown[]> {
  const { rows } = await c.query<Record<string, unknown>>(`
    WITH truth AS (
      SELECT organization_id, COALESCE(cluster_id, 0) AS cluster_key,
             count(*) FILTER (WHERE status = 'pending')::int AS pending,
             count(*) FILTER (WHERE status = 'running')::int AS running,
             count(*) FILTER (WHERE status = 'completed')::int AS completed,
             count(*) FILTER (WHERE status = 'failed')::int AS failed,
             count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
             COALESCE(sum(preemption_count), 0)::int AS preemptions
        FROM deployments GROUP BY 1, 2)
    SELECT COALESCE(t.organization_id, n.organization_id) AS org,
           COALESCE(t.cluster_key, n.cluster_key) AS key, row_to_json(t) AS truth, row_to_json(n) AS counters
      FROM truth t
      FULL JOIN (SELECT organization_id, cluster_key, sum(pending)::int AS pending,
                        sum(running)::int AS running, sum(completed)::int AS completed,
                        sum(failed)::int AS failed, sum(cancelled)::int AS cancelled,
                        sum(preemptions)::int AS preemptions
                   FROM deployment_counts GROUP BY 1, 2) n USING (organization_id, cluster_key)
     WHERE (t.pending, t.running, t.completed, t.failed, t.cancelled, t.preemptions)
           IS DISTINCT FROM (COALESCE(n.pending, 0), COALESCE(n.running, 0),
                             COALESCE(n.completed, 0), COALESCE(n.failed, 0),
                             COALESCE(n.cancelled, 0), COALESCE(n.preemptions, 0))
       AND NOT (t.organization_id IS NULL AND (n.pending, n.running, n.completed, n.failed,
                n.cancelled, n.preemptions) = (0, 0, 0, 0, 0, 0))`);
  return rows;
}

describe('Queue metrics counters (e2e)', () => {
  let ctx: TestContext;
  let t: Team;

  beforeAll(async () => {
    ctx = await startApp();
    t = await createTeam(ctx);
  });
  afterAll(() => ctx.close());

  const http = () => ctx.http();

  it('should keep deployment_counts equal to a recount through creates, preemption, completion, failure, cancellation and deletion', async () => {
    const small = await createCluster(ctx, t.admin, t.org.id, { total_ram: 4, total_cpu: 2 });
    const big = await createCluster(ctx, t.admin, t.org.id, { total_ram: 64, total_cpu: 32 });
    const low = await createDeployment(ctx, t.developer, {
      cluster_id: small.id,
      required_ram: 4,
      required_cpu: 2,
      priority: 0,
    });
    expect(low.status).toBe('running');
    // Preempts `low` (priority first), which goes back to pending with preemption_count 1.
    const high = await createDeployment(ctx, t.developer2, {
      cluster_id: small.id,
      required_ram: 4,
      required_cpu: 2,
      priority: 500,
    });
    expect(high.status).toBe('running');
    const unpinned = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        createDeployment(ctx, t.developer, {
          organization_id: t.org.id,
          required_ram: 1,
          required_cpu: 1,
          priority: i,
        }),
      ),
    );
    await http().post(`/deployments/${unpinned[0]!.id}/complete`).set(t.admin.auth).expect(200);
    await http()
      .post(`/deployments/${unpinned[1]!.id}/fail`)
      .set(t.admin.auth)
      .send({ reason: 'crashed' })
      .expect(200);
    await http().post(`/deployments/${unpinned[2]!.id}/cancel`).set(t.admin.auth).expect(200);
    await http().post(`/deployments/${high.id}/complete`).set(t.admin.auth).expect(200);

    await withClient(ctx.databaseUrl, async (c) => {
      expect(await countsDrift(c)).toEqual([]);
      // Deleting rows (an organisation removed with its deployments) takes them off too.
      await c.query('DELETE FROM deployments WHERE id = $1', [unpinned[0]!.id]);
      expect(await countsDrift(c)).toEqual([]);
    });

    const res = await http()
      .get('/deployments/queue/metrics')
      .query({ organization_id: t.org.id })
      .set(t.viewer.auth)
      .expect(200);
    expect(res.body.counts_by_status).toEqual({
      pending: 0,
      running: 4,
      completed: 1,
      failed: 1,
      cancelled: 1,
    });
    expect(res.body.preemptions_total).toBe(1);
    const perCluster = new Map(
      (res.body.clusters as { cluster_id: number; running: number }[]).map((c) => [
        c.cluster_id,
        c.running,
      ]),
    );
    expect(perCluster.get(small.id)).toBe(1); // `low` came back after `high` completed
    expect(perCluster.get(big.id)).toBe(3);

    const scoped = await http()
      .get('/deployments/queue/metrics')
      .query({ cluster_id: small.id })
      .set(t.viewer.auth)
      .expect(200);
    expect(scoped.body.counts_by_status).toMatchObject({ running: 1, completed: 1 });
    const resources = await http()
      .get(`/clusters/${small.id}/resources`)
      .set(t.viewer.auth)
      .expect(200);
    expect(resources.body).toMatchObject({ running_deployments: 1, pending_deployments: 0 });
  });

  it('should keep the wait-time sample bounded to the last 256 first starts of each writer stripe', async () => {
    const c = await createCluster(ctx, t.admin, t.org.id, { total_ram: 1, total_cpu: 1 });
    await withClient(ctx.databaseUrl, async (db) => {
      const users = await db.query<{ id: number }>('SELECT id FROM users ORDER BY id LIMIT 1');
      // 1,500 finished deployments inserted in one statement (one connection: one stripe),
      // started 10 s after creation, in the last 20 minutes; then 30 more started 2 s after.
      const insert = (n: number, wait: number) =>
        db.query(
          `INSERT INTO deployments (name, docker_image, user_id, organization_id, cluster_id,
                                    status, required_ram_milli, required_cpu_milli, created_at,
                                    started_at, first_started_at, completed_at, updated_at)
           SELECT 'w-' || i, 'nginx:1', $1, $2, $3, 'completed', 1, 1,
                  now() - interval '20 minutes' + i * interval '10 ms',
                  now() - interval '20 minutes' + i * interval '10 ms' + $5 * interval '1 second',
                  now() - interval '20 minutes' + i * interval '10 ms' + $5 * interval '1 second',
                  now(), now()
             FROM generate_series(1, $4::int) i`,
          [users.rows[0]!.id, t.org.id, c.id, n, wait],
        );
      await insert(1500, 10);
      await insert(30, 2);
      const ring = await db.query<{ n: number; slots: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT slot)::int AS slots
           FROM deployment_wait_samples
          WHERE organization_id = $1 AND stripe = pg_backend_pid() % 16`,
        [t.org.id],
      );
      expect(ring.rows[0]).toEqual({ n: 256, slots: 256 });
      const all = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM deployment_wait_samples WHERE organization_id = $1',
        [t.org.id],
      );
      expect(all.rows[0]!.n).toBeLessThanOrEqual(4096);
      expect(await countsDrift(db)).toEqual([]);
    });
    const res = await http()
      .get('/deployments/queue/metrics')
      .query({ cluster_id: c.id })
      .set(t.viewer.auth)
      .expect(200);
    // This stripe's ring holds the 226 latest of the first statement (10 s) and all 30 of the
    // second (2 s): 30 / 256 ≈ 12% at 2 s, so p50 and p99 are 10 s and p10 would be 2 s.
    expect(res.body.wait_time_seconds.samples).toBe(256);
    expect(res.body.wait_time_seconds.p50).toBeCloseTo(10, 3);
    expect(res.body.wait_time_seconds.p99).toBeCloseTo(10, 3);
    expect(res.body.counts_by_status.completed).toBe(1530);
  });
});
