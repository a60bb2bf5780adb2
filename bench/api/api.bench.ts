import { randomBytes } from 'node:crypto';
/**
 * HTTP throughput and latency of the production build, measured with autocannon.
 *
 *   npm run build && npm run bench:api -- [--duration 10] [--connections 10,50] [--sizes full|small]
 *                                         [--rows 100000] [--dist dist] [--profile] [--json]
 *                                         [--only health,me,resources,metrics,create-pinned,create-unpinned]
 *                                         [--keep-db] [--port N]
 *
 * Starts `node <dist>/main.js` (NODE_ENV=production, LOG_LEVEL=warn, rate limits out of the way)
 * on a free port against a scratch database (migrated with the project's migrator) and a unique
 * Redis prefix, with the BullMQ worker and its periodic pass on, as in production.
 * Seeds through HTTP: an admin and 4 developers in one organisation, 4 clusters. Then seeds
 * --rows deployments with SQL for the metrics endpoint: 1% running (the clusters' available
 * capacity debited to match), 0.2% pending (low-priority pinned GPU work, queued in the last 2
 * minutes, on a cluster whose GPUs are all taken by priority-1000 work, so it stays pending), the
 * rest completed / failed / cancelled over the last 30 days with start delays and run times (≈ 140 started in the last hour).
 * Scenarios, in this order, each at every connection count for --duration seconds:
 *   GET /health                        no auth, no database: the reference for the ratios
 *   GET /users/me                      JWT guard + the caller's row
 *   GET /clusters/{id}/resources       rotating the 4 clusters
 *   GET /deployments/queue/metrics     over --rows deployments
 *   POST /deployments/ pinned          rotating the 5 users' tokens and the 4 clusters
 *   POST /deployments/ unpinned        rotating the 5 users' tokens; small requirements, so every
 *                                      create fits and should be running
 * Reported: req/s (2xx and others), p50 / p99 latency, non-2xx, req/s ÷ GET /users/me at the same
 * connection count, and the issue's targets as ratios measured in the same run (the machine is
 * shared): /users/me ≥ 50% of /health, resources ≥ 80% of /users/me, metrics and creates ≥ 50% of
 * /users/me with p99 < 50 ms at 10 connections. After the run it checks the ledger invariant on
 * every cluster and counts the benchmark's creates that are not running.
 * Each scenario starts with an unrecorded warm-up of duration/5 seconds.
 * small = 2 s, 1k rows, 10 connections (CI smoke).
 * --profile runs the server under `node --cpu-prof` and prints its top self-time functions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { createMigratedDatabase, dropDatabase, scratchName } from '../pass/scratch-db';
import { Args, machineInfo, machineLine, markdownTable } from '../lib/report';
import { summarizeProfile } from './profile-summary';
import { stopProcess } from '../lib/processes';

const REDIS_URL =
  process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const ROOT = resolve(__dirname, '..', '..');
const TARGET_P99_MS = 50;

interface Scenario {
  /** For --only: me, resources, metrics, create. */
  key: string;
  name: string;
  method: 'GET' | 'POST';
  /** Builds the requests autocannon rotates through. */
  requests: () => autocannon.Request[];
}

interface Row {
  scenario: string;
  connections: number;
  rps: number;
  rps2xx: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  ratio: number;
  target: string;
}

interface Seeded {
  tokens: string[];
  orgId: number;
  clusterIds: number[];
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function http<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function waitReady(base: string, server: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited early:\n${output()}`);
    try {
      const r = await fetch(`${base}/health/ready`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server not ready after 60 s:\n${output()}`);
}

/** Users, organisation and clusters through the API, as a client would create them. */
async function seedHttp(base: string): Promise<Seeded> {
  const password = 'bench-password-1';
  const users = ['admin', 'dev1', 'dev2', 'dev3', 'dev4'];
  const tokens: string[] = [];
  for (const u of users) {
    await http(base, 'POST', '/users/', { email: `${u}@bench.example.com`, username: u, password });
    const t = await http<{ access_token: string }>(base, 'POST', '/token', {
      username: u,
      password,
    });
    tokens.push(t.access_token);
  }
  const admin = tokens[0]!;
  const org = await http<{ id: number; invite_code: string }>(
    base,
    'POST',
    '/organizations/',
    { name: 'bench' },
    admin,
  );
  for (const t of tokens.slice(1)) {
    await http(base, 'POST', `/organizations/${org.invite_code}/join`, undefined, t);
  }
  const clusterIds: number[] = [];
  for (let i = 0; i < 4; i++) {
    const c = await http<{ id: number }>(
      base,
      'POST',
      '/clusters/',
      {
        name: `bench-${i + 1}`,
        organization_id: org.id,
        total_cpu: 4000,
        total_ram: 16000,
        total_gpu: i === 0 ? 8 : 0,
      },
      admin,
    );
    clusterIds.push(c.id);
  }
  return { tokens, orgId: org.id, clusterIds };
}

