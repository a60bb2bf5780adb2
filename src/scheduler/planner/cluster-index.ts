import type { Resources } from './types';

/**
 * A segment tree over clusters whose inner nodes hold the component-wise maximum of their leaves.
 * "Which clusters could take this request?" then prunes every subtree whose maximum is short in
 * some resource, so that with a thousand clusters a request that fits nowhere costs one root
 * comparison instead of a scan. Component-wise maxima are only a necessary condition in three
 * dimensions, so a query may still descend into subtrees without a fitting leaf; callers cap how
 * many leaves they want (`limit`).
 */
export class MaxTree {
  private readonly size: number;
  private readonly v: Float64Array;

  constructor(readonly n: number) {
    let size = 1;
    while (size < n) size <<= 1;
    this.size = size;
    this.v = new Float64Array(6 * size).fill(-Infinity);
  }

  /** Writes a leaf without fixing its ancestors; call `rebuild` once after a batch. */
  setLeaf(i: number, r: Resources): void {
    const p = 3 * (i + this.size);
    this.v[p] = r.ram;
    this.v[p + 1] = r.cpu;
    this.v[p + 2] = r.gpu;
  }

  rebuild(): void {
    for (let p = this.size - 1; p >= 1; p--) this.pull(p);
  }

  set(i: number, r: Resources): void {
    this.setLeaf(i, r);
    for (let p = (i + this.size) >> 1; p >= 1; p >>= 1) this.pull(p);
  }

  anyFits(req: Resources): boolean {
    let found = false;
    this.each(req, () => {
      found = true;
      return false;
    });
    return found;
  }

  /** Leaf indexes (in leaf order) whose vector covers `req`, at most `limit` of them. */
  collect(req: Resources, limit: number): number[] {
    const out: number[] = [];
    this.each(req, (i) => {
      out.push(i);
      return out.length < limit;
    });
    return out;
  }

  /** Visits covering leaves in leaf order until `visit` returns false. */
  each(req: Resources, visit: (leaf: number) => boolean): void {
    const v = this.v;
    const stack: number[] = [1];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const o = 3 * p;
      if (v[o]! < req.ram || v[o + 1]! < req.cpu || v[o + 2]! < req.gpu) continue;
      if (p >= this.size) {
        if (!visit(p - this.size)) return;
        continue;
      }
      // Right child first on the stack so that the left subtree is visited first (leaf order).
      stack.push(2 * p + 1, 2 * p);
    }
  }

  private pull(p: number): void {
    const v = this.v;
    const o = 3 * p;
    const l = 6 * p;
    const r = 6 * p + 3;
    v[o] = Math.max(v[l]!, v[r]!);
    v[o + 1] = Math.max(v[l + 1]!, v[r + 1]!);
    v[o + 2] = Math.max(v[l + 2]!, v[r + 2]!);
  }
}
