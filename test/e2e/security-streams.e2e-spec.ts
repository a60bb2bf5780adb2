import { PrismaService } from '../../src/prisma/prisma.service';
import { startApp, type TestContext } from '../support/app';
import {
  createCluster,
  createDeployment,
  createTeam,
  createUser,
  type TestUser,
} from '../support/factories';

/**
 * Finding 3 (high): no cap on open event streams, one PostgreSQL poll per stream every 2 s, and a
 * removed member kept receiving events for ~14 s.
 */
class Stream {
  readonly types: string[] = [];
  ended = false;
  private readonly abort = new AbortController();

  static async open(base: string, user: TestUser, query = ''): Promise<[Stream, Response]> {
    const s = new Stream();
    const res = await fetch(`${base}/deployments/events/stream${query}`, {
      headers: user.auth,
      signal: s.abort.signal,
    });
    if (res.ok) void s.read(res);
    return [s, res];
  }

  close(): void {
    this.abort.abort();
  }

  private async read(res: Response): Promise<void> {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const m of decoder.decode(value, { stream: true }).matchAll(/^event: (\w+)$/gm)) {
          this.types.push(m[1]!);
        }
      }
    } catch {
      // aborted
    }
    this.ended = true;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Event stream limits', () => {
  let ctx: TestContext;
  let base: string;
  const streams: Stream[] = [];
  const open = async (user: TestUser, query = '') => {
    const [s, res] = await Stream.open(base, user, query);
    streams.push(s);
    return [s, res] as const;
  };
  const closeAll = async () => {
    for (const s of streams.splice(0)) s.close();
    await sleep(100);
  };

  beforeAll(async () => {
    ctx = await startApp({ env: { SSE_MAX_STREAMS_PER_USER: '3', SSE_MAX_STREAMS: '25' } });
    await ctx.app.listen(0, '127.0.0.1');
    base = await ctx.app.getUrl();
  });
  afterAll(async () => {
    await closeAll();
    await ctx.close();
  });
  afterEach(closeAll);

  it('should cap open streams per user with 429 problem+json and Retry-After', async () => {
    const user = await createUser(ctx);
    for (let i = 0; i < 3; i++) expect((await open(user))[1].status).toBe(200);
    const [, refused] = await open(user);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { code: string }).code).toBe('rate_limit/too_many_streams');
    // Another user is not affected by this user's streams.
    expect((await open(await createUser(ctx)))[1].status).toBe(200);
  });

  it('should cap open streams per instance', async () => {
    const users = await Promise.all(Array.from({ length: 9 }, () => createUser(ctx)));
    const statuses: number[] = [];
    for (const u of users) for (let i = 0; i < 3; i++) statuses.push((await open(u))[1].status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(25);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
  });

  it('should read PostgreSQL once per organisation per poll, not once per stream', async () => {
    const team = await createTeam(ctx);
    const members = [team.admin, team.developer, team.developer2, team.viewer];
    for (const u of members) for (let i = 0; i < 3; i++) await open(u);
    await sleep(500);
    const prisma = ctx.app.get(PrismaService);
    const spy = jest.spyOn(prisma, '$queryRaw');
    try {
      await sleep(4_200); // two polls
      // 12 streams of one organisation: the old per-stream polling made ≥ 24 reads here.
      expect(spy.mock.calls.length).toBeLessThanOrEqual(4);
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('should stop a removed member’s stream before the next event reaches it', async () => {
    const team = await createTeam(ctx);
    const cluster = await createCluster(ctx, team.admin, team.org.id, {
      total_ram: 64,
      total_cpu: 64,
    });
    const [removed] = await open(team.developer);
    const [stays] = await open(team.viewer);
    await sleep(300);
    await createDeployment(ctx, team.admin, {
      cluster_id: cluster.id,
      required_ram: 1,
      required_cpu: 1,
    });
    const until = Date.now() + 5_000;
    while ((removed.types.length === 0 || stays.types.length === 0) && Date.now() < until) {
      await sleep(25);
    }
    expect(removed.types.length).toBeGreaterThan(0);
    const before = removed.types.length;

    await ctx
      .http()
      .delete(`/organizations/${team.org.id}/members/${team.developer.id}`)
      .set(team.admin.auth)
      .expect((r) => expect(r.status).toBeLessThan(300));
    const seen = stays.types.length;
    await createDeployment(ctx, team.admin, {
      cluster_id: cluster.id,
      required_ram: 1,
      required_cpu: 1,
    });
    const until2 = Date.now() + 5_000;
    while (stays.types.length === seen && Date.now() < until2) await sleep(25);
    expect(stays.types.length).toBeGreaterThan(seen);
    await sleep(200);
    expect(removed.types.length).toBe(before);
    expect(removed.ended).toBe(true);
  });
});
