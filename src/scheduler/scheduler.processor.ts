import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { PASS_JOB, SCHEDULER_QUEUE, TICK_JOB } from './scheduler.constants';
import { SchedulerService } from './scheduler.service';

interface PassJobData {
  organizationId: number;
}

/**
 * Thin: a tick fans out one pass job per organisation with pending work (deduplicated by job
 * id, so an organisation is queued at most once), and any worker replica runs them.
 */
@Processor(SCHEDULER_QUEUE, { concurrency: 4 })
export class SchedulerProcessor extends WorkerHost implements OnModuleDestroy {
  private readonly logger = new Logger(SchedulerProcessor.name);

  constructor(
    private readonly scheduler: SchedulerService,
    @InjectQueue(SCHEDULER_QUEUE) private readonly queue: Queue,
  ) {
    super();
  }

  /**
   * Closes the worker without waiting on Redis (a plain close hangs while Redis is down). A pass
   * cut short is one rolled-back transaction; the next pass redoes it.
   */
  async onModuleDestroy(): Promise<void> {
    await this.worker.close(true);
  }

  async process(job: Job): Promise<unknown> {
    if (job.name === TICK_JOB) {
      const orgs = await this.scheduler.organizationsWithPendingWork();
      await this.queue.addBulk(
        orgs.map((organizationId) => ({
          name: PASS_JOB,
          data: { organizationId } satisfies PassJobData,
          opts: { jobId: `pass-${organizationId}`, removeOnComplete: true, removeOnFail: 100 },
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
