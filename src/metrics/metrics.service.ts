import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PrismaService } from '../prisma/prisma.service';

const RESOURCES = ['ram', 'cpu', 'gpu'] as const;

/** What a committed scheduler pass reports (a subset of SchedulerService's PassResult). */
export interface PassSample {
  durationMs: number;
  placements: number;
  preemptions: number;
}

/**
 * Berth's Prometheus metrics in a registry of this app instance (never prom-client's global
 * one: several apps may share a process, as the e2e tests do). Event metrics are observed as
 * things happen; the state gauges are computed at scrape time from GROUP BY aggregates, so
 * every replica reports the same database-wide state without loading rows.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly logger = new Logger(MetricsService.name);

  private readonly httpDuration = new Histogram({
    name: 'berth_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly passDuration = new Histogram({
    name: 'berth_scheduler_pass_duration_seconds',
    help: 'Duration of committed scheduler passes (organisations with pending work)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly placements = new Counter({
    name: 'berth_scheduler_placements_total',
    help: 'Deployments placed (pending → running) by this instance’s scheduler passes',
    registers: [this.registry],
  });

  private readonly preemptions = new Counter({
    name: 'berth_scheduler_preemptions_total',
    help: 'Running deployments evicted by this instance’s scheduler passes',
    registers: [this.registry],
  });

  private readonly waitSeconds = new Histogram({
    name: 'berth_deployment_wait_seconds',
    help: 'Time from a deployment’s creation to its first start',
    buckets: [0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });

  private readonly watchdogPasses = new Counter({
    name: 'berth_scheduler_watchdog_passes_total',
    help: 'Passes the scheduler watchdog ran for organisations with pending work and no recent pass',
    registers: [this.registry],
  });

  constructor(private readonly prisma: PrismaService) {
    collectDefaultMetrics({ register: this.registry });
    this.stateGauges();
  }

  /** Called once per response (Fastify onResponse): `route` is the pattern, never the raw URL. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /**
   * Called after a scheduler pass committed. The wait of first starts is read back from the rows
   * the pass just placed: a first start is the one where first_started_at was set to the same
   * transaction time as started_at (a placement after a preemption keeps its earlier first start).
   */
  /** A create placed by the fast path (no pass ran): one placement and its wait. */
  observeFastPlacement(waitSeconds: number): void {
    this.placements.inc(1);
    this.waitSeconds.observe(Math.max(0, waitSeconds));
  }

  async observePass(pass: PassSample, placedIds: readonly number[]): Promise<void> {
    this.passDuration.observe(pass.durationMs / 1000);
    this.placements.inc(pass.placements);
    this.preemptions.inc(pass.preemptions);
    if (placedIds.length === 0) return;
    try {
      const rows = await this.prisma.$queryRaw<{ wait: number }[]>`
        SELECT EXTRACT(EPOCH FROM first_started_at - created_at)::float8 AS wait
          FROM deployments
         WHERE id = ANY(${[...placedIds]}::int[]) AND first_started_at = started_at`;
      for (const r of rows) this.waitSeconds.observe(Math.max(0, r.wait));
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not read deployment wait times');
    }
  }

  /** Called when the watchdog had to run a pass the periodic job scheduler did not. */
  observeWatchdogPass(): void {
    this.watchdogPasses.inc();
  }

  private stateGauges(): void {
    const prisma = this.prisma;
    const deployments: Gauge<'status'> = new Gauge({
      name: 'berth_deployments',
      help: 'Deployments by status',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        const rows = await prisma.$queryRaw<{ status: string; n: number }[]>`
          SELECT status::text AS status, count(*)::int AS n FROM deployments GROUP BY status`;
        deployments.reset();
        for (const s of ['pending', 'running', 'completed', 'failed', 'cancelled']) {
          deployments.set({ status: s }, rows.find((r) => r.status === s)?.n ?? 0);
        }
      },
    });
    const pending: Gauge<'cluster' | 'priority'> = new Gauge({
      name: 'berth_pending_deployments',
      help: 'Pending deployments by pinned cluster (`none` when the scheduler picks) and priority',
      labelNames: ['cluster', 'priority'] as const,
      registers: [this.registry],
      async collect() {
        const rows = await prisma.$queryRaw<
          { cluster_id: number | null; priority: number; n: number }[]
        >`
          SELECT CASE WHEN pinned THEN cluster_id END AS cluster_id, priority, count(*)::int AS n
            FROM deployments WHERE status = 'pending'
           GROUP BY 1, 2`;
        pending.reset();
        for (const r of rows) {
          pending.set(
            { cluster: String(r.cluster_id ?? 'none'), priority: String(r.priority) },
            r.n,
          );
        }
      },
    });
    const utilization: Gauge<'cluster' | 'resource'> = new Gauge({
      name: 'berth_cluster_utilization_ratio',
      help: 'Allocated share of a cluster’s total, per resource (0 when the total is 0)',
      labelNames: ['cluster', 'resource'] as const,
      registers: [this.registry],
      async collect() {
        const rows = await prisma.$queryRaw<
          { id: number; ram: number; cpu: number; gpu: number }[]
        >`
          SELECT id,
                 (1 - available_ram_milli::float8 / NULLIF(total_ram_milli, 0)) AS ram,
                 (1 - available_cpu_milli::float8 / NULLIF(total_cpu_milli, 0)) AS cpu,
                 COALESCE(1 - available_gpu_milli::float8 / NULLIF(total_gpu_milli, 0), 0) AS gpu
            FROM clusters`;
        utilization.reset();
        for (const r of rows) {
          for (const resource of RESOURCES) {
            utilization.set({ cluster: String(r.id), resource }, r[resource] ?? 0);
          }
        }
      },
    });
  }
}
