export { plan } from './plan';
export { applyPlan } from './apply';
export { effectivePriority, isStarving, compareQueue } from './queue';
export { fits } from './resources';
export type * from './types';
