import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { createHash } from 'node:crypto';
import { migrate, readMigrations } from '../../src/prisma/migrator';

export const PG_ADMIN_URL =
  process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
export const MIGRATIONS_DIR = join(__dirname, '..', '..', 'prisma', 'migrations');
/** Named after the migrations it holds, so concurrent runs share it and a change rebuilds it. */
export const TEMPLATE_DB = `berth_tpl_${createHash('sha256')
  .update(
    readMigrations(MIGRATIONS_DIR)
      .map((m) => m.checksum)
      .join(','),
  )
  .digest('hex')
  .slice(0, 12)}`;

export function urlFor(db: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh, empty database with every migration applied. */
export async function createMigratedDatabase(name: string): Promise<string> {
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  await migrate(urlFor(name), MIGRATIONS_DIR);
  return urlFor(name);
}

/** Creates the template once; a concurrent run waits on the advisory lock and reuses it. */
export async function ensureTemplate(): Promise<void> {
  await admin(async (c) => {
    await c.query('SELECT pg_advisory_lock(4242)');
    try {
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        TEMPLATE_DB,
      ]);
      if (rowCount === 0) {
        const building = `${TEMPLATE_DB}_building`;
        await c.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
        await c.query(`CREATE DATABASE "${building}"`);
        await migrate(urlFor(building), MIGRATIONS_DIR);
        await c.query(`ALTER DATABASE "${building}" RENAME TO "${TEMPLATE_DB}"`);
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock(4242)');
    }
  });
}

/** Each test file gets its own database, cloned from the migrated template (fast). */
export async function createTestDatabase(): Promise<{
  url: string;
  name: string;
  drop: () => Promise<void>;
}> {
  // The creation time in the name lets a concurrent run's clean-up tell a stale database from
  // one that another run created a moment ago and has not connected to yet.
  const name = `berth_t_${Date.now().toString(36)}_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DB}"`));
  return {
    name,
    url: urlFor(name),
    drop: () =>
      admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

const STALE_AFTER_MS = 2 * 60 * 60 * 1000;

/** When a test database was created, from its name; undefined for an older naming scheme. */
export function testDatabaseCreatedAt(name: string): number | undefined {
  const m = /^berth_t_([0-9a-z]+)_[0-9a-f]{12}$/.exec(name);
  return m ? parseInt(m[1]!, 36) : undefined;
}

/**
 * Drops databases left behind by interrupted runs: more than two hours old (or named before
 * names carried a time) and with no open connection. Younger ones may belong to a run going on
 * beside this one.
 */
export async function dropStaleTestDatabases(): Promise<void> {
  await admin(async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'berth\\_t\\_%'`,
    );
    const now = Date.now();
    for (const r of rows) {
      const createdAt = testDatabaseCreatedAt(r.datname);
      if (createdAt !== undefined && now - createdAt < STALE_AFTER_MS) continue;
      const stat = await c.query<{ busy: boolean }>(
        `SELECT count(*) > 0 AS busy FROM pg_stat_activity WHERE datname = $1`,
        [r.datname],
      );
      if (!stat.rows[0]?.busy) await c.query(`DROP DATABASE IF EXISTS "${r.datname}"`);
    }
  });
}
