import type { Resources } from './types';

export const ZERO: Resources = Object.freeze({ ram: 0, cpu: 0, gpu: 0 });

export const RESOURCE_NAMES = ['ram', 'cpu', 'gpu'] as const;
export type ResourceName = (typeof RESOURCE_NAMES)[number];

export function fits(req: Resources, free: Resources): boolean {
  return req.ram <= free.ram && req.cpu <= free.cpu && req.gpu <= free.gpu;
}

export function copy(r: Resources): Resources {
  return { ram: r.ram, cpu: r.cpu, gpu: r.gpu };
}

export function add(a: Resources, b: Resources): Resources {
  return { ram: a.ram + b.ram, cpu: a.cpu + b.cpu, gpu: a.gpu + b.gpu };
}

export function sub(a: Resources, b: Resources): Resources {
  return { ram: a.ram - b.ram, cpu: a.cpu - b.cpu, gpu: a.gpu - b.gpu };
}

/** Component-wise minimum: the part of `b` that `a` can cover. */
export function min(a: Resources, b: Resources): Resources {
  return { ram: Math.min(a.ram, b.ram), cpu: Math.min(a.cpu, b.cpu), gpu: Math.min(a.gpu, b.gpu) };
}

/** What is still missing of `need` once `have` is used: never negative. */
export function shortfall(need: Resources, have: Resources): Resources {
  return {
    ram: Math.max(0, need.ram - have.ram),
    cpu: Math.max(0, need.cpu - have.cpu),
    gpu: Math.max(0, need.gpu - have.gpu),
  };
}

export function addInto(target: Resources, b: Resources): void {
  target.ram += b.ram;
  target.cpu += b.cpu;
  target.gpu += b.gpu;
}

export function subInto(target: Resources, b: Resources): void {
  target.ram -= b.ram;
  target.cpu -= b.cpu;
  target.gpu -= b.gpu;
}

export function isZero(r: Resources): boolean {
  return r.ram === 0 && r.cpu === 0 && r.gpu === 0;
}

export function equals(a: Resources, b: Resources): boolean {
  return a.ram === b.ram && a.cpu === b.cpu && a.gpu === b.gpu;
}

/**
 * Milli-units as a person reads them: 4000 → "4", 1500 → "1.5". Integer arithmetic only, so the
 * text never shows binary-float noise such as 0.30000000000000004.
 */
export function formatUnits(milli: number): string {
  const sign = milli < 0 ? '-' : '';
  const abs = Math.abs(milli);
  const whole = Math.floor(abs / 1000);
  const frac = abs % 1000;
  if (frac === 0) return `${sign}${whole}`;
  return `${sign}${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

export function formatResources(r: Resources): string {
  return RESOURCE_NAMES.map((n) => `${n} ${formatUnits(r[n])}`).join(', ');
}
