import { createHash } from 'node:crypto';

/**
 * Marks a raw statement for a per-connection prepared statement: write it first in the SQL text
 * of a hot `$queryRaw` (e.g. `/* prepared *\/ SELECT …`).
 *
 * Why: the driver adapter sends every statement unnamed, so PostgreSQL parses and plans it on
 * every execution. For the queue-metrics statement planning alone took ~3 ms of PostgreSQL CPU
 * per request at 100k deployments, more than executing it (EXPLAIN ANALYZE, docs/benchmarks.md);
 * named, a connection parses it once and PostgreSQL may keep a generic plan. Only statements that
 * opt in are named, so no other query's plan changes. The marked statements must keep their
 * result columns' types (a column whose type a migration changes makes a cached plan fail once
 * with "cached plan must not change result type"); and a connection pooler in transaction mode
 * (PgBouncer before 1.21) cannot carry prepared statements.
 */
export const PREPARED_MARK = '/* prepared */';

const MAX_NAMES = 256;
const names = new Map<string, string>();

/** PrismaPg's statementNameGenerator: a stable name per marked SQL text, none for the others. */
export function preparedStatementName(query: { sql: string }): string | undefined {
  const { sql } = query;
  if (!sql.startsWith(PREPARED_MARK)) return undefined;
  let name = names.get(sql);
  if (name === undefined) {
    // A bounded set: the marked texts are constants of the code (a few per route), never data.
    if (names.size >= MAX_NAMES) return undefined;
    name = `berth_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
    names.set(sql, name);
  }
  return name;
}
