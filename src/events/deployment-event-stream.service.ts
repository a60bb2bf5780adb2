import { Injectable, Logger, Optional, type BeforeApplicationShutdown } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { notFound, unprocessable } from '../common/errors/app-error';
import { MAX_DB_ID } from '../common/ids';
import { Prisma } from '../generated/prisma/client';
import { MetricsService } from '../metrics/metrics.service';
import { MembershipsService } from '../organizations/memberships.service';
import { PrismaService } from '../prisma/prisma.service';
import type { DeploymentStreamEventDto, EventsStreamQueryDto } from './dto/events-stream-query.dto';
import { EventNotifier } from './event-notifier.service';

const BATCH = 500;
const POLL_MS = 2_000;
const KEEP_ALIVE_MS = 15_000;
/**
 * Event ids come from a sequence when the row is inserted, but transactions commit in any
 * order: a row with a lower id can become visible just after a higher one. Each stream keeps
 * re-reading ids delivered during this window, skipping those it already sent.
 */
const LATE_COMMIT_WINDOW_MS = 5_000;

interface Scope {
  userId: number;
  orgIds: number[];
  /** The organization asked for with ?organization_id= (the stream ends if the caller leaves). */
  pinnedOrg: number | null;
  clusterId: number | null;
}

/**
 * Live deployment events over Server-Sent Events. The deployment_events table is the source of
 * truth and each SSE id is the row id, so a client resumes exactly with Last-Event-ID. A stream
 * reads the table when woken by EventNotifier (this replica's writes, or any replica's through
 * Redis), and every POLL_MS anyway in case Redis is down.
 */
@Injectable()
export class DeploymentEventStreams implements BeforeApplicationShutdown {
  private readonly logger = new Logger(DeploymentEventStreams.name);
  private readonly live = new Set<EventStream>();

  constructor(
    private readonly prisma: PrismaService,
    private readonly memberships: MembershipsService,
    private readonly notifier: EventNotifier,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  /** Checks access (404 / 422 as problem+json), then takes over the response until it closes. */
  async open(
    userId: number,
    q: EventsStreamQueryDto,
    lastEventIdHeader: string | undefined,
    reply: FastifyReply,
  ): Promise<void> {
    const scope = await this.scope(userId, q);
    const after = parseLastEventId(lastEventIdHeader) ?? q.last_event_id ?? (await this.maxId());
    const stream = new EventStream(this, scope, after, reply, this.logger);
    this.live.add(stream);
    stream.start(() => {
      this.live.delete(stream);
      this.finished(userId, reply);
    });
  }

  /**
   * A hijacked reply skips Fastify's onResponse hook: the stream's one request line (same fields
   * as app.factory's) and its HTTP metric are written here when it closes.
   */
  private finished(userId: number, reply: FastifyReply): void {
    const route = reply.request.routeOptions.url ?? 'unmatched';
    const durationMs = Math.round(reply.elapsedTime * 100) / 100;
    reply.request.log.info(
      { userId, method: reply.request.method, route, status: 200, durationMs },
      'request',
    );
    this.metrics?.observeRequest(reply.request.method, route, 200, durationMs / 1000);
  }

  /** Ends the streams before the HTTP server closes (it would wait for them forever). */
  beforeApplicationShutdown(): void {
    for (const s of this.live) s.end();
  }

  listen(orgIds: readonly number[], wake: () => void): () => void {
    return this.notifier.listen(orgIds, wake);
  }

  organizationIdsOf(userId: number): Promise<number[]> {
    return this.memberships.organizationIdsOf(userId);
  }

  async read(
    scope: Scope,
    after: number,
    skip: readonly number[],
  ): Promise<DeploymentStreamEventDto[]> {
    const byCluster =
      scope.clusterId === null ? Prisma.empty : Prisma.sql`AND e.cluster_id = ${scope.clusterId}`;
    return this.prisma.$queryRaw<DeploymentStreamEventDto[]>`
      SELECT e.id, e.type, e.deployment_id, d.name AS deployment_name, d.priority,
             e.organization_id, e.cluster_id, e.from_status::text AS from_status,
             e.to_status::text AS to_status, e.actor, e.actor_user_id, e.code, e.reason,
             e.created_at
        FROM deployment_events e JOIN deployments d ON d.id = e.deployment_id
       WHERE e.organization_id = ANY(${scope.orgIds}::int[]) AND e.id > ${after}
         AND NOT (e.id = ANY(${[...skip]}::int[])) ${byCluster}
       ORDER BY e.id LIMIT ${BATCH}`;
  }

  private async maxId(): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ id: number | null }[]>`
      SELECT max(id) AS id FROM deployment_events`;
    return rows[0]?.id ?? 0;
  }

  private async scope(userId: number, q: EventsStreamQueryDto): Promise<Scope> {
    let orgIds: number[];
    if (q.organization_id !== undefined) {
      await this.memberships.requireRole(userId, q.organization_id, 'viewer');
      orgIds = [q.organization_id];
    } else {
      orgIds = await this.memberships.organizationIdsOf(userId);
    }
    if (q.cluster_id === undefined) {
      return { userId, orgIds, pinnedOrg: q.organization_id ?? null, clusterId: null };
    }
    const c = await this.prisma.cluster.findUnique({
      where: { id: q.cluster_id },
      select: { organizationId: true },
    });
    if (!c || !orgIds.includes(c.organizationId)) throw notFound('cluster');
    return {
      userId,
      orgIds: [c.organizationId],
      pinnedOrg: c.organizationId,
      clusterId: q.cluster_id,
    };
  }
}

