import { Client } from 'pg';
import { startApp, type TestContext } from '../support/app';
import { addMember, createCluster, createOrg, createUser } from '../support/factories';

/**
 * Two application instances, both running the BullMQ worker with a fast periodic pass, share
 * one database and one Redis prefix while concurrent API traffic creates, completes and
 * cancels deployments of mixed priorities on two clusters.
 */
describe('Scheduler under concurrency', () => {
  let a: TestContext;
  let b: TestContext;

  beforeAll(async () => {
    const env = { SCHEDULER_INTERVAL_MS: '100', SCHEDULER_AGING_SECONDS: '0' };
    a = await startApp({ env, redisPrefix: `berth-conc-${Date.now()}` });
    b = await startApp({ env, databaseUrl: a.databaseUrl, redisPrefix: a.env.REDIS_PREFIX });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('should never overcommit and never place a deployment twice', async () => {
    const admin = await createUser(a, 'admin');
    const dev = await createUser(a, 'dev');
    const org = await createOrg(a, admin);
    await addMember(a, org, admin, dev);
    const c1 = await createCluster(a, admin, org.id, { total_ram: 16, total_cpu: 8, total_gpu: 2 });
    const c2 = await createCluster(a, admin, org.id, { total_ram: 8, total_cpu: 4, total_gpu: 0 });
    const apps = [a, b];
    const ids: number[] = [];

    const create = async (i: number) => {
      const ctx = apps[i % 2]!;
      const body: Record<string, unknown> = {
        name: `w${i}`,
        docker_image: 'busybox:1.36',
        priority: (i * 37) % 7,
        required_ram: 1 + (i % 4),
        required_cpu: 0.5 + (i % 3),
        required_gpu: i % 9 === 0 ? 1 : 0,
      };
      if (i % 3 === 0) body.cluster_id = i % 2 ? c1.id : c2.id;
      else body.organization_id = org.id;
      if (body.cluster_id === c2.id) body.required_gpu = 0;
      const res = await ctx
        .http()
        .post('/deployments/')
        .set((i % 2 ? admin : dev).auth)
        .send(body);
      expect(res.status).toBe(201);
      ids.push((res.body as { id: number }).id);
    };
    const finish = async (i: number) => {
      const id = ids[Math.floor((i * 7919) % Math.max(ids.length, 1))];
      if (id === undefined) return;
      const action = ['complete', 'cancel', 'fail'][i % 3]!;
      const res = await apps[(i + 1) % 2]!.http()
        .post(`/deployments/${id}/${action}`)
        .set(admin.auth);
      expect([200, 409]).toContain(res.status);
    };

    const ops: Promise<void>[] = [];
    for (let i = 0; i < 240; i++) ops.push(i % 4 === 3 ? finish(i) : create(i));
    await Promise.all(ops);
    await new Promise((r) => setTimeout(r, 800)); // let periodic passes run on both workers

    const db = new Client({ connectionString: a.databaseUrl });
    await db.connect();
    try {
      const drift = await db.query(`
        SELECT c.id,
               c.available_ram_milli, c.total_ram_milli - COALESCE(SUM(d.required_ram_milli), 0) AS exp_ram,
               c.available_cpu_milli, c.total_cpu_milli - COALESCE(SUM(d.required_cpu_milli), 0) AS exp_cpu,
               c.available_gpu_milli, c.total_gpu_milli - COALESCE(SUM(d.required_gpu_milli), 0) AS exp_gpu
          FROM clusters c LEFT JOIN deployments d ON d.cluster_id = c.id AND d.status = 'running'
         GROUP BY c.id
        HAVING c.available_ram_milli <> c.total_ram_milli - COALESCE(SUM(d.required_ram_milli), 0)
            OR c.available_cpu_milli <> c.total_cpu_milli - COALESCE(SUM(d.required_cpu_milli), 0)
            OR c.available_gpu_milli <> c.total_gpu_milli - COALESCE(SUM(d.required_gpu_milli), 0)
            OR c.available_ram_milli < 0 OR c.available_cpu_milli < 0 OR c.available_gpu_milli < 0`);
      expect(drift.rows).toEqual([]);

      // Every event continues from the state the previous one left: no double placement.
      const broken = await db.query(`
        SELECT deployment_id, id, from_status, prev_to
          FROM (SELECT deployment_id, id, from_status,
                       lag(to_status) OVER (PARTITION BY deployment_id ORDER BY id) AS prev_to
                  FROM deployment_events) e
         WHERE prev_to IS NOT NULL AND from_status IS DISTINCT FROM prev_to`);
      expect(broken.rows).toEqual([]);
      const running = await db.query(
        `SELECT count(*)::int AS n FROM deployments WHERE status = 'running'`,
      );
      expect((running.rows[0] as { n: number }).n).toBeGreaterThan(0);
    } finally {
      await db.end();
    }
  });
});
