import { randomBytes } from 'node:crypto';
/**
 * Scheduler pass end to end: the real SchedulerService (advisory lock, snapshot with the clusters
 * FOR UPDATE, pure planner, set-based commit, pass record) on a real PostgreSQL database.
 *
 *   npm run bench:pass -- [--sizes full|small|10000,50000] [--runs 5] [--seed 11] [--json]
 *                          [--trace-sql]  (each statement's duration, to stderr)
 *                          [--keep-db]    (keep the seeded template database, for EXPLAIN)
 *   npm run bench:pass -- --workers 1,2 [--pending 10000] [--orgs 8] [--runs 3]
 *                          end to end with N scheduler worker processes: see workers.ts
 *
 * full = 10k and 50k pending, small = 500 pending and 1 run (CI).
 * Data (seeded, inserted with set-based SQL): 1 organisation, 100 clusters of varied sizes (20%
 * with GPUs) whose capacity is scaled so that about half of the pending demand fits, and N pending
 * deployments: priorities 0/100/200/500/1000 skewed low, ~10% pinned, ~2% depending on another
 * pending deployment, created over the last 15 minutes. Policy: the production defaults
 * (aging 60 s, starvation bound 600 s).
 * One run = a fresh database cloned from the seeded template, then:
 *  - drain: passes until one places nothing; placements/s = Σ placements ÷ Σ pass wall time;
 *  - churn: 10% of the running deployments complete (SQL, clusters credited), then one pass.
 * A discarded warm-up run precedes the measured runs when --runs > 1; the tables show medians.
 * Target: ≥ 5,000 committed placements/s.
 */
import os from 'node:os';
import { Logger } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Client } from 'pg';
import { loadConfig, type AppConfig } from '../../src/config/configuration';
import { PrismaClient } from '../../src/generated/prisma/client';
import { SchedulerService, type PassResult } from '../../src/scheduler/scheduler.service';
import { Rng } from '../lib/prng';
import { Args, machineInfo, machineLine, markdownTable, median } from '../lib/report';
import {
  cloneDatabase,
  createMigratedDatabase,
  dropDatabase,
  scratchName,
  urlFor,
} from './scratch-db';
import { runWorkersMode } from './workers';

const TARGET_PLACEMENTS_PER_SECOND = 5000;
const CLUSTERS = 100;
const MAX_PASSES = 20;

interface RunResult {
  passes: number;
  placements: number;
  preemptions: number;
  passMs: number[];
  placementsPerSecond: number;
  firstPassMs: number;
  churnCompleted: number;
  churnPlacements: number;
  churnMs: number;
}

interface SizeResult {
  pending: number;
  clusters: number;
  snapshotRunning: number;
  snapshotPending: number;
  runs: RunResult[];
  median: {
    placementsPerSecond: number;
    placements: number;
    passes: number;
    firstPassMs: number;
    passMsMedian: number;
    passMsMax: number;
    churnMs: number;
    churnPlacements: number;
  };
}

/**
 * Inserts the organisation(s), the clusters and the pending deployments in a few statements.
 * With orgs > 1 (the --workers mode) cluster k and deployment i belong to organisation k % orgs
 * and i % orgs; pins and dependencies stay inside the organisation. orgs = 1 seeds exactly what
 * it always did.
 */
