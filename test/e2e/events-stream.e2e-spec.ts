import Redis from 'ioredis';
import { EventsStreamController } from '../../src/events/events-stream.controller';
import { startApp, type TestContext } from '../support/app';
import { REDIS_TEST_URL } from '../support/db';
import {
  createCluster,
  createDeployment,
  createTeam,
  createUser,
  type TestUser,
} from '../support/factories';

interface SseEvent {
  id: number;
  event: string;
  data: { id: number; type: string; deployment_id: number; organization_id: number } & Record<
    string,
    unknown
  >;
}

/** A minimal SSE client over fetch: collects events, waits for them, can be closed. */
class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  private readonly abort = new AbortController();

  static async open(
    baseUrl: string,
    user: TestUser,
    query = '',
    headers: Record<string, string> = {},
  ): Promise<{ client: SseClient; res: Response }> {
    const client = new SseClient();
    const res = await fetch(`${baseUrl}/deployments/events/stream${query}`, {
      headers: { ...user.auth, ...headers },
      signal: client.abort.signal,
    });
    if (res.ok) void client.read(res);
    return { client, res };
  }

  async waitFor(pred: (events: SseEvent[]) => boolean, ms = 5_000): Promise<SseEvent[]> {
    const until = Date.now() + ms;
    while (!pred(this.events)) {
      if (Date.now() > until) {
        throw new Error(`timed out; got ${JSON.stringify(this.events.map((e) => e.data.type))}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.events;
  }

  close(): void {
    this.abort.abort();
  }

  private async read(res: Response): Promise<void> {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch {
      // aborted
    }
    this.ended = true;
  }

  private parse(block: string): void {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      const m = /^(\w+): ?(.*)$/.exec(line);
      if (m) fields[m[1]!] = m[2]!;
    }
    if (fields.data === undefined) return;
    this.events.push({
      id: Number(fields.id),
      event: fields.event ?? 'message',
      data: JSON.parse(fields.data) as SseEvent['data'],
    });
  }
}

const kinds = (events: SseEvent[]) => events.map((e) => `${e.event}:${e.data.deployment_id}`);

describe(EventsStreamController.name, () => {
  let a: TestContext;
  let b: TestContext;
  let urlA: string;
  let team: Awaited<ReturnType<typeof createTeam>>;
  const clients: SseClient[] = [];

  const open = async (user: TestUser, query = '', headers: Record<string, string> = {}) => {
    const opened = await SseClient.open(urlA, user, query, headers);
    clients.push(opened.client);
    return opened;
  };

  beforeAll(async () => {
    a = await startApp();
    b = await startApp({ databaseUrl: a.databaseUrl, redisPrefix: a.env.REDIS_PREFIX });
    await a.app.listen(0, '127.0.0.1');
    urlA = await a.app.getUrl();
    team = await createTeam(b);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await b.close();
    await a.close();
  });

  it('should answer with an event stream, not as a deployment id', async () => {
    const { res, client } = await open(team.admin);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toContain('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    client.close();
    // Its one request line is written when the client goes away.
    const until = Date.now() + 3_000;
    const line = () =>
      a.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'request' && l.reqId === res.headers.get('x-request-id'));
    while (!line() && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    expect(line()).toMatchObject({
      route: '/deployments/events/stream',
      status: 200,
      userId: team.admin.id,
      durationMs: expect.any(Number) as number,
    });
  });

  it('should return 401 without a token', async () => {
    const res = await fetch(`${urlA}/deployments/events/stream`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('should return 404 for an organization or cluster of someone else, 422 for a bad Last-Event-ID', async () => {
    const c = await createCluster(b, team.admin, team.org.id, { total_ram: 1, total_cpu: 1 });
    const org = await open(team.outsider, `?organization_id=${team.org.id}`);
    expect(org.res.status).toBe(404);
    expect(((await org.res.json()) as { code: string }).code).toBe('organization/not_found');
    const cluster = await open(team.outsider, `?cluster_id=${c.id}`);
    expect(cluster.res.status).toBe(404);
    expect(((await cluster.res.json()) as { code: string }).code).toBe('cluster/not_found');
    const bad = await open(team.admin, '', { 'Last-Event-ID': 'abc' });
    expect(bad.res.status).toBe(422);
    await bad.res.body?.cancel();
  });

  it('should deliver placements and preemptions made through another instance, and replay after Last-Event-ID', async () => {
    const { client: adminStream } = await open(team.admin);
    const { client: viewerStream } = await open(team.viewer, `?organization_id=${team.org.id}`);
    const { client: outsiderStream } = await open(team.outsider);
    const c = await createCluster(b, team.admin, team.org.id, { total_ram: 4, total_cpu: 4 });
    const other = await createCluster(b, team.admin, team.org.id, { total_ram: 4, total_cpu: 4 });
    const { client: clusterStream } = await open(team.admin, `?cluster_id=${other.id}`);

    const published: string[] = [];
    const sub = new Redis(REDIS_TEST_URL);
    await sub.subscribe(`${a.env.REDIS_PREFIX}:deployment-events`);
    sub.on('message', (_ch: string, msg: string) => published.push(msg));

    const low = await createDeployment(b, team.developer, {
      cluster_id: c.id,
      required_ram: 4,
      required_cpu: 4,
      priority: 0,
    });
    const high = await createDeployment(b, team.admin, {
      cluster_id: c.id,
      required_ram: 4,
      required_cpu: 4,
      priority: 10,
    });
    expect(high.status).toBe('running');

    const expected = [
      `queued:${low.id}`,
      `placed:${low.id}`,
      `queued:${high.id}`,
      `preempted:${low.id}`,
      `placed:${high.id}`,
    ];
    const events = await adminStream.waitFor((e) => e.length >= 5);
    expect(kinds(events).sort()).toEqual([...expected].sort());
    expect(kinds(events.slice(0, 3))).toEqual(expected.slice(0, 3));
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(events.every((e) => e.id === e.data.id && e.event === e.data.type)).toBe(true);
    expect(events.find((e) => e.event === 'preempted')!.data).toMatchObject({
      deployment_id: low.id,
      organization_id: team.org.id,
      cluster_id: c.id,
      from_status: 'running',
      to_status: 'pending',
      actor: 'scheduler',
      code: 'preempted',
      priority: 0,
    });
    expect(kinds(await viewerStream.waitFor((e) => e.length >= 5))).toEqual(kinds(events));
    expect(published).toContain(JSON.stringify({ organizationId: team.org.id }));
    await sub.quit();

    // Resume after the first placement: exactly what came after it, in order.
    const firstPlaced = events.find((e) => e.event === 'placed')!;
    const after = events.filter((e) => e.id > firstPlaced.id);
    const { client: resumed } = await open(team.admin, '', {
      'Last-Event-ID': String(firstPlaced.id),
    });
    await resumed.waitFor((e) => e.length >= after.length);
    const { client: byQuery } = await open(team.admin, `?last_event_id=${firstPlaced.id}`);
    await byQuery.waitFor((e) => e.length >= after.length);
    // A fresh connection without Last-Event-ID starts with new events only.
    const { client: fresh } = await open(team.admin);

    await b.http().post(`/deployments/${high.id}/complete`).set(team.admin.auth).expect(200);
    const tail = [`completed:${high.id}`, `placed:${low.id}`];
    await adminStream.waitFor((e) => e.length >= 7);
    await resumed.waitFor((e) => e.length >= after.length + 2);
    await fresh.waitFor((e) => e.length >= 2);
    expect(kinds(adminStream.events.slice(5))).toEqual(tail);
    expect(resumed.events.map((e) => e.id)).toEqual(
      adminStream.events.filter((e) => e.id > firstPlaced.id).map((e) => e.id),
    );
    expect(byQuery.events.slice(0, after.length).map((e) => e.id)).toEqual(after.map((e) => e.id));
    expect(kinds(fresh.events)).toEqual(tail);

    // Filters and organisations: the other cluster saw nothing, the outsider nothing at all.
    await createDeployment(b, team.admin, {
      cluster_id: other.id,
      required_ram: 1,
      required_cpu: 1,
    });
    const onOther = await clusterStream.waitFor((e) => e.length >= 2);
    expect(onOther.every((e) => e.data.cluster_id === other.id)).toBe(true);
    expect(kinds(onOther).map((k) => k.split(':')[0])).toEqual(['queued', 'placed']);
    await adminStream.waitFor((e) => e.length >= 9);
    expect(outsiderStream.events).toEqual([]);
  });

  it('should end open streams when the app shuts down', async () => {
    const c = await startApp();
    await c.app.listen(0, '127.0.0.1');
    const user = await createUser(c);
    const { client, res } = await SseClient.open(await c.app.getUrl(), user);
    expect(res.status).toBe(200);
    await c.close();
    const until = Date.now() + 2_000;
    while (!client.ended && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    expect(client.ended).toBe(true);
  });
});
