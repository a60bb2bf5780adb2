import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDMMF } from '@prisma/internals';
import { Client } from 'pg';
import { readMigrations } from '../../src/prisma/migrator';
import { createMigratedDatabase, MIGRATIONS_DIR, PG_ADMIN_URL } from '../support/db';

/**
 * The migrations are hand-maintained SQL; the Prisma schema is what the generated client trusts.
 * This applies every migration to an empty database and checks, both ways, that the database is
 * exactly what prisma/schema.prisma describes (tables, columns, types, nullability, defaults,
 * keys, indexes, foreign keys and enums).
 */

type Datamodel = Awaited<ReturnType<typeof getDMMF>>['datamodel'];
type Model = Datamodel['models'][number];
type Field = Model['fields'][number];
type DeepMutable<T> = T extends readonly (infer U)[]
  ? DeepMutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: DeepMutable<T[K]> }
    : T;
type Altered = DeepMutable<Datamodel>;
type AlteredModel = Altered['models'][number];
type AlteredField = AlteredModel['fields'][number];

interface DbColumn {
  table: string;
  column: string;
  nullable: boolean;
  dataType: string;
  udtName: string;
  default: string | null;
  datetimePrecision: number | null;
}
interface DbIndex {
  table: string;
  name: string;
  unique: boolean;
  primary: boolean;
  columns: string[];
  desc: boolean[];
}
interface DbForeignKey {
  table: string;
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
}
interface DbSnapshot {
  tables: string[];
  columns: DbColumn[];
  indexes: DbIndex[];
  foreignKeys: DbForeignKey[];
  enums: Record<string, string[]>;
}

const IGNORED_TABLES = new Set(['_prisma_migrations']);
/**
 * Known differences: indexes on expressions, which Prisma's schema cannot describe. Each one is
 * named here, so any other index missing from the schema is still reported.
 */
const EXPRESSION_INDEXES = new Set(['users_username_lower_key', 'users_email_lower_key']);

async function snapshot(db: Client): Promise<DbSnapshot> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  const columns = await db.query<{
    table_name: string;
    column_name: string;
    is_nullable: string;
    data_type: string;
    udt_name: string;
    column_default: string | null;
    datetime_precision: number | null;
  }>(
    `SELECT table_name, column_name, is_nullable, data_type, udt_name, column_default,
            datetime_precision
       FROM information_schema.columns WHERE table_schema = 'public'`,
  );
  const indexes = await db.query<{
    table: string;
    name: string;
    unique: boolean;
    primary: boolean;
    columns: string[];
    desc: boolean[];
  }>(
    `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique,
            ix.indisprimary AS primary,
            array(SELECT a.attname::text
                    FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS columns,
            array(SELECT (o.opt & 1) = 1
                    FROM unnest(ix.indoption::int2[]) WITH ORDINALITY o(opt, ord)
                   ORDER BY o.ord) AS desc
       FROM pg_index ix
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public'`,
  );
  const fks = await db.query<{
    table: string;
    name: string;
    columns: string[];
    ref_table: string;
    ref_columns: string[];
    on_delete: string;
  }>(
    `SELECT t.relname AS table, c.conname AS name, r.relname AS ref_table,
            c.confdeltype::text AS on_delete,
            array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS columns,
            array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS ref_columns
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_class r ON r.oid = c.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE c.contype = 'f' AND n.nspname = 'public'`,
  );
  const enums = await db.query<{ name: string; value: string }>(
    `SELECT t.typname AS name, e.enumlabel AS value
       FROM pg_type t
       JOIN pg_enum e ON e.enumtypid = t.oid
       JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public'
      ORDER BY t.typname, e.enumsortorder`,
  );
  const enumMap: Record<string, string[]> = {};
  for (const r of enums.rows) (enumMap[r.name] ??= []).push(r.value);
  return {
    tables: tables.rows.map((r) => r.table_name).filter((t) => !IGNORED_TABLES.has(t)),
    columns: columns.rows
      .filter((r) => !IGNORED_TABLES.has(r.table_name))
      .map((r) => ({
        table: r.table_name,
        column: r.column_name,
        nullable: r.is_nullable === 'YES',
        dataType: r.data_type,
        udtName: r.udt_name,
        default: r.column_default,
        datetimePrecision: r.datetime_precision,
      })),
    indexes: indexes.rows.filter(
      (r) => !IGNORED_TABLES.has(r.table) && !EXPRESSION_INDEXES.has(r.name),
    ),
    foreignKeys: fks.rows.map((r) => ({
      table: r.table,
      name: r.name,
      columns: r.columns,
      refTable: r.ref_table,
      refColumns: r.ref_columns,
      onDelete: r.on_delete,
    })),
    enums: enumMap,
  };
}