/**
 * History for the metrics endpoint, in three set-based statements: finished work over 30 days,
 * running work (clusters debited to match, so the ledger invariant holds), blocked pending work.
 */
async function seedSql(url: string, s: Seeded, rows: number): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('SELECT setseed(0.42)');
    const userIds = (await c.query<{ id: number }>('SELECT id FROM users ORDER BY id')).rows.map(
      (r) => r.id,
    );
    const running = Math.max(8, Math.round(rows * 0.01));
    const pending = Math.max(2, Math.round(rows * 0.002));
    const finished = rows - running - pending;
    const [gpuCluster] = s.clusterIds;
    // Finished: created over 30 days; 90% started after a 0–120 s wait (skewed short), ran
    // 1 min – 6 h; cancelled ones half of the time before starting.
    await c.query(
      `INSERT INTO deployments (name, docker_image, user_id, organization_id, cluster_id, pinned, status,
                                priority, required_ram_milli, required_cpu_milli, required_gpu_milli,
                                preemption_count, failure_reason, created_at, started_at,
                                first_started_at, completed_at, updated_at)
       SELECT 'hist-' || i, 'registry.example.com/team/app:1.' || (i % 40),
              ($1::int[])[1 + (i % cardinality($1::int[]))], $2,
              ($3::int[])[1 + (i % cardinality($3::int[]))], i % 10 = 0,
              st::deployment_status, (ARRAY[0, 0, 0, 10, 100, 500])[1 + (i % 6)],
              500 * (1 + (i % 8)), 250 * (1 + (i % 16)), 0,
              CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END,
              CASE WHEN st = 'failed' THEN 'exited with code 1' END,
              created, started, started,
              COALESCE(started, created) + run, COALESCE(started, created) + run
         FROM (
           SELECT i, created,
                  CASE WHEN r < 0.8 THEN 'completed' WHEN r < 0.9 THEN 'failed' ELSE 'cancelled' END AS st,
                  CASE WHEN r >= 0.95 THEN NULL
                       ELSE created + (120 * power(random(), 3)) * interval '1 second' END AS started,
                  (60 + random() * 21540) * interval '1 second' AS run
             FROM (SELECT i, random() AS r, now() - random() * interval '30 days' AS created
                     FROM generate_series(1, $4::int) AS i) g
         ) h`,
      [userIds, s.orgId, s.clusterIds, finished],
    );
    // Running: 8 GPU deployments filling the GPU cluster's GPUs at priority 1000, the rest small.
    await c.query(
      `INSERT INTO deployments (name, docker_image, user_id, organization_id, cluster_id, pinned, status,
                                priority, required_ram_milli, required_cpu_milli, required_gpu_milli,
                                created_at, started_at, first_started_at, updated_at)
       SELECT 'run-' || i, 'registry.example.com/team/svc:2.' || (i % 10),
              ($1::int[])[1 + (i % cardinality($1::int[]))], $2,
              CASE WHEN i <= 8 THEN $4 ELSE ($3::int[])[1 + (i % cardinality($3::int[]))] END,
              i <= 8, 'running', CASE WHEN i <= 8 THEN 1000 ELSE (ARRAY[0, 10, 100])[1 + (i % 3)] END,
              500 * (1 + (i % 8)), 250 * (1 + (i % 8)), CASE WHEN i <= 8 THEN 1000 ELSE 0 END,
              created, created + interval '20 seconds', created + interval '20 seconds', now()
         FROM (SELECT i, now() - random() * interval '6 hours' AS created
                 FROM generate_series(1, $5::int) AS i) g`,
      [userIds, s.orgId, s.clusterIds, gpuCluster, running],
    );
    await c.query(
      `UPDATE clusters c
          SET available_ram_milli = c.total_ram_milli - r.ram,
              available_cpu_milli = c.total_cpu_milli - r.cpu,
              available_gpu_milli = c.total_gpu_milli - r.gpu, updated_at = now()
         FROM (SELECT cluster_id, sum(required_ram_milli)::int AS ram, sum(required_cpu_milli)::int AS cpu,
                      sum(required_gpu_milli)::int AS gpu
                 FROM deployments WHERE status = 'running' GROUP BY cluster_id) r
        WHERE c.id = r.cluster_id`,
    );
    // Pending: low-priority batch GPU work pinned to the GPU cluster, behind what holds the GPUs,
    // queued in the last 2 minutes (none starving during a run). It is ready, so creates run the
    // full pass (the create fast path needs nothing else ready waiting; docs/scheduler.md).
    await c.query(
      `INSERT INTO deployments (name, docker_image, user_id, organization_id, cluster_id, pinned, status,
                                priority, required_ram_milli, required_cpu_milli, required_gpu_milli,
                                pending_code, pending_reason, created_at, updated_at)
       SELECT 'wait-' || i, 'registry.example.com/ml/train:0.' || (i % 5),
              ($1::int[])[1 + (i % cardinality($1::int[]))], $2, $3, true, 'pending',
              (ARRAY[-100, -200, -500])[1 + (i % 3)], 4000, 2000, 1000, 'queued', 'waiting to be scheduled',
              now() - random() * interval '2 minutes', now()
         FROM generate_series(1, $4::int) AS i`,
      [userIds, s.orgId, gpuCluster, pending],
    );
    await c.query('ANALYZE');
  } finally {
    await c.end();
  }
}

