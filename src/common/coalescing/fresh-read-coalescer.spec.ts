import fc from 'fast-check';
import { FreshReadCoalescer } from './fresh-read-coalescer';

/** A promise with its resolve/reject, to hold a batch "in flight" as long as a test wants. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

/** A loader whose batches stay in flight until the test settles them. */
function heldLoader() {
  const calls: { keys: number[]; done: ReturnType<typeof deferred<Map<string, string>>> }[] = [];
  const load = (keys: number[]) => {
    const done = deferred<Map<string, string>>();
    calls.push({ keys, done });
    return done.promise;
  };
  /** Settles batch `i` with `<key>@<label>` for every key it was asked. */
  const answer = (i: number, label: string) =>
    calls[i]!.done.resolve(new Map(calls[i]!.keys.map((k) => [String(k), `${k}@${label}`])));
  return { calls, load, answer };
}

describe(FreshReadCoalescer.name, () => {
  it('should read the keys requested in one turn in one batch, each distinct key once', async () => {
    const h = heldLoader();
    const c = new FreshReadCoalescer<number, string>(h.load);
    const results = Promise.all([c.load(1), c.load(2), c.load(1), c.load(3)]);
    await turn();
    expect(h.calls.map((x) => x.keys)).toEqual([[1, 2, 3]]);
    h.answer(0, 'a');
    await expect(results).resolves.toEqual(['1@a', '2@a', '1@a', '3@a']);
    expect(c.stats()).toEqual({ requests: 4, batches: 1, keys: 3 });
  });

  it('should never answer a request from a batch that started before it arrived', async () => {
    const h = heldLoader();
    const c = new FreshReadCoalescer<number, string>(h.load);
    const early = c.load(1);
    await turn();
    expect(h.calls).toHaveLength(1); // batch 0 in flight: its snapshot may predate any later write
    const late = c.load(1);
    const other = c.load(2);
    await turn();
    expect(h.calls).toHaveLength(1); // the late arrivals wait: they do not join batch 0
    h.answer(0, 'first');
    await expect(early).resolves.toBe('1@first');
    await turn();
    expect(h.calls.map((x) => x.keys)).toEqual([[1], [1, 2]]);
    h.answer(1, 'second');
    await expect(late).resolves.toBe('1@second');
    await expect(other).resolves.toBe('2@second');
  });

  it('should resolve undefined for a key the loader did not return', async () => {
    const c = new FreshReadCoalescer<number, string>(() =>
      Promise.resolve(new Map([['1', 'one']])),
    );
    await expect(Promise.all([c.load(1), c.load(404)])).resolves.toEqual(['one', undefined]);
  });

  it('should reject every caller of a failed batch, and read the next batch afresh', async () => {
    const h = heldLoader();
    const c = new FreshReadCoalescer<number, string>(h.load);
    const failed = [c.load(1), c.load(2)];
    await turn();
    const afterFailure = c.load(1);
    h.calls[0]!.done.reject(new Error('connection lost'));
    for (const p of failed) await expect(p).rejects.toThrow('connection lost');
    await turn();
    h.answer(1, 'retry');
    await expect(afterFailure).resolves.toBe('1@retry');
  });

  it('should reject the callers when the loader throws synchronously', async () => {
    let calls = 0;
    const c = new FreshReadCoalescer<number, string>(() => {
      calls++;
      if (calls === 1) throw new Error('bad key');
      return Promise.resolve(new Map([['1', 'ok']]));
    });
    await expect(c.load(1)).rejects.toThrow('bad key');
    await expect(c.load(1)).resolves.toBe('ok');
  });

  it('should split more than maxBatch distinct keys over consecutive batches, oldest first', async () => {
    const h = heldLoader();
    const c = new FreshReadCoalescer<number, string>(h.load, { maxBatch: 2 });
    const all = Promise.all([1, 2, 3, 4, 5].map((k) => c.load(k)));
    await turn();
    expect(h.calls.map((x) => x.keys)).toEqual([[1, 2]]);
    h.answer(0, 'a');
    await turn();
    await turn();
    expect(h.calls.map((x) => x.keys)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    h.answer(1, 'b');
    await turn();
    await turn();
    h.answer(2, 'c');
    await expect(all).resolves.toEqual(['1@a', '2@a', '3@b', '4@b', '5@c']);
  });

  it('should start another batch while one is in flight when maxInFlight allows it', async () => {
    const h = heldLoader();
    const c = new FreshReadCoalescer<number, string>(h.load, { maxInFlight: 2 });
    const first = c.load(1);
    await turn();
    const second = c.load(1);
    await turn();
    const third = c.load(1);
    await turn();
    expect(h.calls).toHaveLength(2); // two in flight; the third waits for a slot
    h.answer(1, 'b');
    await expect(second).resolves.toBe('1@b');
    await turn();
    expect(h.calls).toHaveLength(3);
    h.answer(0, 'a');
    h.answer(2, 'c');
    await expect(first).resolves.toBe('1@a');
    await expect(third).resolves.toBe('1@c');
  });

  it('should group keys by keyOf', async () => {
    const seen: string[][] = [];
    const c = new FreshReadCoalescer<{ u: number; o: number }, string>(
      (keys) => {
        seen.push(keys.map((k) => `${k.u}/${k.o}`));
        return Promise.resolve(new Map(keys.map((k) => [`${k.u}:${k.o}`, `role-${k.u}-${k.o}`])));
      },
      { keyOf: (k) => `${k.u}:${k.o}` },
    );
    const r = await Promise.all([
      c.load({ u: 1, o: 2 }),
      c.load({ u: 1, o: 2 }),
      c.load({ u: 2, o: 1 }),
    ]);
    expect(r).toEqual(['role-1-2', 'role-1-2', 'role-2-1']);
    expect(seen).toEqual([['1/2', '2/1']]);
  });

  it('should refuse nonsensical options', () => {
    const load = () => Promise.resolve(new Map<string, string>());
    expect(() => new FreshReadCoalescer(load, { maxBatch: 0 })).toThrow(RangeError);
    expect(() => new FreshReadCoalescer(load, { maxInFlight: 1.5 })).toThrow(RangeError);
  });

  /**
   * Read-your-writes under random interleavings: a "database" of versioned values that writes
   * bump at random moments, loads at random moments, batches that take random times. Every load
   * must see at least the version that was committed when it was called.
   */
  it('should always see every write committed before the load was called', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            op: fc.constantFrom('write', 'read'),
            key: fc.integer({ min: 1, max: 3 }),
            gap: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        async (ops, maxInFlight, latency) => {
          const db = new Map<number, number>();
          const c = new FreshReadCoalescer<number, number>(
            async (keys) => {
              // The snapshot is taken when the batch starts; the answer arrives later.
              const snapshot = new Map(keys.map((k) => [String(k), db.get(k) ?? 0]));
              for (let i = 0; i < latency; i++) await turn();
              return snapshot;
            },
            { maxInFlight },
          );
          const checks: Promise<void>[] = [];
          for (const { op, key, gap } of ops) {
            if (op === 'write') {
              db.set(key, (db.get(key) ?? 0) + 1);
            } else {
              const committed = db.get(key) ?? 0;
              checks.push(
                c.load(key).then((seen) => {
                  expect(seen).toBeGreaterThanOrEqual(committed);
                }),
              );
            }
            for (let i = 0; i < gap; i++) await turn();
          }
          await Promise.all(checks);
        },
      ),
      { numRuns: 150 },
    );
  });
});
