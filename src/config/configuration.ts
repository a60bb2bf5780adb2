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
  /**
   * The HS256 signing key from SECRET_KEY, or undefined: then one random key is generated once
   * and kept in PostgreSQL, so every replica signs and verifies with the same one.
   */
  secretKey: string | undefined;
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
  /** Open event streams (SSE) one user may hold on one instance. */
  sseMaxStreamsPerUser: number;
  /** Open event streams one instance serves in all. */
  sseMaxStreams: number;
  bodyLimitBytes: number;
  /**
   * Which X-Forwarded-For entries to believe (they decide the client IP for rate limits): false,
   * a number of proxy hops in front of Berth, or a list of proxy addresses / CIDR ranges. Never
   * "every hop", which would let any client pick its own IP.
   */
  trustProxy: false | number | string[];
}

export { ConfigValidationError } from './schema';

/**
 * Every key that has ever been written in this repository, its examples or its compose file.
 * Anyone can read them, so none of them may ever sign a token, in any mode.
 */
export const PUBLISHED_KEYS: readonly string[] = [
  'berth-development-secret-key-change-me-now!',
  'please-set-a-real-secret-of-at-least-32-chars',
  'change-me-to-a-long-random-string-of-32-or-more-chars',
  'test-secret-key-that-is-long-enough-0123456789',
  `bench-secret-${'k'.repeat(40)}`,
];
/** Words that mark a key someone copied from an example instead of generating. */
const PLACEHOLDER =
  /change[-_ .]?me|placeholder|example|please|replace|your[-_ .]?(own[-_ .]?)?secret/i;
const MIN_KEY_LENGTH = 32;
/** A random key of 32+ characters has far more; a run of one or two characters is not a key. */
const MIN_DISTINCT_CHARS = 10;

/** Why SECRET_KEY cannot sign tokens, or undefined when it can. */
export function weakKeyReason(key: string): string | undefined {
  if (key.length < MIN_KEY_LENGTH) return `must be at least ${MIN_KEY_LENGTH} characters`;
  if (PUBLISHED_KEYS.includes(key)) return "is a key published in Berth's repository or examples";
  if (PLACEHOLDER.test(key)) return 'looks like a placeholder; generate one (openssl rand -hex 32)';
  if (new Set(key).size < MIN_DISTINCT_CHARS) {
    return 'is too repetitive to be a random key; generate one (openssl rand -hex 32)';
  }
  return undefined;
}

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

  // Unset → generated once and stored in the database (see SigningKeyService). Set → it must be
  // a real key, in every mode: a weak or published key is refused rather than used.
  const secretKey = env.SECRET_KEY?.trim() ? env.SECRET_KEY.trim() : undefined;
  const weak = secretKey === undefined ? undefined : weakKeyReason(secretKey);
  if (weak) p.fail('SECRET_KEY', weak);

  const config: AppConfig = {
    nodeEnv,
    port: p.int('PORT', { min: 0, max: 65535, def: 8000 }),
    // Loopback unless told otherwise: a service reachable from the network is a deliberate
    // choice (the Docker image sets HOST=0.0.0.0, where the container's network is the boundary).
    host: p.str('HOST', /^[A-Za-z0-9_.:-]{1,253}$/, '127.0.0.1'),
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
    trustProxy: parseTrustProxy(p, env.TRUST_PROXY),
    sseMaxStreamsPerUser: p.int('SSE_MAX_STREAMS_PER_USER', { min: 1, max: 10_000, def: 10 }),
    sseMaxStreams: p.int('SSE_MAX_STREAMS', { min: 1, max: 1_000_000, def: 1_000 }),
    bodyLimitBytes: p.int('BODY_LIMIT_BYTES', { min: 1024, max: 10_485_760, def: 102_400 }),
  };
  p.done();
  return config;
}

/**
 * TRUST_PROXY: unset/false → the socket address; a hop count (1 = one proxy of yours in front);
 * or a comma-separated list of proxy addresses/CIDRs. `true` is refused: trusting every hop lets a
 * client choose its own IP with X-Forwarded-For and so escape every per-IP limit.
 */
function parseTrustProxy(
  p: ReturnType<typeof z>,
  raw: string | undefined,
): false | number | string[] {
  const v = raw?.trim() ?? '';
  if (v === '' || /^(false|0|no|off)$/i.test(v)) return false;
  if (/^\d{1,2}$/.test(v)) return Number(v);
  if (/^(true|yes|on)$/i.test(v)) {
    p.fail(
      'TRUST_PROXY',
      'must be a hop count (e.g. 1) or a list of proxy addresses, not "true" (that trusts any X-Forwarded-For)',
    );
    return false;
  }
  const list = v.split(',').map((s) => s.trim());
  if (
    list.every((a) => /^[0-9A-Fa-f.:]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(a))
  ) {
    return list;
  }
  p.fail('TRUST_PROXY', 'must be a hop count or a comma-separated list of IP addresses / CIDRs');
  return false;
}
