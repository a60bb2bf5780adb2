/**
 * A work counter standing in for a time limit: the optional search steps (victim search, local
 * improvement, alternative strategies) stop when it runs out. Counting steps instead of reading
 * the clock keeps the planner deterministic: the same snapshot always yields the same plan.
 */
export class Budget {
  constructor(private left: number) {}

  /** Takes `n` units if they are still there. */
  take(n: number): boolean {
    if (this.left < n) return false;
    this.left -= n;
    return true;
  }

  get remaining(): number {
    return this.left;
  }
}
