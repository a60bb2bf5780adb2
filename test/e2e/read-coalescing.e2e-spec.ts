import { PrismaService } from '../../src/prisma/prisma.service';
import { startApp, type TestContext } from '../support/app';
import {
  addMember,
  createCluster,
  createOrg,
  createUser,
  type TestUser,
} from '../support/factories';
import { withClient } from '../support/ledger';

interface Sample {
  sentAt: number;
  /** What the test distinguishes: the status, or a label of the answer. */
  outcome: string;
}

/**
 * Keeps `workers` requests in flight on one replica (each worker sends its next request as soon
 * as the previous one answered) until stop() is called; records when each was sent and its status.
 */
function load(
  send: (i: number) => Promise<{ status: number; body?: unknown }>,
  workers = 8,
  label = (res: { status: number; body?: unknown }) => String(res.status),
) {
  const samples: Sample[] = [];
  let running = true;
  let n = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const sentAt = performance.now();
      const res = await send(n++);
      samples.push({ sentAt, outcome: label(res) });
    }
  });
  return {
    samples,
    /** Requests sent so far. */
    sent: () => n,
    /** Resolves once `count` more requests have been sent than when called. */
    async sendMore(count: number) {
      const target = n + count;
      while (n < target) await new Promise((r) => setTimeout(r, 5));
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Issue 9: identity, role, cluster-resources and queue-metrics reads are coalesced (concurrent
 * requests share one statement, FreshReadCoalescer) but never answered from a read that started
 * before the request arrived. Under a constant stream of concurrent requests on replica B, a
 * change committed through replica A (or the database) binds on every request B receives after
 * the change returned, and the batches really were shared (fewer statements than requests).
 */
describe('Fresh-read coalescing across replicas (e2e)', () => {
  let a: TestContext;
  let b: TestContext;

  beforeAll(async () => {
    a = await startApp({ env: { SCHEDULER_WORKER: 'false' } });
    b = await startApp({
      env: { SCHEDULER_WORKER: 'false' },
      databaseUrl: a.databaseUrl,
      redisPrefix: a.env.REDIS_PREFIX,
    });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  /**
   * Runs `after` once each raw statement of replica B has been answered by PostgreSQL, before
   * the caller gets the rows. (The spy sits on the client's shared method: replica A's
   * statements pass through untouched.)
   */
  function onBReads(after: () => Promise<void>) {
    const prisma = b.app.get(PrismaService);
    const raw = prisma.$queryRaw;
    return jest.spyOn(prisma, '$queryRaw').mockImplementation(function (
      this: unknown,
      ...args: Parameters<typeof raw>
    ) {
      const rows = raw.apply(this, args);
      return (this === prisma ? rows.then(async (r) => (await after(), r)) : rows) as typeof rows;
    });
  }

  /**
   * Counts the raw statements replica B sends while `fn` runs. Each result is held `holdMs`
   * after PostgreSQL answered: a read's snapshot then stays in flight long enough that a change
   * committed meanwhile is certain to overlap it, so a request that joined a read already in
   * flight (instead of the next one) would be answered from before the change.
   */
  async function statementsOnB<T>(
    fn: () => Promise<T>,
    holdMs = 0,
  ): Promise<{ result: T; statements: number }> {
    let statements = 0;
    const spy = onBReads(async () => {
      statements++;
      if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
    });
    try {
      const result = await fn();
      return { result, statements };
    } finally {
      spy.mockRestore();
    }
  }

  function expectCutOver(samples: Sample[], changedAt: number, before: string, after: string) {
    const sentAfter = samples.filter((s) => s.sentAt > changedAt);
    const sentBefore = samples.filter((s) => s.sentAt <= changedAt);
    expect(sentAfter.length).toBeGreaterThanOrEqual(20);
    expect(sentAfter.filter((s) => s.outcome !== after)).toEqual([]);
    // Before the change every answer was the old one, except requests in flight across it.
    expect(sentBefore.filter((s) => s.outcome === before).length).toBeGreaterThanOrEqual(10);
    expect(sentBefore.filter((s) => s.outcome !== before && s.outcome !== after)).toEqual([]);
  }

  it('should refuse on B every request sent after a removal on A returned, under concurrent load', async () => {
    const admin = await createUser(a, 'admin');
    const dev = await createUser(a, 'dev');
    const org = await createOrg(a, admin);
    await addMember(a, org, admin, dev, 'developer');
    const cluster = await createCluster(a, admin, org.id, { total_ram: 8, total_cpu: 4 });
    const paths = [`/clusters/${cluster.id}/resources`, `/organizations/${org.id}/members`];

    const { result, statements } = await statementsOnB(async () => {
      const l = load((i) =>
        b
          .http()
          .get(paths[i % 2]!)
          .set(dev.auth),
      );
      await l.sendMore(40);
      await a
        .http()
        .delete(`/organizations/${org.id}/members/${dev.id}`)
        .set(admin.auth)
        .expect(204);
      const removedAt = performance.now();
      await l.sendMore(40);
      await l.stop();
      return { samples: l.samples, removedAt };
    }, 15);
    expectCutOver(result.samples, result.removedAt, '200', '404');
    // Each request needs two reads (identity, then role or resources): shared statements only.
    expect(statements).toBeLessThan(2 * result.samples.length);
  });

  it('should refuse on B every request sent after a demotion on A returned, under concurrent load', async () => {
    const admin = await createUser(a, 'admin');
    const other = await createUser(a, 'admin2');
    const org = await createOrg(a, admin);
    await addMember(a, org, admin, other, 'admin');
    // GET /organizations/{id} shows the invite code to admins only: the role as read for the request.
    const l = load(
      () => b.http().get(`/organizations/${org.id}`).set(other.auth),
      8,
      (res) => `${res.status} ${'invite_code' in (res.body as object) ? 'admin' : 'not admin'}`,
    );
    const { result: demotedAt } = await statementsOnB(async () => {
      await l.sendMore(30);
      await a
        .http()
        .patch(`/organizations/${org.id}/members/${other.id}`)
        .set(admin.auth)
        .send({ role: 'viewer' })
        .expect(200);
      const at = performance.now();
      await l.sendMore(30);
      await l.stop();
      return at;
    }, 15);
    expectCutOver(l.samples, demotedAt, '200 admin', '200 not admin');
    const rotate = await b
      .http()
      .post(`/organizations/${org.id}/invite_code`)
      .set(other.auth)
      .expect(403);
    expect(rotate.body.code).toBe('organization/insufficient_role');
  });

  it('should refuse on B a user deactivated (then one deleted) in the database, from the next request', async () => {
    const users: TestUser[] = [
      await createUser(a, 'soon_inactive'),
      await createUser(a, 'soon_gone'),
    ];
    const cut = async (user: TestUser, sql: string) => {
      const l = load(() => b.http().get('/users/me').set(user.auth));
      const { result: changedAt } = await statementsOnB(async () => {
        await l.sendMore(30);
        await withClient(a.databaseUrl, (c) => c.query(sql, [user.id]));
        const at = performance.now();
        await l.sendMore(30);
        await l.stop();
        return at;
      }, 15);
      expectCutOver(l.samples, changedAt, '200', '401');
    };
    await cut(users[0]!, 'UPDATE users SET is_active = false WHERE id = $1');
    await cut(users[1]!, 'DELETE FROM users WHERE id = $1');
  });

  it('should show on B, at once, a deployment created through A while B serves the same metrics', async () => {
    const admin = await createUser(a, 'admin');
    const org = await createOrg(a, admin);
    const cluster = await createCluster(a, admin, org.id, { total_ram: 64, total_cpu: 64 });
    const metrics = `/deployments/queue/metrics?organization_id=${org.id}`;
    const resources = `/clusters/${cluster.id}/resources`;
    // Constant concurrent readers of the same organisation's metrics and cluster on B.
    const l = load(
      (i) =>
        b
          .http()
          .get(i % 2 ? metrics : resources)
          .set(admin.auth),
      6,
    );
    await l.sendMore(10);
    const sentBefore = l.sent();
    const { result: sentDuring, statements } = await statementsOnB(async () => {
      for (let i = 1; i <= 8; i++) {
        await a
          .http()
          .post('/deployments/')
          .set(admin.auth)
          .send({
            name: `ryw-${i}`,
            docker_image: 'nginx:1.27',
            cluster_id: cluster.id,
            required_ram: 1,
            required_cpu: 1,
          })
          .expect(201);
        const [m, r] = await Promise.all([
          b.http().get(metrics).set(admin.auth).expect(200),
          b.http().get(resources).set(admin.auth).expect(200),
        ]);
        const counts = m.body.counts_by_status as { pending: number; running: number };
        expect(counts.pending + counts.running).toBe(i);
        const c = r.body as { running_deployments: number; pending_deployments: number };
        expect(c.running_deployments + c.pending_deployments).toBe(i);
      }
      await l.sendMore(20);
      return l.sent() - sentBefore + 16;
    }, 15);
    await l.stop();
    expect(l.samples.filter((s) => s.outcome !== '200')).toEqual([]);
    // Each request on B needs at least two reads (identity, then resources or role + metrics).
    expect(statements).toBeLessThan(2 * sentDuring);
  });
});
