export const SCHEDULER_QUEUE = 'scheduler';
/** The periodic job: fans out one pass job per organisation with pending work. */
export const TICK_JOB = 'tick';
export const TICK_SCHEDULER_ID = 'periodic-pass';
export const PASS_JOB = 'organization-pass';
/** First key of pg_advisory_xact_lock(int, int): one lock per organisation's passes. */
export const PASS_LOCK_CLASS = 0x62657274; // "bert"