function scenarios(s: Seeded): Scenario[] {
  const [admin] = s.tokens;
  const auth = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
  let n = 0;
  const createBody = (pinned: boolean) => (req: autocannon.Request) => {
    const i = n++;
    const token = s.tokens[i % s.tokens.length]!;
    const body = {
      name: `bench-${i}`,
      docker_image: 'registry.example.com/team/web:1.4.2',
      ...(pinned
        ? { cluster_id: s.clusterIds[i % s.clusterIds.length] }
        : { organization_id: s.orgId }),
      priority: [0, 10, 100][i % 3],
      required_cpu: 0.1,
      required_ram: 0.25,
    };
    return {
      ...req,
      headers: { ...auth(token), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    };
  };
  return [
    {
      key: 'health',
      name: 'GET /health',
      method: 'GET',
      requests: () => [{ method: 'GET', path: '/health' }],
    },
    {
      key: 'me',
      name: 'GET /users/me',
      method: 'GET',
      requests: () => [{ method: 'GET', path: '/users/me', headers: auth(admin!) }],
    },
    {
      key: 'resources',
      name: 'GET /clusters/{id}/resources',
      method: 'GET',
      requests: () =>
        s.clusterIds.map((id, i) => ({
          method: 'GET' as const,
          path: `/clusters/${id}/resources`,
          headers: auth(s.tokens[i % s.tokens.length]!),
        })),
    },
    {
      key: 'metrics',
      name: 'GET /deployments/queue/metrics',
      method: 'GET',
      requests: () => [
        { method: 'GET', path: '/deployments/queue/metrics', headers: auth(admin!) },
      ],
    },
    {
      key: 'create-pinned',
      name: 'POST /deployments/ pinned',
      method: 'POST',
      requests: () => [{ method: 'POST', path: '/deployments/', setupRequest: createBody(true) }],
    },
    {
      key: 'create-unpinned',
      name: 'POST /deployments/ unpinned',
      method: 'POST',
      requests: () => [{ method: 'POST', path: '/deployments/', setupRequest: createBody(false) }],
    },
  ];
}

async function runCannon(
  base: string,
  sc: Scenario,
  connections: number,
  duration: number,
): Promise<autocannon.Result> {
  return autocannon({
    url: base,
    connections,
    duration,
    requests: sc.requests(),
    timeout: 30,
  });
}

async function countStatuses(url: string): Promise<Record<string, number>> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ status: string; n: number }>(
      'SELECT status::text AS status, count(*)::int AS n FROM deployments GROUP BY 1 ORDER BY 1',
    );
    return Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
  } finally {
    await c.end();
  }
}

