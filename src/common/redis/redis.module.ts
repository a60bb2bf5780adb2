import {
  Global,
  Inject,
  Logger,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import type { AppConfig } from '../../config/configuration';

export const REDIS = Symbol('REDIS');

/**
 * One shared ioredis client for throttling, login-failure counting and pub/sub publishing.
 * No offline queue: when Redis is down, commands fail at once and callers degrade
 * (the API keeps serving; readiness reports the outage).
 */
@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfig, true>) =>
        new Redis(config.get('redisUrl', { infer: true }), {
          keyPrefix: `${config.get('redisPrefix', { infer: true })}:`,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          disconnectTimeout: 200,
          lazyConnect: true,
          retryStrategy: (times) => Math.min(times * 200, 2_000),
        }),
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  constructor(@Inject(REDIS) private readonly redis: Redis) {
    this.redis.on('error', (err: Error) => this.logger.warn(`redis: ${err.message}`));
  }

  async onModuleInit(): Promise<void> {
    // Start-up does not depend on Redis: the API serves without it and reconnects later.
    await this.redis.connect().catch((err: Error) => {
      this.logger.warn(`Redis not reachable at start-up (${err.message}); continuing without it`);
    });
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
