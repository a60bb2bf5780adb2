import { startApp, type TestContext } from '../support/app';
import { createUser } from '../support/factories';

describe('smoke', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await startApp();
  });
  afterAll(() => ctx.close());

  it('should create a user, issue a token and answer /users/me', async () => {
    const u = await createUser(ctx);
    const me = await ctx.http().get('/users/me').set(u.auth).expect(200);
    expect(me.body).toMatchObject({ id: u.id, username: u.username });
    await ctx
      .http()
      .get('/users/me')
      .expect(401)
      .expect('content-type', /problem\+json/);
  });
});
