import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module, type Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/configuration';
import { CreateFastPath } from './fast-path/create-fast-path';
import { JobSchedulerRegistrar } from './job-scheduler.registrar';
import { SCHEDULER_QUEUE } from './scheduler.constants';
import { SchedulerPlacement } from './scheduler.placement';
import { SchedulerProcessor } from './scheduler.processor';
import { SchedulerService } from './scheduler.service';
import { SchedulerWatchdog } from './scheduler.watchdog';

/**
 * Immediate passes run in every replica (inline, under the organisation's lock). The BullMQ
 * queue, its job scheduler and the worker exist only where SCHEDULER_WORKER=true, so an
 * API-only replica needs no worker.
 */
@Module({})
export class SchedulerModule {
  static register(config: AppConfig): DynamicModule {
    const core: Provider[] = [SchedulerService, SchedulerPlacement, CreateFastPath];
    if (!config.schedulerWorker) {
      return { module: SchedulerModule, global: true, providers: core, exports: core };
    }
    return {
      module: SchedulerModule,
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (c: ConfigService<AppConfig, true>) => ({
            connection: {
              url: String(c.get('redisUrl', { infer: true })),
              // Workers block on Redis: retry forever (backing off) instead of failing commands.
              maxRetriesPerRequest: null,
              retryStrategy: (times: number) => Math.min(times * 500, 5_000),
            },
            prefix: `${c.get('redisPrefix', { infer: true })}:bull`,
          }),
        }),
        BullModule.registerQueue({ name: SCHEDULER_QUEUE }),
      ],
      providers: [...core, SchedulerProcessor, JobSchedulerRegistrar, SchedulerWatchdog],
      exports: core,
    };
  }
}
