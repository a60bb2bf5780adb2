/** Shared benchmark helpers: machine description, statistics, markdown tables, CLI args. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1].trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

export function machineLine(m = machineInfo()): string {
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return `Machine: ${m.nproc} CPU(s), ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.platform}; load average at start ${load}`;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function min(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : Math.min(...xs);
}

export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    line(headers),
    `| ${widths.map((w) => '-'.repeat(Math.max(3, w))).join(' | ')} |`,
    ...rows.map(line),
  ].join('\n');
}

export function pct(x: number, digits = 2): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : 'n/a';
}

/** Minimal `--name value` / `--flag` parser. */
export class Args {
  constructor(private readonly argv: readonly string[] = process.argv.slice(2)) {}

  has(name: string): boolean {
    return this.argv.includes(`--${name}`);
  }

  string(name: string): string | undefined {
    const i = this.argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = this.argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  }

  /** `--name value` → value, `--name` alone → fallback, absent → undefined. */
  optional(name: string, fallback: string): string | undefined {
    const i = this.argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = this.argv[i + 1];
    return v === undefined || v.startsWith('--') ? fallback : v;
  }

  int(name: string, fallback: number): number {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got ${v}`);
    return n;
  }
}
