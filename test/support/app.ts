import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { createApp } from '../../src/app.factory';
import { createTestDatabase, REDIS_TEST_URL } from './db';

export interface TestContext {
  app: NestFastifyApplication;
  http: () => TestAgent;
  databaseUrl: string;
  /** Every JSON log line the app wrote. */
  logs: string[];
  env: Record<string, string>;
  close: () => Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Reuse an existing database (a second app instance on the same data). */
  databaseUrl?: string;
  redisPrefix?: string;
}

/** Random per test process: no key written in the repository is ever accepted (contract §5). */
export const TEST_SECRET_KEY = randomBytes(32).toString('hex');

/**
 * Boots the real AppModule through configureApp() on its own PostgreSQL database and its own
 * Redis key prefix, so test files never see each other's data.
 */
export async function startApp(options: StartOptions = {}): Promise<TestContext> {
  const db = options.databaseUrl ? undefined : await createTestDatabase();
  const databaseUrl = options.databaseUrl ?? db!.url;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: REDIS_TEST_URL,
    REDIS_PREFIX: options.redisPrefix ?? `berth-test-${randomBytes(5).toString('hex')}`,
    SECRET_KEY: TEST_SECRET_KEY,
    LOG_LEVEL: 'info',
    THROTTLE_LIMIT: '100000',
    AUTH_THROTTLE_LIMIT: '100000',
    SCHEDULER_INTERVAL_MS: '60000',
    ...options.env,
  };
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const app = await createApp({ env, logStream });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    http: () => request(app.getHttpServer()),
    databaseUrl,
    logs,
    env,
    close: async () => {
      await app.close();
      await db?.drop();
    },
  };
}
