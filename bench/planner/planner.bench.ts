/**
 * Planner scale: median wall time of one plan() on synthetic snapshots.
 *
 *   npm run bench:planner -- [--sizes full|small|1000x10,10000x100] [--runs 5]
 *                            [--impl planner|priority-first-fit] [--seed 7] [--budget-seconds 120] [--json]
 *   npm run bench:planner -- --compare [--sizes 10000x100,100000x1000] [--runs 7]
 *
 * full  = {1k, 10k, 100k} pending × {10, 100, 1000} clusters, 5 measured runs after one warm-up;
 * small = 1k × 10, 1 measured run (CI).
 * Snapshots: bench/lib/generators.ts largeSnapshot (clusters 60–90% filled by running work, mixed
 * priorities, ~10% pinned, ~5% waiting for dependencies). Aging and starvation are off.
 * Each run gets a fresh structuredClone of the snapshot (cloning is not timed).
 * decisions/s = pending deployments decided (placed or given a pending reason) per second.
 * growth ×10 = t(10·N) / t(N) at the same cluster count, next to n·log n's 10·log(10N)/log(N).
 */
import type { Plan, Snapshot } from '../../src/scheduler/planner/types';
import { largeSnapshot } from '../lib/generators';
import { PLAIN_POLICY, loadPlanner } from '../lib/planner-loader';
import { Args, machineInfo, machineLine, markdownTable, median } from '../lib/report';
import { priorityFirstFit } from '../quality/baselines';

interface Row {
  pending: number;
  clusters: number;
  running: number;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  decisionsPerSecond: number;
  placements: number;
  preemptions: number;
  growth: number | null;
  nlognGrowth: number | null;
  note: string;
}

function parseSizes(spec: string): [number, number][] {
  if (spec === 'small') return [[1000, 10]];
  if (spec === 'full') {
    return [10, 100, 1000].flatMap((c) =>
      [1000, 10000, 100000].map((n): [number, number] => [n, c]),
    );
  }
  return spec.split(',').map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`--sizes: expected full, small or NxC[,NxC…], got ${part}`);
    return [Number(m[1]), Number(m[2])];
  });
}

/**
 * --compare: per size, the planner without look-ahead (the planner before it), the planner and
 * priority first-fit run in turn on fresh clones of the same snapshot, `runs` rounds after one
 * warm-up round, so machine load hits all three alike; the order is reversed every other round.
 * Ratio = median(new) / median(old). "Without look-ahead" also turns off the bounded search
 * (search.ts): it is the planner before issue 12's steps.
 */
function compare(sizes: [number, number][], runs: number, seed: number, json: boolean): void {
  const impls: Record<string, (s: Snapshot) => Plan> = {
    old: (s) => loadPlanner({ lookAhead: false })!(s, PLAIN_POLICY),
    new: (s) => loadPlanner()!(s, PLAIN_POLICY),
    pff: priorityFirstFit,
  };
  const rows = sizes.map(([nPending, nClusters]) => {
    const snapshot = largeSnapshot(seed, nPending, nClusters);
    const times: Record<string, number[]> = { old: [], new: [], pff: [] };
    const placed: Record<string, number> = {};
    for (let round = 0; round <= runs; round++) {
      // The order alternates between rounds (old, new, first-fit; then the reverse): whichever
      // runs right after another pays for its garbage, so a fixed order biases the ratio.
      const entries = Object.entries(impls);
      if (round % 2 === 1) entries.reverse();
      for (const [name, impl] of entries) {
        const input = structuredClone(snapshot);
        const t0 = performance.now();
        const p = impl(input);
        const ms = performance.now() - t0;
        if (round > 0) times[name]!.push(ms);
        placed[name] = p.placements.length;
      }
    }
    const med = (k: string): number => median(times[k]!);
    if (!json)
      process.stderr.write(
        `${nPending}×${nClusters}: old ${med('old').toFixed(1)} ms, new ${med('new').toFixed(1)} ms, first-fit ${med('pff').toFixed(1)} ms\n`,
      );
    return {
      pending: nPending,
      clusters: nClusters,
      running: snapshot.running.length,
      runs,
      oldMs: med('old'),
      newMs: med('new'),
      ratio: med('new') / med('old'),
      firstFitMs: med('pff'),
      placedOld: placed.old ?? 0,
      placedNew: placed.new ?? 0,
      placedFirstFit: placed.pff ?? 0,
    };
  });
  if (json) {
    console.log(JSON.stringify({ machine: machineInfo(), seed, rows }, null, 2));
    return;
  }
  console.log('# Planner scale: without look-ahead vs with, alternating in one run\n');
  console.log(machineLine());
  console.log(
    `Snapshots: largeSnapshot(seed ${seed}); one warm-up round, then ${runs} rounds of old, new, priority first-fit in turn (order reversed every other round); medians.\n`,
  );
  console.log(
    markdownTable(
      [
        'pending',
        'clusters',
        'running',
        'without look-ahead ms',
        'with look-ahead ms',
        'with / without',
        'priority first-fit ms',
        'placed (without / with / first-fit)',
      ],
      rows.map((r) => [
        String(r.pending),
        String(r.clusters),
        String(r.running),
        r.oldMs.toFixed(1),
        r.newMs.toFixed(1),
        `${r.ratio.toFixed(2)}×`,
        r.firstFitMs.toFixed(1),
        `${r.placedOld} / ${r.placedNew} / ${r.placedFirstFit}`,
      ]),
    ),
  );
}

