/**
 * bench:pass --workers 1,2: end-to-end committed placements per second with N scheduler worker
 * PROCESSES (`node dist/main.js`, SCHEDULER_WORKER=true, each its own port), sharing one scratch
 * database and one Redis key prefix per run, as replicas of a deployment would.
 *
 *   npm run bench:pass -- --workers 1,2 [--pending 10000] [--orgs 8] [--runs 3] [--seed 11]
 *                         [--interval-ms 200] [--dist dist] [--port 18700] [--timeline]
 *
 * Data: the bench:pass seed (100 clusters, N pending) split over --orgs organisations
 * (cluster k and deployment i belong to organisation k % orgs and i % orgs). Passes of ONE
 * organisation are serialised by its advisory lock, so a second worker can only help when there
 * are several organisations with pending work; with one organisation 1 and 2 workers are equal.
 * The template database holds the pending deployments parked as `cancelled`; one run = a fresh
 * clone, the workers started and ready (/health/ready), then one UPDATE turns them back into
 * `pending` (t0 after it commits), after a warm-up (see warmUp). The end is the last poll (every 20 ms) at which the number of
 * running deployments changed, once it has not changed for 10 intervals. Placements/s = running
 * at the end ÷ (end − t0): ticks, queueing, snapshots, planning and commits all included. The
 * tail is deployments whose dependency was placed one pass earlier (one tick each), so the time
 * until 95 % of the final count is running is reported too.
 * After each run: every running deployment has exactly one more `placed` than `preempted` event
 * and every other deployment as many of each (no double placement), and the ledger invariant
 * holds on every cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { ledgerViolations } from '../../test/support/ledger';
import { type Args, machineLine, markdownTable, median } from '../lib/report';
import {
  cloneDatabase,
  createMigratedDatabase,
  dropDatabase,
  scratchName,
  urlFor,
} from './scratch-db';
import { stopProcess } from '../lib/processes';

const ROOT = join(__dirname, '..', '..');
const REDIS_URL =
  process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const TARGET = 5000;
const POLL_MS = 20;
const WARM_ORGS = 4;

export type SeedFn = (url: string, nPending: number, seed: number, orgs: number) => Promise<void>;

interface WorkerRun {
  workers: number;
  placed: number;
  pendingLeft: number;
  seconds: number;
  perSecond: number;
  /** Time until 95 % of the final count was running, and placements/s over that span. */
  seconds95: number;
  perSecond95: number;
  passes: number;
  doubleWork: number;
  ledgerViolations: number;
}

