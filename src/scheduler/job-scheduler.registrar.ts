import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Queue } from 'bullmq';
import type { AppConfig } from '../config/configuration';
import { SCHEDULER_QUEUE, TICK_JOB, TICK_SCHEDULER_ID } from './scheduler.constants';

/**
 * Registers the periodic pass once in Redis (upsertJobScheduler is idempotent across
 * replicas). Start-up never waits for Redis: if it is down, registration is retried until it
 * comes back, and meanwhile immediate passes keep the queue moving.
 */
@Injectable()
export class JobSchedulerRegistrar implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobSchedulerRegistrar.name);
  private retry?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    @InjectQueue(SCHEDULER_QUEUE) private readonly queue: Queue,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  onApplicationBootstrap(): void {
    void this.register(0);
  }

  private async register(attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      await this.queue.upsertJobScheduler(
        TICK_SCHEDULER_ID,
        { every: this.config.get('schedulerIntervalMs', { infer: true }) },
        { name: TICK_JOB, opts: { removeOnComplete: true, removeOnFail: 100 } },
      );
    } catch (err) {
      if (attempt === 0)
        this.logger.warn(`periodic pass not registered yet: ${(err as Error).message}`);
      this.retry = setTimeout(
        () => void this.register(attempt + 1),
        Math.min(1000 * 2 ** attempt, 30_000),
      );
    }
  }

  /**
   * Drops the queue's connection before Nest closes the queue: with Redis unreachable, a pending
   * command would otherwise keep close() (and the process) waiting for a reconnect forever.
   */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.queue.disconnect().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 1_000);
      }),
    ]);
    clearTimeout(timer);
  }
}
