import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { ThrottlerModule, seconds } from '@nestjs/throttler';
import type Redis from 'ioredis';
import type { AppConfig } from '../../config/configuration';
import { REDIS } from '../redis/redis.module';
import { AuthThrottle } from './auth-throttle.decorator';
import { ResilientThrottlerStorage } from './resilient-storage';

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService, REDIS, Reflector],
      useFactory: (config: ConfigService<AppConfig, true>, redis: Redis, reflector: Reflector) => {
        const ttl = seconds(config.get('throttleTtlSeconds', { infer: true }));
        return {
          throttlers: [
            { name: 'default', ttl, limit: config.get('throttleLimit', { infer: true }) },
            {
              name: 'auth',
              ttl,
              limit: config.get('authThrottleLimit', { infer: true }),
              skipIf: (ctx) => !reflector.get(AuthThrottle, ctx.getHandler()),
              getTracker: (req: Record<string, unknown>) => `ip:${String(req.ip)}`,
            },
          ],
          storage: new ResilientThrottlerStorage(redis),
        };
      },
    }),
  ],
})
export class ThrottlingModule {}