const ON_DELETE: Record<string, string> = {
  Cascade: 'c',
  Restrict: 'r',
  SetNull: 'n',
  NoAction: 'a',
  SetDefault: 'd',
};

const SCALAR_TYPES: Record<string, string> = {
  Int: 'integer',
  BigInt: 'bigint',
  String: 'text',
  Boolean: 'boolean',
  Float: 'double precision',
  Decimal: 'numeric',
  Json: 'jsonb',
  Bytes: 'bytea',
};

const tableOf = (m: Model): string => m.dbName ?? m.name;
const columnOf = (f: Field): string => f.dbName ?? f.name;
const same = (a: readonly unknown[], b: readonly unknown[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function expectedType(dm: Datamodel, f: Field): { dataType: string; udtName?: string } {
  if (f.kind === 'enum') {
    const e = dm.enums.find((x) => x.name === f.type);
    return { dataType: 'USER-DEFINED', udtName: e?.dbName ?? f.type };
  }
  if (f.type === 'DateTime') {
    const native = f.nativeType?.[0];
    return {
      dataType: native === 'Timestamp' ? 'timestamp without time zone' : 'timestamp with time zone',
    };
  }
  return { dataType: SCALAR_TYPES[f.type] ?? `unmapped:${f.type}` };
}

/** Checks a column default against the schema's @default; returns a problem or undefined. */
function defaultProblem(dm: Datamodel, f: Field, actual: string | null): string | undefined {
  const d = f.default as unknown;
  if (!f.hasDefaultValue || d === undefined) {
    return actual === null ? undefined : `has a database default ${actual} the schema lacks`;
  }
  if (actual === null) return `lacks the default ${JSON.stringify(d)}`;
  if (typeof d === 'object' && d !== null && 'name' in d) {
    const fn = (d as { name: string }).name;
    if (fn === 'autoincrement') {
      return /^nextval\(/.test(actual) ? undefined : `default ${actual} is not a sequence`;
    }
    if (fn === 'now') {
      return /CURRENT_TIMESTAMP|now\(\)/i.test(actual)
        ? undefined
        : `default ${actual} is not now()`;
    }
    return `has an unchecked default function ${fn}`;
  }
  if (f.kind === 'enum') {
    const e = dm.enums.find((x) => x.name === f.type);
    const value = e?.values.find((v) => v.name === d);
    const label = value?.dbName ?? (typeof d === 'string' ? d : JSON.stringify(d));
    return actual.startsWith(`'${label}'::`) ? undefined : `default ${actual} is not '${label}'`;
  }
  if (typeof d === 'string') {
    return actual.startsWith(`'${d.replace(/'/g, "''")}'`)
      ? undefined
      : `default ${actual} ≠ '${d}'`;
  }
  const literal = typeof d === 'number' || typeof d === 'boolean' ? String(d) : JSON.stringify(d);
  return actual === literal ? undefined : `default ${actual} ≠ ${literal}`;
}

/** Every difference between the Prisma datamodel and the database, in words (empty = in sync). */
function compareSchema(dm: Datamodel, db: DbSnapshot): string[] {
  const problems: string[] = [];
  const modelTables = new Set(dm.models.map(tableOf));

  for (const t of db.tables) {
    if (!modelTables.has(t)) problems.push(`table ${t} exists in the database but not the schema`);
  }
  for (const e of Object.keys(db.enums)) {
    if (!dm.enums.some((x) => (x.dbName ?? x.name) === e)) {
      problems.push(`enum ${e} exists in the database but not the schema`);
    }
  }
  for (const e of dm.enums) {
    const name = e.dbName ?? e.name;
    const values = e.values.map((v) => v.dbName ?? v.name);
    const actual = db.enums[name];
    if (!actual) problems.push(`enum ${name} is missing`);
    else if (!same(actual, values)) {
      problems.push(`enum ${name} has values ${actual.join(',')}, expected ${values.join(',')}`);
    }
  }

  const modelByName = new Map(dm.models.map((m) => [m.name, m]));
  const fieldColumns = (m: Model, names: readonly string[]): string[] =>
    names.map((n) => {
      const f = m.fields.find((x) => x.name === n);
      return f ? columnOf(f) : `?${n}`;
    });

  for (const m of dm.models) {
    const table = tableOf(m);
    if (!db.tables.includes(table)) {
      problems.push(`table ${table} (model ${m.name}) is missing`);
      continue;
    }
    const scalars = m.fields.filter((f) => f.kind === 'scalar' || f.kind === 'enum');
    const dbCols = db.columns.filter((c) => c.table === table);
    for (const c of dbCols) {
      if (!scalars.some((f) => columnOf(f) === c.column)) {
        problems.push(`column ${table}.${c.column} exists in the database but not the schema`);
      }
    }
    for (const f of scalars) {
      const col = columnOf(f);
      const c = dbCols.find((x) => x.column === col);
      const where = `column ${table}.${col} (${m.name}.${f.name})`;
      if (!c) {
        problems.push(`${where} is missing`);
        continue;
      }
      if (c.nullable === f.isRequired) {
        problems.push(`${where} is ${c.nullable ? 'nullable' : 'NOT NULL'} in the database`);
      }
      const t = expectedType(dm, f);
      if (c.dataType !== t.dataType || (t.udtName !== undefined && c.udtName !== t.udtName)) {
        problems.push(
          `${where} has type ${c.dataType}/${c.udtName}, expected ${t.dataType}${t.udtName ? `/${t.udtName}` : ''}`,
        );
      }
      if (f.type === 'DateTime') {
        const precision = Number(f.nativeType?.[1]?.[0] ?? 3);
        if (c.datetimePrecision !== precision) {
          problems.push(`${where} has precision ${c.datetimePrecision}, expected ${precision}`);
        }
      }
      const d = defaultProblem(dm, f, c.default);
      if (d) problems.push(`${where} ${d}`);
    }

    // Primary key.
    const pk = m.primaryKey
      ? fieldColumns(m, m.primaryKey.fields)
      : scalars.filter((f) => f.isId).map(columnOf);
    const dbPk = db.indexes.find((i) => i.table === table && i.primary);
    if (!dbPk || !same(dbPk.columns, pk)) {
      problems.push(
        `table ${table} has primary key (${dbPk?.columns.join(',')}), expected (${pk.join(',')})`,
      );
    }

    // Unique and plain indexes, both ways.
    const expected = dm.indexes
      .filter((i) => i.model === m.name && (i.type === 'unique' || i.type === 'normal'))
      .map((i) => ({
        unique: i.type === 'unique',
        columns: fieldColumns(
          m,
          i.fields.map((f) => f.name),
        ),
        desc: i.fields.map((f) => f.sortOrder === 'desc'),
      }));
    const actual = db.indexes.filter((i) => i.table === table && !i.primary);
    for (const e of expected) {
      const kind = e.unique ? 'unique index' : 'index';
      if (
        !actual.some(
          (a) => a.unique === e.unique && same(a.columns, e.columns) && same(a.desc, e.desc),
        )
      ) {
        problems.push(`${kind} on ${table}(${e.columns.join(',')}) is missing`);
      }
    }
    for (const a of actual) {
      if (
        !expected.some(
          (e) => a.unique === e.unique && same(a.columns, e.columns) && same(a.desc, e.desc),
        )
      ) {
        problems.push(
          `${a.unique ? 'unique index' : 'index'} ${a.name} on ${table}(${a.columns.join(',')}) is not in the schema`,
        );
      }
    }

    // Foreign keys, both ways.
    const relations = m.fields.filter(
      (f) => f.kind === 'object' && (f.relationFromFields?.length ?? 0) > 0,
    );
    const dbFks = db.foreignKeys.filter((k) => k.table === table);
    for (const r of relations) {
      const target = modelByName.get(r.type);
      if (!target) continue;
      const cols = fieldColumns(m, r.relationFromFields ?? []);
      const refCols = fieldColumns(target, r.relationToFields ?? []);
      const onDelete =
        ON_DELETE[r.relationOnDelete ?? (r.isRequired ? 'Restrict' : 'SetNull')] ?? '?';
      const fk = dbFks.find(
        (k) =>
          same(k.columns, cols) && k.refTable === tableOf(target) && same(k.refColumns, refCols),
      );
      const where = `foreign key ${table}(${cols.join(',')}) → ${tableOf(target)}(${refCols.join(',')})`;
      if (!fk) problems.push(`${where} is missing`);
      else if (fk.onDelete !== onDelete) {
        problems.push(`${where} has ON DELETE ${fk.onDelete}, expected ${onDelete}`);
      }
    }
    for (const k of dbFks) {
      const known = relations.some((r) => {
        const target = modelByName.get(r.type);
        return (
          target !== undefined &&
          same(k.columns, fieldColumns(m, r.relationFromFields ?? [])) &&
          k.refTable === tableOf(target)
        );
      });
      if (!known) problems.push(`foreign key ${k.name} on ${table} is not in the schema`);
    }
  }
  return problems;
}

describe('Schema drift between prisma/schema.prisma and the migrations', () => {
  const dbName = `berth_drift_${randomBytes(5).toString('hex')}`;
  let db: Client;
  let dm: Datamodel;
  let snap: DbSnapshot;

  beforeAll(async () => {
    const schema = readFileSync(join(__dirname, '..', '..', 'prisma', 'schema.prisma'), 'utf8');
    dm = (await getDMMF({ datamodel: schema })).datamodel;
    db = new Client({ connectionString: await createMigratedDatabase(dbName) });
    await db.connect();
    snap = await snapshot(db);
  });
  afterAll(async () => {
    await db?.end();
    const admin = new Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  });

  it('should find the database exactly as the schema describes it', () => {
    expect(dm.models.length).toBeGreaterThan(0);
    expect(snap.tables.length).toBe(dm.models.length);
    expect(compareSchema(dm, snap)).toEqual([]);
  });

  it('should have the case-insensitive unique indexes the schema cannot describe', async () => {
    const { rows } = await db.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY($1)`,
      [[...EXPRESSION_INDEXES]],
    );
    expect(rows.map((r) => r.indexname).sort()).toEqual([...EXPRESSION_INDEXES].sort());
    for (const r of rows) expect(r.indexdef).toMatch(/CREATE UNIQUE INDEX .* \(lower\(/);
  });

  it('should record one finished migration per folder, with the file checksum', async () => {
    const files = readMigrations(MIGRATIONS_DIR);
    expect(files.length).toBeGreaterThan(0);
    const { rows } = await db.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
    }>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
    for (const [i, r] of rows.entries()) {
      expect(r.checksum).toBe(files[i]!.checksum);
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.rolled_back_at).toBeNull();
    }
  });

  // The comparison must be able to fail: each altered copy of the schema is one drift.
  const clone = (): Altered => structuredClone(dm) as Altered;
  const model = (d: Altered, name: string): AlteredModel => d.models.find((m) => m.name === name)!;
  const field = (d: Altered, m: string, f: string): AlteredField =>
    model(d, m).fields.find((x) => x.name === f)!;

  it.each<[string, (d: Altered) => void, RegExp]>([
    [
      'a field dropped from the schema',
      (d) => {
        const m = model(d, 'Deployment');
        m.fields = m.fields.filter((f) => f.name !== 'pendingReason');
      },
      /column deployments\.pending_reason exists in the database but not the schema/,
    ],
    [
      'a field added to the schema',
      (d) => {
        const m = model(d, 'User');
        m.fields.push({
          ...field(d, 'User', 'email'),
          name: 'nickname',
          dbName: null,
          isUnique: false,
        });
      },
      /column users\.nickname \(User\.nickname\) is missing/,
    ],
    [
      'a required field made optional',
      (d) => {
        field(d, 'Cluster', 'name').isRequired = false;
      },
      /column clusters\.name .* is NOT NULL in the database/,
    ],
    [
      'a changed type',
      (d) => {
        field(d, 'SchedulerPass', 'durationMs').type = 'Int';
      },
      /scheduler_passes\.duration_ms .* has type double precision/,
    ],
    [
      'a changed default',
      (d) => {
        field(d, 'Deployment', 'priority').default = 5;
      },
      /deployments\.priority .* default 0 ≠ 5/,
    ],
    [
      'a changed enum default',
      (d) => {
        field(d, 'Deployment', 'status').default = 'running';
      },
      /deployments\.status .* default 'pending'::deployment_status is not 'running'/,
    ],
    [
      'a changed ON DELETE',
      (d) => {
        field(d, 'Deployment', 'user').relationOnDelete = 'Cascade';
      },
      /foreign key deployments\(user_id\) → users\(id\) has ON DELETE r, expected c/,
    ],
    [
      'an extra index',
      (d) => {
        d.indexes.push({
          model: 'Cluster',
          type: 'normal',
          isDefinedOnField: false,
          fields: [{ name: 'name' }],
        });
      },
      /index on clusters\(name\) is missing/,
    ],
    [
      'a dropped unique constraint',
      (d) => {
        d.indexes = d.indexes.filter(
          (i) =>
            !(i.model === 'Organization' && i.type === 'unique' && i.fields[0]?.name === 'name'),
        );
      },
      /unique index organizations_name_key .* is not in the schema/,
    ],
    [
      'a renamed enum value',
      (d) => {
        const e = d.enums.find((x) => x.name === 'MemberRole')!;
        e.values[2]!.name = 'reader';
      },
      /enum member_role has values admin,developer,viewer, expected admin,developer,reader/,
    ],
    [
      'a renamed table',
      (d) => {
        model(d, 'SchedulerPass').dbName = 'passes';
      },
      /table scheduler_passes exists in the database but not the schema/,
    ],
  ])('should report %s', (_name, alter, expected) => {
    const altered = clone();
    alter(altered);
    const problems = compareSchema(altered as unknown as Datamodel, snap);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it('should report a table the database has and the schema lacks', () => {
    const problems = compareSchema(dm, { ...snap, tables: [...snap.tables, 'stray'] });
    expect(problems).toEqual(['table stray exists in the database but not the schema']);
  });
});
