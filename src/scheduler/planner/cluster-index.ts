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
  /** Depth-first stack, reused: at most two entries per level of the tree. */
  private readonly stack: Int32Array;

  constructor(readonly n: number) {
    let size = 1;
    while (size < n) size <<= 1;
    this.size = size;
    this.v = new Float64Array(6 * size).fill(-Infinity);
    this.stack = new Int32Array(2 * Math.ceil(Math.log2(size) + 2));
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
    return this.collect(req, 1).length > 0;
  }

  /** Leaf indexes (in leaf order) whose vector covers `req`, at most `limit` of them. */
  collect(req: Resources, limit: number): number[] {
    const out: number[] = [];
    const v = this.v;
    const size = this.size;
    const stack = this.stack;
    let top = 0;
    stack[top++] = 1;
    while (top > 0) {
      const p = stack[--top]!;
      const o = 3 * p;
      if (v[o]! < req.ram || v[o + 1]! < req.cpu || v[o + 2]! < req.gpu) continue;
      if (p >= size) {
        out.push(p - size);
        if (out.length >= limit) break;
        continue;
      }
      // Right child first on the stack so that the left subtree is visited first (leaf order).
      stack[top++] = 2 * p + 1;
      stack[top++] = 2 * p;
    }
    return out;
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
