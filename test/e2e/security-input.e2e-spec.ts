import type { Response } from 'supertest';
import { startApp, type TestContext } from '../support/app';
import { createOrg, createUser, type TestOrg, type TestUser } from '../support/factories';

/**
 * Finding 4 (medium): NUL bytes, tiny exponents and deep JSON answered 500; Fastify's router
 * errors answered bodies that were not problem+json (one echoed the path); large anonymous
 * bodies to /token slowed everything.
 */
function expect4xxProblem(res: Response, status?: number): Record<string, unknown> {
  if (status !== undefined) expect(res.status).toBe(status);
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.body as Record<string, unknown>;
  expect(body).toMatchObject({ status: res.status, code: expect.any(String) });
  return body;
}

describe('Hostile input', () => {
  let ctx: TestContext;
  let admin: TestUser;
  let org: TestOrg;
  let clusterId: number;
  let deploymentId: number;

  beforeAll(async () => {
    ctx = await startApp();
    admin = await createUser(ctx, 'admin');
    org = await createOrg(ctx, admin);
    const c = await ctx
      .http()
      .post('/clusters/')
      .set(admin.auth)
      .send({ name: 'c', organization_id: org.id, total_ram: 8, total_cpu: 8, total_gpu: 0 })
      .expect(201);
    clusterId = (c.body as { id: number }).id;
    const d = await ctx
      .http()
      .post('/deployments/')
      .set(admin.auth)
      .send({
        name: 'd',
        docker_image: 'nginx',
        cluster_id: clusterId,
        required_ram: 1,
        required_cpu: 1,
      })
      .expect(201);
    deploymentId = (d.body as { id: number }).id;
  });
  afterAll(() => ctx.close());

  describe('NUL and control characters → 422', () => {
    it('should reject a NUL in the /token username (anonymous)', async () => {
      const res = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: 'a\u0000b', password: 'x' });
      expect4xxProblem(res, 422);
      const json = await ctx.http().post('/token').send({ username: 'a\u0000b', password: 'x' });
      expect4xxProblem(json, 422);
    });

    it.each(['org\u0000name', 'tab\u0007bell', 'esc\u001b[31m'])(
      'should reject the organization name %j',
      async (name) => {
        const res = await ctx.http().post('/organizations/').set(admin.auth).send({ name });
        const body = expect4xxProblem(res, 422);
        expect(body.code).toBe('request/validation_failed');
      },
    );

    it('should reject a NUL in a cluster name and in a deployment name', async () => {
      expect4xxProblem(
        await ctx.http().post('/clusters/').set(admin.auth).send({
          name: 'a\u0000',
          organization_id: org.id,
          total_ram: 1,
          total_cpu: 1,
          total_gpu: 0,
        }),
        422,
      );
      expect4xxProblem(
        await ctx.http().post('/deployments/').set(admin.auth).send({
          name: '\u0000',
          docker_image: 'nginx',
          cluster_id: clusterId,
          required_ram: 1,
          required_cpu: 1,
        }),
        422,
      );
    });

    it('should reject a NUL in an invite code and in a fail reason', async () => {
      expect4xxProblem(await ctx.http().post('/organizations/abc%00def/join').set(admin.auth));
      await ctx.http().post(`/deployments/${deploymentId}/start`).set(admin.auth);
      expect4xxProblem(
        await ctx
          .http()
          .post(`/deployments/${deploymentId}/fail`)
          .set(admin.auth)
          .send({ reason: 'oops\u0000' }),
        422,
      );
    });
  });

  it.each([1e-7, 5e-324, 1.5e-10])(
    'should answer 422 (not 500) for the resource value %p',
    async (v) => {
      const res = await ctx
        .http()
        .post('/clusters/')
        .set(admin.auth)
        .send({
          name: `tiny-${v}`,
          organization_id: org.id,
          total_ram: v,
          total_cpu: 1,
          total_gpu: v,
        });
      const body = expect4xxProblem(res, 422);
      expect(body.code).toBe('request/validation_failed');
    },
  );

  it('should answer 4xx (not 500) for JSON nested 1,500 and 20,000 levels deep', async () => {
    for (const depth of [1_500, 20_000]) {
      const deep = `{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const res = await ctx
        .http()
        .post('/organizations/')
        .set(admin.auth)
        .set('content-type', 'application/json')
        .send(deep);
      expect4xxProblem(res);
    }
  });

  describe("Fastify's router errors", () => {
    it('should answer /organizations/%/join with problem+json', async () => {
      const res = await ctx.http().post('/organizations/%/join').set(admin.auth);
      expect4xxProblem(res, 400);
    });

    it('should answer a 5,000-character path with problem+json that does not echo it', async () => {
      const path = `/organizations/${'a'.repeat(5_000)}/join`;
      const res = await ctx.http().post(path).set(admin.auth);
      expect4xxProblem(res);
      expect(res.text).not.toContain('a'.repeat(100));
    });

    it('should not echo an unknown path', async () => {
      const res = await ctx.http().get('/no-such-route-echo-marker');
      expect4xxProblem(res, 404);
      expect(res.text).not.toContain('echo-marker');
    });
  });

  it('should refuse large anonymous bodies on /token and /users/ early (413)', async () => {
    const big = 'x'.repeat(20_000);
    expect4xxProblem(
      await ctx.http().post('/token').type('form').send({ username: big, password: big }),
      413,
    );
    expect4xxProblem(
      await ctx
        .http()
        .post('/users/')
        .send({ email: 'a@example.com', username: 'abc', password: big }),
      413,
    );
  });
});
