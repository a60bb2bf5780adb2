import { randomBytes } from 'node:crypto';
import { startApp, type TestContext } from '../support/app';
import { createCluster, createTeam, createUser, type TestUser } from '../support/factories';
import { withClient } from '../support/ledger';

/** Issue 11, defect 5 and contract §1: Idempotency-Key on creates and state changes. */
describe('Idempotency-Key (HTTP)', () => {
  let ctx: TestContext;
  let team: Awaited<ReturnType<typeof createTeam>>;
  let clusterId: number;

  beforeAll(async () => {
    ctx = await startApp();
    team = await createTeam(ctx);
    clusterId = (
      await createCluster(ctx, team.admin, team.org.id, { total_ram: 64, total_cpu: 64 })
    ).id;
  });
  afterAll(() => ctx.close());

  const key = () => `k-${randomBytes(8).toString('hex')}`;
  const body = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    docker_image: 'nginx:1.27',
    cluster_id: clusterId,
    required_ram: 1,
    required_cpu: 1,
    ...extra,
  });
  const post = (user: TestUser, path: string, k: string | undefined, payload: object) => {
    const r = ctx.http().post(path).set(user.auth);
    if (k !== undefined) void r.set('Idempotency-Key', k);
    return r.send(payload);
  };
  const rowsNamed = (name: string) =>
    withClient(ctx.databaseUrl, async (c) => {
      const r = await c.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM deployments WHERE name = $1',
        [name],
      );
      return r.rows[0]?.n ?? 0;
    });

  it('should return the first response and create nothing on a repeat with the same key and body', async () => {
    const k = key();
    const name = `idem-${k}`;
    const first = await post(team.admin, '/deployments/', k, body(name)).expect(201);
    const again = await post(team.admin, '/deployments', k, body(name)).expect(201);
    expect((again.body as { id: number }).id).toBe((first.body as { id: number }).id);
    expect(again.body).toEqual(first.body);
    expect(await rowsNamed(name)).toBe(1);
  });

  it('should answer 422 request/idempotency_key_reused for the same key with another body', async () => {
    const k = key();
    await post(team.admin, '/deployments/', k, body(`a-${k}`)).expect(201);
    const res = await post(team.admin, '/deployments/', k, body(`b-${k}`)).expect(422);
    expect(res.body).toMatchObject({ code: 'request/idempotency_key_reused' });
    expect(await rowsNamed(`b-${k}`)).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['longer than 255 characters', 'x'.repeat(256)],
  ])('should answer 422 for a key that is %s', async (_what, k) => {
    const res = await post(team.admin, '/deployments/', k, body(`bad-${key()}`)).expect(422);
    expect(res.body).toMatchObject({ code: 'request/invalid_idempotency_key' });
  });

  it('should accept a key of 255 printable characters', async () => {
    await post(team.admin, '/deployments/', `~ ${'y'.repeat(253)}`, body(`long-${key()}`)).expect(
      201,
    );
  });

  it('should create exactly one row for concurrent duplicates with the same key', async () => {
    const k = key();
    const name = `race-${k}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => post(team.admin, '/deployments/', k, body(name))),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(results.map((r) => (r.body as { id: number }).id)).size).toBe(1);
    expect(await rowsNamed(name)).toBe(1);
  });

  it('should scope keys to the caller', async () => {
    const k = key();
    await post(team.admin, '/deployments/', k, body(`mine-${k}`)).expect(201);
    await post(team.developer, '/deployments/', k, body(`mine-${k}`)).expect(201);
    expect(await rowsNamed(`mine-${k}`)).toBe(2);
  });

  it('should create nothing without a key change: retries of state changes return the first response', async () => {
    const d = (await post(team.admin, '/deployments/', undefined, body(`sc-${key()}`)).expect(201))
      .body as { id: number; status: string };
    expect(d.status).toBe('running');
    const k = key();
    const first = await post(team.admin, `/deployments/${d.id}/complete`, k, {}).expect(200);
    const again = await post(team.admin, `/deployments/${d.id}/complete`, k, {}).expect(200);
    expect(again.body).toEqual(first.body);
    // Without the key, a repeat is the honest 409.
    await post(team.admin, `/deployments/${d.id}/complete`, undefined, {}).expect(409);
  });

  it('should make cluster and organization creates idempotent', async () => {
    const k = key();
    const c = {
      name: `c-${k}`,
      organization_id: team.org.id,
      total_ram: 1,
      total_cpu: 1,
      total_gpu: 0,
    };
    const c1 = await post(team.admin, '/clusters/', k, c).expect(201);
    const c2 = await post(team.admin, '/clusters/', k, c).expect(201);
    expect((c2.body as { id: number }).id).toBe((c1.body as { id: number }).id);

    const user = await createUser(ctx);
    const o1 = await post(user, '/organizations/', k, { name: `o-${k}` }).expect(201);
    const o2 = await post(user, '/organizations/', k, { name: `o-${k}` }).expect(201);
    expect((o2.body as { id: number }).id).toBe((o1.body as { id: number }).id);
  });
});
