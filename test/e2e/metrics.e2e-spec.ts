import { MetricsController } from '../../src/metrics/metrics.controller';
import { startApp, type TestContext } from '../support/app';
import { createCluster, createDeployment, createTeam, type TestUser } from '../support/factories';

/** The value of one sample in the text exposition format (0 when the series is absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

async function eventually(check: () => Promise<void>, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe(MetricsController.name, () => {
  let ctx: TestContext;
  let admin: TestUser;
  let orgId: number;

  const auth = { Authorization: 'Bearer metrics-scrape-token-for-this-test-0123456789' };

  beforeAll(async () => {
    ctx = await startApp({ env: { METRICS_TOKEN: auth.Authorization.slice(7) } });
    const team = await createTeam(ctx);
    admin = team.admin;
    orgId = team.org.id;
  });
  afterAll(() => ctx.close());

  const scrape = async (): Promise<string> => {
    const res = await ctx.http().get('/metrics').set(auth).expect(200);
    return res.text;
  };

  it('should serve the Prometheus text format to the METRICS_TOKEN bearer', async () => {
    const res = await ctx.http().get('/metrics').set(auth).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE berth_http_request_duration_seconds histogram');
    expect(res.text).toContain('# TYPE berth_scheduler_placements_total counter');
    expect(sample(res.text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(res.text, 'nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
  });

  it('should count placements, preemptions and first-start waits, and report the state gauges', async () => {
    const c = await createCluster(ctx, admin, orgId, { total_ram: 8, total_cpu: 4 });
    const before = await scrape();
    const placed = (t: string) => sample(t, 'berth_scheduler_placements_total');
    const preempted = (t: string) => sample(t, 'berth_scheduler_preemptions_total');
    const waits = (t: string) => sample(t, 'berth_deployment_wait_seconds_count');
    const status = (t: string, s: string) => sample(t, 'berth_deployments', { status: s });

    const low = { cluster_id: c.id, required_ram: 2, required_cpu: 2, priority: 0 };
    const d1 = await createDeployment(ctx, admin, low);
    const d2 = await createDeployment(ctx, admin, low);
    expect([d1.status, d2.status]).toEqual(['running', 'running']);
    let now = await scrape();
    expect(placed(now) - placed(before)).toBe(2);
    expect(preempted(now) - preempted(before)).toBe(0);

    const high = await createDeployment(ctx, admin, { ...low, priority: 10 });
    expect(high.status).toBe('running');
    await eventually(async () => {
      now = await scrape();
      expect(waits(now) - waits(before)).toBe(3);
    });
    expect(placed(now) - placed(before)).toBe(3);
    expect(preempted(now) - preempted(before)).toBe(1);
    expect(status(now, 'running') - status(before, 'running')).toBe(2);
    expect(status(now, 'pending') - status(before, 'pending')).toBe(1);
    const cluster = String(c.id);
    expect(sample(now, 'berth_pending_deployments', { cluster, priority: '0' })).toBe(1);
    expect(sample(now, 'berth_cluster_utilization_ratio', { cluster, resource: 'cpu' })).toBe(1);
    expect(sample(now, 'berth_cluster_utilization_ratio', { cluster, resource: 'ram' })).toBe(0.5);
    expect(sample(now, 'berth_cluster_utilization_ratio', { cluster, resource: 'gpu' })).toBe(0);
    expect(sample(now, 'berth_scheduler_pass_duration_seconds_count')).toBeGreaterThanOrEqual(3);

    // The victim runs again when the preemptor completes: a placement, but not a first start.
    await ctx.http().post(`/deployments/${high.id}/complete`).set(admin.auth).expect(200);
    await new Promise((r) => setTimeout(r, 300));
    const after = await scrape();
    expect(placed(after) - placed(before)).toBe(4);
    expect(waits(after) - waits(before)).toBe(3);
    expect(status(after, 'completed') - status(before, 'completed')).toBe(1);
    expect(status(after, 'pending') - status(before, 'pending')).toBe(0);
    expect(sample(after, 'berth_pending_deployments', { cluster, priority: '0' })).toBe(0);
  });

  it('should label request durations with the route pattern, never the raw URL', async () => {
    const c = await createCluster(ctx, admin, orgId, { total_ram: 1, total_cpu: 1 });
    const d = await createDeployment(ctx, admin, {
      cluster_id: c.id,
      required_ram: 1,
      required_cpu: 1,
    });
    await ctx.http().get(`/deployments/${d.id}`).set(admin.auth).expect(200);
    await ctx.http().get(`/deployments/999999`).set(admin.auth).expect(404);
    await ctx.http().get(`/no/such/path/${d.id}`).expect(404);
    const text = await scrape();
    const count = (route: string, s: string) =>
      sample(text, 'berth_http_request_duration_seconds_count', {
        method: 'GET',
        route,
        status: s,
      });
    expect(count('/deployments/:id', '200')).toBeGreaterThanOrEqual(1);
    expect(count('/deployments/:id', '404')).toBeGreaterThanOrEqual(1);
    expect(count('unmatched', '404')).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(`/deployments/${d.id}"`);
    expect(text).not.toContain('/no/such/path');
  });

  it('should log each committed scheduler pass with its counts and duration', () => {
    const passes = ctx.logs
      .map((l) => JSON.parse(l) as { msg?: string; pass?: Record<string, unknown> })
      .filter((l) => l.msg === 'scheduler pass');
    expect(passes.length).toBeGreaterThan(0);
    expect(passes[0]!.pass).toEqual(
      expect.objectContaining({
        organizationId: orgId,
        durationMs: expect.any(Number) as number,
        placements: expect.any(Number) as number,
        preemptions: expect.any(Number) as number,
      }),
    );
  });
});

describe(`${MetricsController.name} with METRICS_TOKEN`, () => {
  let ctx: TestContext;
  const token = 'scrape-token-0123456789';

  beforeAll(async () => {
    ctx = await startApp({ env: { METRICS_TOKEN: token } });
  });
  afterAll(() => ctx.close());

  it('should return 401 problem+json without a token', async () => {
    const res = await ctx.http().get('/metrics').expect(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'auth/unauthenticated' });
  });

  it('should return 401 with a wrong token, or a user access token', async () => {
    await ctx.http().get('/metrics').set('Authorization', `Bearer ${token}x`).expect(401);
    await ctx.http().get('/metrics').set('Authorization', 'Bearer').expect(401);
    await ctx.http().get('/metrics').set('Authorization', token).expect(401);
  });

  it('should return 200 with the token', async () => {
    const res = await ctx
      .http()
      .get('/metrics')
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(res.text).toContain('berth_deployments');
  });

  it('should never write the token into the logs', () => {
    expect(ctx.logs.join('\n')).not.toContain(token);
  });
});

// Issue 10, finding 6: /metrics was public by default and showed every tenant's utilisation.
describe(`${MetricsController.name} without METRICS_TOKEN`, () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp({ env: { METRICS_TOKEN: '', THROTTLE_LIMIT: '5' } });
  });
  afterAll(() => ctx.close());

  it('should answer 404 problem+json (disabled) and reveal no metrics, and be throttled', async () => {
    const res = await ctx.http().get('/metrics');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((res.body as { code: string }).code).toBe('metrics/disabled');
    expect(res.text).not.toContain('berth_');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await ctx.http().get('/metrics')).status);
    expect(statuses).toContain(429);
  });
});
