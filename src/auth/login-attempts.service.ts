import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import type { AppConfig } from '../config/configuration';
import { AppError } from '../common/errors/app-error';
import { REDIS } from '../common/redis/redis.module';

/**
 * INCR, set the window on the first attempt, and answer the count with the time left, in one
 * atomic step: concurrent guesses each take their own number, so no more than the limit can ever
 * reach the password check.
 */
const RESERVE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

/** Hands back an attempt that turned out to succeed (successful logins are not counted). */
export type ReleaseAttempt = () => Promise<void>;

/**
 * Failed logins per (client IP, account) in Redis, so the limit holds across replicas. The
 * account is the resolved user (username and email of one user share a counter), or the
 * normalised login when no such user exists. An attempt is counted before the password is
 * checked and handed back when it succeeds: a burst of concurrent guesses cannot all get through.
 * While Redis is down the count is kept per process (fails open to that, never closed).
 */
@Injectable()
export class LoginAttemptsService {
  private readonly logger = new Logger(LoginAttemptsService.name);
  private readonly memory = new Map<string, { count: number; expiresAt: number }>();
  private readonly limit: number;
  private readonly ttlMs: number;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    config: ConfigService<AppConfig, true>,
  ) {
    this.limit = config.get('authThrottleLimit', { infer: true });
    this.ttlMs = config.get('throttleTtlSeconds', { infer: true }) * 1000;
  }

  /** `user:<id>` for an existing user, else the login as typed (case-insensitively). */
  static account(userId: number | undefined, login: string): string {
    return userId === undefined ? `login:${login.trim().toLowerCase()}` : `user:${userId}`;
  }

  /**
   * Counts this attempt as a failure now; 429 with Retry-After when it is past the limit. Call the
   * returned function when the password turns out to be right.
   */
  async reserve(ip: string, account: string): Promise<ReleaseAttempt> {
    const key = `login-fail:${ip}:${account}`;
    let count: number;
    let ttlMs: number;
    let release: ReleaseAttempt;
    try {
      const [n, pttl] = (await this.redis.eval(RESERVE, 1, key, String(this.ttlMs))) as [
        number,
        number,
      ];
      count = n;
      ttlMs = pttl;
      release = () =>
        this.redis.decr(key).then(
          () => undefined,
          () => undefined,
        );
    } catch (err) {
      this.logger.warn(`counting failed logins in memory: ${(err as Error).message}`);
      const now = Date.now();
      let m = this.memory.get(key);
      if (!m || m.expiresAt <= now)
        this.memory.set(key, (m = { count: 0, expiresAt: now + this.ttlMs }));
      count = ++m.count;
      ttlMs = m.expiresAt - now;
      const entry = m;
      release = () => {
        entry.count = Math.max(0, entry.count - 1);
        return Promise.resolve();
      };
    }
    if (count > this.limit) {
      const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
      throw new AppError(
        429,
        'rate_limit/too_many_failed_logins',
        `Too many failed logins; retry in ${retryAfter} s`,
        { headers: { 'Retry-After': String(retryAfter) } },
      );
    }
    return release;
  }
}
