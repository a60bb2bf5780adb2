import type { Resources } from './types';

/**
 * A segment tree over clusters for "which clusters could take this request?".
 *
 * Each inner node keeps, over its leaves, the maximum of every resource and of min(x·ram, y·cpu)
 * for five ratios x:y from 4:1 to 1:4. A request above any of these at a node fits on no leaf below
 * it, so the subtree is skipped (a leaf that fits has ram ≥ r and cpu ≥ c, hence
 * min(x·ram, y·cpu) ≥ min(x·r, y·c)). Per-resource maxima alone prune badly on a busy system:
 * clusters out of RAM but with spare CPU next to clusters with the opposite make every node look
 * roomy for a request that needs both, and a failing query then walks most of the tree (measured:
 * ~800 of 2048 nodes with 1000 clusters). The minima see through that. Weights are integers (scaled
 * by the largest cluster per resource), so every comparison is exact; leaves are still checked
 * resource by resource.
 */
const K = 8;

export class MaxTree {
  private readonly size: number;
  private readonly v: Float64Array;
  /** Depth-first stack, reused: the depth-first walk never holds more than depth + 2 entries. */
  private readonly stack: Int32Array;
  private readonly q = new Float64Array(K);

  constructor(
    readonly n: number,
    private readonly w: Resources,
  ) {
    let size = 1;
    while (size < n) size <<= 1;
    this.size = size;
    this.v = new Float64Array(2 * K * size).fill(-Infinity);
    this.stack = new Int32Array(2 * Math.ceil(Math.log2(size) + 2));
  }

  /** Writes a leaf without fixing its ancestors; call `rebuild` once after a batch. */
  setLeaf(i: number, r: Resources): void {
    this.encode(r, this.v, K * (i + this.size));
  }

  rebuild(): void {
    for (let p = this.size - 1; p >= 1; p--) this.pull(p);
  }

  set(i: number, r: Resources): void {
    this.setLeaf(i, r);
    for (let p = (i + this.size) >> 1; p >= 1; p >>= 1) this.pull(p);
  }

  anyFits(req: Resources): boolean {
    return this.first(req) >= 0;
  }

  /** The first leaf (in leaf order) whose vector covers `req`, or -1; allocates nothing. */
  first(req: Resources): number {
    const v = this.v;
    const q = this.q;
    this.encode(req, q, 0);
    const size = this.size;
    const stack = this.stack;
    let top = 0;
    stack[top++] = 1;
    while (top > 0) {
      const p = stack[--top]!;
      const o = K * p;
      if (
        v[o]! < q[0]! ||
        v[o + 1]! < q[1]! ||
        v[o + 2]! < q[2]! ||
        v[o + 3]! < q[3]! ||
        v[o + 4]! < q[4]! ||
        v[o + 5]! < q[5]! ||
        v[o + 6]! < q[6]! ||
        v[o + 7]! < q[7]!
      ) {
        continue;
      }
      if (p >= size) return p - size;
      stack[top++] = 2 * p + 1;
      stack[top++] = 2 * p;
    }
    return -1;
  }

  /** Leaf indexes (in leaf order) whose vector covers `req`, at most `limit` of them. */
  collect(req: Resources, limit: number): number[] {
    const out: number[] = [];
    const v = this.v;
    const q = this.q;
    this.encode(req, q, 0);
    const size = this.size;
    const stack = this.stack;
    let top = 0;
    stack[top++] = 1;
    while (top > 0) {
      const p = stack[--top]!;
      const o = K * p;
      if (
        v[o]! < q[0]! ||
        v[o + 1]! < q[1]! ||
        v[o + 2]! < q[2]! ||
        v[o + 3]! < q[3]! ||
        v[o + 4]! < q[4]! ||
        v[o + 5]! < q[5]! ||
        v[o + 6]! < q[6]! ||
        v[o + 7]! < q[7]!
      ) {
        continue;
      }
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

  private encode(r: Resources, out: Float64Array, o: number): void {
    const a = r.ram * this.w.ram;
    const b = r.cpu * this.w.cpu;
    out[o] = r.ram;
    out[o + 1] = r.cpu;
    out[o + 2] = r.gpu;
    out[o + 3] = Math.min(4 * a, b);
    out[o + 4] = Math.min(2 * a, b);
    out[o + 5] = Math.min(a, b);
    out[o + 6] = Math.min(a, 2 * b);
    out[o + 7] = Math.min(a, 4 * b);
  }

  private pull(p: number): void {
    const v = this.v;
    const o = K * p;
    const l = 2 * K * p;
    const r = l + K;
    for (let j = 0; j < K; j++) v[o + j] = Math.max(v[l + j]!, v[r + j]!);
  }
}

/**
 * Integer weights putting the resources on a comparable scale (about 2^20 for the largest cluster),
 * small enough that every weighted amount stays an exact integer in a double.
 */
export function indexWeights(maxTotal: Resources): Resources {
  const w = (m: number): number => (m > 0 ? Math.max(1, Math.floor(2 ** 20 / m)) : 1);
  return { ram: w(maxTotal.ram), cpu: w(maxTotal.cpu), gpu: w(maxTotal.gpu) };
}
