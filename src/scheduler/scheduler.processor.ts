import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Job, Queue } from 'bullmq';
import type { AppConfig } from '../config/configuration';
import {
  PASS_JOB,
  PASS_LOCK_DURATION_MS,
  PASS_STALLED_INTERVAL_MS,
  passJobOptions,
  SCHEDULER_QUEUE,
  TICK_JOB,
} from './scheduler.constants';
import { SchedulerService } from './scheduler.service';

interface PassJobData {
  organizationId: number;
}

/**
 * Thin: a tick fans out one pass job per organisation with pending work (at most one per tick,
 * see passJobOptions), and any worker replica runs them.
 */
@Processor(SCHEDULER_QUEUE, {
  concurrency: 4,
  lockDuration: PASS_LOCK_DURATION_MS,
  stalledInterval: PASS_STALLED_INTERVAL_MS,
})
export class SchedulerProcessor extends WorkerHost implements OnModuleDestroy {
  private readonly logger = new Logger(SchedulerProcessor.name);
  private readonly intervalMs: number;

  constructor(
    private readonly scheduler: SchedulerService,
    @InjectQueue(SCHEDULER_QUEUE) private readonly queue: Queue,
    config: ConfigService<AppConfig, true>,
  ) {
    super();
    this.intervalMs = config.get('schedulerIntervalMs', { infer: true });
  }

  /**
   * Closes the worker without waiting on Redis (a plain close hangs while Redis is down). A pass
   * cut short is one rolled-back transaction; the next pass redoes it.
   */
  async onModuleDestroy(): Promise<void> {
    await this.worker.close(true);
  }

  private lastErrorLog = 0;

  /** A Redis outage: logged once per 30 s instead of BullMQ printing every reconnect attempt. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    if (Date.now() - this.lastErrorLog < 30_000) return;
    this.lastErrorLog = Date.now();
    this.logger.warn(`scheduler worker: ${err.message}`);
  }

  async process(job: Job): Promise<unknown> {
    if (job.name === TICK_JOB) {
      const orgs = await this.scheduler.organizationsWithPendingWork();
      await this.queue.addBulk(
        orgs.map((organizationId) => ({
          name: PASS_JOB,
          data: { organizationId } satisfies PassJobData,
          opts: passJobOptions(organizationId, this.intervalMs),
        })),
      );
      if (Math.random() < 0.01) await this.scheduler.prunePassHistory();
      return { organizations: orgs.length };
    }
    if (job.name === PASS_JOB) {
      const { organizationId } = job.data as PassJobData;
      return this.scheduler.runPass(organizationId, 'periodic');
    }
    this.logger.warn(`unknown scheduler job ${job.name}`);
    return undefined;
  }
}
