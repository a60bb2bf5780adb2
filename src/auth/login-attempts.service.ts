import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import type { AppConfig } from '../config/configuration';
import { AppError } from '../common/errors/app-error';
import { REDIS } from '../common/redis/redis.module';

/**
 * Counts failed logins per (client IP, username) in Redis, so the limit holds across replicas.
 * Successful logins are not counted: a team's scripts can log in as often as they need.
 * While Redis is down the count is kept per process (fails open, never closed).
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

  private key(ip: string, username: string): string {
    return `login-fail:${ip}:${username.trim().toLowerCase()}`;
  }

  /** 429 with Retry-After when this client has failed too often for this username. */
  async assertAllowed(ip: string, username: string): Promise<void> {
    const key = this.key(ip, username);
    let count = 0;
    let ttlMs = this.ttlMs;
    try {
      const [raw, pttl] = await Promise.all([this.redis.get(key), this.redis.pttl(key)]);
      count = Number(raw ?? 0);
      ttlMs = pttl > 0 ? pttl : this.ttlMs;
    } catch {
      const m = this.memory.get(key);
      if (m && m.expiresAt > Date.now()) {
        count = m.count;
        ttlMs = m.expiresAt - Date.now();
      }
    }
    if (count >= this.limit) {
      const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
      throw new AppError(
        429,
        'rate_limit/too_many_failed_logins',
        `Too many failed logins; retry in ${retryAfter} s`,
        {
          headers: { 'Retry-After': String(retryAfter) },
        },
      );
    }
  }

  async recordFailure(ip: string, username: string): Promise<void> {
    const key = this.key(ip, username);
    try {
      await this.redis.multi().incr(key).pexpire(key, this.ttlMs, 'NX').exec();
    } catch (err) {
      this.logger.warn(`counting failed logins in memory: ${(err as Error).message}`);
      const now = Date.now();
      const m = this.memory.get(key);
      if (!m || m.expiresAt <= now) this.memory.set(key, { count: 1, expiresAt: now + this.ttlMs });
      else m.count += 1;
    }
  }
}