function parseLastEventId(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  const id = /^\d{1,10}$/.test(header) ? Number(header) : NaN;
  if (!(id <= MAX_DB_ID)) {
    throw unprocessable('request/validation_failed', 'The request is invalid', [
      { field: 'Last-Event-ID', message: 'Last-Event-ID must be an event id this API sent' },
    ]);
  }
  return id;
}

/** One client connection: reads after its cursor when woken, polls, keeps the line alive. */
class EventStream {
  /** Every id ≤ floor was delivered, or committed too late to matter (see the window above). */
  private floor: number;
  /** Ids delivered above the floor, with when: re-read during the late-commit window. */
  private readonly recent = new Map<number, number>();
  private pumping = false;
  private again = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private unlisten: () => void = () => undefined;

  constructor(
    private readonly streams: DeploymentEventStreams,
    private scope: Scope,
    after: number,
    private readonly reply: FastifyReply,
    private readonly logger: Logger,
  ) {
    this.floor = after;
  }

  start(onClose: () => void): void {
    const raw = this.reply.raw;
    this.reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(this.reply.request.id),
    });
    raw.flushHeaders();
    raw.write(`retry: ${POLL_MS}\n\n`);
    raw.on('close', () => {
      this.closed = true;
      for (const t of this.timers) clearInterval(t);
      this.unlisten();
      onClose();
    });
    this.unlisten = this.streams.listen(this.scope.orgIds, () => this.pump());
    this.timers.push(setInterval(() => this.pump(), POLL_MS));
    this.timers.push(setInterval(() => void this.keepAlive(), KEEP_ALIVE_MS));
    this.pump();
  }

  end(): void {
    if (!this.reply.raw.writableEnded) this.reply.raw.end();
  }

  /** Coalesces wake-ups: one read at a time, and one more if woken meanwhile. */
  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.drain()
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'event stream read failed'))
      .finally(() => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this.pump();
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      this.forgetOld();
      const rows = await this.streams.read(this.scope, this.floor, [...this.recent.keys()]);
      for (const e of rows) {
        if (this.closed) return;
        this.recent.set(e.id, Date.now());
        await this.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      }
      if (rows.length < BATCH) return;
    }
  }

  private forgetOld(): void {
    const cutoff = Date.now() - LATE_COMMIT_WINDOW_MS;
    for (const [id, at] of this.recent) {
      if (at >= cutoff) continue;
      this.recent.delete(id);
      if (id > this.floor) this.floor = id;
    }
  }

  /** A comment line keeps proxies from closing an idle stream; membership is re-read too. */
  private async keepAlive(): Promise<void> {
    if (this.closed) return;
    await this.write(': keep-alive\n\n');
    try {
      const now = new Set(await this.streams.organizationIdsOf(this.scope.userId));
      const orgIds = this.scope.orgIds.filter((id) => now.has(id));
      if (orgIds.length === this.scope.orgIds.length) return;
      if (
        orgIds.length === 0 ||
        (this.scope.pinnedOrg !== null && !now.has(this.scope.pinnedOrg))
      ) {
        this.end();
        return;
      }
      this.unlisten();
      this.scope = { ...this.scope, orgIds };
      this.unlisten = this.streams.listen(orgIds, () => this.pump());
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'event stream membership check failed');
    }
  }

  /** Waits for the socket to drain when the client reads slowly. */
  private write(chunk: string): Promise<void> {
    const raw = this.reply.raw;
    if (this.closed || raw.writableEnded) return Promise.resolve();
    if (raw.write(chunk)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        raw.off('drain', done);
        raw.off('close', done);
        resolve();
      };
      raw.on('drain', done);
      raw.on('close', done);
    });
  }
}
