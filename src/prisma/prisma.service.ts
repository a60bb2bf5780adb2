import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import type { AppConfig } from '../config/configuration';
import { preparedStatementName } from './prepared-statements';

/** The one database client of the process (PrismaPg driver adapter: no native query engine). */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(config: ConfigService<AppConfig, true>) {
    const pool = new Pool({
      connectionString: config.get('databaseUrl', { infer: true }),
      max: 20,
      connectionTimeoutMillis: 5_000,
    });
    // A backend the server terminates emits 'error' on its client; in the gaps where neither
    // the pool nor the adapter listens (between a transaction's end and the client's return to
    // the pool) that was an unhandled 'error' event, i.e. a crashed process. The query in
    // flight still fails (and maps to 503); the pool discards the broken client.
    pool.on('connect', (client) => client.on('error', () => undefined));
    super({
      adapter: new PrismaPg(pool, {
        disposeExternalPool: true,
        // Hot read statements that opt in are prepared once per connection (prepared-statements.ts).
        // The adapter's type says string, but it passes the result on as pg's `name`, for which
        // undefined means an unnamed statement (as without a generator): the other statements.
        statementNameGenerator: preparedStatementName as (query: { sql: string }) => string,
      }),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}

/** The client type handed to `$transaction(async (tx) => …)` callbacks. */
export type Tx = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];
