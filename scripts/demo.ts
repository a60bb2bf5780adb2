/**
 * A live tour of Berth against a running server:
 *
 *   npm run demo -- [--url http://localhost:8000] [--duration 60] [--seed 42]
 *
 * Signs up two fresh users (an operator who owns a new organisation and submits the workload, and
 * a dashboard user who only reads), creates three clusters of different sizes (one with GPUs),
 * submits a mixed workload (priorities 0/100/500, pinned and unpinned, a dependency chain, urgent
 * arrivals that preempt) and completes running deployments at random. Meanwhile it draws a live
 * view: cluster utilization from GET /clusters/{id}/resources, the queue from
 * GET /deployments/queue/metrics, and the last placements/preemptions from the SSE stream
 * GET /deployments/events/stream.
 *
 * The server needs no special settings: each user stays under the default rate limit
 * (100 requests per minute per user) with a client-side budget of 85 per rolling minute, and
 * waits out a 429 if one happens anyway.
 */
import { randomBytes } from 'node:crypto';
import type { ReadableStreamDefaultReader } from 'node:stream/web';

// ---------------------------------------------------------------- arguments

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

const BASE = arg('url', 'http://localhost:8000').replace(/\/+$/, '');
const DURATION_S = Math.max(10, Number(arg('duration', '60')));
const SEED = Number(arg('seed', String(Math.floor(Math.random() * 1e6))));
const TTY = process.stdout.isTTY === true;
const BUDGET_PER_MINUTE = 85;

// ---------------------------------------------------------------- helpers

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const between = (lo: number, hi: number, step = 0.5): number =>
  Math.round((lo + rand() * (hi - lo)) / step) * step;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
let t0 = Date.now();
const elapsed = (): number => (Date.now() - t0) / 1000;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { code?: string; detail?: string } | undefined,
  ) {
    super(`${status} ${body?.code ?? ''} ${body?.detail ?? ''}`.trim());
  }
}

/** One user's HTTP client: bearer token, a rolling-minute request budget, 429 back-off. */
class Client {
  token = '';
  requests = 0;
  throttled = 0;
  private readonly sent: number[] = [];

