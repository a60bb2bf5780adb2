/**
 * Scratch PostgreSQL databases for the database-backed benchmarks (pass and api): created from
 * the admin URL (BENCH_PG_URL, else TEST_PG_URL, else the local default), migrated with the
 * project's own migrator, cloned per run from a seeded template, and dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { migrate } from '../../src/prisma/migrator';

export const PG_ADMIN_URL =
  process.env.BENCH_PG_URL ??
  process.env.TEST_PG_URL ??
  'postgresql://postgres@127.0.0.1:5432/postgres';

export const MIGRATIONS_DIR = join(__dirname, '..', '..', 'prisma', 'migrations');

export function urlFor(db: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** `<prefix>_<10 hex>`: unique per run, so concurrent benchmarks never share a database. */
export function scratchName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A new empty database with every migration applied; returns its URL. */
export async function createMigratedDatabase(name: string): Promise<string> {
  await withAdmin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  await migrate(urlFor(name), MIGRATIONS_DIR);
  return urlFor(name);
}

/** A copy of `template` (which must have no open connection). */
export async function cloneDatabase(template: string, name: string): Promise<string> {
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  return urlFor(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
