import type { Budget } from './budget';
import type { Item } from './state';
import type { Resources } from './types';

/**
 * Victim selection on one cluster. The contract fixes the order of concerns: first the highest
 * victim priority as low as possible (never touch a priority class while a lower one would do),
 * then as few victims as possible (each eviction restarts somebody), then as little work lost as
 * possible (evict what started most recently).
 *
 * Work placed earlier in this same plan is not running yet: displacing it evicts nobody and loses
 * nothing, so among candidates of the same priority it goes first and only running work counts as
 * a victim. Otherwise an eviction could stand next to newly placed work of the victim's own
 * priority that merely took room which was free anyway, and the eviction would not be needed.
 */

export interface VictimSet {
  victims: Item[];
  maxPriority: number;
  /** Victims that were running before this plan (real evictions). */
  real: number;
  /** Σ (now − startedAt) over real victims: work thrown away. */
  lost: number;
}

/** Work placed by this plan, not yet running anywhere. */
export function isTentative(v: Item): boolean {
  return v.clusterId !== v.initialClusterId;
}

/** Lexicographic: highest victim priority, evictions, work lost, displaced total, then ids. */
export function compareVictimSets(a: VictimSet, b: VictimSet): number {
  if (a.maxPriority !== b.maxPriority) return a.maxPriority - b.maxPriority;
  if (a.real !== b.real) return a.real - b.real;
  if (a.lost !== b.lost) return a.lost - b.lost;
  if (a.victims.length !== b.victims.length) return a.victims.length - b.victims.length;
  const ia = a.victims.map((v) => v.id).sort((x, y) => x - y);
  const ib = b.victims.map((v) => v.id).sort((x, y) => x - y);
  for (let i = 0; i < ia.length; i++) if (ia[i] !== ib[i]) return ia[i]! - ib[i]!;
  return 0;
}

/**
 * The lowest priority L such that evicting everything at or below L (and strictly below the
 * preemptor) would cover `deficit`, or null when even all of it would not.
 */
export function lowestSufficientPriority(candidates: Item[], deficit: Resources): number | null {
  const byPrio = [...candidates].sort((a, b) => a.priority - b.priority);
  let ram = 0;
  let cpu = 0;
  let gpu = 0;
  for (let i = 0; i < byPrio.length; i++) {
    const v = byPrio[i]!;
    ram += v.req.ram;
    cpu += v.req.cpu;
    gpu += v.req.gpu;
    const next = byPrio[i + 1];
    if (next && next.priority === v.priority) continue;
    if (ram >= deficit.ram && cpu >= deficit.cpu && gpu >= deficit.gpu) return v.priority;
  }
  return null;
}

function covers(rem: Resources): boolean {
  return rem.ram <= 0 && rem.cpu <= 0 && rem.gpu <= 0;
}

function lostOf(victims: Item[], now: number): number {
  let s = 0;
  for (const v of victims) if (!isTentative(v)) s += now - v.startedAt;
  return s;
}

function setOf(victims: Item[], now: number): VictimSet {
  return {
    victims,
    maxPriority: victims.reduce((m, v) => Math.max(m, v.priority), -Infinity),
    real: victims.filter((v) => !isTentative(v)).length,
    lost: lostOf(victims, now),
  };
}

/**
 * Fewest real evictions covering `deficit`: all displaceable newcomers are counted in first, the
 * running work covers what they cannot, then newcomers that turn out not to be needed stay.
 */
export function chooseVictims(
  pool: Item[],
  deficit: Resources,
  now: number,
  budget: Budget,
): VictimSet | null {
  if (covers(deficit)) return setOf([], now);
  // Victims that give nothing of what is missing are never needed in a smallest set.
  const useful = pool.filter(
    (v) =>
      (deficit.ram > 0 && v.req.ram > 0) ||
      (deficit.cpu > 0 && v.req.cpu > 0) ||
      (deficit.gpu > 0 && v.req.gpu > 0),
  );
  const tentative = useful.filter(isTentative);
  const running = useful.filter((v) => !isTentative(v));
  const residual = { ...deficit };
  for (const v of tentative) {
    residual.ram -= v.req.ram;
    residual.cpu -= v.req.cpu;
    residual.gpu -= v.req.gpu;
  }
  if (covers(residual)) {
    const t = minCover(tentative, deficit, now, budget);
    return t ? setOf(t, now) : null;
  }
  const r = minCover(running, clip(residual), now, budget);
  if (!r) return null;
  // Keep only the newcomers still needed next to the chosen running victims.
  const rem = { ...deficit };
  for (const v of r) {
    rem.ram -= v.req.ram;
    rem.cpu -= v.req.cpu;
    rem.gpu -= v.req.gpu;
  }
  const kept: Item[] = [];
  const byId = [...tentative].sort((a, b) => a.id - b.id);
  let slack = { ram: -rem.ram, cpu: -rem.cpu, gpu: -rem.gpu };
  for (const v of byId)
    slack = { ram: slack.ram + v.req.ram, cpu: slack.cpu + v.req.cpu, gpu: slack.gpu + v.req.gpu };
  for (const v of byId) {
    if (slack.ram >= v.req.ram && slack.cpu >= v.req.cpu && slack.gpu >= v.req.gpu) {
      slack = {
        ram: slack.ram - v.req.ram,
        cpu: slack.cpu - v.req.cpu,
        gpu: slack.gpu - v.req.gpu,
      };
      continue;
    }
    kept.push(v);
  }
  return setOf([...r, ...kept], now);
}

