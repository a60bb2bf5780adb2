/**
 * Top self-time functions of a V8 .cpuprofile (from `node --cpu-prof`), and the share of time
 * per package / source area, to see where a benchmark's time goes.
 *
 *   npx tsx bench/api/profile-summary.ts <file.cpuprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';
import { Args, markdownTable } from '../lib/report';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function area(url: string): string {
  if (!url) return '(native / idle / gc)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  if (url.startsWith('node:')) return 'node internals';
  const src = /\/(src\/[^/]+(?:\/[^/]+)?|dist\/[^/]+(?:\/[^/]+)?|bench\/[^/]+)\//.exec(url);
  return src?.[1] ?? url;
}

/** Markdown: sampled time per area (package / source folder), then the top self-time functions. */
export function summarizeProfile(file: string, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^.*\/(node_modules|src|dist|bench)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const a = area(url);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const rows = (m: Map<string, number>, k: number): string[][] =>
    [...m.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, k)
      .map(([name, us]) => [name, (us / 1000).toFixed(0), `${((100 * us) / total).toFixed(1)}%`]);
  return [
    `Total sampled: ${(total / 1e6).toFixed(2)} s`,
    '',
    markdownTable(['area', 'self ms', 'share'], rows(byArea, 15)),
    '',
    markdownTable(['function', 'self ms', 'share'], rows(byFn, top)),
  ].join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file || file.startsWith('--')) throw new Error('usage: profile-summary <file.cpuprofile>');
  console.log(summarizeProfile(file, new Args().int('top', 25)));
}
