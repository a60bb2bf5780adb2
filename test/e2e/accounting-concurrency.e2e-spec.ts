import { startApp, type TestContext } from '../support/app';
import { createCluster, createTeam, type TestUser } from '../support/factories';
import { ledgerViolations, withClient } from '../support/ledger';

// Hooks too: under a parallel run, booting the app and hashing passwords can pass 5 s.

type Action = 'start' | 'complete' | 'fail' | 'cancel';

/** A small deterministic PRNG so a failing run can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('accounting under concurrency (two API instances, one database)', () => {
  let first: TestContext;
  let second: TestContext;

  beforeAll(async () => {
    first = await startApp();
    second = await startApp({ databaseUrl: first.databaseUrl });
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  const app = (i: number) => (i % 2 === 0 ? first : second);

  it('should never overcommit nor free twice under hundreds of parallel requests', async () => {
    const t = await createTeam(first);
    const owner: TestUser = t.admin;
    const cluster = await createCluster(first, owner, t.org.id, {
      total_cpu: 8,
      total_ram: 16,
      total_gpu: 2,
    });
    const rnd = prng(20261127);
    const sizes = (n: number) =>
      Array.from({ length: n }, () => ({
        required_cpu: Math.round((0.1 + rnd() * 3) * 1000) / 1000,
        required_ram: Math.round((0.1 + rnd() * 5) * 1000) / 1000,
        required_gpu: rnd() < 0.3 ? 1 : 0,
      }));

    const created = await Promise.all(
      sizes(150).map((req, i) =>
        app(i)
          .http()
          .post('/deployments/')
          .set(owner.auth)
          .send({ name: `c-${i}`, docker_image: 'nginx:1.27', cluster_id: cluster.id, ...req })
          .expect(201)
          .then((r) => (r.body as { id: number }).id),
      ),
    );

    const statuses: number[] = [];
    const fire = (i: number, id: number, action: Action) =>
      app(i)
        .http()
        .post(`/deployments/${id}/${action}`)
        .set(owner.auth)
        .then((r) => {
          statuses.push(r.status);
          return r.status;
        });

    // Three waves: everything tries to start at once (from both instances, twice for some), then
    // a random mix of finishing and restarting, then everything is finished or cancelled.
    const actions: Action[] = ['start', 'complete', 'fail', 'cancel'];
    for (let wave = 0; wave < 3; wave++) {
      await Promise.all(
        created.flatMap((id, i) => {
          const picks: Action[] =
            wave === 0
              ? ['start', 'start']
              : wave === 1
                ? [
                    actions[Math.floor(rnd() * 4)] ?? 'start',
                    actions[Math.floor(rnd() * 4)] ?? 'start',
                  ]
                : ['complete', 'cancel'];
          return picks.map((a, k) => fire(i + k, id, a));
        }),
      );
      const violations = await withClient(first.databaseUrl, ledgerViolations);
      expect(violations).toEqual([]);
    }

    expect(statuses.length).toBeGreaterThanOrEqual(900);
    expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([]);

    await withClient(first.databaseUrl, async (db) => {
      // Every placement was matched by exactly one release (or the deployment still runs).
      const { rows } = await db.query<{ id: number }>(`
        SELECT d.id FROM deployments d
        LEFT JOIN LATERAL (
          SELECT count(*) FILTER (WHERE type = 'placed') AS placed,
                 count(*) FILTER (WHERE from_status = 'running') AS released
          FROM deployment_events e WHERE e.deployment_id = d.id
        ) e ON true
        WHERE e.placed <> e.released + (CASE WHEN d.status = 'running' THEN 1 ELSE 0 END)`);
      expect(rows).toEqual([]);
      const { rows: left } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deployments WHERE status IN ('pending', 'running')`,
      );
      expect(left[0]?.n).toBe(0);
      const { rows: c } = await db.query(
        'SELECT available_cpu_milli, available_ram_milli, available_gpu_milli FROM clusters WHERE id = $1',
        [cluster.id],
      );
      expect(c[0]).toEqual({
        available_cpu_milli: 8000,
        available_ram_milli: 16000,
        available_gpu_milli: 2000,
      });
    });
  }, 120_000);

  it('should let exactly one of two racing completions win', async () => {
    const t = await createTeam(first);
    const cluster = await createCluster(first, t.admin, t.org.id, { total_cpu: 4, total_ram: 4 });
    for (let round = 0; round < 20; round++) {
      const d = await first
        .http()
        .post('/deployments/')
        .set(t.admin.auth)
        .send({
          name: 'r',
          docker_image: 'nginx',
          cluster_id: cluster.id,
          required_cpu: 3,
          required_ram: 3,
        })
        .expect(201);
      const id = (d.body as { id: number; status: string }).id;
      if ((d.body as { status: string }).status === 'pending') {
        await second.http().post(`/deployments/${id}/start`).set(t.admin.auth).expect(200);
      }
      const results = await Promise.all([
        first.http().post(`/deployments/${id}/complete`).set(t.admin.auth),
        second.http().post(`/deployments/${id}/complete`).set(t.admin.auth),
        second.http().post(`/deployments/${id}/cancel`).set(t.admin.auth),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    }
    expect(await withClient(first.databaseUrl, ledgerViolations)).toEqual([]);
    const res = await first.http().get(`/clusters/${cluster.id}`).set(t.admin.auth).expect(200);
    expect(res.body).toMatchObject({ available_cpu: 4, available_ram: 4 });
  }, 60_000);
});