export async function seed(
  url: string,
  nPending: number,
  seedValue: number,
  orgs = 1,
): Promise<void> {
  const rng = new Rng(seedValue);
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const user = await c.query<{ id: number }>(
      `INSERT INTO users (email, username, hashed_password, updated_at)
       VALUES ('bench@example.com', 'bench', 'x', now()) RETURNING id`,
    );
    const org = await c.query<{ id: number }>(
      `INSERT INTO organizations (name, invite_code, updated_at)
       VALUES ('bench', 'bench-invite', now()) RETURNING id`,
    );
    const userId = user.rows[0]!.id;
    const orgIds = [org.rows[0]!.id];
    for (let k = 2; k <= orgs; k++) {
      const more = await c.query<{ id: number }>(
        `INSERT INTO organizations (name, invite_code, updated_at)
         VALUES ($1, $2, now()) RETURNING id`,
        [`bench-${k}`, `bench-invite-${k}`],
      );
      orgIds.push(more.rows[0]!.id);
    }
    const orgOf = (i: number): number => orgIds[i % orgs]!;

    // Pending demand first, so the clusters can be sized to hold about half of it.
    const priorities = [0, 0, 0, 100, 100, 200, 500, 1000];
    const cpu: number[] = [];
    const ram: number[] = [];
    const gpu: number[] = [];
    const prio: number[] = [];
    const ageMs: number[] = [];
    for (let i = 0; i < nPending; i++) {
      cpu.push(rng.int(1, 16) * 250);
      ram.push(rng.int(1, 32) * 500);
      gpu.push(rng.chance(0.05) ? 1000 : 0);
      prio.push(rng.pick(priorities));
      ageMs.push(rng.int(1, 15 * 60_000));
    }
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const perCluster = { cpu: sum(cpu) / 2 / CLUSTERS, ram: sum(ram) / 2 / CLUSTERS };
    const clusterTotals = Array.from({ length: CLUSTERS }, (_, i) => {
      const w = 0.25 + 1.5 * rng.next();
      return {
        name: `c${i + 1}`,
        cpu: Math.max(8000, Math.round((perCluster.cpu * w) / 1000) * 1000),
        ram: Math.max(16000, Math.round((perCluster.ram * w) / 1000) * 1000),
        gpu: rng.chance(0.2) ? rng.pick([4000, 8000, 16000]) : 0,
      };
    });
    const clusters = await c.query<{ id: number }>(
      `INSERT INTO clusters (name, organization_id, total_ram_milli, total_cpu_milli, total_gpu_milli,
                             available_ram_milli, available_cpu_milli, available_gpu_milli, updated_at)
       SELECT v.name, v.org, v.ram, v.cpu, v.gpu, v.ram, v.cpu, v.gpu, now()
         FROM unnest($1::int[], $2::text[], $3::int[], $4::int[], $5::int[])
              WITH ORDINALITY AS v(org, name, ram, cpu, gpu, ord)
        ORDER BY v.ord
       RETURNING id`,
      [
        clusterTotals.map((_, k) => orgOf(k)),
        clusterTotals.map((t) => t.name),
        clusterTotals.map((t) => t.ram),
        clusterTotals.map((t) => t.cpu),
        clusterTotals.map((t) => t.gpu),
      ],
    );
    const clusterIds = clusters.rows.map((r) => r.id);

    // Pinned deployments pick a cluster whose totals can hold them (the API rejects the rest).
    const pinnedTo: (number | null)[] = cpu.map((_, i) => {
      if (!rng.chance(0.1)) return null;
      const fits = clusterTotals
        .map((t, k) => ({ t, k, id: clusterIds[k]! }))
        .filter(({ t }) => t.cpu >= cpu[i]! && t.ram >= ram[i]! && t.gpu >= gpu[i]!)
        .filter(({ k }) => orgOf(k) === orgOf(i));
      return fits.length > 0 ? rng.pick(fits).id : null;
    });
    const ids = await c.query<{ id: number }>(
      `INSERT INTO deployments (name, docker_image, user_id, organization_id, cluster_id, pinned,
                                status, priority, required_ram_milli, required_cpu_milli,
                                required_gpu_milli, pending_code, pending_reason, created_at, updated_at)
       SELECT 'd' || v.ord, 'nginx:1.27', $1, v.org, v.cluster_id, v.cluster_id IS NOT NULL,
              'pending', v.prio, v.ram, v.cpu, v.gpu, 'queued', 'waiting to be scheduled',
              now() - v.age_ms * interval '1 millisecond', now()
         FROM unnest($2::int[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[])
              WITH ORDINALITY AS v(org, cluster_id, prio, ram, cpu, gpu, age_ms, ord)
        ORDER BY v.ord
       RETURNING id`,
      [userId, cpu.map((_, i) => orgOf(i)), pinnedTo, prio, ram, cpu, gpu, ageMs],
    );
    const depIds = ids.rows.map((r) => r.id);
    const from: number[] = [];
    const to: number[] = [];
    for (let i = 1; i < depIds.length; i++) {
      if (rng.chance(0.02)) {
        // orgs = 1: any earlier deployment, as always; else an earlier one of the same organisation.
        const j =
          orgs === 1
            ? rng.int(0, i - 1)
            : i < orgs
              ? -1
              : i - orgs * rng.int(1, Math.floor(i / orgs));
        if (j < 0) continue;
        from.push(depIds[i]!);
        to.push(depIds[j]!);
      }
    }
    await c.query(
      `INSERT INTO deployment_dependencies (deployment_id, depends_on_id)
       SELECT * FROM unnest($1::int[], $2::int[])`,
      [from, to],
    );
    await c.query('VACUUM ANALYZE');
  } finally {
    await c.end();
  }
}

