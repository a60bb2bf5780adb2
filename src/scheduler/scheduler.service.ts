import { Injectable, Logger, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/configuration';
import { EventNotifier } from '../events/event-notifier.service';
import { MetricsService } from '../metrics/metrics.service';
import { Prisma } from '../generated/prisma/client';
import { PrismaService, type Tx } from '../prisma/prisma.service';
import { commitPlan, PlanConflictError } from './plan.committer';
import { plan } from './planner';
import type { Policy } from './planner/types';
import { PASS_LOCK_CLASS } from './scheduler.constants';
import { loadSnapshot } from './snapshot.loader';

function isRetryable(err: unknown): boolean {
  if (err instanceof PlanConflictError) return true;
  const text = `${(err as { code?: string })?.code ?? ''} ${(err as Error)?.message ?? ''}`;
  return /40P01|40001|deadlock|could not serialize/i.test(text);
}

/** One scheduler_passes row: what queue metrics and the watchdog read. */
function recordPass(
  client: Pick<Tx, 'schedulerPass'>,
  p: {
    organizationId: number;
    trigger: string;
    startedAt: Date;
    t0: number;
    placements: number;
    preemptions: number;
    failures: number;
  },
): Promise<unknown> {
  return client.schedulerPass.create({
    data: {
      organizationId: p.organizationId,
      trigger: p.trigger,
      startedAt: p.startedAt,
      durationMs: performance.now() - p.t0,
      placements: p.placements,
      preemptions: p.preemptions,
      failures: p.failures,
    },
  });
}

export interface PassResult {
  organizationId: number;
  trigger: string;
  durationMs: number;
  placements: number;
  preemptions: number;
  failures: number;
  pending: number;
}

/**
 * The shell around the pure planner: per organisation, take the pass lock, load the snapshot
 * with the clusters locked, plan, and apply every decision in the same transaction.
 * Passes of different organisations run in parallel; two of the same one never interleave.
 */
@Injectable()
export class SchedulerService {
  private readonly logger = new Logger(SchedulerService.name);
  private readonly policy: Policy;

  constructor(
    private readonly prisma: PrismaService,
    config: ConfigService<AppConfig, true>,
    // Optional: the pass bench builds this service without Nest.
    @Optional() private readonly metrics?: MetricsService,
    @Optional() private readonly notifier?: EventNotifier,
  ) {
    this.policy = {
      agingSeconds: config.get('schedulerAgingSeconds', { infer: true }),
      starvationSeconds: config.get('schedulerStarvationSeconds', { infer: true }),
    };
  }

  /** Per organisation: the pass running in this process, and the one queued behind it. */
  private readonly inflight = new Map<
    number,
    { current: Promise<PassResult>; next?: Promise<PassResult> }
  >();

  /**
   * Runs a pass that starts after this call (so it sees every change the caller committed),
   * coalescing bursts: while a pass of the organisation runs in this process, every request
   * joins the single pass queued behind it. A burst of a hundred creates costs a few passes,
   * not a hundred, and holds one database connection instead of a hundred waiting on the lock.
   */
  requestPass(organizationId: number, trigger: string): Promise<PassResult> {
    const slot = this.inflight.get(organizationId);
    if (!slot) {
      const current = this.runPass(organizationId, trigger).finally(() =>
        this.advance(organizationId, current),
      );
      this.inflight.set(organizationId, { current });
      return current;
    }
    if (!slot.next) {
      slot.next = slot.current
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => this.runPass(organizationId, trigger));
    }
    return slot.next;
  }

  private advance(organizationId: number, finished: Promise<PassResult>): void {
    const slot = this.inflight.get(organizationId);
    if (!slot || slot.current !== finished) return;
    if (!slot.next) {
      this.inflight.delete(organizationId);
      return;
    }
    const current = slot.next;
    this.inflight.set(organizationId, { current });
    void current.finally(() => this.advance(organizationId, current)).catch(() => undefined);
  }

  /**
   * Retries a pass that lost a race (an API call changed a deployment between snapshot and
   * commit, or a deadlock victim): the whole transaction rolled back, so retrying is safe.
   */
  async runPass(organizationId: number, trigger: string): Promise<PassResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runPassOnce(organizationId, trigger);
      } catch (err) {
        if (attempt >= 4 || !isRetryable(err)) throw err;
        this.logger.warn({ organizationId, attempt, err: (err as Error).message }, 'retrying pass');
      }
    }
  }

  private async runPassOnce(organizationId: number, trigger: string): Promise<PassResult> {
    const startedAt = new Date();
    const t0 = performance.now();
    if (trigger === 'periodic') {
      const idle = await this.idlePass(organizationId, trigger, startedAt, t0);
      if (idle) return idle;
    }
    const result = await this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${PASS_LOCK_CLASS}::int, ${organizationId}::int)`;
        const snapshot = await loadSnapshot(tx, organizationId, Date.now());
        if (snapshot.pending.length === 0) {
          return {
            placements: 0,
            preemptions: 0,
            failures: 0,
            pending: 0,
            recorded: false,
            placedIds: [] as number[],
          };
        }
        const decisions = plan(snapshot, this.policy);
        await commitPlan(tx, organizationId, snapshot, decisions);
        const counts = {
          placements: decisions.placements.length,
          preemptions: decisions.preemptions.length,
          failures: decisions.failures.length,
          pending: decisions.pending.length,
        };
        await recordPass(tx, { organizationId, trigger, startedAt, t0, ...counts });
        return {
          ...counts,
          recorded: true,
          placedIds: decisions.placements.map((p) => p.deploymentId),
        };
      },
      { timeout: 120_000, maxWait: 30_000 },
    );
    const pass: PassResult = {
      organizationId,
      trigger,
      durationMs: performance.now() - t0,
      placements: result.placements,
      preemptions: result.preemptions,
      failures: result.failures,
      pending: result.pending,
    };
    if (result.recorded) {
      this.logger.log({ pass }, 'scheduler pass');
      // After the commit: live event streams wake up, metrics count what the pass did.
      if (pass.placements + pass.preemptions + pass.failures > 0) {
        this.notifier?.notify(organizationId);
      }
      void this.metrics?.observePass(pass, result.placedIds);
    }
    return pass;
  }

  /**
   * The periodic pass of an organisation whose waiting work cannot move (blocked GPU jobs, work
   * queued behind a full cluster) used to take the exclusive pass lock every interval for as long
   * as loading every running row took, and every create of the organisation waited behind it.
   * Here it first plans on one REPEATABLE READ, READ ONLY snapshot that takes no lock a create or
   * another pass waits for; when that plan places, evicts and fails nothing and leaves every
   * pending reason as written, a locked pass at that instant would have written nothing either
   * (the planner is a pure function of the snapshot), so the pass is recorded and ends there.
   * Anything committed after the snapshot triggered its own pass. Otherwise (null) the caller
   * runs the locked pass as before.
   */
  private async idlePass(
    organizationId: number,
    trigger: string,
    startedAt: Date,
    t0: number,
  ): Promise<PassResult | null> {
    const pending = await this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SET TRANSACTION READ ONLY`;
        const snapshot = await loadSnapshot(tx, organizationId, Date.now(), false);
        if (snapshot.pending.length === 0) return 0;
        const decisions = plan(snapshot, this.policy);
        if (decisions.placements.length + decisions.preemptions.length > 0) return null;
        if (decisions.failures.length > 0) return null;
        const written = await tx.$queryRaw<
          { id: number; code: string | null; reason: string | null }[]
        >`
          SELECT id, pending_code AS code, pending_reason AS reason FROM deployments
           WHERE organization_id = ${organizationId} AND status = 'pending'`;
        const now = new Map(written.map((r) => [r.id, r]));
        const unchanged = decisions.pending.every((p) => {
          const row = now.get(p.deploymentId);
          return row !== undefined && row.code === p.code && row.reason === p.reason;
        });
        return unchanged ? decisions.pending.length : null;
      },
      { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, timeout: 120_000 },
    );
    if (pending === null) return null;
    if (pending > 0) {
      // Recorded like any pass with pending work: the watchdog reads "no pass" from here.
      await recordPass(this.prisma, {
        organizationId,
        trigger,
        startedAt,
        t0,
        placements: 0,
        preemptions: 0,
        failures: 0,
      });
    }
    const pass: PassResult = {
      organizationId,
      trigger,
      durationMs: performance.now() - t0,
      placements: 0,
      preemptions: 0,
      failures: 0,
      pending,
    };
    if (pending > 0) {
      this.logger.log({ pass }, 'scheduler pass');
      void this.metrics?.observePass(pass, []);
    }
    return pass;
  }

  /** Organisations that have work waiting (the periodic pass visits only these). */
  async organizationsWithPendingWork(): Promise<number[]> {
    const rows = await this.prisma.$queryRaw<{ organization_id: number }[]>`
      SELECT DISTINCT organization_id FROM deployments WHERE status = 'pending'`;
    return rows.map((r) => r.organization_id);
  }

  /** Keeps the pass history (read by queue metrics) bounded. */
  async prunePassHistory(olderThanHours = 24): Promise<void> {
    await this.prisma.$executeRaw`
      DELETE FROM scheduler_passes WHERE started_at < now() - make_interval(hours => ${olderThanHours})`;
  }
}
