export const SCHEDULER_QUEUE = 'scheduler';
/** The periodic job: fans out one pass job per organisation with pending work. */
export const TICK_JOB = 'tick';
export const TICK_SCHEDULER_ID = 'periodic-pass';
export const PASS_JOB = 'organization-pass';
/** First key of pg_advisory_xact_lock(int, int): one lock per organisation's passes. */
export const PASS_LOCK_CLASS = 0x62657274; // "bert"

/**
 * Worker locks: a worker killed mid-pass (kill -9) holds its job for at most LOCK + STALLED ms
 * before another worker takes it back. BullMQ's 30 s defaults kept a dead pass for 40–63 s.
 * Renewal runs every LOCK/2 ms, far more often than a pass blocks the event loop.
 */
export const PASS_LOCK_DURATION_MS = 10_000;
export const PASS_STALLED_INTERVAL_MS = 5_000;

/** An organisation with pending work and no pass for this many intervals gets one from the watchdog. */
export const WATCHDOG_INTERVALS = 3;

/** Options of one organisation's pass job for a tick of the given interval. */
export function passJobOptions(organizationId: number, intervalMs: number) {
  return {
    // No fixed job id: a failed or dead job kept under `pass-<org>` used to swallow every later
    // tick. Deduplication with a TTL just under the interval queues at most one pass per
    // organisation per tick, and lapses on its own whatever happened to the previous job.
    deduplication: {
      id: `pass-${organizationId}`,
      ttl: Math.max(50, Math.floor(intervalMs * 0.9)),
    },
    removeOnComplete: true,
    removeOnFail: { count: 100 },
  };
}