async function clearRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** The targets, as ratios to routes measured in the same run (the machine is shared). */
function targetFor(
  key: string,
  rps: number,
  p99: number,
  health: number,
  me: number,
  conns: number,
): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  if (key === 'me')
    return `≥ 50% of /health (${pct(rps / health)}): ${rps >= 0.5 * health ? 'met' : 'missed'}`;
  if (key === 'resources')
    return `≥ 80% of /users/me (${pct(rps / me)}): ${rps >= 0.8 * me ? 'met' : 'missed'}`;
  if (key === 'metrics' || key.startsWith('create')) {
    const ratioOk = rps >= 0.5 * me;
    const p99Ok = conns !== 10 || p99 < TARGET_P99_MS;
    return `≥ 50% of /users/me (${pct(rps / me)})${conns === 10 ? ', p99 < 50 ms' : ''}: ${ratioOk && p99Ok ? 'met' : 'missed'}`;
  }
  return '';
}

/**
 * After the run: the ledger invariant (available = total − Σ running, within 0..total) on every
 * cluster, and how many of the benchmark's creates (all of which fit) are not running.
 */
async function checkAfterRun(url: string): Promise<{ badClusters: number; notRunning: number }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const bad = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM clusters c
         LEFT JOIN (SELECT cluster_id, sum(required_ram_milli) AS ram, sum(required_cpu_milli) AS cpu,
                           sum(required_gpu_milli) AS gpu
                      FROM deployments WHERE status = 'running' GROUP BY cluster_id) r ON r.cluster_id = c.id
        WHERE c.available_ram_milli <> c.total_ram_milli - COALESCE(r.ram, 0)
           OR c.available_cpu_milli <> c.total_cpu_milli - COALESCE(r.cpu, 0)
           OR c.available_gpu_milli <> c.total_gpu_milli - COALESCE(r.gpu, 0)
           OR c.available_ram_milli < 0 OR c.available_cpu_milli < 0 OR c.available_gpu_milli < 0`,
    );
    const pending = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deployments WHERE name LIKE 'bench-%' AND status <> 'running'`,
    );
    return { badClusters: bad.rows[0]?.n ?? -1, notRunning: pending.rows[0]?.n ?? -1 };
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const args = new Args();
  const small = args.string('sizes') === 'small';
  const duration = args.int('duration', small ? 2 : 10);
  const rows = args.int('rows', small ? 1000 : 100_000);
  const connectionsList = (args.string('connections') ?? (small ? '10' : '10,50'))
    .split(',')
    .map((x) => Number(x.trim()));
  if (connectionsList.some((x) => !Number.isInteger(x) || x <= 0)) {
    throw new Error('--connections: comma-separated positive integers');
  }
  const distDir = resolve(ROOT, args.string('dist') ?? 'dist');
  const profile = args.has('profile');
  const keepDb = args.has('keep-db');
  const json = args.has('json');
  const log = (line: string): void => {
    if (!json) process.stderr.write(`${line}\n`);
  };
  const machine = machineLine();
  const mainJs = join(distDir, 'main.js');
  if (!existsSync(mainJs)) {
    console.error(
      `${mainJs} not found: run \`npm run build\` first (bench:api measures the production build).`,
    );
    process.exit(2);
  }

  const dbName = scratchName('berth_bench_api');
  const redisPrefix = `berth-bench-${dbName.slice(-10)}`;
  const profileDir = join(ROOT, 'tmp', 'profiles', dbName);
  let server: ChildProcess | undefined;
  let output = '';
  try {
    const url = await createMigratedDatabase(dbName);
    const port = args.int('port', 0) || (await freePort());
    const base = `http://127.0.0.1:${port}`;
    const nodeArgs: string[] = [];
    if (profile) {
      mkdirSync(profileDir, { recursive: true });
      // --cpu-prof writes on a normal exit: turn the SIGTERM below into one.
      nodeArgs.push(
        '--cpu-prof',
        `--cpu-prof-dir=${profileDir}`,
        '--import',
        'data:text/javascript,process.on("SIGTERM",()=>process.exit(0))',
      );
    }
    server = spawn(process.execPath, [...nodeArgs, mainJs], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        // e.g. PGOPTIONS='-c log_min_duration_statement=0' to time the server's SQL in PostgreSQL's log.
        ...(process.env.PGOPTIONS ? { PGOPTIONS: process.env.PGOPTIONS } : {}),
        NODE_ENV: 'production',
        DATABASE_URL: url,
        REDIS_URL,
        REDIS_PREFIX: redisPrefix,
        PORT: String(port),
        HOST: '127.0.0.1',
        SECRET_KEY: randomBytes(32).toString('hex'),
        LOG_LEVEL: 'warn',
        // The configuration's maximum: the benchmark measures the service, not the rate limiter.
        THROTTLE_LIMIT: '10000000',
        AUTH_THROTTLE_LIMIT: '10000000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    server.stdout?.on('data', keep);
    server.stderr?.on('data', keep);
    await waitReady(base, server, () => output);
    log(`server up on ${base} (${mainJs}); seeding…`);
    const seeded = await seedHttp(base);
    const t0 = performance.now();
    await seedSql(url, seeded, rows);
    const before = await countStatuses(url);
    log(
      `seeded ${rows} deployments with SQL in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(before)}`,
    );

    const results: Row[] = [];
    const ceiling = new Map<number, number>();
    const healthRps = new Map<number, number>();
    const only = args.string('only')?.split(',');
    for (const sc of scenarios(seeded).filter((x) => !only || only.includes(x.key))) {
      // Unrecorded warm-up: JIT, connection pools and caches as in a server that has been up a while.
      await runCannon(base, sc, connectionsList[0]!, Math.max(1, Math.round(duration / 5)));
      for (const connections of connectionsList) {
        const r = await runCannon(base, sc, connections, duration);
        const rps = r.requests.average;
        const rps2xx = r['2xx'] / r.duration;
        if (sc.key === 'me') ceiling.set(connections, rps);
        if (sc.key === 'health') healthRps.set(connections, rps);
        const row: Row = {
          scenario: sc.name,
          connections,
          rps,
          rps2xx,
          p50: r.latency.p50,
          p99: r.latency.p99,
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
          ratio: rps / (ceiling.get(connections) ?? NaN),
          target: targetFor(
            sc.key,
            rps2xx,
            r.latency.p99,
            healthRps.get(connections) ?? NaN,
            ceiling.get(connections) ?? NaN,
            connections,
          ),
        };
        results.push(row);
        log(
          `${sc.name} ×${connections}: ${Math.round(rps)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, non-2xx ${row.non2xx}, errors ${row.errors}`,
        );
      }
    }
    // Requests cut off when autocannon stops may still be placing: give them (and the periodic
    // pass) up to 30 s, then check the invariants.
    let check = await checkAfterRun(url);
    for (let i = 0; i < 30 && check.notRunning > 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      check = await checkAfterRun(url);
    }
    const after = await countStatuses(url);
    await stopProcess(server);

    let profileSummary: string | undefined;
    if (profile) {
      const files = readdirSync(profileDir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(profileDir, f))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
      profileSummary = files[0] ? summarizeProfile(files[0], 30) : 'no .cpuprofile written';
    }

    if (json) {
      console.log(
        JSON.stringify(
          {
            machine: machineInfo(),
            duration,
            rows,
            connections: connectionsList,
            before,
            after,
            check,
            loadavg: os.loadavg(),
            results,
          },
          null,
          2,
        ),
      );
      return;
    }
    console.log(`# HTTP API (production build, autocannon)\n`);
    console.log(machine);
    console.log(
      `${rows} deployments seeded (${JSON.stringify(before)}); ${duration} s per row; ` +
        `after the run: ${JSON.stringify(after)}; clusters breaking the ledger invariant: ` +
        `${check.badClusters}; benchmark creates not running: ${check.notRunning}; load average at end ${os
          .loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}.\n`,
    );
    console.log(
      markdownTable(
        [
          'endpoint',
          'conns',
          'req/s',
          '2xx/s',
          'p50 ms',
          'p99 ms',
          'non-2xx',
          'errors',
          '÷ /users/me',
          'target',
        ],
        results.map((r) => [
          r.scenario,
          String(r.connections),
          Math.round(r.rps).toLocaleString('en-US'),
          Math.round(r.rps2xx).toLocaleString('en-US'),
          String(r.p50),
          String(r.p99),
          String(r.non2xx),
          String(r.errors),
          Number.isFinite(r.ratio) ? `${(r.ratio * 100).toFixed(0)}%` : 'n/a',
          r.target,
        ]),
      ),
    );
    if (profileSummary) {
      console.log(`\n## Server CPU profile (${profileDir})\n`);
      console.log(profileSummary);
    }
  } catch (err) {
    if (output) process.stderr.write(`--- server output ---\n${output}\n`);
    throw err;
  } finally {
    if (server) await stopProcess(server);
    if (keepDb) log(`kept database ${dbName} (--keep-db); drop it yourself`);
    else await dropDatabase(dbName).catch(() => {});
    await clearRedisPrefix(redisPrefix).catch(() => {});
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
