import { Client } from 'pg';
import { startApp, type TestContext } from '../support/app';
import { createCluster, createDeployment, createTeam, type TestUser } from '../support/factories';

type Dep = {
  id: number;
  status: string;
  preemption_count: number;
  cluster_id: number | null;
} & Record<string, unknown>;

describe('Scheduler (HTTP)', () => {
  let ctx: TestContext;
  let team: Awaited<ReturnType<typeof createTeam>>;
  let admin: TestUser;

  beforeAll(async () => {
    ctx = await startApp({ env: { SCHEDULER_INTERVAL_MS: '300' } });
    team = await createTeam(ctx);
    admin = team.admin;
  });
  afterAll(() => ctx.close());

  const get = async (id: number): Promise<Dep> =>
    (await ctx.http().get(`/deployments/${id}`).set(admin.auth).expect(200)).body as Dep;
  const act = (id: number, action: string) =>
    ctx.http().post(`/deployments/${id}/${action}`).set(admin.auth);

  it('should evict only the lower-priority victim and resume it when the preemptor completes (a)', async () => {
    const c = await createCluster(ctx, admin, team.org.id, {
      total_ram: 10,
      total_cpu: 5,
      total_gpu: 2,
    });
    const a = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 6,
      required_cpu: 3,
      required_gpu: 1,
      priority: 1,
    });
    const b = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 2,
      required_cpu: 1,
      priority: 2,
    });
    expect((await get(a.id)).status).toBe('running');
    expect((await get(b.id)).status).toBe('running');

    const cDep = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 3,
      required_cpu: 2,
      required_gpu: 1,
      priority: 5,
    });
    expect(cDep.status).toBe('running');
    const aAfter = await get(a.id);
    expect(aAfter).toMatchObject({ status: 'pending', preemption_count: 1 });
    expect(aAfter.created_at).toBe(a.created_at);
    expect((await get(b.id)).status).toBe('running');
    const events = (await ctx.http().get(`/deployments/${a.id}/events`).set(admin.auth).expect(200))
      .body as { type: string }[];
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['placed', 'preempted']));

    await act(cDep.id, 'complete').expect(200);
    // No further call: the completion's own pass puts A back.
    expect((await get(a.id)).status).toBe('running');
  });

  it('should not evict anyone when only higher-priority work could make room (b)', async () => {
    const c = await createCluster(ctx, admin, team.org.id, { total_ram: 100, total_cpu: 8 });
    const a = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 4,
      priority: 1,
    });
    const h = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 4,
      priority: 9,
    });
    const n = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 6,
      priority: 5,
    });
    expect(n.status).toBe('pending');
    expect((await get(a.id)).status).toBe('running');
    expect((await get(h.id)).status).toBe('running');
    const res = await act(n.id, 'start').expect(409);
    expect(res.body).toHaveProperty('code');
  });

  it('should evict A and C but keep B (c)', async () => {
    const c = await createCluster(ctx, admin, team.org.id, {
      total_ram: 20,
      total_cpu: 7,
      total_gpu: 4,
    });
    const A = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 4,
      required_cpu: 2,
      priority: 1,
    });
    const B = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 4,
      required_cpu: 2,
      priority: 4,
    });
    const C = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 4,
      required_cpu: 2,
      priority: 2,
    });
    const N = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 8,
      required_cpu: 4,
      priority: 3,
    });
    expect(N.status).toBe('running');
    expect((await get(A.id)).status).toBe('pending');
    expect((await get(C.id)).status).toBe('pending');
    expect((await get(B.id)).status).toBe('running');
  });

  it('should evict the two lowest-priority victims and keep the higher one (d)', async () => {
    const c = await createCluster(ctx, admin, team.org.id, {
      total_ram: 10,
      total_cpu: 10,
      total_gpu: 10,
    });
    const A = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 2,
      required_cpu: 2,
      required_gpu: 2,
      priority: 1,
    });
    const B = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 3,
      required_cpu: 3,
      required_gpu: 3,
      priority: 1,
    });
    const C = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 5,
      required_cpu: 5,
      required_gpu: 5,
      priority: 2,
    });
    const N = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 5,
      required_cpu: 5,
      required_gpu: 5,
      priority: 3,
    });
    expect(N.status).toBe('running');
    expect((await get(A.id)).status).toBe('pending');
    expect((await get(B.id)).status).toBe('pending');
    expect((await get(C.id)).status).toBe('running');
  });

  it('should place as many as fit within one priority when room frees up (f)', async () => {
    const c = await createCluster(ctx, admin, team.org.id, { total_ram: 10, total_cpu: 4 });
    const X = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 4,
    });
    const B = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 3,
    });
    const C = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 2,
    });
    const D = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 2,
    });
    expect([B.status, C.status, D.status]).toEqual(['pending', 'pending', 'pending']);
    await act(X.id, 'complete').expect(200);
    expect((await get(C.id)).status).toBe('running');
    expect((await get(D.id)).status).toBe('running');
    const b = await get(B.id);
    expect(b.status).toBe('pending');
    expect(b.pending_reason).toMatchObject({
      code: expect.any(String),
      message: expect.stringMatching(/cpu/),
    });
  });

  it('should never preempt for equal priority (e)', async () => {
    const c = await createCluster(ctx, admin, team.org.id, { total_ram: 10, total_cpu: 2 });
    const a = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 2,
      priority: 3,
    });
    const n = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 2,
      priority: 3,
    });
    expect(n.status).toBe('pending');
    expect((await get(a.id)).status).toBe('running');
  });

  it('should backfill smaller work behind one that does not fit (g)', async () => {
    const c = await createCluster(ctx, admin, team.org.id, { total_ram: 10, total_cpu: 5 });
    await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 4,
      priority: 10,
    });
    const b = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 3,
      priority: 7,
    });
    expect(b.status).toBe('pending');
    const small = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 1,
      priority: 2,
    });
    expect(small.status).toBe('running');
  });

  it('should place unpinned work on a cluster of the organisation (h)', async () => {
    const dep = await createDeployment(ctx, admin, {
      organization_id: team.org.id,
      required_ram: 1,
      required_cpu: 0.5,
    });
    expect(dep.status).toBe('running');
    expect(dep.cluster_id).not.toBeNull();
  });

  it('should run a dependant after its dependency completes and fail it when the dependency fails (i)', async () => {
    const c = await createCluster(ctx, admin, team.org.id, { total_ram: 50, total_cpu: 50 });
    const a = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 1,
    });
    const b = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 1,
      depends_on: [a.id],
    });
    expect(b.status).toBe('pending');
    await act(a.id, 'complete').expect(200);
    expect((await get(b.id)).status).toBe('running');

    const x = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 1,
    });
    const y = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 1,
      depends_on: [x.id],
    });
    const z = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 1,
      depends_on: [y.id],
    });
    await act(x.id, 'fail').expect(200);
    expect((await get(y.id)).status).toBe('failed');
    expect((await get(z.id)).status).toBe('failed');
  });

  it('should place work the immediate passes missed through the periodic BullMQ pass', async () => {
    const c = await createCluster(ctx, admin, team.org.id, { total_ram: 10, total_cpu: 10 });
    const db = new Client({ connectionString: ctx.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO deployments (name, docker_image, user_id, organization_id, cluster_id, pinned,
                                  required_ram_milli, required_cpu_milli, updated_at)
         VALUES ('sneaky', 'nginx', $1, $2, $3, true, 1000, 1000, now()) RETURNING id`,
        [admin.id, team.org.id, c.id],
      );
      const id = rows[0]!.id;
      const deadline = Date.now() + 15_000;
      let status = 'pending';
      while (status !== 'running' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        status = (
          await db.query<{ status: string }>('SELECT status FROM deployments WHERE id = $1', [id])
        ).rows[0]!.status;
      }
      expect(status).toBe('running');
    } finally {
      await db.end();
    }
  });
});

describe('Scheduler starvation bound (HTTP)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp({
      env: {
        SCHEDULER_AGING_SECONDS: '0',
        SCHEDULER_STARVATION_SECONDS: '2',
        SCHEDULER_INTERVAL_MS: '200',
      },
    });
  });
  afterAll(() => ctx.close());

  it('should run a cpu-3 deployment within the bound under a steady stream of cpu-2 work (j)', async () => {
    const team = await createTeam(ctx);
    const admin = team.admin;
    const c = await createCluster(ctx, admin, team.org.id, { total_ram: 100, total_cpu: 4 });
    const small = () =>
      createDeployment(ctx, admin, { cluster_id: c.id, required_ram: 1, required_cpu: 2 });
    const running: number[] = [(await small()).id, (await small()).id];
    const big = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 3,
    });
    expect(big.status).toBe('pending');
    const status = async (id: number) =>
      (
        (await ctx.http().get(`/deployments/${id}`).set(admin.auth).expect(200)).body as {
          status: string;
        }
      ).status;

    // Every 250 ms one small deployment finishes and a new one arrives (same priority).
    const deadline = Date.now() + 15_000;
    let bigStatus = 'pending';
    while (bigStatus !== 'running' && Date.now() < deadline) {
      const done = running.shift();
      if (done !== undefined && (await status(done)) === 'running') {
        await ctx.http().post(`/deployments/${done}/complete`).set(admin.auth).expect(200);
      }
      const next = await small();
      running.push(next.id);
      await new Promise((r) => setTimeout(r, 250));
      bigStatus = await status(big.id);
    }
    expect(bigStatus).toBe('running');
    const waited = (Date.now() - Date.parse(big.created_at as string)) / 1000;
    expect(waited).toBeLessThan(12);
  });
});