/** Completes every 10th running deployment (by id) and credits the clusters, in one statement. */
async function completeTenPercent(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ n: number }>(
      `WITH done AS (
         UPDATE deployments SET status = 'completed', completed_at = now(), updated_at = now()
          WHERE status = 'running' AND id % 10 = 0
         RETURNING cluster_id, required_ram_milli, required_cpu_milli, required_gpu_milli
       ), freed AS (
         SELECT cluster_id, sum(required_ram_milli)::int AS ram, sum(required_cpu_milli)::int AS cpu,
                sum(required_gpu_milli)::int AS gpu, count(*)::int AS n
           FROM done GROUP BY cluster_id
       ), credited AS (
         UPDATE clusters c SET available_ram_milli = c.available_ram_milli + f.ram,
                               available_cpu_milli = c.available_cpu_milli + f.cpu,
                               available_gpu_milli = c.available_gpu_milli + f.gpu, updated_at = now()
           FROM freed f WHERE c.id = f.cluster_id
         RETURNING f.n
       )
       SELECT COALESCE(sum(n), 0)::int AS n FROM credited`,
    );
    return r.rows[0]?.n ?? 0;
  } finally {
    await c.end();
  }
}

async function counts(url: string): Promise<{ running: number; pending: number }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ running: number; pending: number }>(
      `SELECT count(*) FILTER (WHERE status = 'running')::int AS running,
              count(*) FILTER (WHERE status = 'pending')::int AS pending FROM deployments`,
    );
    return r.rows[0]!;
  } finally {
    await c.end();
  }
}

async function oneRun(template: string, cfg: AppConfig, traceSql: boolean): Promise<RunResult> {
  const name = scratchName('berth_bench_pass');
  const url = await cloneDatabase(template, name);
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: url, max: 4 }),
    log: traceSql ? [{ emit: 'event', level: 'query' }] : [],
  });
  if (traceSql) {
    // Where a pass's time goes, statement by statement (--trace-sql).
    prisma.$on('query' as never, (e: { duration: number; query: string }) => {
      const sql = e.query.replace(/\s+/g, ' ').slice(0, 90);
      process.stderr.write(`    sql ${String(e.duration).padStart(6)} ms  ${sql}\n`);
    });
  }
  try {
    const config = { get: (k: keyof AppConfig) => cfg[k] };
    const scheduler = new SchedulerService(prisma as never, config as never);
    const orgId = (await prisma.organization.findFirstOrThrow({ select: { id: true } })).id;
    const passes: PassResult[] = [];
    const passMs: number[] = [];
    for (let i = 0; i < MAX_PASSES; i++) {
      const t0 = performance.now();
      const r = await scheduler.runPass(orgId, 'bench');
      passMs.push(performance.now() - t0);
      passes.push(r);
      if (r.placements === 0) break;
    }
    const placements = passes.reduce((a, p) => a + p.placements, 0);
    const totalMs = passMs.reduce((a, b) => a + b, 0);
    const churnCompleted = await completeTenPercent(url);
    const t0 = performance.now();
    const churn = await scheduler.runPass(orgId, 'bench-churn');
    const churnMs = performance.now() - t0;
    return {
      passes: passes.length,
      placements,
      preemptions: passes.reduce((a, p) => a + p.preemptions, 0),
      passMs,
      placementsPerSecond: placements / (totalMs / 1000),
      firstPassMs: passMs[0] ?? NaN,
      churnCompleted,
      churnPlacements: churn.placements,
      churnMs,
    };
  } finally {
    await prisma.$disconnect();
    await dropDatabase(name);
  }
}

