import { startApp, type TestContext } from '../support/app';
import { createUser } from '../support/factories';

/**
 * Finding 2 (high): the failure count was read before the password check and written after it,
 * so 40 concurrent guesses all reached the check; username and email had separate counters.
 */
describe('Failed-login limit', () => {
  const LIMIT = 5;
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp({ env: { AUTH_THROTTLE_LIMIT: String(LIMIT) } });
  });
  afterAll(() => ctx.close());

  const login = (username: string, password: string) =>
    ctx.http().post('/token').type('form').send({ username, password });

  it('should let no more than the limit of 40 concurrent guesses reach the password check', async () => {
    const victim = await createUser(ctx, 'victim');
    const guesses = Array.from({ length: 40 }, (_, i) =>
      i === 39 ? victim.password : `wrong-guess-${i}`,
    );
    const statuses = (await Promise.all(guesses.map((p) => login(victim.username, p)))).map(
      (r) => r.status,
    );
    const checked = statuses.filter((s) => s !== 429).length;
    expect(checked).toBeLessThanOrEqual(LIMIT);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(40 - LIMIT);
    expect(statuses.every((s) => s === 401 || s === 429 || s === 200)).toBe(true);
  });

  it('should count failures by username and by email on one counter', async () => {
    const victim = await createUser(ctx, 'both');
    for (let i = 0; i < LIMIT; i++) {
      const as = i % 2 === 0 ? victim.username : victim.email.toUpperCase();
      await login(as, `wrong-${i}`).expect(401);
    }
    const res = await login(victim.email, 'wrong-again');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
  });
});
