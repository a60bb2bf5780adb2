import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigValidationError, loadConfig, PUBLISHED_KEYS } from '../../src/config/configuration';

const SECRET = 'Qm9vdHN0cmFwIGtleSBmb3IgdGVzdHMgMTIzNDU2Nzg';

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    return (err as ConfigValidationError).problems;
  }
  throw new Error('expected loadConfig to throw');
}

describe(loadConfig.name, () => {
  it('should apply the documented defaults to an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      nodeEnv: 'development',
      port: 8000,
      host: '127.0.0.1',
      databaseUrl: 'postgresql://postgres@127.0.0.1:5432/berth',
      redisUrl: 'redis://127.0.0.1:6379/0',
      redisPrefix: 'berth',
      throttleLimit: 100,
      throttleTtlSeconds: 60,
      authThrottleLimit: 10,
      schedulerIntervalMs: 5000,
      schedulerAgingSeconds: 60,
      schedulerStarvationSeconds: 600,
      schedulerWorker: true,
      logLevel: 'info',
      metricsToken: undefined,
      bodyLimitBytes: 102_400,
    });
    // No key: SigningKeyService generates one and keeps it in the database.
    expect(c.secretKey).toBeUndefined();
    expect(c.trustProxy).toBe(false);
  });

  it('should read every documented variable', () => {
    const c = loadConfig({
      NODE_ENV: 'production',
      PORT: '9001',
      DATABASE_URL: 'postgres://u:p@db:6543/app',
      REDIS_URL: 'rediss://cache:6380/2',
      SECRET_KEY: SECRET,
      THROTTLE_LIMIT: '7',
      THROTTLE_TTL_SECONDS: '30',
      AUTH_THROTTLE_LIMIT: '3',
      SCHEDULER_INTERVAL_MS: '250',
      SCHEDULER_AGING_SECONDS: '5',
      SCHEDULER_STARVATION_SECONDS: '90',
      SCHEDULER_WORKER: 'false',
      LOG_LEVEL: 'warn',
      METRICS_TOKEN: 'metrics-token',
    });
    expect(c).toMatchObject({
      nodeEnv: 'production',
      port: 9001,
      databaseUrl: 'postgres://u:p@db:6543/app',
      redisUrl: 'rediss://cache:6380/2',
      secretKey: SECRET,
      throttleLimit: 7,
      throttleTtlSeconds: 30,
      authThrottleLimit: 3,
      schedulerIntervalMs: 250,
      schedulerAgingSeconds: 5,
      schedulerStarvationSeconds: 90,
      schedulerWorker: false,
      logLevel: 'warn',
      metricsToken: 'metrics-token',
    });
  });

  it('should build DATABASE_URL and REDIS_URL from the DB_* and REDIS_* variables', () => {
    const c = loadConfig({
      DB_USER: 'berth user',
      DB_PASSWORD: 'p@ss:word/1',
      DB_HOST: 'db.internal',
      DB_PORT: '6432',
      DB_NAME: 'berth_prod',
      REDIS_HOST: 'redis.internal',
      REDIS_PORT: '6380',
      REDIS_DB: '3',
    });
    expect(c.databaseUrl).toBe(
      'postgresql://berth%20user:p%40ss%3Aword%2F1@db.internal:6432/berth_prod',
    );
    // The encoded URL round-trips to the original credentials.
    const u = new URL(c.databaseUrl);
    expect(decodeURIComponent(u.username)).toBe('berth user');
    expect(decodeURIComponent(u.password)).toBe('p@ss:word/1');
    expect(c.redisUrl).toBe('redis://redis.internal:6380/3');
  });

  it('should prefer DATABASE_URL and REDIS_URL over the DB_* and REDIS_* variables', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgresql://a@x/y',
      DB_HOST: 'ignored',
      REDIS_URL: 'redis://r:1/0',
      REDIS_HOST: 'ignored',
    });
    expect(c.databaseUrl).toBe('postgresql://a@x/y');
    expect(c.redisUrl).toBe('redis://r:1/0');
  });

  it('should treat blank variables as unset', () => {
    expect(loadConfig({ PORT: '  ', LOG_LEVEL: '' }).port).toBe(8000);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['THROTTLE_LIMIT', '0'],
    ['DB_PORT', 'x'],
    ['REDIS_DB', '99'],
    ['SCHEDULER_WORKER', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['REDIS_PREFIX', 'has space'],
  ])('should throw ConfigValidationError naming %s when it is %p', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems.some((p) => p.startsWith(`${name} `))).toBe(true);
  });

  it('should report every problem at once', () => {
    const problems = problemsOf({ PORT: 'x', SCHEDULER_WORKER: 'perhaps', LOG_LEVEL: 'loud' });
    expect(problems).toHaveLength(3);
    expect(() => loadConfig({ PORT: 'x' })).toThrow(/PORT/);
  });

  it.each(['true', '1', 'yes', 'on', 'TRUE'])('should read %p as true', (v) => {
    expect(loadConfig({ SCHEDULER_WORKER: v }).schedulerWorker).toBe(true);
  });

  it.each(['false', '0', 'no', 'off', 'False'])('should read %p as false', (v) => {
    expect(loadConfig({ SCHEDULER_WORKER: v }).schedulerWorker).toBe(false);
  });

  describe('SECRET_KEY', () => {
    it.each(['development', 'test', 'production'])(
      'should leave it unset in %s (a random key is generated and stored in the database)',
      (env) => {
        expect(loadConfig({ NODE_ENV: env }).secretKey).toBeUndefined();
      },
    );

    it.each(['development', 'test', 'production'])('should refuse a short one in %s', (env) => {
      expect(problemsOf({ NODE_ENV: env, SECRET_KEY: 'short-secret' })).toEqual([
        expect.stringMatching(/^SECRET_KEY /),
      ]);
    });

    // Finding 1: the compose fallback and the .env.example placeholder were long enough to pass.
    it.each(PUBLISHED_KEYS.flatMap((k) => ['development', 'production'].map((e) => [k, e])))(
      'should refuse the published key %p in %s',
      (key, env) => {
        expect(problemsOf({ NODE_ENV: env, SECRET_KEY: key })).toEqual([
          expect.stringMatching(/^SECRET_KEY /),
        ]);
      },
    );

    it.each([
      's'.repeat(32),
      'abababababababababababababababab',
      'my-example-key-for-berth-0123456789',
      'replace-with-your-own-random-key-0123',
      'CHANGEME-0123456789abcdefghijklmnopqrstuvwxyz',
    ])('should refuse the placeholder or repetitive key %p', (key) => {
      expect(problemsOf({ SECRET_KEY: key })).toEqual([expect.stringMatching(/^SECRET_KEY /)]);
    });

    it('should refuse every SECRET_KEY value written in the compose file and .env.example', () => {
      const root = join(__dirname, '..', '..');
      const written = ['docker-compose.yml', '.env.example']
        .map((f) => readFileSync(join(root, f), 'utf8'))
        .flatMap((text) => [...text.matchAll(/SECRET_KEY[=:]\s*(?:\$\{SECRET_KEY:?-)?([^\s}#]+)/g)])
        .map((m) => m[1]!)
        .filter((v) => !v.startsWith('$'));
      for (const key of written) {
        expect(problemsOf({ NODE_ENV: 'production', SECRET_KEY: key })).toHaveLength(1);
      }
    });

    it('should accept a long key that only names itself a secret (not a placeholder)', () => {
      const key = 'secret-for-ci-7f3a9c21e4b86d05a1f2c3e4d5b6a798';
      expect(loadConfig({ SECRET_KEY: key }).secretKey).toBe(key);
    });

    it('should accept a random key of 32+ characters in every mode', () => {
      expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: SECRET }).secretKey).toBe(SECRET);
      expect(loadConfig({ NODE_ENV: 'development', SECRET_KEY: SECRET }).secretKey).toBe(SECRET);
    });
  });

  describe('HOST', () => {
    it('should listen on loopback unless told otherwise', () => {
      expect(loadConfig({ NODE_ENV: 'production' }).host).toBe('127.0.0.1');
      expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    });
  });

  describe('TRUST_PROXY', () => {
    // Finding 5: `true` trusted every X-Forwarded-For hop, so a client could choose its own IP.
    it.each(['true', 'yes', 'on', 'TRUE'])('should refuse %p', (v) => {
      expect(problemsOf({ TRUST_PROXY: v })).toEqual([expect.stringMatching(/^TRUST_PROXY /)]);
    });

    it('should read a hop count or an address list', () => {
      expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
      expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
      expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual([
        '10.0.0.0/8',
        '127.0.0.1',
      ]);
      expect(problemsOf({ TRUST_PROXY: 'anything' })).toHaveLength(1);
    });
  });

  it('should default LOG_LEVEL to silent under test and info elsewhere', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).logLevel).toBe('silent');
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: SECRET }).logLevel).toBe('info');
  });

  it('should treat an empty METRICS_TOKEN as unset', () => {
    expect(loadConfig({ METRICS_TOKEN: '' }).metricsToken).toBeUndefined();
  });
});
