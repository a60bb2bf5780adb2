import { Logger } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type Redis from 'ioredis';

type Record = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Redis-backed throttling (limits hold across replicas) that fails open to a per-process
 * counter while Redis is unreachable, so a Redis outage never takes the API down.
 */
export class ResilientThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('Throttler');
  private readonly redisStorage: ThrottlerStorageRedisService;
  private readonly memory = new ThrottlerStorageService();
  /** True from the first failed Redis call until one succeeds: one warning per outage. */
  private degraded = false;

  constructor(redis: Redis) {
    this.redisStorage = new ThrottlerStorageRedisService(redis);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<Record> {
    try {
      const record = await this.redisStorage.increment(
        key,
        ttl,
        limit,
        blockDuration,
        throttlerName,
      );
      if (this.degraded) {
        this.degraded = false;
        this.logger.log('Redis throttling is back');
      }
      return record;
    } catch (err) {
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn(
          `Redis throttling unavailable, counting in memory until it is back: ${(err as Error).message}`,
        );
      }
      return this.memory.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  onApplicationShutdown(): void {
    this.memory.onApplicationShutdown();
  }
}
