import { Client } from 'pg';
import type { Response } from 'supertest';
import { startApp, type TestContext } from '../support/app';
import { createUser } from '../support/factories';

/** Every error of the API: RFC 9457 fields plus a stable code, as application/problem+json. */
function expectProblem(res: Response, status: number, code: string): Record<string, unknown> {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.body as Record<string, unknown>;
  expect(body).toMatchObject({
    type: expect.stringContaining(code),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
  });
  return body;
}

const logLines = (ctx: TestContext): Record<string, unknown>[] =>
  ctx.logs.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('Error responses', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp();
  });
  afterAll(() => ctx.close());

  it.each([
    ['GET', '/no-such-route'],
    ['GET', '/users/me/extra'],
    ['POST', '/clusterz/'],
    ['DELETE', '/health'],
  ])('should return 404 route/not_found for %s %s', async (method, path) => {
    const res = await ctx.http()[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
    const body = expectProblem(res, 404, 'route/not_found');
    expect(body.request_id).toBeUndefined();
  });

  it('should return 400 request/malformed_body for malformed JSON', async () => {
    const res = await ctx
      .http()
      .post('/users/')
      .set('Content-Type', 'application/json')
      .send('{"email": "a@example.com", "username": ');
    expectProblem(res, 400, 'request/malformed_body');
  });

  it('should return 413 request/body_too_large for a body over BODY_LIMIT_BYTES (100 KiB)', async () => {
    const res = await ctx
      .http()
      .post('/users/')
      .set('Content-Type', 'application/json')
      .send(
        JSON.stringify({ email: 'a@example.com', username: 'abc', password: 'x'.repeat(110_000) }),
      );
    expectProblem(res, 413, 'request/body_too_large');
  });

  it('should accept a body just under the limit (the 413 is about size, not the route)', async () => {
    // An authenticated route: the anonymous /token and /users/ have a smaller limit of their own.
    const user = await createUser(ctx);
    const res = await ctx
      .http()
      .post('/organizations/')
      .set(user.auth)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(90_000) }));
    // Reaches validation (the name is missing) rather than being refused for its size.
    expectProblem(res, 422, 'request/validation_failed');
  });

  it('should return 415 problem+json for an unsupported content type', async () => {
    const res = await ctx
      .http()
      .post('/users/')
      .set('Content-Type', 'application/xml')
      .send('<user/>');
    expectProblem(res, 415, 'request/unsupported_media_type');
  });

  it.each(['[]', 'null', '42', '"text"'])(
    'should return 422 with field errors for the JSON body %s (not an object)',
    async (raw) => {
      const res = await ctx
        .http()
        .post('/users/')
        .set('Content-Type', 'application/json')
        .send(raw);
      const body = expectProblem(res, 422, 'request/validation_failed');
      expect(body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'password' })]),
      );
    },
  );

  it('should render 401 and 422 as problem+json too', async () => {
    expectProblem(await ctx.http().get('/users/me'), 401, 'auth/unauthenticated');
    const invalid = expectProblem(
      await ctx.http().post('/users/').send({}),
      422,
      'request/validation_failed',
    );
    expect(invalid.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'email' })]),
    );
  });

  it('should echo a well-formed X-Request-Id and generate one otherwise', async () => {
    const given = await ctx.http().get('/health').set('X-Request-Id', 'trace-abc.123').expect(200);
    expect(given.headers['x-request-id']).toBe('trace-abc.123');
    const bad = await ctx
      .http()
      .get('/health')
      .set('X-Request-Id', 'no spaces\tallowed')
      .expect(200);
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('Error responses when a backing service fails', () => {
  it('should return 503 service/unavailable with a request_id when PostgreSQL is unreachable', async () => {
    const ctx = await startApp({
      env: { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5439/berth_unreachable' },
    });
    try {
      const res = await ctx
        .http()
        .post('/users/')
        .send({ email: 'down@example.com', username: 'down_user', password: 'password-ok' });
      const body = expectProblem(res, 503, 'service/unavailable');
      expect(body.request_id).toEqual(expect.any(String));
      expect(res.headers['x-request-id']).toBe(body.request_id);
      const login = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: 'down_user', password: 'password-ok' });
      expectProblem(login, 503, 'service/unavailable');
    } finally {
      await ctx.close();
    }
  });

  it('should return 500 internal/error with a request_id that appears in the error log', async () => {
    const ctx = await startApp();
    try {
      const user = await createUser(ctx, 'broken');
      // Break this test's own database under the running app: an unexpected error, i.e. a bug.
      const db = new Client({ connectionString: ctx.databaseUrl });
      await db.connect();
      try {
        await db.query('ALTER TABLE users RENAME COLUMN email TO email_gone');
      } finally {
        await db.end();
      }
      const res = await ctx.http().get('/users/me').set(user.auth);
      const body = expectProblem(res, 500, 'internal/error');
      const requestId = body.request_id as string;
      expect(requestId).toEqual(expect.any(String));
      expect(res.headers['x-request-id']).toBe(requestId);
      // The body says nothing about the cause; the log does, under the same request id.
      expect(res.text).not.toMatch(/email_gone|column|prisma/i);
      const errorLines = logLines(ctx).filter(
        (l) => (l.level as number) >= 50 && JSON.stringify(l).includes(requestId),
      );
      expect(errorLines.length).toBeGreaterThanOrEqual(1);
    } finally {
      await ctx.close();
    }
  });
});
