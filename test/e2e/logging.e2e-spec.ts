import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { startApp, type TestContext } from '../support/app';

const uniq = (): string => randomBytes(4).toString('hex');

interface LogLine {
  level: number;
  msg?: string;
  reqId?: string;
  userId?: number;
  method?: string;
  route?: string;
  status?: number;
  durationMs?: number;
  [key: string]: unknown;
}

describe('Request logging', () => {
  let ctx: TestContext;
  /** Every response of this file's app, with the user id it was authenticated as (if any). */
  const responses: { res: Response; method: string; userId?: number }[] = [];
  const secrets: string[] = [];
  const tokens: string[] = [];

  beforeAll(async () => {
    ctx = await startApp();
    const track = (res: Response, userId?: number): Response => {
      const { method } = (res as unknown as { request: { method: string } }).request;
      responses.push({ res, method, userId });
      return res;
    };

    for (let i = 0; i < 2; i++) {
      const username = `logger_${uniq()}`;
      const password = `Sekr3t-${uniq()}-${uniq()}`;
      secrets.push(password);
      const created = track(
        await ctx
          .http()
          .post('/users/')
          .send({ email: `${username}@example.com`, username, password }),
      );
      expect(created.status).toBe(201);
      const userId = (created.body as { id: number }).id;

      const byForm = track(
        await ctx.http().post('/token').type('form').send({ username, password }),
      );
      const byJson = track(
        await ctx
          .http()
          .post('/token')
          .send({ username: `${username}@example.com`, password }),
      );
      for (const res of [byForm, byJson]) {
        expect(res.status).toBe(200);
        tokens.push((res.body as { access_token: string }).access_token);
      }

      const wrong = `Wr0ng-${uniq()}-${uniq()}`;
      secrets.push(wrong);
      expect(
        track(await ctx.http().post('/token').type('form').send({ username, password: wrong }))
          .status,
      ).toBe(401);
      expect(
        track(await ctx.http().post('/token').send({ username, password: wrong })).status,
      ).toBe(401);

      const auth = { Authorization: `Bearer ${tokens[tokens.length - 1]!}` };
      expect(track(await ctx.http().get('/users/me').set(auth), userId).status).toBe(200);
      expect(track(await ctx.http().get('/users/me/').set(auth), userId).status).toBe(200);
    }

    // A rejected sign-up must not log the (short) password it refused either.
    const shortPassword = `Q${uniq().slice(0, 5)}`;
    secrets.push(shortPassword);
    expect(
      track(
        await ctx
          .http()
          .post('/users/')
          .send({ email: 'bad', username: 'ok_name', password: shortPassword }),
      ).status,
    ).toBe(422);
    expect(
      track(await ctx.http().get('/users/me').set('Authorization', 'Bearer nope')).status,
    ).toBe(401);
    expect(track(await ctx.http().get('/no-such-route')).status).toBe(404);
    expect(track(await ctx.http().get('/health')).status).toBe(200);
  });
  afterAll(() => ctx.close());

  const lines = (): LogLine[] => ctx.logs.map((l) => JSON.parse(l) as LogLine);

  it('should write only JSON lines', () => {
    expect(ctx.logs.length).toBeGreaterThan(0);
    for (const l of ctx.logs) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });

  it('should never log a password, a password hash or an access token', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    expect(tokens.length).toBe(4);
    const all = ctx.logs.join('\n');
    for (const s of secrets) expect(all).not.toContain(s);
    expect(all).not.toContain('$argon2');
    for (const t of tokens) {
      expect(all).not.toContain(t);
      // Not even its signature (the part that makes it usable).
      expect(all).not.toContain(t.split('.')[2]!);
    }
    expect(all.toLowerCase()).not.toContain('bearer');
  });

  it('should write exactly one request line per request, with its id, route, status and duration', () => {
    const requestLines = lines().filter((l) => l.msg === 'request');
    expect(requestLines).toHaveLength(responses.length);
    for (const { res, method, userId } of responses) {
      const reqId = res.headers['x-request-id'] as string;
      expect(reqId).toEqual(expect.any(String));
      const mine = requestLines.filter((l) => l.reqId === reqId);
      expect(mine).toHaveLength(1);
      const line = mine[0]!;
      expect(line).toMatchObject({
        level: 30,
        method,
        route: expect.any(String),
        status: res.status,
        durationMs: expect.any(Number),
      });
      expect(line.durationMs).toBeGreaterThanOrEqual(0);
      if (userId === undefined) expect(line.userId).toBeUndefined();
      else expect(line.userId).toBe(userId);
    }
  });

  it('should name the route pattern, and "unmatched" for unknown paths', () => {
    const requestLines = lines().filter((l) => l.msg === 'request');
    const authenticated = requestLines.filter((l) => l.userId !== undefined);
    expect(authenticated).toHaveLength(4);
    // `/users/me/` is logged under its pattern, not the raw path.
    for (const l of authenticated) expect(l.route).toBe('/users/me');
    expect(requestLines.filter((l) => l.route === '/token')).toHaveLength(8);
    const unknown = lines().find((l) => l.msg === 'request' && l.status === 404);
    expect(unknown?.route).toBe('unmatched');
  });

  it('should write the request id once per request line (no duplicate keys)', () => {
    for (const raw of ctx.logs.filter((l) => l.includes('"msg":"request"'))) {
      expect(raw.match(/"reqId":/g)).toHaveLength(1);
    }
  });
});
