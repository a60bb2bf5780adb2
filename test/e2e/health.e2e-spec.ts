import type { Response } from 'supertest';
import { startApp, type TestContext } from '../support/app';
import { createCluster, createDeployment, createOrg, createUser } from '../support/factories';

function expectProblem(res: Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
  });
}

describe('Health and docs', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp();
  });
  afterAll(() => ctx.close());

  it('should answer GET /health with 200 without a token, with and without a trailing slash', async () => {
    for (const path of ['/health', '/health/']) {
      const res = await ctx.http().get(path).expect(200);
      expect(res.body).toEqual({ status: 'ok' });
    }
  });

  it('should answer GET /health/ready with 200 and every check up', async () => {
    for (const path of ['/health/ready', '/health/ready/']) {
      const res = await ctx.http().get(path).expect(200);
      expect(res.body).toEqual({ status: 'ok', checks: { database: 'up', redis: 'up' } });
    }
  });

  it('should serve the Swagger UI at /docs as HTML without a token', async () => {
    const res = await ctx.http().get('/docs').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toMatch(/swagger/i);
  });

  it('should serve ReDoc at /redoc as HTML pointing at /openapi.json', async () => {
    const res = await ctx.http().get('/redoc').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('/openapi.json');
  });

  it('should serve the OpenAPI document at /openapi.json with the account routes', async () => {
    const res = await ctx.http().get('/openapi.json').expect(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const doc = res.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths['/token']).toHaveProperty('post');
    expect(doc.paths['/users']).toHaveProperty('post');
    expect(doc.paths['/users/me']).toHaveProperty('get');
    expect(doc.paths['/health']).toHaveProperty('get');
    expect(doc.paths['/health/ready']).toHaveProperty('get');
  });
});

describe('Health when Redis is unreachable', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    // Nothing listens on 6390: every Redis command fails at once.
    ctx = await startApp({ env: { REDIS_URL: 'redis://127.0.0.1:6390/0' } });
  });
  afterAll(() => ctx.close());

  it('should report 503 problem+json from /health/ready naming redis as down', async () => {
    const res = await ctx.http().get('/health/ready');
    expectProblem(res, 503, 'service/unavailable');
    expect(res.body).toMatchObject({ checks: { database: 'up', redis: 'down' } });
  });

  it('should keep liveness at 200', async () => {
    await ctx.http().get('/health').expect(200);
  });

  it('should keep serving the API: sign-up, login and /users/me work (throttling fails open)', async () => {
    const user = await createUser(ctx, 'noredis');
    const me = await ctx.http().get('/users/me').set(user.auth).expect(200);
    expect(me.body).toMatchObject({ id: user.id, username: user.username });
    const wrong = await ctx
      .http()
      .post('/token')
      .type('form')
      .send({ username: user.username, password: 'wrong-password' });
    expectProblem(wrong, 401, 'auth/invalid_credentials');
  });

  it('should still schedule: immediate passes run without Redis, and completion frees the room', async () => {
    const admin = await createUser(ctx, 'noredis_admin');
    const org = await createOrg(ctx, admin);
    const cluster = await createCluster(ctx, admin, org.id, { total_ram: 4, total_cpu: 2 });
    const first = await createDeployment(ctx, admin, {
      cluster_id: cluster.id,
      required_ram: 4,
      required_cpu: 2,
    });
    expect(first.status).toBe('running');
    const second = await createDeployment(ctx, admin, {
      cluster_id: cluster.id,
      required_ram: 4,
      required_cpu: 2,
    });
    expect(second.status).toBe('pending');
    await ctx.http().post(`/deployments/${first.id}/complete`).set(admin.auth).expect(200);
    const after = await ctx.http().get(`/deployments/${second.id}`).set(admin.auth).expect(200);
    expect(after.body).toMatchObject({ status: 'running' });
  });
});

describe('Health when PostgreSQL is unreachable', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp({
      env: { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5439/berth_unreachable' },
    });
  });
  afterAll(() => ctx.close());

  it('should report 503 problem+json from /health/ready naming the database as down', async () => {
    const res = await ctx.http().get('/health/ready');
    expectProblem(res, 503, 'service/unavailable');
    expect(res.body).toMatchObject({ checks: { database: 'down', redis: 'up' } });
  });

  it('should keep liveness at 200', async () => {
    await ctx.http().get('/health').expect(200);
  });
});
