import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import { PUBLISHED_KEYS } from '../../src/config/configuration';
import { startApp, type TestContext } from '../support/app';
import { createUser, type TestUser } from '../support/factories';

/**
 * Finding 1 (critical): with nothing set the server signed and accepted tokens with a key written
 * in the repository, and accepted tokens without `exp`. Now: no SECRET_KEY → one random key,
 * generated once, stored in PostgreSQL and shared by every replica; no published key verifies.
 */
describe('Signing key without SECRET_KEY', () => {
  let a: TestContext;
  let b: TestContext;
  let user: TestUser;
  let storedKey: string;

  beforeAll(async () => {
    a = await startApp({ env: { SECRET_KEY: '' } });
    // A second replica on the same database, started after the first generated the key.
    b = await startApp({ env: { SECRET_KEY: '' }, databaseUrl: a.databaseUrl });
    user = await createUser(a);
    const db = new Client({ connectionString: a.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ secret: string }>('SELECT secret FROM signing_keys');
      expect(rows).toHaveLength(1);
      storedKey = rows[0]!.secret;
    } finally {
      await db.end();
    }
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const sign = (key: string, claims: object, opts: jwt.SignOptions = {}): string =>
    jwt.sign({ sub: user.id, username: user.username, ...claims }, key, {
      algorithm: 'HS256',
      issuer: 'berth',
      ...opts,
    });

  it('should generate a random 256-bit key once, store it and say so in the log', () => {
    expect(Buffer.from(storedKey, 'base64url')).toHaveLength(32);
    expect(PUBLISHED_KEYS).not.toContain(storedKey);
    expect(a.logs.join('\n')).toMatch(/generated a random 256-bit signing key/);
    expect(b.logs.join('\n')).not.toMatch(/generated a random/);
    expect(b.logs.join('\n')).toMatch(/using the signing key stored in the database/);
  });

  it('should accept a token issued by one replica on another', async () => {
    await b.http().get('/users/me').set(user.auth).expect(200);
  });

  it.each(PUBLISHED_KEYS.map((k) => [k]))(
    'should reject a token signed with the published key %p',
    async (key) => {
      const forged = sign(key, {}, { expiresIn: 600 });
      const res = await a.http().get('/organizations/').set('Authorization', `Bearer ${forged}`);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    },
  );

  it('should reject a correctly signed token without exp', async () => {
    const noExp = sign(storedKey, {});
    expect((jwt.decode(noExp) as { exp?: number }).exp).toBeUndefined();
    await a.http().get('/users/me').set('Authorization', `Bearer ${noExp}`).expect(401);
    // The same claims with an expiry pass: only the missing exp was refused.
    const withExp = sign(storedKey, {}, { expiresIn: 600 });
    await a.http().get('/users/me').set('Authorization', `Bearer ${withExp}`).expect(200);
  });

  it('should put an exp in every token it issues', () => {
    const claims = jwt.decode(user.token) as { exp?: number; iat?: number };
    expect(claims.exp).toEqual(expect.any(Number));
    expect(claims.exp! - claims.iat!).toBe(3600);
  });
});
