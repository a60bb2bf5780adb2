import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import type { Response } from 'supertest';
import { startApp, type TestContext } from '../support/app';
import { createUser, type TestUser } from '../support/factories';

const uniq = (): string => randomBytes(4).toString('hex');

function expectProblem(res: Response, status: number, code?: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.body as Record<string, unknown>;
  expect(body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      code: code ?? expect.any(String),
    }),
  );
}

function retryAfterSeconds(res: Response): number {
  const header = res.headers['retry-after'];
  expect(header).toMatch(/^\d+$/);
  return Number(header);
}

const b64url = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('Accounts and tokens', () => {
  let ctx: TestContext;
  let secret: string;

  beforeAll(async () => {
    ctx = await startApp();
    secret = ctx.env.SECRET_KEY!;
  });
  afterAll(() => ctx.close());

  describe('POST /users/', () => {
    it('should return 201 with exactly the public user fields and a lower-cased email', async () => {
      const username = `Alice_${uniq()}`;
      const password = `pw-${uniq()}-${uniq()}`;
      const res = await ctx
        .http()
        .post('/users/')
        .send({ email: `  ${username.toUpperCase()}@Example.COM `, username, password })
        .expect(201)
        .expect('content-type', /application\/json/);
      const body = res.body as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(
        ['created_at', 'email', 'id', 'is_active', 'updated_at', 'username'].sort(),
      );
      expect(body).toMatchObject({
        id: expect.any(Number),
        email: `${username.toLowerCase()}@example.com`,
        username,
        is_active: true,
      });
      expect(new Date(body.created_at as string).toISOString()).toBe(body.created_at);
      expect(new Date(body.updated_at as string).toISOString()).toBe(body.updated_at);
      expect(res.text).not.toContain(password);
      expect(res.text).not.toContain('$argon2');
    });

    it('should accept the path without a trailing slash too', async () => {
      const username = `noslash_${uniq()}`;
      await ctx
        .http()
        .post('/users')
        .send({ email: `${username}@example.com`, username, password: 'long-enough-pw' })
        .expect(201);
    });

    it('should return 409 user/already_exists when the email is taken (in any case)', async () => {
      const u = await createUser(ctx);
      const res = await ctx
        .http()
        .post('/users/')
        .send({
          email: u.email.toUpperCase(),
          username: `other_${uniq()}`,
          password: 'password-1',
        });
      expectProblem(res, 409, 'user/already_exists');
    });

    it('should return 409 user/already_exists when the username is taken', async () => {
      const u = await createUser(ctx);
      const res = await ctx
        .http()
        .post('/users')
        .send({
          email: `other_${uniq()}@example.com`,
          username: u.username,
          password: 'password-1',
        });
      expectProblem(res, 409, 'user/already_exists');
    });

    it('should return 422 naming every invalid field without echoing the password', async () => {
      const password = 'Zq9xK7';
      const res = await ctx
        .http()
        .post('/users/')
        .send({ email: 'not-an-email', username: 'a!', password });
      expectProblem(res, 422, 'request/validation_failed');
      const errors = (res.body as { errors: { field: string; message: string }[] }).errors;
      expect(errors.length).toBeGreaterThanOrEqual(3);
      for (const e of errors) {
        expect(e).toEqual({ field: expect.any(String), message: expect.any(String) });
      }
      expect(new Set(errors.map((e) => e.field))).toEqual(
        new Set(['email', 'username', 'password']),
      );
      expect(res.text).not.toContain(password);
    });

    it.each([
      ['a too short username', { username: 'ab' }, 'username'],
      ['a too long username', { username: 'a'.repeat(33) }, 'username'],
      ['a username with a space', { username: 'has space' }, 'username'],
      ['a too short password', { password: '1234567' }, 'password'],
      ['a too long password', { password: 'p'.repeat(129) }, 'password'],
      ['a missing email', { email: undefined }, 'email'],
      ['a non-string password', { password: 12345678 }, 'password'],
    ])('should return 422 for %s', async (_name, patch: Record<string, unknown>, field) => {
      const username = `valid_${uniq()}`;
      const body = {
        email: `${username}@example.com`,
        username,
        password: 'password-ok',
        ...patch,
      };
      const res = await ctx.http().post('/users/').send(body);
      expectProblem(res, 422, 'request/validation_failed');
      const errors = (res.body as { errors: { field: string }[] }).errors;
      expect(errors.map((e) => e.field)).toEqual(expect.arrayContaining([field]));
      if (typeof patch.password === 'string') expect(res.text).not.toContain(patch.password);
    });

    it('should accept the boundary lengths (username 3 and 32, password 8 and 128)', async () => {
      const short = `a${uniq().slice(0, 2)}`;
      await ctx
        .http()
        .post('/users/')
        .send({ email: `${short}@example.com`, username: short, password: '12345678' })
        .expect(201);
      const long = `b.-_${uniq()}${'x'.repeat(20)}`;
      expect(long).toHaveLength(32);
      await ctx
        .http()
        .post('/users/')
        .send({ email: `${uniq()}@example.com`, username: long, password: 'p'.repeat(128) })
        .expect(201);
    });
  });

  describe('POST /token', () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await createUser(ctx, 'login');
    });

    it('should issue a bearer token for form-encoded credentials', async () => {
      const res = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: user.username, password: user.password, grant_type: 'password' })
        .expect(200);
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'bearer',
        expires_in: expect.any(Number),
      });
      const { expires_in: expiresIn } = res.body as { expires_in: number };
      expect(expiresIn).toBeGreaterThan(0);
    });

    it('should issue a token for a JSON body and accept the path with a trailing slash', async () => {
      const res = await ctx
        .http()
        .post('/token/')
        .send({ username: user.username, password: user.password })
        .expect(200);
      const token = (res.body as { access_token: string }).access_token;
      await ctx.http().get('/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    });

    it('should log in by email, whatever its case', async () => {
      const res = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: user.email.toUpperCase(), password: user.password })
        .expect(200);
      expect((res.body as { token_type: string }).token_type).toBe('bearer');
    });

    it('should return the same 401 for a wrong password and for an unknown user', async () => {
      const wrong = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: user.username, password: 'not-the-password' });
      const unknown = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: `ghost_${uniq()}`, password: 'not-the-password' });
      const unknownEmail = await ctx
        .http()
        .post('/token')
        .send({ username: `ghost_${uniq()}@example.com`, password: 'not-the-password' });
      expectProblem(wrong, 401, 'auth/invalid_credentials');
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(wrong.body);
      expect(unknownEmail.body).toEqual(wrong.body);
      expect(wrong.text).not.toContain('not-the-password');
    });

    it('should return 422 when the credentials are missing', async () => {
      const res = await ctx.http().post('/token').type('form').send({ username: user.username });
      expectProblem(res, 422, 'request/validation_failed');
    });

    it('should refuse a deactivated account with the same 401 and reject its tokens', async () => {
      const victim = await createUser(ctx, 'inactive');
      const unknownUser = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: `ghost_${uniq()}`, password: 'whatever-pw' });
      const db = new Client({ connectionString: ctx.databaseUrl });
      await db.connect();
      try {
        await db.query('UPDATE users SET is_active = false WHERE id = $1', [victim.id]);
      } finally {
        await db.end();
      }
      const res = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: victim.username, password: victim.password });
      expectProblem(res, 401);
      expect(res.body).toEqual(unknownUser.body);
      expectProblem(await ctx.http().get('/users/me').set(victim.auth), 401);
    });
  });

  describe('GET /users/me', () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await createUser(ctx, 'me');
    });

    it('should return the caller, with and without a trailing slash', async () => {
      for (const path of ['/users/me', '/users/me/']) {
        const res = await ctx.http().get(path).set(user.auth).expect(200);
        expect(res.body).toEqual({
          id: user.id,
          email: user.email,
          username: user.username,
          is_active: true,
          created_at: expect.any(String),
          updated_at: expect.any(String),
        });
      }
    });

    const claims = (u: TestUser) => ({ sub: u.id, username: u.username, iss: 'berth' });

    it.each<[string, (u: TestUser) => string | undefined]>([
      ['no Authorization header', () => undefined],
      ['a garbage token', () => 'Bearer not.a.jwt'],
      ['a non-bearer scheme', (u) => `Basic ${u.token}`],
      [
        'an expired token',
        (u) =>
          `Bearer ${jwt.sign({ ...claims(u), exp: Math.floor(Date.now() / 1000) - 60 }, secret, { algorithm: 'HS256' })}`,
      ],
      [
        'a tampered signature',
        (u) => {
          const [h, p, s] = u.token.split('.') as [string, string, string];
          const flipped = `${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
          return `Bearer ${h}.${p}.${flipped}`;
        },
      ],
      [
        'a tampered payload',
        (u) => {
          const [h, , s] = u.token.split('.') as [string, string, string];
          const payload = b64url({ ...claims(u), sub: u.id + 1, exp: 4102444800 });
          return `Bearer ${h}.${payload}.${s}`;
        },
      ],
      [
        'an alg: none token',
        (u) =>
          `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...claims(u), exp: 4102444800 })}.`,
      ],
      [
        'a token signed with another secret',
        (u) =>
          `Bearer ${jwt.sign(claims(u), 'another-secret-that-is-long-enough-0123456789', { algorithm: 'HS256', expiresIn: 600 })}`,
      ],
      [
        'a token from another issuer',
        (u) =>
          `Bearer ${jwt.sign({ ...claims(u), iss: 'evil' }, secret, { algorithm: 'HS256', expiresIn: 600 })}`,
      ],
      [
        'a token for a user that does not exist',
        (u) =>
          `Bearer ${jwt.sign({ ...claims(u), sub: 999_999_999 }, secret, { algorithm: 'HS256', expiresIn: 600 })}`,
      ],
      [
        'an HS512 token',
        (u) => `Bearer ${jwt.sign(claims(u), secret, { algorithm: 'HS512', expiresIn: 600 })}`,
      ],
    ])('should return 401 problem+json for %s', async (_name, header) => {
      const value = header(user);
      const req = ctx.http().get('/users/me');
      const res = await (value === undefined ? req : req.set('Authorization', value));
      expectProblem(res, 401, 'auth/unauthenticated');
    });

    it('should accept a token signed with the service secret (the negative cases are not vacuous)', async () => {
      const token = jwt.sign(claims(user), secret, { algorithm: 'HS256', expiresIn: 600 });
      await ctx.http().get('/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    });
  });
});

describe('Rate limiting of accounts', () => {
  describe('with AUTH_THROTTLE_LIMIT=3', () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await startApp({ env: { AUTH_THROTTLE_LIMIT: '3' } });
    });
    afterAll(() => ctx.close());

    it('should return 429 with Retry-After after repeated failed logins, for that username only', async () => {
      // Two sign-ups use two of the three sign-ups this client may make in the window.
      const victim = await createUser(ctx, 'victim');
      const other = await createUser(ctx, 'other');
      for (let i = 0; i < 3; i++) {
        const res = await ctx
          .http()
          .post('/token')
          .type('form')
          .send({ username: victim.username, password: `wrong-${i}` });
        expectProblem(res, 401, 'auth/invalid_credentials');
      }
      const blocked = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: victim.username, password: 'wrong-again' });
      expectProblem(blocked, 429, 'rate_limit/too_many_failed_logins');
      expect(retryAfterSeconds(blocked)).toBeGreaterThan(0);
      expect(retryAfterSeconds(blocked)).toBeLessThanOrEqual(60);
      // Even the right password is refused while the username is locked for this client.
      const right = await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: victim.username, password: victim.password });
      expectProblem(right, 429);

      await ctx
        .http()
        .post('/token')
        .type('form')
        .send({ username: other.username, password: other.password })
        .expect(200);
    });

    it('should return 429 with Retry-After for sign-ups beyond the limit', async () => {
      // Earlier sign-ups of this client count too, so the limit bites within four attempts.
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        const username = `burst_${uniq()}`;
        last = await ctx
          .http()
          .post('/users/')
          .send({ email: `${username}@example.com`, username, password: 'password-ok' });
        statuses.push(last.status);
      }
      const firstLimited = statuses.indexOf(429);
      expect(firstLimited).toBeGreaterThanOrEqual(0);
      expect(statuses.slice(0, firstLimited).every((s) => s === 201)).toBe(true);
      expect(statuses.slice(firstLimited).every((s) => s === 429)).toBe(true);
      expectProblem(last!, 429, 'rate_limit/exceeded');
      expect(retryAfterSeconds(last!)).toBeGreaterThan(0);
    });
  });

  describe('with THROTTLE_LIMIT=5', () => {
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await startApp({ env: { THROTTLE_LIMIT: '5' } });
    });
    afterAll(() => ctx.close());

    it('should return 429 with Retry-After on the 6th authenticated request in the window', async () => {
      const user = await createUser(ctx, 'busy');
      for (let i = 0; i < 5; i++) {
        await ctx.http().get('/users/me').set(user.auth).expect(200);
      }
      const res = await ctx.http().get('/users/me').set(user.auth);
      expectProblem(res, 429, 'rate_limit/exceeded');
      expect(retryAfterSeconds(res)).toBeGreaterThan(0);
    });
  });
});
