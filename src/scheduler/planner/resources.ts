import type { Resources } from './types';

export const ZERO: Resources = Object.freeze({ ram: 0, cpu: 0, gpu: 0 });

export function fits(req: Resources, free: Resources): boolean {
  return req.ram <= free.ram && req.cpu <= free.cpu && req.gpu <= free.gpu;
}
