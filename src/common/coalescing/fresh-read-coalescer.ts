/**
 * Coalesces concurrent reads of the same kind into one batched database read, without ever
 * answering from a read that started before the request arrived (so it is not a cache).
 *
 * A caller's key joins the **next** batch: the one that has not started yet. While a batch is in
 * flight, every new arrival waits for the batch after it, which starts when the one in flight
 * settles (or at once when fewer than `maxInFlight` are running). Equal keys in one batch share
 * one result; distinct keys are read together (`WHERE id = ANY($1)`, DataLoader-style).
 *
 * Why "never join a read in flight": a client that got the response of its write and then reads
 * must see the write (read-your-writes), and a role revoked through another replica must bind on
 * the very next request. A batch that started before the request arrived may have taken its
 * snapshot before that write committed; one that starts after cannot have. The cost is at most
 * one extra round trip of waiting under load, in exchange for one statement per batch instead of
 * one per request.
 *
 * The same pattern as SchedulerService.requestPass ("current + next") for scheduler passes.
 * Results are shared between the callers of one batch: treat them as read-only.
 */
export interface FreshReadOptions<K> {
  /** A stable string per key: equal strings share one read within a batch. Default `String`. */
  keyOf?: (key: K) => string;
  /** The most distinct keys one batch reads; the rest wait for the following one. Default 256. */
  maxBatch?: number;
  /** Batches that may run at once. Default 1 (each batch then gathers everything that waited). */
  maxInFlight?: number;
}

/**
 * Reads the values of `keys` (distinct by `keyOf`); returns them by `keyOf(key)`. A key missing
 * from the result resolves its callers with `undefined`. A throw rejects every caller of the batch.
 */
export type BatchLoader<K, V> = (keys: K[]) => Promise<ReadonlyMap<string, V>>;

export interface FreshReadStats {
  /** Calls of load(). */
  requests: number;
  /** Batches started (statements sent, for one-statement loaders). */
  batches: number;
  /** Distinct keys read, summed over batches. */
  keys: number;
}

interface Waiter<V> {
  resolve: (value: V | undefined) => void;
  reject: (err: unknown) => void;
}

interface Pending<K, V> {
  key: K;
  waiters: Waiter<V>[];
}

export class FreshReadCoalescer<K, V> {
  private readonly keyOf: (key: K) => string;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  /** Keys waiting for a batch that has not started. Insertion order: oldest first. */
  private next = new Map<string, Pending<K, V>>();
  private inFlight = 0;
  private scheduled = false;
  private readonly counters: FreshReadStats = { requests: 0, batches: 0, keys: 0 };

  constructor(
    private readonly loadBatch: BatchLoader<K, V>,
    options: FreshReadOptions<K> = {},
  ) {
    this.keyOf = options.keyOf ?? String;
    this.maxBatch = options.maxBatch ?? 256;
    this.maxInFlight = options.maxInFlight ?? 1;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new RangeError('maxBatch must be a positive integer');
    }
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) {
      throw new RangeError('maxInFlight must be a positive integer');
    }
  }

  /** The value of `key` as read by a batch that starts after this call. */
  load(key: K): Promise<V | undefined> {
    this.counters.requests++;
    return new Promise<V | undefined>((resolve, reject) => {
      const id = this.keyOf(key);
      let pending = this.next.get(id);
      if (!pending) {
        pending = { key, waiters: [] };
        this.next.set(id, pending);
      }
      pending.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Counters since construction (for tests and benchmarks). */
  stats(): FreshReadStats {
    return { ...this.counters };
  }

  /**
   * Starts the next batch at the end of this turn of the event loop (setImmediate), so requests
   * that became ready in the same I/O phase share it. Never synchronously inside load(): the
   * batch would hold one key where a moment later it could hold all of them.
   */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.next.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    if (this.inFlight >= this.maxInFlight || this.next.size === 0) return;
    let batch: Pending<K, V>[];
    let ids: string[];
    if (this.next.size <= this.maxBatch) {
      ids = [...this.next.keys()];
      batch = [...this.next.values()];
      this.next = new Map();
    } else {
      ids = [];
      batch = [];
      for (const [id, pending] of this.next) {
        if (ids.length === this.maxBatch) break;
        ids.push(id);
        batch.push(pending);
      }
      for (const id of ids) this.next.delete(id);
    }
    this.inFlight++;
    this.counters.batches++;
    this.counters.keys += batch.length;
    let read: Promise<ReadonlyMap<string, V>>;
    try {
      read = this.loadBatch(batch.map((p) => p.key));
    } catch (err) {
      read = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    void read
      .then(
        (values) => {
          batch.forEach((p, i) => {
            const value = values.get(ids[i]!);
            for (const w of p.waiters) w.resolve(value);
          });
        },
        (err: unknown) => {
          for (const p of batch) for (const w of p.waiters) w.reject(err);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.schedule();
      });
  }
}