async function withPg<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function waitReady(port: number, proc: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`worker exited early:\n${output()}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`worker on port ${port} not ready after 90 s:\n${output()}`);
}

/**
 * Fresh processes run their first passes cold (JIT, Prisma's first queries). Before t0 each run
 * gives them WARM_ORGS small organisations (2 clusters, 50 deployments that all fit) and waits
 * until those are placed; then nothing is pending and the workers sit idle until t0. Returns the
 * warm-up organisations' ids (excluded from the counts).
 */
async function warmUp(c: Client): Promise<number[]> {
  const ids: number[] = [];
  const user = await c.query<{ id: number }>(`SELECT min(id)::int AS id FROM users`);
  for (let k = 0; k < WARM_ORGS; k++) {
    const org = await c.query<{ id: number }>(
      `INSERT INTO organizations (name, invite_code, updated_at)
       VALUES ($1, $1, now()) RETURNING id`,
      [`warmup-${k}`],
    );
    const id = org.rows[0]!.id;
    ids.push(id);
    await c.query(
      `INSERT INTO clusters (name, organization_id, total_ram_milli, total_cpu_milli, total_gpu_milli,
                             available_ram_milli, available_cpu_milli, available_gpu_milli, updated_at)
       SELECT 'w' || g, $1, 1000000, 1000000, 0, 1000000, 1000000, 0, now()
         FROM generate_series(1, 2) g`,
      [id],
    );
    await c.query(
      `INSERT INTO deployments (name, docker_image, user_id, organization_id, status, priority,
                                required_ram_milli, required_cpu_milli, required_gpu_milli,
                                pending_code, pending_reason, updated_at)
       SELECT 'w' || g, 'nginx:1.27', $2, $1, 'pending', 0, 500, 250, 0, 'queued', 'waiting', now()
         FROM generate_series(1, 50) g`,
      [id, user.rows[0]!.id],
    );
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deployments WHERE status = 'pending'`,
    );
    if (r.rows[0]!.n === 0) return ids;
    if (Date.now() > deadline) throw new Error('warm-up not placed after 60 s');
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function oneRun(
  template: string,
  workers: number,
  mainJs: string,
  basePort: number,
  intervalMs: number,
  timeline: boolean,
): Promise<WorkerRun> {
  const name = scratchName('berth_bench_workers');
  const url = await cloneDatabase(template, name);
  const redisPrefix = `berth-bench-${name.slice(-10)}`;
  const secret = randomBytes(32).toString('hex');
  const procs: ChildProcess[] = [];
  const outputs: string[] = [];
  try {
    for (let w = 0; w < workers; w++) {
      const port = basePort + w;
      outputs.push('');
      const proc = spawn(process.execPath, [mainJs], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'production',
          DATABASE_URL: url,
          REDIS_URL,
          REDIS_PREFIX: redisPrefix,
          PORT: String(port),
          HOST: '127.0.0.1',
          SECRET_KEY: secret,
          LOG_LEVEL: 'warn',
          SCHEDULER_WORKER: 'true',
          SCHEDULER_INTERVAL_MS: String(intervalMs),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk: Buffer): void => {
        outputs[w] = (outputs[w]! + chunk.toString('utf8')).slice(-20_000);
      };
      proc.stdout?.on('data', keep);
      proc.stderr?.on('data', keep);
      procs.push(proc);
    }
    await Promise.all(procs.map((p, w) => waitReady(basePort + w, p, () => outputs[w]!)));

    return await withPg(url, async (c) => {
      const warm = await warmUp(c);
      const running = `SELECT count(*)::int AS n FROM deployments
                        WHERE status = 'running' AND organization_id <> ALL($1::int[])`;
      await c.query(
        `UPDATE deployments SET status = 'pending', updated_at = now() WHERE status = 'cancelled'`,
      );
      const t0 = performance.now();
      let last = -1;
      let lastChange = t0;
      let stableSince = t0;
      const samples: { t: number; n: number }[] = [];
      for (;;) {
        const r = await c.query<{ n: number }>(running, [warm]);
        const now = performance.now();
        const n = r.rows[0]!.n;
        samples.push({ t: now, n });
        if (n !== last) {
          last = n;
          lastChange = now;
          stableSince = now;
        } else if (n > 0 && now - stableSince >= 10 * intervalMs) {
          break;
        }
        if (now - t0 > 300_000) throw new Error('no steady state after 300 s');
        await new Promise((res) => setTimeout(res, POLL_MS));
      }
      const seconds = (lastChange - t0) / 1000;
      const at95 = samples.find((x) => x.n >= 0.95 * last) ?? { t: lastChange, n: last };
      const seconds95 = (at95.t - t0) / 1000;
      await Promise.all(procs.map((p) => stopProcess(p)));

      const left = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deployments WHERE status = 'pending'`,
      );
      const dbl = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (
           SELECT d.id, d.status,
                  count(e.id) FILTER (WHERE e.type = 'placed') AS placed,
                  count(e.id) FILTER (WHERE e.type = 'preempted') AS preempted
             FROM deployments d LEFT JOIN deployment_events e ON e.deployment_id = d.id
            GROUP BY d.id, d.status) x
          WHERE x.placed - x.preempted <> CASE WHEN x.status = 'running' THEN 1 ELSE 0 END`,
      );
      if (timeline) {
        // --timeline: every pass after t0 (offsets from the first one), to see where time goes.
        const t = await c.query<{ org: number; at: number; ms: number; placed: number }>(
          `SELECT organization_id AS org, duration_ms::int AS ms, placements AS placed,
                  (extract(epoch FROM started_at - min(started_at) OVER ()) * 1000)::int AS at
             FROM scheduler_passes WHERE organization_id <> ALL($1::int[]) ORDER BY started_at`,
          [warm],
        );
        for (const p of t.rows) {
          process.stderr.write(
            `    pass org ${p.org} at +${p.at} ms, ${p.ms} ms, ${p.placed} placed\n`,
          );
        }
      }
      const passes = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM scheduler_passes`,
      );
      return {
        workers,
        placed: last,
        pendingLeft: left.rows[0]!.n,
        seconds,
        perSecond: last / seconds,
        seconds95,
        perSecond95: at95.n / seconds95,
        passes: passes.rows[0]!.n,
        doubleWork: dbl.rows[0]!.n,
        ledgerViolations: (await ledgerViolations(c)).length,
      };
    });
  } finally {
    await Promise.all(procs.map((p) => stopProcess(p)));
    await dropDatabase(name);
    await cleanRedis(redisPrefix);
  }
}

/** Deletes this run's BullMQ keys (its own prefix only; never a flush). */
async function cleanRedis(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } catch {
    // best effort
  } finally {
    redis.disconnect();
  }
}

export async function runWorkersMode(args: Args, seed: SeedFn): Promise<void> {
  const workersList = (args.string('workers') ?? '1,2').split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1 || n > 8) throw new Error(`--workers: 1..8[,…], got ${s}`);
    return n;
  });
  const nPending = args.int('pending', 10_000);
  const orgs = args.int('orgs', 8);
  const runs = args.int('runs', 3);
  const seedValue = args.int('seed', 11);
  const intervalMs = args.int('interval-ms', 200);
  const basePort = args.int('port', 18700);
  const mainJs = join(resolve(ROOT, args.string('dist') ?? 'dist'), 'main.js');
  if (!existsSync(mainJs)) {
    console.error(`${mainJs} not found: run \`npm run build\` first.`);
    process.exit(2);
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const machine = machineLine();
  const template = scratchName('berth_bench_workers');
  const results = new Map<number, WorkerRun[]>();
  try {
    const t0 = performance.now();
    const url = await createMigratedDatabase(template);
    await seed(url, nPending, seedValue, orgs);
    await withPg(url, (c) =>
      c.query(`UPDATE deployments SET status = 'cancelled' WHERE status = 'pending'`),
    );
    log(
      `${nPending} pending over ${orgs} organisation(s), 100 clusters: seeded in ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s (${urlFor(template)})`,
    );
    for (let i = 0; i < runs; i++) {
      // Interleaved (1, 2, 1, 2, …) so drifting load on a shared machine hits both alike.
      for (const w of workersList) {
        const r = await oneRun(template, w, mainJs, basePort, intervalMs, args.has('timeline'));
        results.set(w, [...(results.get(w) ?? []), r]);
        log(
          `  run ${i + 1}, ${w} worker(s): ${r.placed} placed in ${r.seconds.toFixed(2)} s = ` +
            `${Math.round(r.perSecond)}/s (95 % in ${r.seconds95.toFixed(2)} s = ` +
            `${Math.round(r.perSecond95)}/s), ${r.pendingLeft} left pending, ${r.passes} passes; ` +
            `double work ${r.doubleWork}, ` +
            `ledger violations ${r.ledgerViolations}`,
        );
      }
    }
  } finally {
    await dropDatabase(template);
  }

  const one = median((results.get(workersList[0]!) ?? []).map((r) => r.perSecond));
  console.log(`# Scheduler worker processes, end to end (bench:pass --workers)\n`);
  console.log(machine);
  console.log(
    `Seed ${seedValue}; ${nPending} pending over ${orgs} organisations and 100 clusters; ` +
      `SCHEDULER_INTERVAL_MS=${intervalMs}; ${runs} run(s) per worker count, each on a fresh ` +
      `copy; medians. Load average at end ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}.\n`,
  );
  let bad = 0;
  console.log(
    markdownTable(
      [
        'worker processes',
        'placed',
        'left pending',
        'seconds',
        'placements/s',
        `vs ${workersList[0]} worker(s)`,
        'target ≥ 5,000/s',
        'seconds to 95 %',
        'placements/s to 95 %',
        'passes',
        'double work',
        'ledger violations',
      ],
      workersList.map((w) => {
        const rs = results.get(w) ?? [];
        const worst = (f: (r: WorkerRun) => number): number => Math.max(...rs.map(f));
        bad += worst((r) => r.doubleWork + r.ledgerViolations);
        const ps = median(rs.map((r) => r.perSecond));
        return [
          String(w),
          String(median(rs.map((r) => r.placed))),
          String(median(rs.map((r) => r.pendingLeft))),
          median(rs.map((r) => r.seconds)).toFixed(2),
          Math.round(ps).toLocaleString('en-US'),
          `${(ps / one).toFixed(2)}x`,
          ps >= TARGET ? 'met' : 'missed',
          median(rs.map((r) => r.seconds95)).toFixed(2),
          Math.round(median(rs.map((r) => r.perSecond95))).toLocaleString('en-US'),
          String(median(rs.map((r) => r.passes))),
          String(worst((r) => r.doubleWork)),
          String(worst((r) => r.ledgerViolations)),
        ];
      }),
    ),
  );
  if (bad > 0) {
    console.error('double work or ledger violations: see the table');
    process.exit(1);
  }
}
