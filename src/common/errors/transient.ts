/**
 * Is this error the database (or the way to it) failing rather than the request being wrong?
 * Connection loss, refused or timed-out connections, an exhausted pool, a server shutting
 * connections down, and serialisation failures / deadlocks: all are worth retrying later, so
 * they are 503 with Retry-After (never 500, never 401). Prisma 7 with the pg driver adapter
 * reports these in several shapes, all observed by terminating backends under load:
 * - PrismaClientKnownRequestError P1001/P1002/P1008/P1017 (unreachable, timeouts, closed),
 *   P2024 (pool timeout), P2028 (transaction could not start in maxWait), P2034 (write conflict);
 * - P2010 "raw query failed" whose meta.driverAdapterError.cause carries the SQLSTATE
 *   (57P01 admin shutdown, 08xxx connection exceptions, 40001, 40P01, 53300) or a `kind`;
 * - a plain Error "Client has encountered a connection error and is not queryable" when the
 *   connection of an interactive transaction died;
 * - node socket errors (ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE) and pg's own messages,
 *   including pg-pool's "Cannot use a pool after calling end on the pool" for a request still in
 *   flight while its replica drains on SIGTERM (another replica can answer it).
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2034']);
const KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionWriteConflict',
]);
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);
/** SQLSTATE classes/codes: connection exception, operator intervention, serialisation, resources. */
const SQLSTATE = /^(08...|57P0[1-3]|40001|40P01|53300|53400)$/;
const MESSAGES =
  /ECONNRESET|ECONNREFUSED|EPIPE|connect ETIMEDOUT|Connection terminated|connection error and is not queryable|terminating connection|server closed the connection|timeout exceeded when trying to connect|Unable to start a transaction in the given time|Can't reach database server|DatabaseNotReachable|could not serialize access|deadlock detected|not currently accepting connections|Cannot use a pool after calling end on the pool|the database system is (starting up|shutting down)/i;

interface ErrorLike {
  code?: unknown;
  kind?: unknown;
  severity?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
}

export function isTransientDbError(err: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift() as ErrorLike | null | undefined;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const code = typeof e.code === 'string' ? e.code : '';
    if (PRISMA_CODES.has(code) || SOCKET_CODES.has(code) || SQLSTATE.test(code)) return true;
    if (typeof e.kind === 'string' && KINDS.has(e.kind)) return true;
    // A FATAL error ends the session: the server is going away or refuses this connection.
    if (e.severity === 'FATAL' || e.severity === 'PANIC') return true;
    if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
    queue.push(e.cause, e.meta?.driverAdapterError);
  }
  return false;
}

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 2;
