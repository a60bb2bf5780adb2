import { PrismaService } from '../../src/prisma/prisma.service';
import { startApp, type TestContext } from '../support/app';
import { createCluster, createDeployment, createTeam, createUser } from '../support/factories';

/**
 * Finding 7 (low): no X-Content-Type-Options, no Cache-Control: no-store on /token, no CSP on
 * /docs; ReDoc from a CDN's `latest`; usernames differing only in case; names of invisible
 * characters; another organisation's deployment id answered slower than a missing one.
 */
describe('Security headers, docs and names', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp();
  });
  afterAll(() => ctx.close());

  it('should send nosniff and a deny-all CSP on API responses, no-store on /token', async () => {
    const health = await ctx.http().get('/health').expect(200);
    expect(health.headers['x-content-type-options']).toBe('nosniff');
    expect(health.headers['content-security-policy']).toMatch(/default-src 'none'/);
    const u = await createUser(ctx);
    const token = await ctx
      .http()
      .post('/token')
      .type('form')
      .send({ username: u.username, password: u.password })
      .expect(200);
    expect(token.headers['cache-control']).toBe('no-store');
    expect(token.headers['x-content-type-options']).toBe('nosniff');
    const bad = await ctx.http().post('/token').type('form').send({ username: 'x', password: 'y' });
    expect(bad.headers['cache-control']).toBe('no-store');
  });

  it("should send a 'self' CSP on /docs that still lets Swagger UI load its own files", async () => {
    const docs = await ctx.http().get('/docs').redirects(1).expect(200);
    const csp = docs.headers['content-security-policy'] as string;
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/unsafe-eval|\*/);
    expect(docs.text).not.toMatch(/<script>[^<]/); // no inline script the CSP would block
    await ctx.http().get('/docs/swagger-ui-init.js').expect(200);
  });

  it('should serve ReDoc from this origin with an integrity hash, never a CDN', async () => {
    const page = await ctx.http().get('/redoc').expect(200);
    expect(page.text).not.toMatch(/https?:\/\//);
    const m = /<script src="([^"]+)" integrity="(sha384-[^"]+)"/.exec(page.text);
    expect(m).not.toBeNull();
    const js = await ctx.http().get(m![1]!).buffer(true).expect(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    const { createHash } = await import('node:crypto');
    const body = Buffer.isBuffer(js.body) ? js.body : Buffer.from(js.text);
    expect(`sha384-${createHash('sha384').update(body).digest('base64')}`).toBe(m![2]);
  });

  it('should refuse a username or email that differs only in case', async () => {
    const u = await createUser(ctx, 'CaseUser');
    const res = await ctx
      .http()
      .post('/users/')
      .send({
        email: `other-${u.email}`,
        username: u.username.toLowerCase(),
        password: 'long-enough-pw',
      });
    expect(res.status).toBe(409);
    // And the login is case-insensitive too: it names the one account.
    await ctx
      .http()
      .post('/token')
      .type('form')
      .send({ username: u.username.toUpperCase(), password: u.password })
      .expect(200);
  });

  it.each(['\u200b', '\u200b\u200c\u200d', '\u202e\u2066', '\u3164', '\u00ad\ufeff', ' \u2800 '])(
    'should refuse the invisible name %j',
    async (name) => {
      const u = await createUser(ctx);
      const res = await ctx.http().post('/organizations/').set(u.auth).send({ name });
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    },
  );

  it("should look up another organisation's deployment and a missing one with the same single query", async () => {
    const team = await createTeam(ctx);
    const cluster = await createCluster(ctx, team.outsider, team.otherOrg.id, {
      total_ram: 8,
      total_cpu: 8,
    });
    const theirs = await createDeployment(ctx, team.outsider, {
      cluster_id: cluster.id,
      required_ram: 1,
      required_cpu: 1,
    });
    const prisma = ctx.app.get(PrismaService);
    const count = async (id: number): Promise<number> => {
      const spies = [
        jest.spyOn(prisma.deployment, 'findFirst'),
        jest.spyOn(prisma.deployment, 'findUnique'),
        jest.spyOn(prisma.organizationMember, 'findUnique'),
        jest.spyOn(prisma.organizationMember, 'findFirst'),
      ];
      try {
        const res = await ctx.http().get(`/deployments/${id}`).set(team.admin.auth);
        expect(res.status).toBe(404);
        expect((res.body as { code: string }).code).toBe('deployment/not_found');
        return spies.reduce((n, s) => n + s.mock.calls.length, 0);
      } finally {
        for (const s of spies) s.mockRestore();
      }
    };
    const foreign = await count(theirs.id);
    const missing = await count(2_000_000_000);
    expect(foreign).toBe(missing);
    expect(foreign).toBe(1);
  });
});