function clip(r: Resources): Resources {
  return { ram: Math.max(0, r.ram), cpu: Math.max(0, r.cpu), gpu: Math.max(0, r.gpu) };
}

/**
 * Fewest victims from `pool` covering `deficit`, then least work lost. Greedy (largest share of
 * what is still missing) gives an upper bound; an exact search by increasing set size then improves
 * it while the budget lasts. Pools are small in practice (the work on one cluster at or below one
 * priority), so the exact search usually completes.
 */
function minCover(pool: Item[], deficit: Resources, now: number, budget: Budget): Item[] | null {
  if (covers(deficit)) return [];
  const useful = pool
    .filter(
      (v) =>
        (deficit.ram > 0 && v.req.ram > 0) ||
        (deficit.cpu > 0 && v.req.cpu > 0) ||
        (deficit.gpu > 0 && v.req.gpu > 0),
    )
    .sort((a, b) => b.startedAt - a.startedAt || a.id - b.id);

  const greedy = greedyCover(useful, deficit);
  if (!greedy) return null;
  let best: VictimSet = setOf(greedy, now);

  const n = useful.length;
  // Suffix maxima per resource: with s slots left from position i, nothing can add more than
  // s × max, which prunes most of the search.
  const suf = new Float64Array(3 * (n + 1));
  for (let i = n - 1; i >= 0; i--) {
    const r = useful[i]!.req;
    suf[3 * i] = Math.max(suf[3 * i + 3]!, r.ram);
    suf[3 * i + 1] = Math.max(suf[3 * i + 4]!, r.cpu);
    suf[3 * i + 2] = Math.max(suf[3 * i + 5]!, r.gpu);
  }

  for (let k = 1; k <= greedy.length; k++) {
    let found: VictimSet | null = null;
    let exhausted = false;
    const chosen: Item[] = [];
    const dfs = (start: number, ram: number, cpu: number, gpu: number): void => {
      if (exhausted) return;
      if (!budget.take(1)) {
        exhausted = true;
        return;
      }
      const slots = k - chosen.length;
      if (slots === 0) {
        if (ram <= 0 && cpu <= 0 && gpu <= 0) {
          const cand = setOf([...chosen], now);
          if (!found || compareVictimSets(cand, found) < 0) found = cand;
        }
        return;
      }
      for (let i = start; i <= n - slots; i++) {
        if (
          ram > slots * suf[3 * i]! ||
          cpu > slots * suf[3 * i + 1]! ||
          gpu > slots * suf[3 * i + 2]!
        ) {
          return;
        }
        const v = useful[i]!;
        chosen.push(v);
        dfs(i + 1, ram - v.req.ram, cpu - v.req.cpu, gpu - v.req.gpu);
        chosen.pop();
        if (exhausted) return;
      }
    };
    dfs(0, deficit.ram, deficit.cpu, deficit.gpu);
    const f = found as VictimSet | null;
    if (f && compareVictimSets(f, best) < 0) best = f;
    if (f || exhausted) break;
  }
  return best.victims;
}

function greedyCover(useful: Item[], deficit: Resources): Item[] | null {
  const rem = { ...deficit };
  const chosen: Item[] = [];
  const taken = new Set<Item>();
  while (!covers(rem)) {
    let pick: Item | null = null;
    let pickGain = 0;
    for (const v of useful) {
      if (taken.has(v)) continue;
      let gain = 0;
      if (rem.ram > 0) gain += Math.min(v.req.ram, rem.ram) / rem.ram;
      if (rem.cpu > 0) gain += Math.min(v.req.cpu, rem.cpu) / rem.cpu;
      if (rem.gpu > 0) gain += Math.min(v.req.gpu, rem.gpu) / rem.gpu;
      if (gain > pickGain) {
        pick = v;
        pickGain = gain;
      }
    }
    if (!pick) return null;
    taken.add(pick);
    chosen.push(pick);
    rem.ram -= pick.req.ram;
    rem.cpu -= pick.req.cpu;
    rem.gpu -= pick.req.gpu;
  }
  // Drop victims the others already cover, most work lost (earliest start) first.
  const byLoss = [...chosen].sort((a, b) => a.startedAt - b.startedAt || b.id - a.id);
  const kept = new Set(chosen);
  for (const v of byLoss) {
    if (rem.ram + v.req.ram <= 0 && rem.cpu + v.req.cpu <= 0 && rem.gpu + v.req.gpu <= 0) {
      rem.ram += v.req.ram;
      rem.cpu += v.req.cpu;
      rem.gpu += v.req.gpu;
      kept.delete(v);
    }
  }
  return chosen.filter((v) => kept.has(v));
}
