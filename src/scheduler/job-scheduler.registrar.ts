import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Queue } from 'bullmq';
import type { AppConfig } from '../config/configuration';
import { SCHEDULER_QUEUE, TICK_JOB, TICK_SCHEDULER_ID } from './scheduler.constants';

/**
 * Registers the periodic pass in Redis (upsertJobScheduler is idempotent across replicas), and
 * registers it again whenever it is missing: Redis restarted empty (or was flushed) loses it,
 * and nothing else would ever bring periodic passes back. Checked on every watchdog round, i.e.
 * once per interval, by every worker (ensureRegistered: one GET). Start-up never waits for
 * Redis; meanwhile immediate passes and the watchdog keep the queue moving.
 */
@Injectable()
export class JobSchedulerRegistrar implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobSchedulerRegistrar.name);
  private retry?: NodeJS.Timeout;
  private stopped = false;
  private registered = false;

  constructor(
    @InjectQueue(SCHEDULER_QUEUE) private readonly queue: Queue,
    private readonly config: ConfigService<AppConfig, true>,
  ) {}

  onApplicationBootstrap(): void {
    // Without a listener BullMQ prints every reconnect failure of an outage to stderr.
    let lastLog = 0;
    this.queue.on('error', (err: Error) => {
      if (Date.now() - lastLog < 30_000) return;
      lastLog = Date.now();
      this.logger.warn(`scheduler queue: ${err.message}`);
    });
    void this.register(0);
  }

  private async upsert(): Promise<void> {
    await this.queue.upsertJobScheduler(
      TICK_SCHEDULER_ID,
      { every: this.config.get('schedulerIntervalMs', { infer: true }) },
      { name: TICK_JOB, opts: { removeOnComplete: true, removeOnFail: { count: 100 } } },
    );
    this.registered = true;
  }

  private async register(attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      await this.upsert();
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
   * Re-registers the job scheduler if Redis no longer has it. Returns true when it had to.
   * Never throws: with Redis down there is nothing to do until it is back.
   */
  async ensureRegistered(): Promise<boolean> {
    if (this.stopped) return false;
    try {
      if (await this.queue.getJobScheduler(TICK_SCHEDULER_ID)) return false;
      await this.upsert();
      this.logger.warn('periodic pass was missing from Redis; registered it again');
      return true;
    } catch {
      return false;
    }
  }

  get isRegistered(): boolean {
    return this.registered;
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
