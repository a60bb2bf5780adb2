import { startApp, type TestContext } from '../support/app';
import { runDeployment } from '../support/deployments';
import { createCluster, createDeployment, createTeam, type TestUser } from '../support/factories';
import { ledgerViolations, withClient } from '../support/ledger';

type Team = Awaited<ReturnType<typeof createTeam>>;

interface PlanBody {
  would_run: boolean;
  cluster_id: number | null;
  preempts: Array<{ id: number; name: string; priority: number }>;
  pending_reason: { code: string; message: string } | null;
  queue_position: number | null;
}

describe('POST /deployments/plan (e2e)', () => {
  let ctx: TestContext;
  let t: Team;

  beforeAll(async () => {
    ctx = await startApp();
    t = await createTeam(ctx);
  });
  afterEach(async () => {
    expect(await withClient(ctx.databaseUrl, ledgerViolations)).toEqual([]);
  });
  afterAll(() => ctx.close());

  const http = () => ctx.http();
  const body = (extra: Record<string, unknown>) => ({
    name: 'what-if',
    docker_image: 'nginx:1.27',
    required_ram: 1,
    ...extra,
  });
  const dryRun = async (user: TestUser, extra: Record<string, unknown>): Promise<PlanBody> =>
    (await http().post('/deployments/plan').set(user.auth).send(body(extra)).expect(200))
      .body as PlanBody;
  const submit = async (user: TestUser, extra: Record<string, unknown>) =>
    (await http().post('/deployments/').set(user.auth).send(body(extra)).expect(201)).body as {
      id: number;
      status: string;
      cluster_id: number | null;
      pending_reason: { code: string; message: string } | null;
    };
  const get = async (id: number) =>
    (await http().get(`/deployments/${id}`).set(t.admin.auth).expect(200)).body as {
      status: string;
      preemption_count: number;
    };
  /** Everything a dry run must leave alone: rows, events, passes and every cluster's capacity. */
  const fingerprint = () =>
    withClient(ctx.databaseUrl, async (c) => {
      const q = async (sql: string) => (await c.query(sql)).rows as unknown[];
      return {
        deployments: await q(
          'SELECT id, status, cluster_id, pending_code, pending_reason, updated_at FROM deployments ORDER BY id',
        ),
        events: await q('SELECT count(*)::int AS n, max(id) AS last FROM deployment_events'),
        passes: await q('SELECT count(*)::int AS n, max(id) AS last FROM scheduler_passes'),
        clusters: await q(
          'SELECT id, available_ram_milli, available_cpu_milli, available_gpu_milli FROM clusters ORDER BY id',
        ),
      };
    });

  it('should answer the cluster a submission then runs on, and change nothing', async () => {
    const small = await createCluster(ctx, t.admin, t.org.id, { total_cpu: 2, total_ram: 8 });
    const big = await createCluster(ctx, t.admin, t.org.id, { total_cpu: 8, total_ram: 8 });
    await runDeployment(ctx, t.developer, {
      cluster_id: small.id,
      required_cpu: 1,
      required_ram: 1,
    });
    const before = await fingerprint();
    const answer = await dryRun(t.developer, { organization_id: t.org.id, required_cpu: 2 });
    expect(await fingerprint()).toEqual(before);
    expect(answer).toEqual({
      would_run: true,
      cluster_id: big.id,
      preempts: [],
      pending_reason: null,
      queue_position: null,
    });
    const real = await submit(t.developer, { organization_id: t.org.id, required_cpu: 2 });
    expect(real).toMatchObject({ status: 'running', cluster_id: answer.cluster_id });
  });

  it('should name the running deployments it would evict, as a submission then does', async () => {
    const c = await createCluster(ctx, t.admin, t.org.id, { total_cpu: 4, total_ram: 8 });
    const low = await runDeployment(ctx, t.developer2, {
      name: 'batch-low',
      cluster_id: c.id,
      priority: -5,
      required_cpu: 3,
      required_ram: 1,
    });
    const before = await fingerprint();
    const answer = await dryRun(t.developer, { cluster_id: c.id, priority: 10, required_cpu: 2 });
    expect(await fingerprint()).toEqual(before);
    expect(answer).toEqual({
      would_run: true,
      cluster_id: c.id,
      preempts: [{ id: low.id, name: 'batch-low', priority: -5 }],
      pending_reason: null,
      queue_position: null,
    });
    const real = await submit(t.developer, { cluster_id: c.id, priority: 10, required_cpu: 2 });
    expect(real).toMatchObject({ status: 'running', cluster_id: c.id });
    expect(await get(low.id)).toMatchObject({ status: 'pending', preemption_count: 1 });
  });

  it('should give the reason and place in line of a deployment that would wait', async () => {
    const c = await createCluster(ctx, t.admin, t.org.id, { total_cpu: 4, total_ram: 8 });
    await runDeployment(ctx, t.developer, {
      cluster_id: c.id,
      priority: 50,
      required_cpu: 3,
      required_ram: 1,
    });
    const ahead = await submit(t.developer2, { cluster_id: c.id, priority: 5, required_cpu: 2 });
    expect(ahead.status).toBe('pending');
    const before = await fingerprint();
    const answer = await dryRun(t.developer, { cluster_id: c.id, priority: 1, required_cpu: 2 });
    expect(await fingerprint()).toEqual(before);
    expect(answer).toMatchObject({
      would_run: false,
      cluster_id: c.id,
      preempts: [],
      queue_position: 2,
    });
    const real = await submit(t.developer, { cluster_id: c.id, priority: 1, required_cpu: 2 });
    expect(real.status).toBe('pending');
    expect(real.pending_reason).toEqual(answer.pending_reason);
  });

  it('should report waiting for dependencies like a submission does', async () => {
    const c = await createCluster(ctx, t.admin, t.org.id, { total_cpu: 4, total_ram: 8 });
    const dep = await runDeployment(ctx, t.developer, {
      cluster_id: c.id,
      required_cpu: 1,
      required_ram: 1,
    });
    const answer = await dryRun(t.developer, {
      cluster_id: c.id,
      required_cpu: 1,
      depends_on: [dep.id],
    });
    // Pending work of the earlier tests (same organisation) is older, so it is ahead in line.
    expect(answer).toMatchObject({ would_run: false, preempts: [] });
    expect(answer.queue_position).toBeGreaterThanOrEqual(1);
    expect(answer.pending_reason?.code).toBe('waiting_for_dependencies');
    const real = await submit(t.developer, {
      cluster_id: c.id,
      required_cpu: 1,
      depends_on: [dep.id],
    });
    expect(real.pending_reason).toEqual(answer.pending_reason);
  });

  it('should answer with and without a trailing slash, for developers and admins', async () => {
    const c = await createCluster(ctx, t.admin, t.org.id, { total_cpu: 4, total_ram: 8 });
    for (const user of [t.developer, t.admin]) {
      for (const path of ['/deployments/plan', '/deployments/plan/']) {
        const res = await http()
          .post(path)
          .set(user.auth)
          .send(body({ cluster_id: c.id, required_cpu: 1 }))
          .expect(200);
        expect((res.body as PlanBody).would_run).toBe(true);
      }
    }
  });

  it('should return 403 to viewers and 404 for another organisation, like a create', async () => {
    const c = await createCluster(ctx, t.admin, t.org.id, { total_cpu: 4, total_ram: 8 });
    const cases: Array<[TestUser, Record<string, unknown>, number, string]> = [
      [t.viewer, { cluster_id: c.id }, 403, 'organization/insufficient_role'],
      [t.viewer, { organization_id: t.org.id }, 403, 'organization/insufficient_role'],
      [t.outsider, { cluster_id: c.id }, 404, 'cluster/not_found'],
      [t.outsider, { organization_id: t.org.id }, 404, 'organization/not_found'],
    ];
    for (const [user, extra, status, code] of cases) {
      const b = body({ required_cpu: 1, ...extra });
      const planned = await http().post('/deployments/plan').set(user.auth).send(b);
      const created = await http().post('/deployments/').set(user.auth).send(b);
      expect({ status: planned.status, code: planned.body.code }).toEqual({ status, code });
      expect({ status: created.status, code: created.body.code }).toEqual({ status, code });
    }
    await http()
      .post('/deployments/plan')
      .send(body({ cluster_id: c.id }))
      .expect(401);
  });

  it('should answer bad input with the same 422 as a create', async () => {
    const c = await createCluster(ctx, t.admin, t.org.id, { total_cpu: 4, total_ram: 8 });
    const foreign = await createCluster(ctx, t.outsider, t.otherOrg.id, {
      total_cpu: 4,
      total_ram: 8,
    });
    const theirs = await createDeployment(ctx, t.outsider, {
      cluster_id: foreign.id,
      required_cpu: 1,
      required_ram: 1,
    });
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ cluster_id: c.id, required_cpu: 5 }, 'deployment/exceeds_cluster_capacity'],
      [
        { organization_id: t.org.id, required_cpu: 1, required_ram: 9 },
        'deployment/exceeds_cluster_capacity',
      ],
      [{ required_cpu: 1 }, 'request/validation_failed'],
      [{ cluster_id: c.id, required_cpu: -1 }, 'request/validation_failed'],
      [
        { cluster_id: c.id, required_cpu: 1, docker_image: 'Not An Image!' },
        'request/validation_failed',
      ],
      [{ cluster_id: c.id, required_cpu: 1, priority: 1001 }, 'request/validation_failed'],
      [
        { cluster_id: c.id, required_cpu: 1, depends_on: [theirs.id] },
        'deployment/invalid_dependency',
      ],
    ];
    const before = await fingerprint();
    for (const [extra, code] of bad) {
      const planned = await http()
        .post('/deployments/plan')
        .set(t.developer.auth)
        .send(body(extra));
      expect({ extra, status: planned.status, code: planned.body.code }).toEqual({
        extra,
        status: 422,
        code,
      });
    }
    expect(await fingerprint()).toEqual(before);
    for (const [extra, code] of bad) {
      const created = await http().post('/deployments/').set(t.developer.auth).send(body(extra));
      expect({ extra, status: created.status, code: created.body.code }).toEqual({
        extra,
        status: 422,
        code,
      });
    }
  });
});
