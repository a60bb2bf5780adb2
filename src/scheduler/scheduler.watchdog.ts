import {
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { PrismaService } from '../prisma/prisma.service';
import { JobSchedulerRegistrar } from './job-scheduler.registrar';
import { WATCHDOG_INTERVALS } from './scheduler.constants';
import { SchedulerService } from './scheduler.service';

/**
 * The safety net under the BullMQ job scheduler, in every worker process, on a plain timer (so
 * it works when Redis or the queue does not). Each interval it re-registers the job scheduler
 * if Redis lost it, and runs a pass itself for every organisation that has pending work but no
 * recorded pass for WATCHDOG_INTERVALS intervals (an inline pass that failed after its change
 * committed, a queue that is down or wedged). A pass with pending work always records itself in
 * scheduler_passes, so "no pass" is read from there, across all workers. Passes are serialised
 * by the organisation's advisory lock, so two watchdogs at once only cost a redundant pass.
 */
@Injectable()
export class SchedulerWatchdog implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SchedulerWatchdog.name);
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly prisma: PrismaService,
    private readonly scheduler: SchedulerService,
    private readonly registrar: JobSchedulerRegistrar,
    config: ConfigService<AppConfig, true>,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.intervalMs = config.get('schedulerIntervalMs', { infer: true });
  }

  onApplicationBootstrap(): void {
    // Jitter keeps two workers started together from checking in lockstep.
    const every = Math.max(100, Math.round(this.intervalMs * (0.9 + Math.random() * 0.2)));
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One round; returns the organisations it ran a pass for. */
  async check(): Promise<number[]> {
    if (this.running) return [];
    this.running = true;
    try {
      await this.registrar.ensureRegistered();
      const overdue = await this.overdueOrganizations();
      const healed: number[] = [];
      for (const organizationId of overdue) {
        try {
          await this.scheduler.runPass(organizationId, 'watchdog');
          healed.push(organizationId);
          this.metrics?.observeWatchdogPass();
        } catch (err) {
          this.logger.warn({ organizationId, err: (err as Error).message }, 'watchdog pass failed');
        }
      }
      if (healed.length > 0) {
        this.logger.warn({ organizations: healed }, 'watchdog ran overdue scheduler passes');
      }
      return healed;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'watchdog round failed');
      return [];
    } finally {
      this.running = false;
    }
  }

  private async overdueOrganizations(): Promise<number[]> {
    const cutoff = new Date(Date.now() - WATCHDOG_INTERVALS * this.intervalMs);
    const rows = await this.prisma.$queryRaw<{ organization_id: number }[]>`
      SELECT d.organization_id
        FROM deployments d
       WHERE d.status = 'pending' AND d.updated_at < ${cutoff}
         AND NOT EXISTS (SELECT 1 FROM scheduler_passes p
                          WHERE p.organization_id = d.organization_id AND p.started_at >= ${cutoff})
       GROUP BY d.organization_id`;
    return rows.map((r) => r.organization_id);
  }
}