  constructor(readonly label: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (;;) {
      await this.budget();
      const res = await fetch(`${BASE}${path}`, {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      this.requests++;
      if (res.status === 429) {
        this.throttled++;
        await sleep(Number(res.headers.get('retry-after') ?? '5') * 1000);
        continue;
      }
      const text = await res.text();
      const json = text ? (JSON.parse(text) as unknown) : undefined;
      if (!res.ok) throw new ApiError(res.status, json as ApiError['body']);
      return json as T;
    }
  }

  async signUp(prefix: string): Promise<void> {
    const username = `${prefix}_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('base64url');
    await this.call('POST', '/users/', { email: `${username}@demo.example`, username, password });
    const t = await this.call<{ access_token: string }>('POST', '/token', { username, password });
    this.token = t.access_token;
  }

  /** At most BUDGET_PER_MINUTE requests in any 60 s window (the server allows 100 by default). */
  private async budget(): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.sent.length > 0 && this.sent[0]! <= now - 60_000) this.sent.shift();
      if (this.sent.length < BUDGET_PER_MINUTE) {
        this.sent.push(now);
        return;
      }
      await sleep(this.sent[0]! + 60_000 - now + 5);
    }
  }
}

// ---------------------------------------------------------------- API shapes

interface Cluster {
  id: number;
  name: string;
  total_ram: number;
  total_cpu: number;
  total_gpu: number;
}
interface Resources {
  cluster_id: number;
  allocated_ram: number;
  allocated_cpu: number;
  allocated_gpu: number;
  utilization: { ram: number; cpu: number; gpu: number };
  running_deployments: number;
  pending_deployments: number;
}
interface QueueMetrics {
  counts_by_status: Record<'pending' | 'running' | 'completed' | 'failed' | 'cancelled', number>;
  pending_by_priority: { priority: number; count: number }[];
  oldest_pending_age_seconds: number | null;
  wait_time_seconds: {
    p50: number | null;
    p90: number | null;
    p99: number | null;
    samples: number;
  };
  preemptions_total: number;
  clusters: { cluster_id: number; utilization: { ram: number; cpu: number; gpu: number } }[];
  scheduler: { last_pass_duration_ms: number | null; last_pass_placements: number | null };
}
interface StreamEvent {
  id: number;
  type: string;
  deployment_id: number;
  deployment_name: string;
  priority: number;
  cluster_id: number | null;
  reason: string | null;
  created_at: string;
}
interface Deployment {
  id: number;
  status: string;
  created_at: string;
}

// ---------------------------------------------------------------- shared state

const ops = new Client('operator');
const dash = new Client('dashboard');
let orgId = 0;
let clusters: Cluster[] = [];
const resources = new Map<number, Resources>();
let queue: QueueMetrics | undefined;
const feed: string[] = [];
const counts = { submitted: 0, placed: 0, preempted: 0, completed: 0, failed: 0, rejected: 0 };
/** Running deployments (from the stream) and when each may finish. */
const running = new Map<number, { name: string; doneAt: number }>();
const createdAt = new Map<number, number>();
/** When each deployment was first placed (event time), for the mean wait. */
const firstPlaced = new Map<number, number>();
let streamConnected = false;
let finished = false;
let lastEventId: number | undefined;

// ---------------------------------------------------------------- the SSE feed

function clusterName(id: number | null): string {
  return clusters.find((c) => c.id === id)?.name ?? (id === null ? '-' : `#${id}`);
}

function onEvent(e: StreamEvent): void {
  lastEventId = e.id;
  const time = new Date(e.created_at).toISOString().slice(11, 19);
  const who = `#${e.deployment_id} ${e.deployment_name} (p${e.priority})`;
  if (e.type === 'placed') {
    counts.placed++;
    running.set(e.deployment_id, {
      name: e.deployment_name,
      doneAt: Date.now() + between(4, 14, 1) * 1000,
    });
    if (!firstPlaced.has(e.deployment_id))
      firstPlaced.set(e.deployment_id, Date.parse(e.created_at));
    feed.push(`${time}  ${paint('32', 'placed   ')} ${who} on ${clusterName(e.cluster_id)}`);
  } else if (e.type === 'preempted') {
    counts.preempted++;
    running.delete(e.deployment_id);
    feed.push(
      `${time}  ${paint('31', 'preempted')} ${who} from ${clusterName(e.cluster_id)}: ${e.reason ?? ''}`,
    );
  } else if (e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled') {
    running.delete(e.deployment_id);
    if (e.type === 'completed') counts.completed++;
    if (e.type === 'failed') {
      counts.failed++;
      feed.push(`${time}  ${paint('33', 'failed   ')} ${who}: ${e.reason ?? ''}`);
    }
  }
  while (feed.length > 10) feed.shift();
}

/** Reads the stream as the dashboard user; reconnects with Last-Event-ID if it drops. */
async function followStream(abort: AbortSignal): Promise<void> {
  while (!abort.aborted) {
    try {
      const res = await fetch(`${BASE}/deployments/events/stream?organization_id=${orgId}`, {
        headers: {
          authorization: `Bearer ${dash.token}`,
          ...(lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) }),
        },
        signal: abort,
      });
      dash.requests++;
      if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`);
      streamConnected = true;
      const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block
            .split('\n')
            .find((l) => l.startsWith('data: '))
            ?.slice(6);
          if (data) onEvent(JSON.parse(data) as StreamEvent);
        }
      }
    } catch {
      // Dropped or aborted: reconnect below unless stopping.
    }
    streamConnected = false;
    if (!abort.aborted) await sleep(1_000);
  }
}

// ---------------------------------------------------------------- the dashboard poller

/** One request per second: the queue every other second, the clusters in turn in between. */
async function poll(abort: AbortSignal): Promise<void> {
  for (let tick = 0; !abort.aborted; tick++) {
    const started = Date.now();
    try {
      if (tick % 2 === 0) {
        queue = await dash.call<QueueMetrics>(
          'GET',
          `/deployments/queue/metrics?organization_id=${orgId}`,
        );
      } else {
        const c = clusters[Math.floor(tick / 2) % clusters.length]!;
        resources.set(c.id, await dash.call<Resources>('GET', `/clusters/${c.id}/resources`));
      }
    } catch {
      // The view keeps the last values; the next tick retries.
    }
    await sleep(Math.max(0, 1_000 - (Date.now() - started)));
  }
}

// ---------------------------------------------------------------- the workload

interface Spec {
  name: string;
  image: string;
  ram: number;
  cpu: number;
  gpu?: number;
  priority: number;
  pin?: string;
  dependsOn?: number[];
}

const SERVICES = ['api-gateway', 'billing', 'search', 'checkout', 'auth', 'notifier'];
const BATCH = ['etl-orders', 'report-daily', 'thumbnailer', 'log-compactor', 'backfill'];
const TRAINING = ['train-resnet', 'finetune-llm', 'embed-corpus'];

function randomSpec(urgent: boolean): Spec {
  const roll = rand();
  if (urgent) {
    return {
      name: `hotfix-${pick(SERVICES)}`,
      image: 'ghcr.io/acme/hotfix:1.0',
      ram: between(4, 12, 2),
      cpu: between(2, 6, 1),
      priority: 500,
      pin: rand() < 0.6 ? pick(['small', 'medium']) : undefined,
    };
  }
  if (roll < 0.2) {
    return {
      name: pick(TRAINING),
      image: 'pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime',
      ram: between(16, 48, 4),
      cpu: between(4, 16, 2),
      gpu: pick([1, 1, 2]),
      priority: pick([0, 100]),
    };
  }
  if (roll < 0.55) {
    return {
      name: pick(SERVICES),
      image: 'nginx:1.27',
      ram: between(1, 6),
      cpu: between(0.5, 3),
      priority: 100,
      pin: rand() < 0.4 ? pick(['small', 'medium']) : undefined,
    };
  }
  return {
    name: pick(BATCH),
    image: 'python:3.12-slim',
    ram: between(4, 24, 2),
    cpu: between(2, 10, 1),
    priority: 0,
    pin: rand() < 0.3 ? pick(['medium', 'gpu']) : undefined,
  };
}

async function submit(spec: Spec): Promise<number | undefined> {
  const pinned = spec.pin === undefined ? undefined : clusters.find((c) => c.name === spec.pin);
  try {
    const d = await ops.call<Deployment>('POST', '/deployments/', {
      name: spec.name,
      docker_image: spec.image,
      ...(pinned ? { cluster_id: pinned.id } : { organization_id: orgId }),
      priority: spec.priority,
      required_ram: spec.ram,
      required_cpu: spec.cpu,
      required_gpu: spec.gpu ?? 0,
      ...(spec.dependsOn ? { depends_on: spec.dependsOn } : {}),
    });
    counts.submitted++;
    createdAt.set(d.id, Date.parse(d.created_at));
    return d.id;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    counts.rejected++;
    return undefined;
  }
}

/** The running deployment longest past its planned end, if any. */
function dueToFinish(): number | undefined {
  let best: [number, number] | undefined;
  for (const [id, r] of running) {
    if (r.doneAt <= Date.now() && (!best || r.doneAt < best[1])) best = [id, r.doneAt];
  }
  return best?.[0];
}

async function workload(): Promise<void> {
  // A first wave that fills the clusters, and a dependency chain extract → transform → load.
  for (let i = 0; i < 16; i++) await submit(randomSpec(false));
  const extract = await submit({
    name: 'etl-extract',
    image: 'python:3.12-slim',
    ram: 4,
    cpu: 2,
    priority: 100,
  });
  const transform =
    extract &&
    (await submit({
      name: 'etl-transform',
      image: 'python:3.12-slim',
      ram: 8,
      cpu: 4,
      priority: 100,
      dependsOn: [extract],
    }));
  if (transform) {
    await submit({
      name: 'etl-load',
      image: 'python:3.12-slim',
      ram: 2,
      cpu: 1,
      priority: 100,
      dependsOn: [transform],
    });
  }
  // Then one action about every 0.8 s: a new arrival (1 in 6 urgent) or a completion.
  const submitUntil = DURATION_S * 0.8;
  let nextArrival = elapsed() + between(1, 3);
  while (elapsed() < DURATION_S) {
    const started = Date.now();
    const due = dueToFinish();
    if (elapsed() >= nextArrival && elapsed() < submitUntil) {
      await submit(randomSpec(rand() < 1 / 6));
      nextArrival = elapsed() + between(0.6, 1.8, 0.2);
    } else if (due !== undefined) {
      try {
        await ops.call('POST', `/deployments/${due}/complete`);
      } catch {
        // Preempted or finished meanwhile.
      }
      running.delete(due);
    }
    await sleep(Math.max(0, 800 - (Date.now() - started)));
  }
}

// ---------------------------------------------------------------- drawing

function paint(code: string, s: string): string {
  return TTY ? `\x1b[${code}m${s}\x1b[0m` : s;
}

function bar(ratio: number | undefined, width = 16): string {
  if (ratio === undefined) return `${' '.repeat(width)}   - `;
  const n = Math.round(Math.min(1, Math.max(0, ratio)) * width);
  const color = ratio > 0.9 ? '31' : ratio > 0.6 ? '33' : '32';
  return `${paint(color, '█'.repeat(n))}${paint('90', '░'.repeat(width - n))} ${String(Math.round(ratio * 100)).padStart(3)}%`;
}

const secs = (s: number | null | undefined): string => (s == null ? '-' : `${s.toFixed(1)} s`);

function frame(): string {
  const lines: string[] = [];
  const t = `${Math.floor(elapsed())}`.padStart(3);
  lines.push(
    `${paint('1', 'Berth live demo')}  ${BASE}  org #${orgId}  ${t}/${DURATION_S} s  seed ${SEED}  ` +
      `stream ${streamConnected ? paint('32', 'connected') : finished ? 'closed' : paint('31', 'reconnecting')}`,
  );
  lines.push('');
  lines.push(paint('1', 'Clusters') + paint('90', '  (GET /clusters/{id}/resources)'));
  for (const c of clusters) {
    const r = resources.get(c.id);
    const u = r?.utilization ?? queue?.clusters.find((q) => q.cluster_id === c.id)?.utilization;
    const size = `${c.total_ram} GiB/${c.total_cpu} cpu/${c.total_gpu} gpu`;
    lines.push(
      `  ${c.name.padEnd(7)} ${size.padEnd(22)} ram ${bar(u?.ram)}  cpu ${bar(u?.cpu)}  gpu ${c.total_gpu > 0 ? bar(u?.gpu, 8) : '   n/a      '}` +
        `  run ${String(r?.running_deployments ?? '-').padStart(2)} pinned-pending ${r?.pending_deployments ?? '-'}`,
    );
  }
  lines.push('');
  lines.push(paint('1', 'Queue') + paint('90', '  (GET /deployments/queue/metrics)'));
  if (queue) {
    const s = queue.counts_by_status;
    lines.push(
      `  pending ${s.pending}  running ${s.running}  completed ${s.completed}  failed ${s.failed}  ` +
        `cancelled ${s.cancelled}  preemptions ${queue.preemptions_total}  oldest pending ${secs(queue.oldest_pending_age_seconds)}`,
    );
    const max = Math.max(1, ...queue.pending_by_priority.map((p) => p.count));
    for (const p of queue.pending_by_priority) {
      lines.push(
        `  priority ${String(p.priority).padStart(4)} ${paint('36', '▇'.repeat(Math.ceil((p.count / max) * 20)))} ${p.count}`,
      );
    }
    if (queue.pending_by_priority.length === 0) lines.push('  (nothing pending)');
    const w = queue.wait_time_seconds;
    lines.push(
      `  wait p50 ${secs(w.p50)}  p90 ${secs(w.p90)}  p99 ${secs(w.p99)} (${w.samples} started)  ·  ` +
        `last pass ${queue.scheduler.last_pass_duration_ms?.toFixed(1) ?? '-'} ms, ${queue.scheduler.last_pass_placements ?? '-'} placed`,
    );
  } else {
    lines.push('  …');
  }
  lines.push('');
  lines.push(
    paint('1', 'Placements and preemptions') +
      paint('90', '  (SSE GET /deployments/events/stream)'),
  );
  for (const f of feed) lines.push(`  ${f}`);
  for (let i = feed.length; i < 10; i++) lines.push('');
  lines.push('');
  lines.push(
    paint(
      '90',
      `requests: operator ${ops.requests}, dashboard ${dash.requests} (budget ${BUDGET_PER_MINUTE}/min each; 429s: ${ops.throttled + dash.throttled})`,
    ),
  );
  return lines.join('\n');
}

function draw(): void {
  if (TTY)
    process.stdout.write(
      `\x1b[H${frame()
        .split('\n')
        .map((l) => `${l}\x1b[K`)
        .join('\n')}\x1b[J`,
    );
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  process.stdout.write(`Berth demo against ${BASE} for ${DURATION_S} s (seed ${SEED})\n`);
  await ops.signUp('demo_ops');
  await dash.signUp('demo_dash');
  const org = await ops.call<{ id: number; invite_code: string }>('POST', '/organizations/', {
    name: `demo-${randomBytes(3).toString('hex')}`,
  });
  orgId = org.id;
  await dash.call('POST', `/organizations/${org.invite_code}/join`);
  for (const [name, ram, cpu, gpu] of [
    ['small', 12, 6, 0],
    ['medium', 48, 24, 0],
    ['gpu', 96, 32, 4],
  ] as const) {
    clusters.push(
      await ops.call<Cluster>('POST', '/clusters/', {
        name,
        organization_id: orgId,
        total_ram: ram,
        total_cpu: cpu,
        total_gpu: gpu,
      }),
    );
  }
  clusters = clusters.sort((a, b) => a.id - b.id);

  t0 = Date.now();
  const abort = new AbortController();
  const stream = followStream(abort.signal);
  while (!streamConnected) await sleep(50);
  const poller = poll(abort.signal);
  if (TTY) process.stdout.write('\x1b[?25l\x1b[2J');
  const painter = setInterval(draw, 250);
  // Without a terminal (e.g. piped to a file), print a plain frame every 10 s instead.
  const printer = TTY
    ? undefined
    : setInterval(() => process.stdout.write(`\n${frame()}\n`), 10_000);
  const restore = () => TTY && process.stdout.write('\x1b[?25h');
  process.on('SIGINT', () => {
    restore();
    process.exit(130);
  });

  await workload();
  finished = true;
  await sleep(1_500); // let the last events arrive
  clearInterval(painter);
  if (printer) clearInterval(printer);
  abort.abort();
  await Promise.allSettled([stream, poller]);
  queue = await dash.call<QueueMetrics>(
    'GET',
    `/deployments/queue/metrics?organization_id=${orgId}`,
  );
  draw();
  if (!TTY) process.stdout.write(`\n${frame()}\n`);
  restore();

  // The placed event can arrive before the POST returns: join the two maps only now.
  const waits = [...firstPlaced].flatMap(([id, at]) => {
    const created = createdAt.get(id);
    return created === undefined ? [] : [(at - created) / 1000];
  });
  const mean = waits.length ? waits.reduce((a, b) => a + b, 0) / waits.length : null;
  const s = queue.counts_by_status;
  const w = queue.wait_time_seconds;
  process.stdout.write(
    [
      '',
      '',
      paint('1', `Summary (${Math.round(elapsed())} s, seed ${SEED}, organisation #${orgId})`),
      `  submitted      ${counts.submitted} deployments (${counts.rejected} rejected)`,
      `  placed         ${counts.placed} placements (incl. re-placements after preemption)`,
      `  preempted      ${counts.preempted}`,
      `  completed      ${counts.completed}`,
      `  now            ${s.running} running, ${s.pending} pending, ${s.failed} failed, ${s.cancelled} cancelled`,
      `  wait to first start: mean ${secs(mean)} (${waits.length} deployments, from the stream); ` +
        `queue metrics p50 ${secs(w.p50)}, p90 ${secs(w.p90)}, p99 ${secs(w.p99)}`,
      `  requests       operator ${ops.requests}, dashboard ${dash.requests}; throttled ${ops.throttled + dash.throttled}`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  if (TTY) process.stdout.write('\x1b[?25h');
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`\ndemo failed: ${msg}\n`);
  if (/fetch failed|ECONNREFUSED/.test(`${msg} ${String((err as { cause?: unknown })?.cause)}`)) {
    process.stderr.write(
      `Is the server running at ${BASE}? (npm run build && npm run start:prod)\n`,
    );
  }
  process.exit(1);
});