function main(): void {
  const args = new Args();
  const sizesSpec = args.string('sizes') ?? 'full';
  const sizes = parseSizes(sizesSpec);
  const runs = args.int('runs', sizesSpec === 'small' ? 1 : 5);
  const seed = args.int('seed', 7);
  const budgetSeconds = args.int('budget-seconds', 120);
  const json = args.has('json');
  if (args.has('compare')) {
    compare(sizes, runs, seed, json);
    return;
  }
  const planner = loadPlanner();
  const implName = args.string('impl') ?? (planner ? 'planner' : 'priority-first-fit');
  let impl: (s: Snapshot) => Plan;
  if (implName === 'planner') {
    if (!planner)
      throw new Error(
        'src/scheduler/planner/index.ts does not export plan yet; use --impl priority-first-fit',
      );
    impl = (s) => planner(s, PLAIN_POLICY);
  } else if (implName === 'priority-first-fit') {
    impl = priorityFirstFit;
  } else {
    throw new Error(`--impl: planner or priority-first-fit, got ${implName}`);
  }

  const rows: Row[] = [];
  for (const [nPending, nClusters] of sizes) {
    const snapshot = largeSnapshot(seed, nPending, nClusters);
    const warm = structuredClone(snapshot);
    const w0 = performance.now();
    impl(warm);
    const warmMs = performance.now() - w0;
    // Keep one size within the budget: fewer measured runs when a single run is slow.
    const n = Math.max(
      1,
      Math.min(runs, Math.floor((budgetSeconds * 1000) / Math.max(warmMs, 1e-3))),
    );
    const times: number[] = [];
    let last: Plan | undefined;
    for (let i = 0; i < n; i++) {
      const input = structuredClone(snapshot);
      const t0 = performance.now();
      last = impl(input);
      times.push(performance.now() - t0);
    }
    const med = median(times);
    const decided = snapshot.pending.length;
    rows.push({
      pending: nPending,
      clusters: nClusters,
      running: snapshot.running.length,
      runs: n,
      medianMs: med,
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      decisionsPerSecond: decided / (med / 1000),
      placements: last?.placements.length ?? 0,
      preemptions: last?.preemptions.length ?? 0,
      growth: null,
      nlognGrowth: null,
      note: n < runs ? `runs cut to ${n} by --budget-seconds ${budgetSeconds}` : '',
    });
    if (!json)
      process.stderr.write(
        `${nPending}×${nClusters}: median ${med.toFixed(1)} ms over ${n} run(s)\n`,
      );
  }
  for (const r of rows) {
    const prev = rows.find((p) => p.clusters === r.clusters && p.pending * 10 === r.pending);
    if (prev) {
      r.growth = r.medianMs / prev.medianMs;
      r.nlognGrowth = (10 * Math.log(r.pending)) / Math.log(prev.pending);
    }
  }

  if (json) {
    console.log(JSON.stringify({ machine: machineInfo(), impl: implName, seed, rows }, null, 2));
    return;
  }
  console.log(`# Planner scale (${implName})\n`);
  console.log(machineLine());
  console.log(
    `Snapshots: largeSnapshot(seed ${seed}); one warm-up run per size, then the median of the measured runs.\n`,
  );
  console.log(
    markdownTable(
      [
        'pending',
        'clusters',
        'running',
        'runs',
        'median ms',
        'min–max ms',
        'decisions/s',
        'placed',
        'preempted',
        'growth ×10 pending',
        'n log n would be',
        'note',
      ],
      rows.map((r) => [
        String(r.pending),
        String(r.clusters),
        String(r.running),
        String(r.runs),
        r.medianMs.toFixed(1),
        `${r.minMs.toFixed(1)}–${r.maxMs.toFixed(1)}`,
        Math.round(r.decisionsPerSecond).toLocaleString('en-US'),
        String(r.placements),
        String(r.preemptions),
        r.growth === null ? '' : `${r.growth.toFixed(1)}×`,
        r.nlognGrowth === null ? '' : `${r.nlognGrowth.toFixed(1)}×`,
        r.note,
      ]),
    ),
  );
}

main();