function parseSizes(spec: string): number[] {
  if (spec === 'small') return [500];
  if (spec === 'full') return [10_000, 50_000];
  return spec.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--sizes: full, small or N[,N…], got ${s}`);
    return n;
  });
}

async function main(): Promise<void> {
  const args = new Args();
  if (args.has('workers')) {
    await runWorkersMode(args, seed);
    return;
  }
  const sizesSpec = args.string('sizes') ?? 'full';
  const sizes = parseSizes(sizesSpec);
  const runs = args.int('runs', sizesSpec === 'small' ? 1 : 5);
  const seedValue = args.int('seed', 11);
  const json = args.has('json');
  const traceSql = args.has('trace-sql');
  const keepDb = args.has('keep-db');
  const log = (line: string): void => {
    if (!json) process.stderr.write(`${line}\n`);
  };
  // SchedulerService logs one line per pass through Nest's logger; keep the output to the tables.
  Logger.overrideLogger(['error', 'warn']);
  const cfg = loadConfig({
    DATABASE_URL: urlFor('unused'),
    NODE_ENV: 'production',
    SECRET_KEY: randomBytes(32).toString('hex'),
  });

  const machine = machineLine();
  const results: SizeResult[] = [];
  for (const nPending of sizes) {
    const template = scratchName('berth_bench_pass');
    try {
      const t0 = performance.now();
      const url = await createMigratedDatabase(template);
      await seed(url, nPending, seedValue);
      const before = await counts(url);
      log(`${nPending} pending: seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      if (runs > 1) await oneRun(template, cfg, traceSql);
      const rs: RunResult[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await oneRun(template, cfg, traceSql);
        rs.push(r);
        log(
          `  run ${i + 1}: ${r.placements} placed in ${r.passes} pass(es), ` +
            `${Math.round(r.placementsPerSecond)}/s; passes ${r.passMs.map((x) => x.toFixed(0)).join(', ')} ms; ` +
            `churn ${r.churnCompleted} completed → ${r.churnPlacements} placed in ${r.churnMs.toFixed(0)} ms`,
        );
      }
      results.push({
        pending: nPending,
        clusters: CLUSTERS,
        snapshotRunning: before.running,
        snapshotPending: before.pending,
        runs: rs,
        median: {
          placementsPerSecond: median(rs.map((r) => r.placementsPerSecond)),
          placements: median(rs.map((r) => r.placements)),
          passes: median(rs.map((r) => r.passes)),
          firstPassMs: median(rs.map((r) => r.firstPassMs)),
          passMsMedian: median(rs.map((r) => median(r.passMs))),
          passMsMax: median(rs.map((r) => Math.max(...r.passMs))),
          churnMs: median(rs.map((r) => r.churnMs)),
          churnPlacements: median(rs.map((r) => r.churnPlacements)),
        },
      });
    } finally {
      if (keepDb) log(`kept the seeded template ${template} (--keep-db); drop it yourself`);
      else await dropDatabase(template);
    }
  }

  if (json) {
    console.log(
      JSON.stringify(
        { machine: machineInfo(), seed: seedValue, target: TARGET_PLACEMENTS_PER_SECOND, results },
        null,
        2,
      ),
    );
    return;
  }
  console.log(`# Scheduler pass (SchedulerService on PostgreSQL)\n`);
  console.log(machine);
  console.log(
    `Seed ${seedValue}; ${runs} measured run(s) per size, each on a fresh copy of the seeded database; medians. ` +
      `Load average at end ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}.\n`,
  );
  console.log(
    markdownTable(
      [
        'pending',
        'clusters',
        'placed (drain)',
        'passes',
        'placements/s',
        'target ≥ 5,000/s',
        '1st pass ms',
        'pass ms median',
        'pass ms max',
        'churn: completed → placed',
        'churn pass ms',
      ],
      results.map((r) => [
        String(r.snapshotPending),
        String(r.clusters),
        String(r.median.placements),
        String(r.median.passes),
        Math.round(r.median.placementsPerSecond).toLocaleString('en-US'),
        r.median.placementsPerSecond >= TARGET_PLACEMENTS_PER_SECOND ? 'met' : 'missed',
        r.median.firstPassMs.toFixed(0),
        r.median.passMsMedian.toFixed(0),
        r.median.passMsMax.toFixed(0),
        `${median(r.runs.map((x) => x.churnCompleted))} → ${r.median.churnPlacements}`,
        r.median.churnMs.toFixed(0),
      ]),
    ),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
