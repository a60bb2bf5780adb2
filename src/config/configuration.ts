import { z } from './schema';

/**
 * Every setting Berth reads, validated once at start-up. Nothing else reads process.env.
 * When DATABASE_URL / REDIS_URL are absent they are built from the original design's
 * DB_* and REDIS_* variables.
 */
export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl: string;
  redisUrl: string;
  /** Prefix for every Redis key this instance writes (queues, throttling, pub/sub). */
  redisPrefix: string;
  secretKey: string;
  accessTokenMinutes: number;
  throttleLimit: number;
  throttleTtlSeconds: number;
  authThrottleLimit: number;
  schedulerIntervalMs: number;
  schedulerAgingSeconds: number;
  schedulerStarvationSeconds: number;
  schedulerWorker: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  metricsToken: string | undefined;
  bodyLimitBytes: number;
  /** Trust X-Forwarded-For (only behind a proxy you run): it decides the client IP for rate limits. */
  trustProxy: boolean;
}

export { ConfigValidationError } from './schema';

const DEV_SECRET = 'berth-development-secret-key-change-me-now!';

export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const p = z(env);
  const nodeEnv = p.oneOf(
    'NODE_ENV',
    ['development', 'production', 'test'] as const,
    'development',
  );

  let databaseUrl = p.url('DATABASE_URL', ['postgres:', 'postgresql:']);
  if (databaseUrl === undefined) {
    const user = env.DB_USER ?? 'postgres';
    const password = env.DB_PASSWORD ? `:${encodeURIComponent(env.DB_PASSWORD)}` : '';
    const host = env.DB_HOST ?? '127.0.0.1';
    const port = p.int('DB_PORT', { min: 1, max: 65535, def: 5432 });
    const name = env.DB_NAME ?? 'berth';
    databaseUrl = `postgresql://${encodeURIComponent(user)}${password}@${host}:${port}/${name}`;
  }
  let redisUrl = p.url('REDIS_URL', ['redis:', 'rediss:']);
  if (redisUrl === undefined) {
    const host = env.REDIS_HOST ?? '127.0.0.1';
    const port = p.int('REDIS_PORT', { min: 1, max: 65535, def: 6379 });
    const db = p.int('REDIS_DB', { min: 0, max: 15, def: 0 });
    redisUrl = `redis://${host}:${port}/${db}`;
  }

  let secretKey = env.SECRET_KEY ?? '';
  if (secretKey.length < 32) {
    if (nodeEnv === 'production') {
      p.fail('SECRET_KEY', 'must be set to at least 32 characters in production');
    } else if (secretKey.length === 0) {
      secretKey = DEV_SECRET;
    } else {
      p.fail('SECRET_KEY', 'must be at least 32 characters');
    }
  }

  const config: AppConfig = {
    nodeEnv,
    port: p.int('PORT', { min: 0, max: 65535, def: 8000 }),
    host: env.HOST ?? '0.0.0.0',
    databaseUrl,
    redisUrl,
    redisPrefix: p.str('REDIS_PREFIX', /^[A-Za-z0-9_:.-]{1,64}$/, 'berth'),
    secretKey,
    accessTokenMinutes: p.int('ACCESS_TOKEN_MINUTES', { min: 1, max: 7 * 24 * 60, def: 60 }),
    throttleLimit: p.int('THROTTLE_LIMIT', { min: 1, max: 10_000_000, def: 100 }),
    throttleTtlSeconds: p.int('THROTTLE_TTL_SECONDS', { min: 1, max: 86_400, def: 60 }),
    authThrottleLimit: p.int('AUTH_THROTTLE_LIMIT', { min: 1, max: 10_000_000, def: 10 }),
    schedulerIntervalMs: p.int('SCHEDULER_INTERVAL_MS', { min: 100, max: 3_600_000, def: 5000 }),
    schedulerAgingSeconds: p.int('SCHEDULER_AGING_SECONDS', { min: 0, max: 31_536_000, def: 60 }),
    schedulerStarvationSeconds: p.int('SCHEDULER_STARVATION_SECONDS', {
      min: 0,
      max: 31_536_000,
      def: 600,
    }),
    schedulerWorker: p.bool('SCHEDULER_WORKER', true),
    logLevel: p.oneOf(
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      nodeEnv === 'test' ? 'silent' : 'info',
    ),
    metricsToken: env.METRICS_TOKEN === '' ? undefined : env.METRICS_TOKEN,
    trustProxy: p.bool('TRUST_PROXY', false),
    bodyLimitBytes: p.int('BODY_LIMIT_BYTES', { min: 1024, max: 10_485_760, def: 102_400 }),
  };
  p.done();
  return config;
}
